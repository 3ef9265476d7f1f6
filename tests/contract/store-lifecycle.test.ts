import 'fake-indexeddb/auto';
import { forceCloseDatabase } from 'fake-indexeddb';
import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { EventStore } from '../../client/store/event-store';
import { NotSavedError, StorageFullError } from '../../client/store/storage-errors';
import { TicketCommands } from '../../client/commands/ticket-commands';
import type { TicketView } from '../../shared/projection/views';
import { SEGMENT_SIZE, SegmentWriter, acksOf, compactedOf, deleteEvents, readAllEventJson, segmentsOf } from '../../shared/log/log-doc';
import { SERVER_WRITER } from '../../shared/events/envelope';
import { marksOnly } from '../helpers/acknowledgements';
import { PERSISTENCE } from '../../client/store/origins';
import { CheckpointWriter } from '../../client/store/checkpoint-writer';
import type { StoredCheckpoint } from '../../client/store/idb-persistence';
import { foldFingerprint } from '../../shared/projection/location-projection';
import type { IdbPersistence, PersistenceStats } from '../../client/store/idb-persistence';
import { HybridClock } from '../../shared/clock/hybrid-clock';
import { installWebLocks } from '../helpers/web-locks';
import { installLocalStorage } from '../helpers/device-storage';
import { failIndexedDbWrites } from '../helpers/failing-disk';
import { closeAll, openStore, openedStores } from '../helpers/event-stores';
import { until } from '../helpers/until';

let seq = 0;
afterEach(() => closeAll(openedStores));

const ticket = (id: string) => ({ aggregate: { id, type: 'ticket' } });
const num = (i: number) => `A-${String(i).padStart(3, '0')}`;

describe('Store lifecycle', () => {
  // With Web Locks (a secure context), and without them in a page alone (plain http, one tab): the same page waits for the closing store.
  for (const webLocks of [true, false]) {
    it(`[STO17] a closed store keeps its writer slot until its last writes are on disk: a store reopened at once continues after them (${webLocks ? 'Web Locks' : 'no Web Locks'})`, async () => {
      const restore = webLocks ? installWebLocks() : () => {};
      try {
        const location = `slot-${++seq}`;
        const first = await EventStore.open({ location, terminal: 'till-1', crossTab: false });
        // A full segment, so the next write opens the writer's second one.
        await Promise.all(Array.from({ length: SEGMENT_SIZE }, (_, i) => first.append('ticket.opened', { number: num(i) }, ticket(`t${i}`))));
        // Earlier work still being written when the session closes (a checkpoint here).
        void (first as unknown as { storage: { flushCheckpoint(): Promise<void> } }).storage.flushCheckpoint();
        const last = first.append('ticket.opened', { number: num(900) }, ticket('t900'));
        const closed = first.close();
        await new Promise((r) => setTimeout(r, 0)); // Web Locks release asynchronously
        const second = await openStore({ location });
        const next = await second.append('ticket.opened', { number: num(901) }, ticket('t901'));
        const lastEvent = await last;
        await closed;
        // Another slot while the first is still writing, or the same one continuing after it.
        expect(`${next.origin.terminal}#${next.origin.n}`).not.toBe(`${lastEvent.origin.terminal}#${lastEvent.origin.n}`);
        await second.close();
        openedStores.length = 0;

        const reloaded = await openStore({ location });
        expect(reloaded.getByAggregate('t900')).toEqual([lastEvent]);
        expect(reloaded.getByAggregate('t901')).toEqual([next]);
        expect(reloaded.projection.size).toBe(SEGMENT_SIZE + 2);
        // Once closed, the slot is free again and its counter continues.
        expect(reloaded.writer).toBe('till-1');
        const after = await reloaded.append('ticket.opened', { number: num(902) }, ticket('t902'));
        expect(after.origin.n).toBe(Math.max(lastEvent.origin.n, next.origin.terminal === 'till-1' ? next.origin.n : 0) + 1);
      } finally {
        restore();
      }
    });
  }
});

