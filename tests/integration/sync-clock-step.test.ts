import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { SyncManager, SYNC_INTERVAL_MS } from '../../client/sync/sync-manager';
import { installLocalStorage } from '../helpers/device-storage';
import { TabletClock } from '../helpers/manual-timers';
import { mint, waitFor } from '../helpers/server-clients';
import { serverEvents, startTerminal, type TestTerminal } from '../helpers/terminals';
import type { InProcessServer } from '../helpers/server-in-process';
import { testScope } from '../helpers/test-scope';

const { defer, inProcess } = testScope();
const storage = installLocalStorage();
afterEach(() => storage.saved.clear());

const HOUR = 3_600_000;
const ticket = { aggregate: { id: 't1', type: 'ticket' } };

/** A till on `clock`; given `restOnly`, it has no relay (the server stores only uploads) and sends its requests through that fetch. */
async function tablet(location: string, clock: TabletClock, restOnly?: { fetch: typeof fetch }): Promise<{ t: TestTerminal; server: InProcessServer }> {
  const server = await inProcess(restOnly ? { relayIngest: false } : {});
  const syncEndpoint = restOnly ? 'ws://127.0.0.1:1/sync' : server.wsUrl;
  const t = await startTerminal({ location, terminal: 'till-1', apiBase: server.url, syncEndpoint, wallNow: clock.now, sync: { timers: clock, fetch: restOnly?.fetch } });
  defer(() => t.close());
  await waitFor(() => t.sync.status.clockOffsetMs !== null && !t.sync.status.inFlight, 'the start-up clock probe answered');
  return { t, server };
}

describe('The wall clock set while the till runs', () => {
  it('[SYN17] set back an hour: the offset is measured again at once and stamps stay on server time', async () => {
    const clock = new TabletClock();
    clock.wallOffsetMs = HOUR; // an hour fast
    const { t } = await tablet('set-back', clock);
    expect(Math.abs(t.sync.status.clockOffsetMs! + HOUR)).toBeLessThan(2_000);

    clock.wallOffsetMs = 0; // set right
    clock.fire(SYNC_INTERVAL_MS); // the next automatic trigger
    // Before, the next probe was due 5 min after the last answer by the wall clock (an hour
    // and 5 min away now), and the old sample kept winning: stamps an hour behind meanwhile.
    await waitFor(() => t.sync.status.clockOffsetMs !== null && Math.abs(t.sync.status.clockOffsetMs) < 2_000, 'the offset measured again');
    const stamped = await t.store.append('ticket.opened', { number: 'A-001' }, ticket);
    expect(Math.abs(stamped.at - Date.now())).toBeLessThan(2_000);
    // "Last sync" moved back with the clock: never in the future.
    expect(t.sync.status.lastSyncAt!).toBeLessThanOrEqual(clock.now());
    expect(t.sync.status.lastSyncAt!).toBeGreaterThan(clock.now() - 10_000);
  });

  it('[SYN17] set back an hour while the server cannot be reached: stamps go on at server time, not frozen for the hour', async () => {
    const clock = new TabletClock();
    const { t, server } = await tablet('set-back-offline', clock);
    const before = await t.store.append('ticket.opened', { number: 'A-001' }, ticket);
    await server.close();
    clock.wallOffsetMs = -HOUR; // staff set the clock an hour back, offline
    clock.fire(SYNC_INTERVAL_MS); // the next automatic trigger notices the step
    await waitFor(() => t.sync.status.clockOffsetMs === null, 'the step noticed');
    await new Promise((resolve) => setTimeout(resolve, 50));
    const after = await t.store.append('ticket.note_set', { note: 'later' }, ticket);
    // Before, every stamp was the last one + 1 until the wall clock caught up an hour later.
    expect(after.at - before.at).toBeGreaterThanOrEqual(50);
    expect(Math.abs(after.at - Date.now())).toBeLessThan(2_000);
  });

  it('[SYN17][OUT9] set back an hour while a sale waits out a proxy\'s refusal: the wait moves with the clock, the sale goes again a second later, not an hour', async () => {
    let posts = 0;
    const refuseFirst: typeof fetch = (input, init) => {
      if (init?.method === 'POST' && ++posts === 1) return Promise.resolve(new Response('<html>400 from the proxy</html>', { status: 400 }));
      return globalThis.fetch(input, init);
    };
    const clock = new TabletClock();
    clock.random = () => 0.99; // every wait drawn at 99% of its ceiling: about a second
    const { t, server } = await tablet('step-back-hold', clock, { fetch: refuseFirst });
    await t.store.append('ticket.opened', { number: 'A-001' }, ticket);
    await waitFor(() => posts === 1 && !t.sync.status.inFlight && t.sync.status.uploadsRefused !== null, 'refused alone');
    clock.wallOffsetMs = -HOUR; // staff set the clock an hour back
    // Timers fire as real time passes, for up to 4 s: the upload backoff's retry, then the sale's own wait.
    for (let i = 0; i < 40 && posts < 2; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      clock.fire(100);
    }
    await waitFor(() => posts === 2 && !t.sync.status.inFlight && t.sync.status.owed === 0, 'the sale stored');
    expect(await serverEvents(server.url, 'step-back-hold')).toHaveLength(1);
  });

  it('[SYN18] a "last sync" stored while the clock was an hour fast is replaced by the next word from the server', async () => {
    const clock = new TabletClock();
    clock.wallOffsetMs = HOUR;
    const { t, server } = await tablet('last-sync', clock);
    expect(t.sync.status.lastSyncAt!).toBeGreaterThan(Date.now() + HOUR - 10_000);
    // The tablet is switched off, its clock set right, and the app started again.
    t.sync.stop();
    clock.wallOffsetMs = 0;
    const again = SyncManager.start({
      store: t.store,
      location: 'last-sync',
      token: await mint('last-sync', 'terminal', 'till-1'),
      role: 'terminal',
      apiBase: server.url,
      syncEndpoint: server.wsUrl,
      WebSocketImpl: WebSocket as unknown as typeof globalThis.WebSocket,
      timers: clock,
    });
    defer(() => again.stop());
    await waitFor(() => again.status.clockOffsetMs !== null && !again.status.inFlight, 'the start-up clock probe answered');
    // Before, the stored time was only ever raised: "Last sync 0s ago" for the next hour, online or not.
    await waitFor(() => again.status.lastSyncAt !== null && again.status.lastSyncAt <= clock.now(), 'last sync no later than now');
    // Kept on the device as such: offline after this, it reads "n minutes ago" as they pass.
    expect(Number(storage.saved.get('rms:last-sync:in-sync-at:till-1'))).toBeLessThanOrEqual(clock.now());
  });
});
