import { cpSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it, vi } from 'vitest';
import * as Y from 'yjs';
import { canonicalEventJson, type EventEnvelope } from '../../shared/events/envelope';
import { SegmentWriter } from '../../shared/log/log-doc';
import { CloseReason } from '../../shared/protocol/close-reasons';
import { SERVER_ORIGIN } from '../../server/relay/origins';
import { persistenceHook } from '../../server/relay/persistence-hook';
import { RoomRegistry } from '../../server/relay/room-registry';
import { DB_FILE, openDatabase } from '../../server/store/database';
import { SqliteCanonicalLog } from '../../server/store/sqlite-canonical-log';
import { StoreHealth } from '../../server/store/store-health';
import { startUpdateMerger } from '../../server/store/update-merger';
import { MemoryRoomStore } from '../helpers/memory-room-store';
import { makeDataDir, removeDataDir, spawnServer } from '../helpers/server-process';
import { TEST_SECRET, api, connectSynced, mint, postEvents, ticketOpenedEvent, waitForAsync } from '../helpers/server-clients';
import { startTestServer } from '../helpers/server-in-process';

/**
 * The server on a data directory it must not use, and on a store that stops taking writes
 * (disk full, simulated by a trigger another connection puts on the file): it says so rather
 * than serve as if all were well.
 */
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function dataDir(): string {
  const dir = makeDataDir();
  cleanups.push(() => removeDataDir(dir));
  return dir;
}

/** The real CLI's start on `dir`: its error, when it exits before listening. */
function startError(dir: string): Promise<string> {
  return spawnServer({ dataDir: dir, secret: TEST_SECRET }).then(
    (s) => s.kill9().then(() => 'started'),
    (err: unknown) => String(err),
  );
}

/** Makes every insert into `table` fail, as a full disk does, until the returned function is called. */
function failInserts(dir: string, table: string): () => void {
  const side = new Database(join(dir, DB_FILE));
  const trigger = `fail_${table}`;
  side.exec(`CREATE TRIGGER ${trigger} BEFORE INSERT ON ${table} BEGIN SELECT RAISE(ABORT, 'disk full (simulated)'); END;`);
  let restored = false;
  const restore = (): void => {
    if (restored) return;
    restored = true;
    side.exec(`DROP TRIGGER ${trigger}`);
    side.close();
  };
  cleanups.push(restore);
  return restore;
}

/** The canonical log on a database of its own (closed after the test), and what its appendBatch takes. */
function canonicalLog() {
  const db = openDatabase(dataDir());
  cleanups.push(() => db.close());
  const valid = (terminal: string, n: number) => {
    const event = ticketOpenedEvent(terminal, n);
    return { event, canonical: canonicalEventJson(event) };
  };
  return { db, store: new SqliteCanonicalLog(db), valid };
}

async function storeErrors(url: string, op: string): Promise<number> {
  const text = String((await api<string>(url, '/metrics', null)).body);
  return Number(text.match(new RegExp(`^rms_store_errors_total\\{op="${op}"\\} (\\d+)`, 'm'))?.[1] ?? NaN);
}

describe('start refusals', () => {
  it('[SRV36] a database written by a newer RMS (a rollback) stops the start in one line, and is left as it was', async () => {
    const dir = dataDir();
    const db = openDatabase(dir);
    db.pragma('user_version = 99');
    db.close();
    const error = await startError(dir);
    expect(error).toMatch(/exited with 1 before listening/);
    expect(error).toContain(`RMS server could not start: ${join(dir, DB_FILE)}: schema version 99 is newer than this server's`);
    expect(error).toContain('refusing to downgrade');
    const after = new Database(join(dir, DB_FILE), { readonly: true });
    cleanups.push(() => after.close());
    expect(after.pragma('user_version', { simple: true })).toBe(99);
  }, 30_000);

  it('[SRV36] an empty database file (a failed copy or restore) stops the start in one line instead of opening as a new database', async () => {
    const dir = dataDir();
    writeFileSync(join(dir, DB_FILE), '');
    const error = await startError(dir);
    expect(error).toMatch(/exited with 1 before listening/);
    expect(error).toContain(`RMS server could not start: ${join(dir, DB_FILE)} is empty (truncated?): restore it, or delete it to start a new database`);
    expect(statSync(join(dir, DB_FILE)).size).toBe(0);
  }, 30_000);
});