describe('A checkpoint read at open', () => {
  it('[STO13] one that describes even one event more than the stored doc (the log\'s last write lost, the checkpoint kept) is not used: the log is read instead', () => {
    const tab = new Y.Doc();
    tab.getArray<string>('log').push(['{"id":"e1"}']);
    const onDisk = Y.encodeStateAsUpdate(tab);
    tab.getArray<string>('log').push(['{"id":"e2"}']);
    const stored = new Y.Doc();
    Y.applyUpdate(stored, onDisk);
    const checkpoint = { meta: { fingerprint: foldFingerprint(), stateVector: Y.encodeStateVector(tab), clock: 0 }, records: [], settled: null } satisfies StoredCheckpoint;
    expect(CheckpointWriter.eventsSince(checkpoint, stored)).toBeNull();
  });

  it('[STO13] a doc holding the server\'s bridged copy of our events, reopened from its checkpoint, holds each event once', async () => {
    const location = `bridged-${++seq}`;
    const store = await openStore({ location });
    for (let i = 1; i <= 3; i++) await store.append('ticket.opened', { number: num(i) }, ticket(`t${i}`));
    const room = new Y.Doc();
    Y.applyUpdate(room, Y.encodeStateAsUpdate(store.doc));
    room.transact(() => new SegmentWriter(room, SERVER_WRITER).append(readAllEventJson(room)));
    Y.applyUpdate(store.doc, Y.encodeStateAsUpdate(room, Y.encodeStateVector(store.doc)), { relay: true });
    expect(store.eventsByWriter().get('till-1')).toHaveLength(3);
    await store.close();
    openedStores.length = 0;
    const reopened = await openStore({ location });
    expect(readAllEventJson(reopened.doc)).toHaveLength(6);
    expect(reopened.eventsByWriter().get('till-1')).toHaveLength(3);
  });
});

describe('A tab that dies between relaying and storing', () => {
  it('[STO23] the write that opened a segment reached the relay, not the disk: the reloaded tab opens its own segments, and after the sync both sides\' events are held everywhere', async () => {
    // The device's counter survives the crash (localStorage in a browser; a stand-in here).
    const { restore } = installLocalStorage();
    try {
      for (const reloadedWins of [false, true]) {
        const location = `crash-${++seq}`;
        const crashed = await openStore({ location, persistence: 'memory' });
        await Promise.all(Array.from({ length: SEGMENT_SIZE }, (_, i) => crashed.append('ticket.opened', { number: num(i) }, ticket(`t${i}`))));
        const onDisk = Y.encodeStateAsUpdate(crashed.doc);
        const room = new Y.Doc();
        Y.applyUpdate(room, onDisk);
        // The next event opens a segment; the relay gets it, the disk does not.
        const relayedOnly = await crashed.append('ticket.opened', { number: num(900) }, ticket('t900'));
        Y.applyUpdate(room, Y.encodeStateAsUpdate(crashed.doc, Y.encodeStateVector(room)));
        const crashedClient = crashed.doc.clientID;
        await crashed.close();

        const reloaded = await openStore({ location, persistence: 'memory' });
        // Which array Yjs would have kept, had the two lives shared a key, depends on the client ids: both ways.
        reloaded.doc.clientID = reloadedWins ? crashedClient + 1 : Math.max(0, crashedClient - 1);
        Y.applyUpdate(reloaded.doc, onDisk, PERSISTENCE);
        const offline = await Promise.all([1, 2, 3].map((i) => reloaded.append('ticket.opened', { number: num(900 + i) }, ticket(`u${i}`))));
        expect(offline.map((e) => e.origin.n)).toEqual([258, 259, 260]);
        Y.applyUpdate(room, Y.encodeStateAsUpdate(reloaded.doc, Y.encodeStateVector(room)));
        Y.applyUpdate(reloaded.doc, Y.encodeStateAsUpdate(room, Y.encodeStateVector(reloaded.doc)), 'relay');
        for (const doc of [room, reloaded.doc]) expect(readAllEventJson(doc)).toHaveLength(SEGMENT_SIZE + 4);
        expect(reloaded.getByAggregate('t900')).toEqual([relayedOnly]);
        expect([...segmentsOf(room).keys()]).toHaveLength(3);
        await reloaded.close();
        room.destroy();
      }
    } finally {
      restore();
    }
  });
});

