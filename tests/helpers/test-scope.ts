import { afterEach } from 'vitest';
import { startTestServer, type InProcessServer } from './server-in-process';
import { startTcpProxy, type TcpProxy } from './tcp-proxy';
import { startTerminal, type TestTerminal } from './terminals';

export interface TestScope {
  /** Runs `fn` after the current test (in reverse order of registration). */
  defer(fn: () => Promise<void> | void): void;
  /** A real server in this process, disposed after the test. */
  inProcess(options?: { relayIngest?: boolean }): Promise<InProcessServer>;
  /** A loopback TCP proxy to `port`, closed after the test. */
  proxyTo(port: number): Promise<TcpProxy>;
  /** A terminal (store + sync), closed after the test. */
  terminal(options: Parameters<typeof startTerminal>[0]): Promise<TestTerminal>;
}

/** What a test file's tests start, closed after each test: call once at the top of the file. */
export function testScope(): TestScope {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  return {
    defer: (fn) => void cleanups.push(fn),
    async inProcess(options = {}) {
      const server = await startTestServer(options);
      cleanups.push(() => server.dispose());
      return server;
    },
    async proxyTo(port) {
      const proxy = await startTcpProxy(port);
      cleanups.push(() => proxy.close());
      return proxy;
    },
    async terminal(options) {
      const t = await startTerminal(options);
      cleanups.push(() => t.close());
      return t;
    },
  };
}