describe('store writes failing', () => {
  it('[SRV37][OUT8] a batch rolled back part-way names no range above a watermark it did not store', async () => {
    const { db, store, valid } = canonicalLog();
    await store.appendBatch('loc', [valid('till-1', 1)], Date.now());
    // The batch fails after till-1's n = 5 was kept as a range above its mark: till-2's gap is refused.
    db.exec(`CREATE TRIGGER fail_gap BEFORE INSERT ON watermark_gaps WHEN NEW.terminal = 'till-2' BEGIN SELECT RAISE(ABORT, 'disk full (simulated)'); END`);
    await expect(store.appendBatch('loc', [valid('till-1', 5), valid('till-2', 7)], Date.now())).rejects.toThrow(/disk full/);
    db.exec('DROP TRIGGER fail_gap');
    expect(await store.acknowledgements('loc')).toEqual({ marks: { 'till-1': 1 }, above: {} });
    // Nor does the answer to the next batch.
    expect((await store.appendBatch('loc', [valid('till-3', 1)], Date.now())).storedAbove).toEqual({});
  });

  it('[SRV37] /healthz answers 503 storageFailing while POST /api/events cannot store, counted in rms_store_errors_total; 200 again once a write stores', async () => {
    const server = await startTestServer();
    cleanups.push(() => server.dispose());
    const token = await mint('full', 'terminal', 'till-1');
    expect((await api(server.url, '/healthz', null)).status).toBe(200);
    expect(await storeErrors(server.url, 'events')).toBe(0);

    const restore = failInserts(server.dataDir, 'events');
    const sale = ticketOpenedEvent('till-1', 1);
    expect((await postEvents(server.url, token, [sale])).status).toBe(500);
    const health = await api<Record<string, unknown>>(server.url, '/healthz', null);
    expect(health.status).toBe(503);
    expect(health.body).toMatchObject({ status: 'storageFailing', op: 'events', error: expect.stringContaining('disk full') });
    expect(await storeErrors(server.url, 'events')).toBe(1);
    // Nothing was accepted meanwhile.
    const read = await api<{ events: EventEnvelope[] }>(server.url, '/api/events', token);
    expect(read.body.events).toEqual([]);

    restore();
    expect((await postEvents(server.url, token, [sale])).body.results).toEqual([{ id: sale.id, status: 'accepted' }]);
    expect((await api(server.url, '/healthz', null)).body).toMatchObject({ status: 'ok' });
  });

  it('[SRV37] with only the rooms\' state failing to store, a sale stored in the canonical log does not make /healthz say all is well', async () => {
    const server = await startTestServer();
    cleanups.push(() => server.dispose());
    const restore = failInserts(server.dataDir, 'room_updates');
    const till = await connectSynced(server.wsUrl, 'half-full', await mint('half-full', 'terminal', 'till-1'));
    cleanups.push(() => till.destroy());
    const writer = new SegmentWriter(till.doc, 'till-1');
    till.doc.transact(() => writer.append([canonicalEventJson(ticketOpenedEvent('till-1', 1))]), 'local');
    await waitForAsync(async () => (await api(server.url, '/healthz', null)).status === 503, 'the room commit failed');
    // The canonical log still takes a REST upload: before, its success cleared the rooms' failure.
    const token = await mint('half-full', 'terminal', 'till-2');
    expect((await postEvents(server.url, token, [ticketOpenedEvent('till-2', 1)])).body.results[0]).toMatchObject({ status: 'accepted' });
    expect((await api<Record<string, unknown>>(server.url, '/healthz', null)).body).toMatchObject({ status: 'storageFailing', op: 'room_commit' });
    restore();
    till.doc.transact(() => writer.append([canonicalEventJson(ticketOpenedEvent('till-1', 2))]), 'local');
    await waitForAsync(async () => (await api(server.url, '/healthz', null)).status === 200, 'the room stores again');
  });

  it('[SRV37] a room whose commits fail (disk full) closes its senders, logs it once a while, not per commit, and /healthz says so until the room stores again', async () => {
    const dir = dataDir();
    const server = await spawnServer({ dataDir: dir, secret: TEST_SECRET });
    cleanups.push(() => (server.child.exitCode === null && server.child.signalCode === null ? server.kill9() : undefined));
    const till = await connectSynced(server.wsUrl, 'full', await mint('full', 'terminal', 'till-1'));
    cleanups.push(() => till.destroy());
    const writer = new SegmentWriter(till.doc, 'till-1');
    const write = (n: number): void => till.doc.transact(() => writer.append([canonicalEventJson(ticketOpenedEvent('till-1', n))]), 'local');

    const restoreRooms = failInserts(dir, 'room_updates');
    const restoreEvents = failInserts(dir, 'events');
    // Each sale fails to commit and its till is closed (it reconnects and sends the next one).
    for (let n = 1; n <= 3; n++) {
      write(n);
      await waitForAsync(async () => (await storeErrors(server.url, 'room_commit')) >= n, `room commit ${n} failed`, 30_000);
    }
    const health = await api<Record<string, unknown>>(server.url, '/healthz', null);
    expect(health.status).toBe(503);
    expect(health.body).toMatchObject({ status: 'storageFailing' });
    expect(await storeErrors(server.url, 'relay_ingest')).toBeGreaterThanOrEqual(1);
    const logged = server.logs.filter((l) => l.msg === 'room commit failed (its senders are closed and send again)');
    expect(logged.length).toBeGreaterThanOrEqual(1);
    expect(logged[0]).toMatchObject({ level: 50, location: 'full', err: expect.stringContaining('disk full') });
    expect(logged.length).toBeLessThan(await storeErrors(server.url, 'room_commit'));

    restoreRooms();
    restoreEvents();
    write(4);
    await waitForAsync(async () => (await api(server.url, '/healthz', null)).status === 200, '/healthz ok once the room stores again', 30_000);
    expect(await server.stop()).toBe(0);
  }, 60_000);
});

