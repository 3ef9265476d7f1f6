import { describe, expect, it } from 'vitest';
import type { Awareness } from 'y-protocols/awareness';
import { z } from 'zod';
import { NO_NETWORK, SAMPLE_EVERY_MS } from '../../client/sync/sync-manager';
import { ManualTimers, TabletClock } from '../helpers/manual-timers';
import { updatableServer, withSchema, writeAsOtherBuild } from '../helpers/other-builds';
import { mint, postEvents, waitFor, waitForAsync } from '../helpers/server-clients';
import { serverEvents, type TestTerminal } from '../helpers/terminals';
import { testScope } from '../helpers/test-scope';

const { defer, inProcess, proxyTo, terminal } = testScope();

const ticket = { id: 't1', type: 'ticket' };

/** A fetch that reaches the server until `down` is set, counting requests and the clock probes among them (GET /api/watermarks). */
function switchableFetch() {
  const state = { down: false, requests: 0, probes: 0 };
  const fetch: typeof globalThis.fetch = async (input, init) => {
    state.requests++;
    if (String(input).endsWith('/api/watermarks')) state.probes++;
    if (state.down) throw new TypeError('fetch failed');
    return globalThis.fetch(input, init);
  };
  return { state, fetch };
}

/** The server updated to a build that takes notes up to 1,000 characters (500 before), on the same data. */
function acceptLongNotes(updatable: Awaited<ReturnType<typeof updatableServer>>) {
  return updatable.restart(() => defer(withSchema('ticket.note_set', 1, z.strictObject({ note: z.string().max(1000) }))));
}

/**
 * A till with no relay (REST only, on manual timers none of which is advanced) whose second event, a
 * note of a build allowing longer ones, the server refused: quarantined; then the server is updated.
 */
async function quarantinedThenUpdated(location: string, seed: number) {
  const updatable = await updatableServer(defer);
  const timers = new ManualTimers(seed);
  const t = await terminal({ location, terminal: 'till-1', apiBase: updatable.firstUrl, syncEndpoint: 'ws://127.0.0.1:1/sync', sync: { timers, fetch: updatable.fetch } });
  await t.store.append('ticket.opened', { number: 'A-001' }, { aggregate: ticket });
  writeAsOtherBuild(t, 2, { type: 'ticket.note_set', v: 1, aggregate: ticket, payload: { note: 'n'.repeat(600) } });
  await t.sync.syncNow();
  await waitFor(() => t.sync.status.quarantined.length === 1 && !t.sync.status.inFlight, 'event 2 quarantined');
  await acceptLongNotes(updatable);
  return { updatable, t };
}

/** The presence (awareness) of a terminal's relay connection. */
function awarenessOf(t: TestTerminal): Awareness {
  return (t.sync as unknown as { relay: { provider: { awareness: Awareness } } }).relay.provider.awareness;
}