describe('A full disk under a command', () => {
  it('[CMD4][STO19] a close on a full disk still records its sale: both are held and synced, and the command says the disk is full', async () => {
    const store = await openStore({ location: `full-close-${++seq}` });
    const commands = new TicketCommands({ store, role: 'terminal' });
    const t = await commands.openTicket();
    await commands.addItem(t, { id: 'cola', name: 'Cola', priceCents: 350 });
    await commands.recordPayment(t, { method: 'cash', amountCents: 350 });
    // Full for good: every write aborts, and compaction has nothing to free.
    const disk = failIndexedDbWrites();
    try {
      const closing = commands.close(t);
      await expect(closing).rejects.toBeInstanceOf(StorageFullError);
      const view = store.view(t) as TicketView;
      expect(view.status).toBe('closed');
      expect(view.sale).toMatchObject({ totalCents: 350, paidCents: 350 });
      expect(store.persistence.mode).toBe('memory');
    } finally {
      disk.restore();
    }
  });
});

describe('A full disk compaction cannot help', () => {
  it('[CMP3] the status names the disk\'s error (the rewrite\'s aborted transaction), not its aborted request\'s', async () => {
    const store = await openStore({ location: `full-status-${++seq}` });
    await store.append('ticket.opened', { number: num(1) }, ticket('t1'));
    const disk = failIndexedDbWrites();
    try {
      await expect(store.append('ticket.opened', { number: num(2) }, ticket('t2'))).rejects.toBeInstanceOf(StorageFullError);
      expect(store.persistence).toEqual({ mode: 'memory', reason: expect.stringMatching(/^storage is full: .*\(QuotaExceededError/) });
    } finally {
      disk.restore();
    }
  });
});

describe('A full disk, then room again', () => {
  it('[STO18] writes refused while the disk was full are written once there is room: every later append is there after a reload', async () => {
    const location = `full-${++seq}`;
    const store = await openStore({ location });
    const first = await store.append('ticket.opened', { number: num(1) }, ticket('t1'));
    const disk = failIndexedDbWrites();
    try {
      const refused = store.append('ticket.item_added', { lineId: 'l1', menuItemId: 'cola', name: 'Cola', unitPriceCents: 350, quantity: 1 }, ticket('t1'));
      await expect(refused).rejects.toThrow(/storage is full/);
      expect(store.persistence.mode).toBe('memory');
      disk.failing = false; // room again (another site's data was evicted, a photo deleted)
      const later = await store.append('ticket.opened', { number: num(2) }, ticket('t2'));
      await store.close();
      openedStores.length = 0;

      const reloaded = await openStore({ location });
      expect(reloaded.getByAggregate('t2')).toEqual([later]);
      expect(reloaded.getByAggregate('t1').map((e) => e.id)).toEqual([first.id, store.getByAggregate('t1')[1]!.id]);
    } finally {
      disk.restore();
    }
  });
});

/** An event of another terminal, as the relay brings it. */
async function relayed(store: EventStore, other: EventStore, id: string, number: string): Promise<void> {
  const before = Y.encodeStateVector(store.doc);
  await other.append('ticket.opened', { number }, ticket(id));
  Y.applyUpdate(store.doc, Y.encodeStateAsUpdate(other.doc, before), { relay: true });
}

function databaseOf(store: EventStore): IDBDatabase {
  return (store as unknown as { storage: { layer: { db: IDBDatabase } } }).storage.layer.db;
}

/** The store's IndexedDB log: its records and chunks (one chunk and no record besides once rewritten). */
function storedLogOf(store: EventStore): PersistenceStats {
  return (store as unknown as { storage: { layer: IdbPersistence } }).storage.layer.stats();
}

describe('IndexedDB failing under a running store', () => {
  it('[STO19] the database closed by the browser: the store says it keeps the log in memory, at once and loudly', async () => {
    const store = await openStore({ location: `closed-${++seq}` });
    await store.append('ticket.opened', { number: num(1) }, ticket('t1'));
    const heard: string[] = [];
    store.subscribe(() => heard.push(store.persistence.mode));
    forceCloseDatabase(databaseOf(store) as unknown as Parameters<typeof forceCloseDatabase>[0]); // e.g. site data cleared in DevTools, a disk error
    expect(store.persistence).toEqual({ mode: 'memory', reason: expect.stringMatching(/IndexedDB/) });
    expect(heard).toContain('memory');
    await expect(store.append('ticket.opened', { number: num(2) }, ticket('t2'))).rejects.toThrow();
    expect(store.view('t2')).toBeDefined(); // kept in memory (and synced), never silently dropped
    expect(store.persistence.mode).toBe('memory');
  });

  it('[STO19] the database closed for a newer version in another tab: the store says so', async () => {
    const location = `upgraded-${++seq}`;
    const store = await openStore({ location });
    await store.append('ticket.opened', { number: num(1) }, ticket('t1'));
    const newer = await new Promise<IDBDatabase>((resolve, reject) => {
      const req = indexedDB.open(`rms:${location}`, 99);
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    newer.close();
    expect(store.persistence).toEqual({ mode: 'memory', reason: expect.stringMatching(/newer version/) });
    await expect(store.append('ticket.opened', { number: num(2) }, ticket('t2'))).rejects.toThrow();
  });

  it('[CMD4][STO19] a close the device cannot save (the database closed for a newer version in another tab) still records its sale, and the command says it was not saved', async () => {
    const location = `upgraded-close-${++seq}`;
    const store = await openStore({ location });
    const commands = new TicketCommands({ store, role: 'terminal' });
    const t = await commands.openTicket();
    await commands.addItem(t, { id: 'cola', name: 'Cola', priceCents: 350 });
    await commands.recordPayment(t, { method: 'card', amountCents: 350 });
    const newer = await new Promise<IDBDatabase>((resolve, reject) => {
      const req = indexedDB.open(`rms:${location}`, 99);
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    newer.close();
    const closing = commands.close(t);
    await expect(closing).rejects.toBeInstanceOf(NotSavedError);
    await expect(closing).rejects.toThrow(/kept in memory and synced/);
    const view = store.view(t) as TicketView;
    expect(view.status).toBe('closed');
    expect(view.sale).toMatchObject({ totalCents: 350, paidCents: 350 });
  });

  it('[STO19] a failed write of events nobody awaits (from the relay) is reported, retried with the next write, and the report cleared once it succeeds', async () => {
    const location = `relay-fail-${++seq}`;
    const store = await openStore({ location });
    await store.append('ticket.opened', { number: num(1) }, ticket('t1'));
    const other = await openStore({ location: `other-${++seq}`, terminal: 'till-2', persistence: 'memory' });
    const disk = failIndexedDbWrites('UnknownError'); // a disk error, as Chromium reports it
    try {
      await relayed(store, other, 'r1', 'B-001');
      await until(() => store.persistence.mode === 'memory', 'the failed write reported (persistence: memory)');
      expect(store.persistence).toEqual({ mode: 'memory', reason: expect.stringMatching(/UnknownError/) });
      disk.failing = false;
      await relayed(store, other, 'r2', 'B-002');
      await until(() => store.persistence.mode === 'indexeddb', 'the report cleared by a saved write (persistence: indexeddb)');
      await store.close();
      await other.close();
      openedStores.length = 0;
      const reloaded = await openStore({ location });
      expect(reloaded.view('r1')).toBeDefined();
      expect(reloaded.view('r2')).toBeDefined();
    } finally {
      disk.restore();
    }
  });

  it('[STO19] a failed write of relayed events that a log rewrite (compaction) then stores: durable() resolves, everything is on disk', async () => {
    const store = await openStore({ location: `relay-rewritten-${++seq}` });
    await store.append('ticket.opened', { number: num(1) }, ticket('t1'));
    const other = await openStore({ location: `other-${++seq}`, terminal: 'till-2', persistence: 'memory' });
    const disk = failIndexedDbWrites('UnknownError');
    try {
      await relayed(store, other, 'r1', 'B-001');
      await until(() => store.persistence.mode === 'memory', 'the failed write reported (persistence: memory)');
      disk.failing = false;
      await store.compact({ rewriteLog: true });
      expect(store.persistence.mode).toBe('indexeddb');
      await expect(store.durable()).resolves.toBeUndefined();
    } finally {
      disk.restore();
    }
  });

  it('[STO19][CMP3] relayed events refused by a full disk: the store frees space (the log rewritten by compaction) and stores them without another write, never saying memory', async () => {
    const location = `relay-full-${++seq}`;
    const store = await openStore({ location });
    await store.append('ticket.opened', { number: num(1) }, ticket('t1'));
    const other = await openStore({ location: `other-${++seq}`, terminal: 'till-2', persistence: 'memory' });
    const heard: string[] = [];
    store.subscribe(() => heard.push(store.persistence.mode));
    const disk = failIndexedDbWrites('QuotaExceededError', 1); // room again once compaction frees some
    try {
      await relayed(store, other, 'r1', 'B-001');
      await until(() => storedLogOf(store).chunks === 1 && storedLogOf(store).records === 1, 'the log rewritten as one state, the refused write in it');
      expect(store.persistence.mode).toBe('indexeddb');
      expect(heard).not.toContain('memory');
    } finally {
      disk.restore();
    }
    await store.close();
    openedStores.length = 0;
    const reloaded = await openStore({ location });
    expect(reloaded.view('r1')).toBeDefined();
  });
});

describe('Compaction and the watermarks it is given', () => {
  it('[CMP2][SYN20] the watermarks sync gives replace the doc\'s acks (one sync found stale after a server restore): nothing above them leaves', async () => {
    const store = await openStore({ location: `stale-acks-${++seq}` });
    const commands = new TicketCommands({ store, role: 'terminal' });
    const t = await commands.openTicket();
    await commands.addItem(t, { id: 'cola', name: 'Cola', priceCents: 350 });
    await commands.recordPayment(t, { method: 'cash', amountCents: 350 });
    await commands.close(t);
    // The room's acks say all of it is held; the server, restored from a backup, holds none of it.
    store.doc.transact(() => acksOf(store.doc).set(store.writer, 100), 'server');
    const later = Date.now() + 3 * 24 * 60 * 60_000;
    expect((await store.compact({ now: later, acknowledgements: marksOnly({}) })).aggregates).toBe(0);
    expect(store.view(t)).toBeDefined();
    expect((await store.compact({ now: later })).aggregates).toBe(1); // the doc's acks, when sync gives none
  });

  it('[CMP2][CMP3][SYN20] a full disk compacts by the store\'s watermark source too: its own events above those marks stay, however high the doc\'s acks', async () => {
    let wall = Date.now();
    const store = await openStore({ location: `stale-acks-full-${++seq}`, clock: new HybridClock({ wallNow: () => wall }), now: () => wall });
    const commands = new TicketCommands({ store, role: 'terminal' });
    const sell = async (): Promise<string> => {
      const t = await commands.openTicket();
      await commands.addItem(t, { id: 'cola', name: 'Cola', priceCents: 350 });
      await commands.recordPayment(t, { method: 'cash', amountCents: 350 });
      await commands.close(t);
      return t;
    };
    const uploaded = await sell();
    const lost = await sell();
    const serverMark = store.getByAggregate(uploaded).at(-1)!.origin.n;
    // The room's acks say both sales are held; the server, restored from a backup, holds the first only (as sync knows).
    store.doc.transact(() => acksOf(store.doc).set(store.writer, 100), 'server');
    store.useAcknowledgements(() => marksOnly({ [store.writer]: serverMark }));
    wall += 3 * 24 * 60 * 60_000;
    const disk = failIndexedDbWrites('QuotaExceededError', 1);
    try {
      await store.append('ticket.opened', { number: 'A-900' }, ticket('t900')); // refused once, saved after compacting
    } finally {
      disk.restore();
    }
    expect(store.isArchived(uploaded)).toBe(true); // compaction ran to make room
    expect(store.isArchived(lost)).toBe(false);
    const owed = store.getByAggregate(lost);
    expect(owed.length).toBeGreaterThan(0);
    expect(owed.every((e) => e.origin.n > serverMark)).toBe(true);
    expect(store.eventsByWriter().get(store.writer)!.filter((e) => e.origin.n > serverMark)).toHaveLength(owed.length + 1);
    expect(store.persistence.mode).toBe('indexeddb');
  });
});

describe('A compaction undone by the server', () => {
  it('[CMP2][SRV16] met as one update (the till was away): the events deleted and the copies put back, the ticket stays held', async () => {
    const store = await openStore({ location: `undone-${++seq}`, persistence: 'memory' });
    const commands = new TicketCommands({ store, role: 'terminal' });
    const t = await commands.openTicket();
    await commands.addItem(t, { id: 'soup', name: 'Soup', priceCents: 500 });
    // The room: the same log, then a forged compaction of the open ticket and the server's undoing of it.
    const room = new Y.Doc();
    Y.applyUpdate(room, Y.encodeStateAsUpdate(store.doc));
    const jsons = readAllEventJson(room);
    room.transact(() => {
      compactedOf(room).set(t, { at: Date.now(), by: 'till-9', events: jsons.length, number: null });
      deleteEvents(room, new Set(store.getByAggregate(t).map((e) => e.id)));
    });
    room.transact(() => {
      compactedOf(room).delete(t);
      new SegmentWriter(room, SERVER_WRITER).append(jsons);
    });
    Y.applyUpdate(store.doc, Y.encodeStateAsUpdate(room, Y.encodeStateVector(store.doc)), { relay: true });
    expect(readAllEventJson(store.doc)).toHaveLength(jsons.length);
    expect(store.getByAggregate(t)).toHaveLength(jsons.length);
    expect(store.view(t)).toMatchObject({ status: 'open', lines: [{ name: 'Soup' }] });
  });
});

describe('A closed store', () => {
  it('[STO20] refuses appends after close, rather than resolving them unsaved; closing twice closes once', async () => {
    const location = `after-close-${++seq}`;
    const store = await openStore({ location });
    const first = store.append('ticket.opened', { number: num(1) }, ticket('t1'));
    const closed = store.close(); // the session closes with a command half done
    await first; // appended before the close: written by it
    await expect(store.append('ticket.item_added', { lineId: 'l1', menuItemId: 'cola', name: 'Cola', unitPriceCents: 350, quantity: 1 }, ticket('t1'))).rejects.toThrow(/closed/);
    expect(store.close()).toBe(closed); // closing twice closes once
    await closed;
    openedStores.length = 0;
    const reloaded = await openStore({ location });
    expect(reloaded.getByAggregate('t1')).toHaveLength(1);
  });

  it('[STO20][STO19] an append a one-off disk error refused, then no other write before the close: the close writes it, a reload has it', async () => {
    const location = `close-retries-${++seq}`;
    const store = await openStore({ location });
    await store.append('ticket.opened', { number: num(1) }, ticket('t1'));
    const disk = failIndexedDbWrites('UnknownError', 1);
    try {
      await expect(store.append('ticket.opened', { number: num(2) }, ticket('t2'))).rejects.toBeInstanceOf(NotSavedError);
      expect(store.persistence).toEqual({ mode: 'memory', reason: expect.stringMatching(/UnknownError/) });
    } finally {
      disk.restore();
    }
    await store.close(); // the tab closes, reloads or updates before the till writes again
    openedStores.length = 0;
    const reloaded = await openStore({ location });
    expect(reloaded.getByAggregate('t2')).toHaveLength(1);
  });

  it('[STO20][STO19] a refused append the disk refuses again at the close: the close still ends, the store still says the log is only in memory', async () => {
    const store = await openStore({ location: `close-fails-${++seq}` });
    await store.append('ticket.opened', { number: num(1) }, ticket('t1'));
    const disk = failIndexedDbWrites('UnknownError', 2); // the append's write, then the close's
    try {
      await expect(store.append('ticket.opened', { number: num(2) }, ticket('t2'))).rejects.toBeInstanceOf(NotSavedError);
      await expect(store.close()).resolves.toBeUndefined();
      expect(disk.failing).toBe(false); // the close tried the write again
      expect(store.persistence).toEqual({ mode: 'memory', reason: expect.stringMatching(/UnknownError/) });
    } finally {
      disk.restore();
    }
  });
});