/** A room store whose appends fail while `failing` is set (a full or read-only disk). */
class FailingRoomStore extends MemoryRoomStore {
  failing = false;
  override appendUpdates(room: string, updates: readonly Uint8Array[]): number[] {
    if (this.failing) throw new Error('disk full');
    return super.appendUpdates(room, updates);
  }
}

describe('a room whose flush fails', () => {
  it('[SRV20] an idle room whose flush fails stays loaded with what only it holds, and unloads once a flush stores it', async () => {
    const merger = startUpdateMerger();
    cleanups.push(() => merger.close());
    const store = new FailingRoomStore();
    const idleMs = 10;
    const registry = new RoomRegistry({
      hooks: [persistenceHook(store, merger, { mergeEvery: 500 })],
      commitWatch: { storeHealth: new StoreHealth(Date.now), log: { error() {} } },
      idleMs,
      flushEveryMs: 60_000,
      onFlushError() {},
    });
    cleanups.push(() => registry.closeAll(CloseReason.serverShuttingDown));
    const room = await registry.acquire('r');
    store.failing = true;
    room.doc.transact(() => room.doc.getMap('m').set('k', 'only in memory'), SERVER_ORIGIN);
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      registry.release(room);
      vi.advanceTimersByTime(idleMs); // idle: its flush fails
      expect(registry.peek('r')).toBe(room);
      store.failing = false;
      vi.advanceTimersByTime(idleMs); // flushed again
      expect(registry.peek('r')).toBeUndefined();
    } finally {
      vi.useRealTimers();
    }
    const stored = new Y.Doc();
    for (const update of (await store.load('r')).updates) Y.applyUpdate(stored, update);
    expect(stored.getMap('m').get('k')).toBe('only in memory');
  });
});