describe('What the status bar and the console say', () => {
  it('[SYN22] with nothing owed, the relay failing asks the server, gone: the pill turns intermittent, then offline; its retries are in the status, none once connected', async () => {
    const server = await inProcess();
    const relayPath = await proxyTo(server.port);
    const timers = new ManualTimers(22);
    const { state, fetch } = switchableFetch();
    const t = await terminal({ location: 'relay-down', terminal: 'till-1', apiBase: server.url, syncEndpoint: relayPath.wsUrl, sync: { timers, fetch } });
    await waitFor(() => t.sync.relayInStep && t.sync.status.connection.name === 'online' && !t.sync.status.inFlight, 'in step, the start-up probe answered');

    await relayPath.refuse(true);
    state.down = true;
    relayPath.cut(); // the server goes
    /** The relay failed once more, and the probe it asked for got no answer. */
    const failedAgain = (attempt: number, probes: number) => () => t.sync.status.relayAttempt === attempt + 1 && t.sync.status.relayNextAttemptAt !== null && state.probes === probes + 1 && !t.sync.status.inFlight;
    await waitFor(failedAgain(0, state.probes), 'the relay waiting to reconnect, the server asked');
    // Before, the pill read "Online · N ms" for up to 5 minutes: only uploads and probes told it.
    expect(t.sync.status.connection).toEqual({ name: 'intermittent', recentFailures: 1 });
    expect(t.sync.status.relayAttempt).toBe(1);
    for (let tries = 0; tries < 10 && t.sync.status.connection.name !== 'offline'; tries++) {
      const attempt = t.sync.status.relayAttempt;
      const probes = state.probes;
      timers.advance(t.sync.status.relayNextAttemptAt! - timers.now());
      await waitFor(failedAgain(attempt, probes), `relay retry ${attempt + 1} refused, the server asked`);
    }
    expect(t.sync.status.connection.name).toBe('offline');

    await relayPath.refuse(false);
    state.down = false;
    timers.advance(t.sync.status.relayNextAttemptAt! - timers.now());
    // Connected and synced again: the server answered (its failures still recent).
    await waitFor(() => t.sync.relayInStep && t.sync.status.connection.name === 'intermittent', 'the relay back, heard as an answer');
    // Before, the console read "Relay retries: N failed in a row" while connected.
    expect(t.sync.status.relayAttempt).toBe(0);
  });

  it('[SYN22] a relay refused while REST answers (websockets blocked by a proxy) reads online: each relay failure asks the server once', async () => {
    const server = await inProcess();
    const relayPath = await proxyTo(server.port);
    await relayPath.refuse(true);
    const timers = new ManualTimers(27);
    const { state, fetch } = switchableFetch();
    const t = await terminal({ location: 'no-websockets', terminal: 'till-1', apiBase: server.url, syncEndpoint: relayPath.wsUrl, sync: { timers, fetch } });
    await waitFor(() => t.sync.status.relayNextAttemptAt !== null && t.sync.status.metrics.lastLatencyMs !== null && !t.sync.status.inFlight, 'the relay refused, the start-up probe answered');
    const probes = state.probes;
    for (let tries = 0; tries < 6; tries++) {
      const attempt = t.sync.status.relayAttempt;
      timers.advance(t.sync.status.relayNextAttemptAt! - timers.now());
      await waitFor(() => t.sync.status.relayAttempt === attempt + 1 && t.sync.status.relayNextAttemptAt !== null && !t.sync.status.inFlight, `relay retry ${attempt + 1} refused`);
    }
    // Before, each relay failure counted as one: "Offline" after four, while every sale uploaded fine.
    expect(t.sync.status.connection.name).toBe('online');
    expect(state.probes).toBe(probes + 6);

    await t.store.append('ticket.opened', { number: 'A-001' }, { aggregate: ticket });
    await waitFor(() => t.sync.status.owed === 0 && !t.sync.status.inFlight, 'the sale uploaded');
    expect(t.sync.status.connection.name).toBe('online');
  });

  it('[OUT13] a token renewal reconnects the relay without a failure: no probe asked, and the next drop is the first in a row', async () => {
    const server = await inProcess();
    const relayPath = await proxyTo(server.port);
    const timers = new ManualTimers(28);
    const { state, fetch } = switchableFetch();
    const t = await terminal({ location: 'renewal', terminal: 'till-1', apiBase: server.url, syncEndpoint: relayPath.wsUrl, sync: { timers, fetch } });
    await waitFor(() => t.sync.relayInStep && t.sync.status.connection.name === 'online' && !t.sync.status.inFlight, 'in step, the start-up probe answered');
    const probes = state.probes;

    t.sync.renewToken(await mint('renewal', 'terminal', 'till-1'));
    await waitFor(() => t.sync.relayInStep && !t.sync.status.inFlight, 'the relay back with the new token');
    // Before, the renewal's own disconnect read as a relay failure (then as a failed request).
    expect(state.probes).toBe(probes);
    expect(t.sync.status.connection.name).toBe('online');

    await relayPath.refuse(true);
    relayPath.cut();
    await waitFor(() => t.sync.status.relayNextAttemptAt !== null, 'the relay waiting to reconnect');
    expect(t.sync.status.relayAttempt).toBe(1);
  });

  it('[SYN23] "Sync now" with nothing owed asks the server, and says when it does not answer', async () => {
    const server = await inProcess();
    const timers = new ManualTimers(23);
    const { state, fetch } = switchableFetch();
    const t = await terminal({ location: 'sync-now', terminal: 'till-1', apiBase: server.url, syncEndpoint: server.wsUrl, sync: { timers, fetch } });
    await waitFor(() => t.sync.relayInStep && t.sync.status.clockOffsetMs !== null && !t.sync.status.inFlight, 'in step, the start-up probe answered');
    const probes = state.probes;

    // Before, with nothing owed and the probe not due, "Sync now" asked nobody and said nothing.
    expect(await t.sync.syncNow()).toBeNull();
    expect(state.probes).toBe(probes + 1);

    state.down = true;
    expect(await t.sync.syncNow()).toMatch(/^Server not reachable/);
    expect(state.probes).toBe(probes + 2);
  });

  it('[SYN23] "Sync now" without a network tries nothing and says so: offline stays offline', async () => {
    const server = await inProcess();
    const timers = new ManualTimers(24);
    const browser = Object.assign(new EventTarget(), { navigator: { onLine: false } });
    const { state, fetch } = switchableFetch();
    const t = await terminal({ location: 'no-network', terminal: 'till-1', apiBase: server.url, syncEndpoint: server.wsUrl, sync: { timers, browser, fetch } });
    await t.store.append('ticket.opened', { number: 'A-001' }, { aggregate: ticket });

    // Before, it resumed sync with no network (and the state read "intermittent" for good after).
    expect(await t.sync.syncNow()).toBe(NO_NETWORK);
    expect(state.requests).toBe(0);
    expect(t.sync.status.relay).toBe('disconnected');
    expect(t.sync.status.connection.name).toBe('offline');
  });

  it('[SYN23][SYN6] "Sync now" in an outage starts the upload backoff over; once it gets through, no retry is left armed: a sale written after goes at once', async () => {
    const server = await inProcess({ relayIngest: false });
    const timers = new ManualTimers(2);
    timers.random = () => 0.99; // every wait drawn at 99% of its ceiling
    const { state, fetch } = switchableFetch();
    const posts = () => state.requests - state.probes;
    const t = await terminal({ location: 'sync-now-outage', terminal: 'till-1', apiBase: server.url, syncEndpoint: 'ws://127.0.0.1:1/sync', sync: { timers, fetch } });
    await waitFor(() => !t.sync.status.inFlight && t.sync.status.clockOffsetMs !== null, 'start-up probe answered');
    state.down = true;
    await t.store.append('ticket.opened', { number: 'A-001' }, { aggregate: ticket });
    const failedAgain = (n: number) => waitFor(() => posts() === n && !t.sync.status.inFlight && t.sync.status.nextAttemptAt !== null, `try ${n} failed`);
    await failedAgain(1);
    for (let n = 2; n <= 5; n++) {
      timers.advance(t.sync.status.nextAttemptAt! - timers.now());
      await failedAgain(n);
    }
    expect(t.sync.status.nextAttemptAt! - timers.now()).toBe(Math.floor(0.99 * 16_000)); // the outage's backoff has grown
    expect(await t.sync.syncNow()).toMatch(/^Server not reachable/);
    expect(posts()).toBe(6);
    expect(t.sync.status.nextAttemptAt! - timers.now()).toBe(990);

    state.down = false;
    expect(await t.sync.syncNow()).toBeNull();
    expect(t.sync.status.owed).toBe(0);
    expect(t.sync.status.nextAttemptAt).toBeNull();
    await t.store.append('ticket.opened', { number: 'A-002' }, { aggregate: { id: 't2', type: 'ticket' } });
    // No timer advanced: the write itself posts it (a retry left armed would hold it back as a backoff).
    await waitFor(() => posts() === 8 && t.sync.status.owed === 0 && !t.sync.status.inFlight, 'the new sale posted at once');
  });

  it('[OUT4] the oldest owed sale of a till whose clock is behind is dated by its own clock, not by its server-time stamp', async () => {
    const server = await inProcess({ relayIngest: false });
    const clock = new TabletClock();
    clock.wallOffsetMs = -10 * 60_000; // 10 minutes behind
    const { state, fetch } = switchableFetch();
    const t = await terminal({ location: 'oldest-owed', terminal: 'till-1', apiBase: server.url, syncEndpoint: 'ws://127.0.0.1:1/sync', wallNow: clock.now, sync: { timers: clock, fetch } });
    await waitFor(() => !t.sync.status.inFlight && t.sync.status.clockOffsetMs !== null, 'start-up probe answered');
    expect(Math.abs(t.sync.status.clockOffsetMs! - 10 * 60_000)).toBeLessThan(2_000);
    state.down = true;
    const sale = await t.store.append('ticket.opened', { number: 'A-001' }, { aggregate: ticket });
    expect(Math.abs(sale.at - Date.now())).toBeLessThan(2_000); // stamped on server time
    const writtenAt = clock.now();
    await waitFor(() => !t.sync.status.inFlight && t.sync.status.owed === 1 && t.sync.status.oldestOwedAt !== null, 'owed, the upload failed');
    // Before, it read 10 minutes ahead: "owed since" in the future.
    expect(Math.abs(t.sync.status.oldestOwedAt! - writtenAt)).toBeLessThan(2_000);
  });

  it('[OUT11] the charts are sampled on a timer, paused or not: an outbox growing offline shows; a probe\'s latency is the last latency', async () => {
    const server = await inProcess();
    const timers = new ManualTimers(25);
    const browser = Object.assign(new EventTarget(), { navigator: { onLine: true } });
    const t = await terminal({ location: 'charts', terminal: 'till-1', apiBase: server.url, syncEndpoint: server.wsUrl, sync: { timers, browser } });
    await waitFor(() => t.sync.relayInStep && t.sync.status.clockOffsetMs !== null && !t.sync.status.inFlight, 'in step, the start-up probe answered');
    // Before, only uploads set the last latency: a till whose sales go through the relay showed "—".
    const latency = t.sync.status.metrics.lastLatencyMs;
    expect(latency).not.toBeNull();
    timers.advance(SAMPLE_EVERY_MS);
    expect(t.sync.status.metrics.samples.at(-1)).toMatchObject({ outbox: 0, latencyMs: latency });

    browser.navigator.onLine = false;
    browser.dispatchEvent(new Event('offline'));
    for (const number of ['A-001', 'A-002', 'A-003']) await t.store.append('ticket.opened', { number }, { aggregate: { id: number, type: 'ticket' } });
    await waitFor(() => t.sync.status.owed === 3, 'three owed');
    timers.advance(SAMPLE_EVERY_MS);
    // Before, nothing sampled while offline: the outbox chart stayed flat at 0.
    expect(t.sync.status.metrics.samples.at(-1)).toMatchObject({ outbox: 3, latencyMs: null });
  });

  it('[OUT11] a status listener that throws (a full localStorage) does not stop the charts', async () => {
    const server = await inProcess();
    const timers = new ManualTimers(29);
    const t = await terminal({ location: 'charts-throw', terminal: 'till-1', apiBase: server.url, syncEndpoint: server.wsUrl, sync: { timers } });
    await waitFor(() => t.sync.relayInStep && t.sync.status.owed !== null && !t.sync.status.inFlight, 'in step');
    let throwNext = false;
    t.sync.subscribe(() => {
      if (!throwNext) return;
      throwNext = false;
      throw new Error('QuotaExceededError');
    });
    throwNext = true;
    expect(() => timers.advance(SAMPLE_EVERY_MS)).toThrow('QuotaExceededError');
    const samples = t.sync.status.metrics.samples.length;
    timers.advance(3 * SAMPLE_EVERY_MS);
    // Before, the sampler re-armed after the listeners ran: one throw stopped it for good.
    expect(t.sync.status.metrics.samples.length).toBe(samples + 3);
  });

  it('[OUT12] a quarantined event leaves the quarantine once its writer\'s watermark covers it', async () => {
    // Restarted as an updated build on another port: the till's requests and its relay follow it.
    const updatable = await updatableServer(defer);
    const relayPath = await proxyTo(updatable.server.port);
    await relayPath.refuse(true); // uploads only, until the server is updated
    const timers = new ManualTimers(26);
    const t = await terminal({ location: 'quarantine', terminal: 'till-1', apiBase: updatable.firstUrl, syncEndpoint: relayPath.wsUrl, sync: { timers, fetch: updatable.fetch } });
    await t.store.append('ticket.opened', { number: 'A-001' }, { aggregate: ticket });
    // Written by a build that allows longer notes: this server refuses it.
    writeAsOtherBuild(t, 2, { type: 'ticket.note_set', v: 1, aggregate: ticket, payload: { note: 'n'.repeat(600) } });
    await t.sync.syncNow();
    await waitFor(() => t.sync.status.quarantined.length === 1 && !t.sync.status.inFlight, 'event 2 quarantined');
    expect(t.sync.status.quarantined[0]).toMatchObject({ n: 2, field: 'payload.note' });

    // The server is updated to that build's limit, on the same data, and the relay reaches it:
    // it stores what it relays, the note this time, and acknowledges it.
    await acceptLongNotes(updatable);
    relayPath.retarget(updatable.server.port);
    await relayPath.refuse(false);
    await waitFor(() => t.sync.status.relayNextAttemptAt !== null, 'the relay waiting to reconnect');
    timers.advance(t.sync.status.relayNextAttemptAt! - timers.now());
    // Before, it stayed quarantined (and "1 quarantined" on the bar) for good.
    await waitFor(() => t.sync.status.quarantined.length === 0, 'the quarantine emptied');
    expect(t.sync.status.watermarks['till-1']).toBe(2);
    expect((await serverEvents(updatable.server.url, 'quarantine')).map((e) => e.origin.n).sort()).toEqual([1, 2]);
  });

  it('[OUT12] an idle till with no relay drops a quarantined event its clock probe says the server holds', async () => {
    const { updatable, t } = await quarantinedThenUpdated('probe-covers', 31);
    // The server takes it from another copy of the log (a second device restored from this one).
    const held = t.store.getByAggregate(ticket.id).find((e) => e.origin.n === 2)!;
    expect((await postEvents(updatable.server.url, await mint('probe-covers', 'manager', 'office'), [held])).body.results[0]!.status).toBe('accepted');
    // Nothing owed: Sync now only asks the server, and its answer covers the event.
    await t.sync.syncNow();
    expect(t.sync.status.quarantined).toEqual([]);
  });

  it('[OUT12] a released event is uploaded at once, not at the next trigger', async () => {
    // The sync core's timers fire only when the test says: none is advanced, so only the release can send it.
    const { updatable, t } = await quarantinedThenUpdated('release-now', 30);
    t.sync.releaseQuarantine([t.sync.status.quarantined[0]!.eventId]);
    await waitForAsync(async () => (await serverEvents(updatable.server.url, 'release-now')).length === 2, 'the released event uploaded');
  });

  it('[APP23] a till whose relay reconnects (a token renewal) is back in the other terminals\' lists at once, not at its presence renewal (15 s)', async () => {
    const server = await inProcess();
    const base = { location: 'presence-back', apiBase: server.url, syncEndpoint: server.wsUrl };
    const till = await terminal({ ...base, terminal: 'till-1' });
    const other = await terminal({ ...base, terminal: 'till-2' });
    const seesTill = () => other.sync.status.terminals.some((x) => x.terminal === 'till-1');
    await waitFor(() => till.sync.relayInStep && !till.sync.status.inFlight && seesTill(), 'the other terminal sees the till');
    let tillLeft = false;
    awarenessOf(other).on('change', ({ removed }: { removed: number[] }) => (tillLeft ||= removed.includes(awarenessOf(till).clientID)));

    // The server removes the till's presence when its socket goes (keeping its clock); the till
    // comes back with the same client id, and no REST answer re-announces it (nothing owed).
    till.sync.renewToken(await mint('presence-back', 'terminal', 'till-1'));
    await waitFor(() => tillLeft && till.sync.relayInStep, 'the till gone from the other terminal and reconnected');
    await waitFor(seesTill, 'the till back in the other terminal\'s list', 5_000);
  });

  it('[SYN24] a presence whose terminal is not a string (a faulty or hostile device) is left out of the terminals list; the status keeps updating', async () => {
    const server = await inProcess();
    const base = { location: 'bad-presence', apiBase: server.url, syncEndpoint: server.wsUrl };
    const a = await terminal({ ...base, terminal: 'till-1' });
    const b = await terminal({ ...base, terminal: 'till-2' });
    await waitFor(() => b.sync.status.terminals.some((x) => x.terminal === 'till-1'), 'b sees till-1');
    awarenessOf(a).setLocalStateField('rms', { terminal: 42 });
    await waitFor(() => [...awarenessOf(b).getStates().values()].some((st) => (st as { rms?: { terminal?: unknown } }).rms?.terminal === 42), 'the bad presence reaches b');
    await b.store.append('ticket.opened', { number: 'B-001' }, { aggregate: ticket });
    await waitFor(() => b.sync.status.owed === 0 && !b.sync.status.terminals.some((x) => x.terminal === 'till-1'), 'b publishes its status, without the bad presence');
    expect(b.sync.status.terminals.map((x) => x.terminal)).toEqual(['till-2']);
  });
});
