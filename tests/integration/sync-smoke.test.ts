import { afterEach, describe, expect, it } from 'vitest';
import { startTestServer, type InProcessServer } from '../helpers/server-in-process';
import { startTerminal, serverEvents, type TestTerminal } from '../helpers/terminals';
import { waitFor, waitForAsync } from '../helpers/server-clients';

let server: InProcessServer | null = null;
const terminals: TestTerminal[] = [];
afterEach(async () => {
  for (const t of terminals.splice(0)) t.close();
  await server?.dispose();
  server = null;
});

describe('SyncManager against the real server', () => {
  it('[SYN1] an appended event reaches the canonical store and comes back acknowledged; the other terminal sees it live', async () => {
    server = await startTestServer();
    const base = { location: 'loc-a', apiBase: server.url, syncEndpoint: server.wsUrl };
    const a = await startTerminal({ ...base, terminal: 'till-1' });
    const b = await startTerminal({ ...base, terminal: 'till-2' });
    terminals.push(a, b);
    const e = await a.store.append('ticket.opened', { number: 'A-001' }, { aggregate: { id: 't1', type: 'ticket' } });
    expect(a.sync.deliveryState(e)).toBe('local');
    await waitFor(() => b.store.view('t1') !== undefined, 'b sees the ticket');
    await waitFor(() => a.sync.deliveryState(e) === 'acknowledged', 'acknowledged');
    await waitForAsync(async () => (await serverEvents(server!.url, 'loc-a')).length === 1, 'server holds it');
    expect(a.sync.status.owed).toBe(0);
    expect(a.sync.status.connection.name).toBe('online');
    // b uploaded nothing, yet it is in step with the server: its last sync is known, and it is online.
    await waitFor(() => typeof b.sync.status.lastSyncAt === 'number', 'b has a last sync');
    expect(b.sync.status.metrics.lastSuccessAt).toBeNull();
    expect(b.sync.status.connection.name).toBe('online');
  });

  it('[SYN1] the last sync is kept on the device: a terminal started offline still says when it last synced', async () => {
    const stored = new Map<string, string>();
    const storage = { getItem: (k: string) => stored.get(k) ?? null, setItem: (k: string, v: string) => void stored.set(k, v), removeItem: (k: string) => void stored.delete(k) };
    (globalThis as { localStorage?: unknown }).localStorage = storage;
    try {
      server = await startTestServer();
      const base = { location: 'loc-last', terminal: 'till-1', apiBase: server.url, syncEndpoint: server.wsUrl };
      const online = await startTerminal(base);
      await online.store.append('ticket.opened', { number: 'A-001' }, { aggregate: { id: 't1', type: 'ticket' } });
      await waitFor(() => online.sync.status.owed === 0 && online.sync.status.lastSyncAt !== null, 'synced');
      const last = online.sync.status.lastSyncAt!;
      online.close();
      await server.dispose();
      server = null;
      // A reload with no server to reach: before, "Last sync: never".
      const offline = await startTerminal({ ...base, apiBase: 'http://127.0.0.1:9', syncEndpoint: 'ws://127.0.0.1:9' });
      terminals.push(offline);
      expect(offline.sync.status.lastSyncAt).toBeGreaterThanOrEqual(last - 1_000);
    } finally {
      delete (globalThis as { localStorage?: unknown }).localStorage;
    }
  });

  it('[APP45] the room received is the relay\'s first sync, not any REST answer, and is kept on the device: a blocked relay leaves it unset while the last sync is set', async () => {
    const stored = new Map<string, string>();
    const storage = { getItem: (k: string) => stored.get(k) ?? null, setItem: (k: string, v: string) => void stored.set(k, v), removeItem: (k: string) => void stored.delete(k) };
    (globalThis as { localStorage?: unknown }).localStorage = storage;
    const menuItems = (t: TestTerminal) => [...t.store.eventsByWriter().values()].flat().filter((e) => e.type === 'menu.item_defined').length;
    try {
      server = await startTestServer({ seedDemo: true });
      const base = { location: 'demo', terminal: 'till-9', apiBase: server.url };
      // Websockets blocked (nothing listens there), REST working: the clock probe answers, no menu comes.
      const blocked = await startTerminal({ ...base, syncEndpoint: 'ws://127.0.0.1:1/sync' });
      await waitFor(() => blocked.sync.status.lastSyncAt !== null, 'the server answered over REST');
      expect(menuItems(blocked)).toBe(0);
      expect(blocked.sync.status.roomReceivedAt).toBeNull();
      await blocked.close();

      // The relay open: the room is received once its first sync lands, with the menu in it.
      const open = await startTerminal({ ...base, syncEndpoint: server.wsUrl });
      const menuWhenReceived: number[] = [];
      const unsubscribe = open.sync.subscribe((s) => {
        if (s.roomReceivedAt !== null && menuWhenReceived.length === 0) menuWhenReceived.push(menuItems(open));
      });
      await waitFor(() => open.sync.status.roomReceivedAt !== null, 'the room received');
      unsubscribe();
      expect(menuWhenReceived[0]).toBeGreaterThan(0);
      const received = open.sync.status.roomReceivedAt!;
      await open.close();
      await server.dispose();
      server = null;

      // A reload with no server to reach: the room was received, once, on this device.
      const offline = await startTerminal({ ...base, apiBase: 'http://127.0.0.1:9', syncEndpoint: 'ws://127.0.0.1:9' });
      terminals.push(offline);
      expect(offline.sync.status.roomReceivedAt).toBe(received);
    } finally {
      delete (globalThis as { localStorage?: unknown }).localStorage;
    }
  });
});