describe('the log restored from a backup', () => {
  it('[SRV38] a back office following the log by cursor skips none of the events stored after a restore: they take cursors above every one given before', async () => {
    const dir = dataDir();
    const token = await mint('loc-restore', 'terminal', 'till-1');
    type Page = { events: { id: string }[]; next: string };
    const page = async (url: string, after: string) => (await api<Page>(url, `/api/events?after=${after}`, token)).body;
    let server = await startTestServer({ dataDir: dir });
    await postEvents(server.url, token, [1, 2, 3].map((n) => ticketOpenedEvent('till-1', n)));
    await server.close();
    const backup = `${dir}.backup`;
    cpSync(dir, backup, { recursive: true });
    cleanups.push(() => removeDataDir(backup));
    // Sold after the backup: the back office reads it and holds its cursor.
    server = await startTestServer({ dataDir: dir });
    await postEvents(server.url, token, [4, 5, 6].map((n) => ticketOpenedEvent('till-1', n)));
    const held = (await page(server.url, '')).next;
    await server.close();
    // The database restored from the backup; the tills upload what it lost, and sell on.
    rmSync(dir, { recursive: true, force: true });
    cpSync(backup, dir, { recursive: true });
    server = await startTestServer({ dataDir: dir });
    cleanups.push(() => server.close());
    const resold = [4, 5, 6, 7].map((n) => ticketOpenedEvent('till-1', n));
    await postEvents(server.url, token, resold);
    // Before, they took the cursors 4–7 again, at or below the one the back office held: it never saw them.
    expect((await page(server.url, held)).events.map((e) => e.id)).toEqual(resold.map((e) => e.id));
  });
  it('[SRV38] batches in the same millisecond, or after the server clock went back a minute, take cursors above every one given', async () => {
    const { store, valid } = canonicalLog();
    const t = Date.UTC(2026, 0, 1);
    await store.appendBatch('loc', [valid('till-1', 1)], t);
    const firstCursor = (await store.readAfter('loc', 0, 10)).lastCursor;
    const same = await store.appendBatch('loc', [valid('till-1', 2)], t);
    const back = await store.appendBatch('loc', [valid('till-1', 3)], t - 60_000);
    expect([...same.outcomes, ...back.outcomes].map((o) => o.status)).toEqual(['accepted', 'accepted']);
    expect((await store.readAfter('loc', firstCursor, 10)).events).toHaveLength(2);
  });

  it('[SRV38] a server clock read absurdly far ahead (year 2290) gives no cursor a reader cannot send back', async () => {
    // Good until then (the server judges expiry by its clock).
    const token = await mint('loc-far-clock', 'terminal', 'till-1', Math.floor((Date.UTC(2291, 0, 1) - Date.now()) / 1000));
    const server = await startTestServer({ dataDir: dataDir(), now: () => Date.UTC(2290, 0, 1) + 0.5 });
    cleanups.push(() => server.close());
    const stored = await postEvents(server.url, token, [ticketOpenedEvent('till-1', 1)]);
    expect(stored.body.results.map((r) => r.status)).toEqual(['accepted']);
    const first = await api<{ next: string }>(server.url, '/api/events', token);
    expect(first.body.next.length).toBeLessThanOrEqual(15);
    // Before, a 16-digit cursor: refused as `after`, the reader could not go on.
    expect((await api(server.url, `/api/events?after=${first.body.next}`, token)).status).toBe(200);
  });
});
