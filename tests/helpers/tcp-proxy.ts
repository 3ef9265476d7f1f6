import { Socket, createServer, type Server } from 'node:net';

/**
 * A TCP proxy on 127.0.0.1 between clients and a server, to inject real network faults
 * in integration tests:
 *  - `cut()` drops every live connection abruptly (no close frame, like a pulled cable);
 *  - `refuse(true)` stops listening, so new connections are refused (ECONNREFUSED, as for a
 *    server that is down) until `refuse(false)` listens again on the same port;
 *  - `setMode('blackhole')` accepts connections and forwards nothing either way (a dead
 *    route: requests time out); `'drop-responses'` forwards requests but loses every byte
 *    the server sends back (the server commits, the client never hears);
 *  - `setLatency(ms)` delays every chunk in both directions (a slow link);
 *  - `retarget(port)` sends new connections to another port (a restarted server);
 *  - `bytes()` counts what really crossed it each way (headers and framing included), for
 *    benchmarks of bytes on the wire.
 */
export type ProxyMode = 'pass' | 'blackhole' | 'drop-responses';

export interface TcpProxy {
  port: number;
  url: string;
  wsUrl: string;
  /** Live client connections. */
  connections(): number;
  /** Client → server and server → client bytes forwarded since the last reset. */
  bytes(): { up: number; down: number };
  resetBytes(): void;
  cut(): void;
  refuse(on: boolean): Promise<void>;
  setMode(mode: ProxyMode): void;
  setLatency(ms: number): void;
  retarget(port: number): void;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  const live = new Set<Socket>();
  let mode: ProxyMode = 'pass';
  let latencyMs = 0;
  let target = targetPort;
  const counted = { up: 0, down: 0 };

  // Forwards chunks in order, each after the current latency; drops them in the modes that say so.
  const forward = (from: Socket, to: Socket, direction: 'request' | 'response') => {
    let chain = Promise.resolve();
    let pending = 0;
    from.on('data', (chunk: Buffer) => {
      if (mode === 'blackhole' || (mode === 'drop-responses' && direction === 'response')) return;
      counted[direction === 'request' ? 'up' : 'down'] += chunk.length;
      const delay = latencyMs;
      if (delay === 0 && pending === 0) {
        if (!to.destroyed) to.write(chunk);
        return;
      }
      pending++;
      chain = chain.then(async () => {
        if (delay > 0) await new Promise((r) => setTimeout(r, delay));
        if (!to.destroyed) to.write(chunk);
        pending--;
      });
    });
  };

  const server: Server = createServer((client) => {
    client.setNoDelay(true);
    const upstream = new Socket();
    upstream.setNoDelay(true);
    upstream.connect(target, targetHost);
    const pair = [client, upstream] as const;
    for (const s of pair) {
      live.add(s);
      s.on('error', () => pair.forEach((x) => x.destroy()));
      s.on('close', () => {
        live.delete(s);
        pair.forEach((x) => x.destroy());
      });
    }
    forward(client, upstream, 'request');
    forward(upstream, client, 'response');
  });
  server.maxConnections = 10_000;
  const listen = (port: number) => new Promise<void>((res) => server.listen({ port, host: '127.0.0.1', backlog: 1024 }, res));
  await listen(0);
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}/sync`,
    connections: () => live.size / 2,
    bytes: () => ({ ...counted }),
    resetBytes() {
      counted.up = counted.down = 0;
    },
    cut() {
      for (const s of [...live]) s.destroy();
    },
    async refuse(on) {
      if (on === !server.listening) return;
      if (on) server.close();
      else await listen(port);
    },
    setMode(next) {
      mode = next;
    },
    setLatency(ms) {
      latencyMs = ms;
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
