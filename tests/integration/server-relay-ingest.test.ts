import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { IngestService, type IngestedBatch } from '../../server/ingest/ingest-service';
import { openDatabase } from '../../server/store/database';
import { SqliteCanonicalLog } from '../../server/store/sqlite-canonical-log';
import { SegmentWriter, acksOf, readAllEventJson, relayedOf } from '../../shared/log/log-doc';
import { canonicalEventJson, type EventEnvelope } from '../../shared/events/envelope';
import { startTestServer, type InProcessServer } from '../helpers/server-in-process';
import { api, connectSynced, eventIdsIn, mint, postEvents, ticketOpenedEvent, waitFor, waitForAsync, type TestClient } from '../helpers/server-clients';
import { makeDataDir, removeDataDir } from '../helpers/server-process';
import { serverEvents } from '../helpers/terminals';
import { MAX_ENTRY_LENGTH } from '../../shared/log/event-head';

/**
 * [SRV17] The relay as a way into the canonical store (server/ingest/relay-ingest-hook.ts):
 * what a terminal writes into its room is stored as if that terminal had posted it.
 */
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function server(options: { relayIngest?: boolean; dataDir?: string } = {}): Promise<InProcessServer> {
  const s = await startTestServer(options);
  cleanups.push(() => s.dispose());
  return s;
}

/** A raw Yjs client of `location` with a token for `terminal` (and `role`). */
async function client(s: InProcessServer, location: string, terminal: string, role: 'terminal' | 'manager' = 'terminal'): Promise<TestClient> {
  const c = await connectSynced(s.wsUrl, location, await mint(location, role, terminal));
  cleanups.push(() => c.destroy());
  return c;
}

/** Writes events into the writer's segments, as a terminal's EventStore does. */
function write(c: TestClient, writer: string, entries: readonly (EventEnvelope | string)[]): void {
  c.doc.transact(() => new SegmentWriter(c.doc, writer).append(entries.map((e) => (typeof e === 'string' ? e : canonicalEventJson(e)))), 'local');
}

async function storedIds(s: InProcessServer, location: string): Promise<string[]> {
  return (await serverEvents(s.url, location)).map((e) => e.id);
}

async function metric(s: InProcessServer, status: string): Promise<number> {
  const text = (await api<string>(s.url, '/metrics', null)).body;
  const m = new RegExp(`rms_relay_events_ingested_total\\{status="${status}"\\} (\\d+)`).exec(String(text));
  return m ? Number(m[1]) : 0;
}

