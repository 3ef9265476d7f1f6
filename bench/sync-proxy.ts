import { Socket, createServer, type Server } from 'node:net';

/**
 * A byte-counting TCP proxy on 127.0.0.1 for the sync benchmarks: the same refuse / cut /
 * retarget faults as tests/helpers/tcp-proxy.ts (not extended: benchmarks own their tools),
 * plus counters of the bytes it forwards each way, so "bytes on the wire" is what really
 * crossed a socket (HTTP headers, websocket framing and all), not what the code thinks it sent.
 */
export interface ByteProxy {
  port: number;
  url: string;
  wsUrl: string;
  /** Client → server and server → client bytes forwarded since the last reset. */
  bytes(): { up: number; down: number };
  resetBytes(): void;
  connections(): number;
  /** Drops every live connection abruptly. */
  cut(): void;
  /** Stops listening (new connections are refused, as by a server that is down) or listens again. */
  refuse(on: boolean): Promise<void>;
  /** New connections go to another port (a restarted server). */
  retarget(port: number): void;
  close(): Promise<void>;
}

export async function startByteProxy(targetPort: number): Promise<ByteProxy> {
  const live = new Set<Socket>();
  let target = targetPort;
  let up = 0;
  let down = 0;

  const server: Server = createServer((client) => {
    client.setNoDelay(true);
    const upstream = new Socket();
    upstream.setNoDelay(true);
    upstream.connect(target, '127.0.0.1');
    const pair = [client, upstream] as const;
    for (const s of pair) {
      live.add(s);
      s.on('error', () => pair.forEach((x) => x.destroy()));
      s.on('close', () => {
        live.delete(s);
        pair.forEach((x) => x.destroy());
      });
    }
    client.on('data', (chunk: Buffer) => {
      up += chunk.length;
      if (!upstream.destroyed) upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      down += chunk.length;
      if (!client.destroyed) client.write(chunk);
    });
  });
  server.maxConnections = 10_000;
  await new Promise<void>((res) => server.listen({ port: 0, host: '127.0.0.1', backlog: 1024 }, res));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}/sync`,
    bytes: () => ({ up, down }),
    resetBytes() {
      up = down = 0;
    },
    connections: () => live.size / 2,
    cut() {
      for (const s of [...live]) s.destroy();
    },
    async refuse(on) {
      if (on === !server.listening) return;
      if (on) server.close();
      else await new Promise<void>((res) => server.listen({ port, host: '127.0.0.1', backlog: 1024 }, res));
    },
    retarget(next) {
      target = next;
    },
    async close() {
      for (const s of [...live]) s.destroy();
      if (server.listening) await new Promise((res) => server.close(res));
    },
  };
}
