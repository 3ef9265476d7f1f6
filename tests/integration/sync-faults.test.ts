import { afterEach, describe, expect, it } from 'vitest';
import { ticketCommands } from '../../bench/workload';
import { startTestServer, type InProcessServer } from '../helpers/server-in-process';
import { makeDataDir, removeDataDir, spawnServer, type ServerProcess } from '../helpers/server-process';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy';
import { TEST_SECRET, waitFor, waitForAsync } from '../helpers/server-clients';
import { serverEvents, startTerminal, type TestTerminal } from '../helpers/terminals';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function writeTickets(t: TestTerminal, count: number, prefix: string): Promise<void> {
  for (const c of ticketCommands(count, 5, prefix)) {
    await t.store.append(c.type, c.payload, { aggregate: c.aggregate, ...(c.key ? { key: c.key } : {}) });
  }
}

function expectExactlyOnce(stored: { id: string; origin: { terminal: string; n: number } }[], count: number): void {
  expect(stored).toHaveLength(count);
  expect(new Set(stored.map((e) => e.id)).size).toBe(count);
}

async function inProcess(): Promise<InProcessServer> {
  const server = await startTestServer();
  cleanups.push(() => server.dispose());
  return server;
}

async function proxyTo(port: number): Promise<TcpProxy> {
  const proxy = await startTcpProxy(port);
  cleanups.push(() => proxy.close());
  return proxy;
}

async function terminal(options: Parameters<typeof startTerminal>[0]): Promise<TestTerminal> {
  const t = await startTerminal(options);
  cleanups.push(() => t.close());
  return t;
}

describe('Delivery through faults', () => {
  it('[SYN3] server kill -9 in the middle of uploading, restarted: nothing lost, nothing doubled', async () => {
    const dataDir = makeDataDir();
    cleanups.push(() => removeDataDir(dataDir));
    let server: ServerProcess = await spawnServer({ dataDir, secret: TEST_SECRET });
    cleanups.push(() => server.kill9());
    const proxy = await proxyTo(server.port);
    await proxy.refuse(true);
    const t = await terminal({ location: 'crash', terminal: 'till-1', apiBase: proxy.url, syncEndpoint: proxy.wsUrl });
    await writeTickets(t, 3000, 'K');
    // A slow link, so batches are in flight when the server dies.
    proxy.setLatency(100);
    await proxy.refuse(false);
    void t.sync.syncNow();
    await waitFor(() => t.sync.status.metrics.successes >= 1 && t.sync.status.inFlight, 'a batch stored and the next in flight');
    await server.kill9();
    proxy.cut();
    proxy.setLatency(0);

    server = await spawnServer({ dataDir, secret: TEST_SECRET });
    proxy.retarget(server.port);
    await waitForAsync(async () => {
      await t.sync.syncNow();
      return t.sync.status.owed === 0;
    }, 'outbox drained after restart', 30_000);
    expectExactlyOnce(await serverEvents(server.url, 'crash'), 3000);
  });

  it('[SYN4] answers lost after the server committed: the retry is acknowledged as duplicate, nothing doubled', async () => {
    const server = await inProcess();
    const proxy = await proxyTo(server.port);
    const t = await terminal({ location: 'lost', terminal: 'till-1', apiBase: proxy.url, syncEndpoint: server.wsUrl, sync: { uploadTimeoutMs: 1000 } });
    await waitFor(() => t.sync.status.relay === 'connected', 'relay up');
    proxy.setMode('drop-responses');
    await writeTickets(t, 100, 'L');
    await t.sync.syncNow();
    expect(t.sync.status.metrics.failuresByCause.timeout).toBeGreaterThanOrEqual(1);
    // The server did commit the batch whose answer was lost.
    await waitForAsync(async () => (await serverEvents(server.url, 'lost')).length === 100, 'server committed');
    proxy.setMode('pass');
    await t.sync.syncNow();
    expect(t.sync.status.owed).toBe(0);
    expectExactlyOnce(await serverEvents(server.url, 'lost'), 100);
  });

  it('[SYN5] a terminal that reached only the relay, then died: another terminal uploads its events', async () => {
    const server = await inProcess();
    const blackhole = await proxyTo(server.port);
    blackhole.setMode('blackhole');
    const a = await startTerminal({ location: 'relay-only', terminal: 'till-1', apiBase: blackhole.url, syncEndpoint: server.wsUrl, sync: { uploadTimeoutMs: 500 } });
    const b = await terminal({ location: 'relay-only', terminal: 'till-2', apiBase: server.url, syncEndpoint: server.wsUrl, graceMs: 300 });
    await writeTickets(a, 50, 'R');
    await waitFor(() => b.store.projection.size === 50, 'the relay carried them to b');
    expect(await serverEvents(server.url, 'relay-only')).toHaveLength(0);
    a.close(); // destroyed: its outbox is gone with it
    await waitForAsync(async () => (await serverEvents(server.url, 'relay-only')).length === 50, 'b uploaded a\'s events', 20_000);
    const stored = await serverEvents(server.url, 'relay-only');
    expectExactlyOnce(stored, 50);
    expect(new Set(stored.map((e) => e.origin.terminal))).toEqual(new Set(['till-1']));
    await waitFor(() => b.sync.status.owed === 0, 'b sees them acknowledged');
  });

  it('[SYN7] a slow link (2 s added each way) still completes, with stretched timeouts', async () => {
    const server = await inProcess();
    const proxy = await proxyTo(server.port);
    proxy.setLatency(2000);
    const t = await terminal({ location: 'slow', terminal: 'till-1', apiBase: proxy.url, syncEndpoint: server.wsUrl, sync: { uploadTimeoutMs: 1500 } });
    await writeTickets(t, 40, 'S');
    await waitForAsync(async () => {
      await t.sync.syncNow();
      return t.sync.status.owed === 0;
    }, 'uploaded over the slow link', 60_000);
    expect(t.sync.status.metrics.failuresByCause.timeout).toBeGreaterThanOrEqual(1);
    expect(t.sync.status.connection.name).toMatch(/slow|intermittent/);
    expectExactlyOnce(await serverEvents(server.url, 'slow'), 40);
  });
});