describe('relay ingest', () => {
  it('[SRV17] events written into the room are in the canonical log and acknowledged in the doc, with no POST', async () => {
    const s = await server();
    const till = await client(s, 'ingest', 'till-1');
    const events = [1, 2, 3].map((n) => ticketOpenedEvent('till-1', n));
    write(till, 'till-1', events);
    await waitForAsync(async () => (await storedIds(s, 'ingest')).length === 3, 'stored from the relay');
    expect((await storedIds(s, 'ingest')).sort()).toEqual(events.map((e) => e.id).sort());
    await waitFor(() => acksOf(till.doc).get('till-1') === 3, 'acknowledged through the room');
    expect(await metric(s, 'accepted')).toBe(3);
    // Posted afterwards (the terminal's outbox did not see the acks yet): duplicates, and once in the doc.
    const posted = await postEvents(s.url, await mint('ingest', 'terminal', 'till-1'), events);
    expect(posted.body.results.map((r) => r.status)).toEqual(['duplicate', 'duplicate', 'duplicate']);
    expect(eventIdsIn(till.doc).sort()).toEqual(events.map((e) => e.id).sort());
  });

  it('[SRV17] what the server would refuse over REST it does not store from the relay; the rest of the same update is stored', async () => {
    const s = await server();
    const till = await client(s, 'refusals', 'till-1');
    const good = ticketOpenedEvent('till-1', 1);
    const badPayload = ticketOpenedEvent('till-1', 2, { payload: { number: 42, covers: 4 } as never });
    const ownVoid = ticketOpenedEvent('till-1', 3, { type: 'ticket.voided', aggregate: { type: 'ticket', id: 'ticket-1' }, payload: { reason: 'walked out' } });
    const newer = ticketOpenedEvent('till-1', 4, { v: 99 });
    const ownComp = ticketOpenedEvent('till-1', 5, { type: 'ticket.line_comped', aggregate: { type: 'ticket', id: 'ticket-1' }, payload: { lineId: 'line-1', reason: 'cold', quantity: 1 } });
    write(till, 'till-1', [good, badPayload, ownVoid, newer, ownComp, 'not json at all']);
    await waitForAsync(async () => (await metric(s, 'rejected')) === 4, 'four refused');
    expect(await storedIds(s, 'refusals')).toEqual([good.id]);
    // They stay in the room (the writer's upload gets the reasons and sets them aside).
    expect(readAllEventJson(till.doc)).toHaveLength(6);
    await waitFor(() => acksOf(till.doc).get('till-1') === 1, 'acknowledged up to the first refused');
    // A manager's void written by the manager's own device is the manager's to write.
    const manager = await client(s, 'refusals', 'manager-1', 'manager');
    const void1 = ticketOpenedEvent('manager-1', 1, { type: 'ticket.voided', aggregate: { type: 'ticket', id: 'ticket-1' }, payload: { reason: 'walked out' } });
    write(manager, 'manager-1', [void1]);
    await waitForAsync(async () => (await storedIds(s, 'refusals')).includes(void1.id), 'the manager\'s void stored');
  });

  it('[SRV31] an entry too long to be an event is never parsed nor checked: the rest of the same update is stored', async () => {
    const s = await server();
    const till = await client(s, 'oversized', 'till-1');
    const first = ticketOpenedEvent('till-1', 1);
    const third = ticketOpenedEvent('till-1', 3);
    // An event's head, its aggregate's keys swapped (no fast path reads it), 200 KB of nested arrays.
    const nested = '['.repeat(100_000) + ']'.repeat(100_000);
    const oversized = JSON.stringify({ ...ticketOpenedEvent('till-1', 2, { aggregate: { type: 'ticket', id: 't' } }), payload: '__P__' }).replace('"__P__"', nested);
    expect(oversized.length).toBeGreaterThan(MAX_ENTRY_LENGTH);
    write(till, 'till-1', [first, oversized, third]);
    await waitForAsync(async () => (await metric(s, 'accepted')) === 2, 'the two events stored');
    expect((await storedIds(s, 'oversized')).sort()).toEqual([first.id, third.id].sort());
    // Skipped as an entry that is not JSON is: never handed to the checks (a refusal counts as rejected).
    expect(await metric(s, 'rejected')).toBe(0);
    expect(readAllEventJson(till.doc)).toHaveLength(3);
  });

  it('[SRV17] a terminal back from an outage, 1,200 events in one update: all stored, once, and acknowledged to the others', async () => {
    const s = await server();
    const a = await client(s, 'outage', 'till-1');
    const b = await client(s, 'outage', 'till-2');
    const events = Array.from({ length: 1200 }, (_, i) => ticketOpenedEvent('till-1', i + 1));
    write(a, 'till-1', events);
    await waitForAsync(async () => (await storedIds(s, 'outage')).length === 1200, 'all stored', 20_000);
    expect(new Set(await storedIds(s, 'outage')).size).toBe(1200);
    await waitFor(() => acksOf(b.doc).get('till-1') === 1200, 'b sees them acknowledged');
    expect(await metric(s, 'accepted')).toBe(1200);
  });

  it('[SRV17] with RELAY_INGEST off only POST /api/events stores events', async () => {
    const dataDir = makeDataDir();
    cleanups.push(() => removeDataDir(dataDir));
    const before = await startTestServer({ dataDir, relayIngest: false });
    cleanups.push(() => before.close());
    const till = await connectSynced(before.wsUrl, 'off', await mint('off', 'terminal', 'till-1'));
    const e = ticketOpenedEvent('till-1', 1);
    write(till, 'till-1', [e]);
    const probe = await connectSynced(before.wsUrl, 'off', await mint('off', 'terminal', 'till-2'));
    await waitFor(() => eventIdsIn(probe.doc).includes(e.id), 'relayed');
    till.destroy();
    probe.destroy();
    // A graceful shutdown stores whatever relay ingest had taken: after it, nothing can still be on its way.
    await before.close();
    const s = await server({ dataDir, relayIngest: false });
    expect(await storedIds(s, 'off')).toEqual([]);
    expect((await postEvents(s.url, await mint('off', 'terminal', 'till-1'), [e])).body.results[0]!.status).toBe('accepted');
  });

  it('[SRV21] what a room holds and the canonical log does not is ingested when the room loads', async () => {
    // Relayed while relay ingest was off: the room has it, the canonical log does not, and
    // the till that wrote it is gone (as after a kill between the room's commit and the ingest).
    const dataDir = makeDataDir();
    cleanups.push(() => removeDataDir(dataDir));
    const before = await startTestServer({ dataDir, relayIngest: false });
    const till = await connectSynced(before.wsUrl, 'catch-up', await mint('catch-up', 'terminal', 'till-1'));
    const posted = ticketOpenedEvent('till-1', 1);
    const relayedOnly = [2, 3, 4].map((n) => ticketOpenedEvent('till-1', n));
    const ownVoid = ticketOpenedEvent('till-1', 5, { type: 'ticket.voided', aggregate: { type: 'ticket', id: 'ticket-1' }, payload: { reason: 'walked out' } });
    expect((await postEvents(before.url, await mint('catch-up', 'terminal', 'till-1'), [posted])).body.results[0]!.status).toBe('accepted');
    write(till, 'till-1', [...relayedOnly, ownVoid]);
    await waitFor(() => relayedOf(till.doc).get('till-1') === 5, 'stored in the room');
    till.destroy();
    await before.close();

    const after = await server({ dataDir });
    expect(await storedIds(after, 'catch-up')).toEqual([posted.id]);
    const kitchen = await client(after, 'catch-up', 'kitchen-1');
    await waitForAsync(async () => (await storedIds(after, 'catch-up')).length === 4, 'caught up');
    expect((await storedIds(after, 'catch-up')).sort()).toEqual([posted, ...relayedOnly].map((e) => e.id).sort());
    // Acknowledged to the terminals; the till's own void is not its to write (left to its upload, which is refused).
    await waitFor(() => acksOf(kitchen.doc).get('till-1') === 4, 'acknowledged through the room');
    expect(await metric(after, 'rejected')).toBe(1);
    expect(eventIdsIn(kitchen.doc)).toHaveLength(5);
  });

  it('[SRV17] one window of several connections is stored in one transaction, each batch checked and answered as its uploader\'s', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rms-ingest-each-'));
    const db = openDatabase(dir);
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }), () => db.close());
    const store = new SqliteCanonicalLog(db);
    const transactions = vi.spyOn(store, 'appendBatch');
    const seen: IngestedBatch[] = [];
    const ingest = new IngestService(store, [{ name: 'record', afterIngest: (b) => void seen.push(b) }], { error: () => {} });
    const voidOf = (terminal: string, n: number) =>
      ticketOpenedEvent(terminal, n, { type: 'ticket.voided', aggregate: { type: 'ticket', id: 'ticket-1' }, payload: { reason: 'walked out' } });
    const tillGood = ticketOpenedEvent('till-1', 1);
    const tillVoid = voidOf('till-1', 2);
    const managerVoid = voidOf('manager-1', 1);
    const results = await ingest.ingestEach('window', [
      { raws: [tillGood, tillVoid], uploader: { terminal: 'till-1', role: 'terminal' } },
      { raws: [managerVoid, tillGood], uploader: { terminal: 'manager-1', role: 'manager' } },
    ]);
    expect(transactions).toHaveBeenCalledTimes(1);
    expect(results.map((r) => r.results.map((x) => x.status))).toEqual([
      ['accepted', 'rejected'],
      ['accepted', 'duplicate'],
    ]);
    expect(results[0]!.results[1]).toMatchObject({ id: tillVoid.id, field: 'type' });
    expect(results.map((r) => [r.accepted, r.duplicates, r.rejected])).toEqual([[1, 0, 1], [1, 1, 0]]);
    expect(seen.map((b) => [b.uploader, b.accepted.map((v) => v.event.id)])).toEqual([
      ['till-1', [tillGood.id]],
      ['manager-1', [managerVoid.id]],
    ]);
    expect(results[1]!.watermarks).toEqual({ 'till-1': 1, 'manager-1': 1 });
  });
});
