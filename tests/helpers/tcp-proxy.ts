import { Socket, createServer, type Server } from 'node:net';

/**
 * A TCP proxy on 127.0.0.1 between clients and a server, to simulate bad networks in
 * integration tests: `cut()` drops every live connection abruptly (no close frame, like a
 * pulled cable), `refuse(true)` makes new connections fail until `refuse(false)`.
 */
export interface TcpProxy {
  port: number;
  url: string;
  wsUrl: string;
  connections(): number;
  cut(): void;
  refuse(on: boolean): void;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  const live = new Set<Socket>();
  let refusing = false;
  const server: Server = createServer((client) => {
    if (refusing) return void client.destroy();
    const upstream = new Socket();
    upstream.connect(targetPort, targetHost);
    const pair = [client, upstream] as const;
    for (const s of pair) {
      live.add(s);
      s.on('error', () => pair.forEach((x) => x.destroy()));
      s.on('close', () => {
        live.delete(s);
        pair.forEach((x) => x.destroy());
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}/sync`,
    connections: () => live.size,
    cut() {
      for (const s of [...live]) s.destroy();
    },
    refuse(on) {
      refusing = on;
    },
    async close() {
      for (const s of [...live]) s.destroy();
      await new Promise((res) => server.close(res));
    },
  };
}
