import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import * as Y from 'yjs';
import { EventStore } from '../../client/store/event-store';
import { bucketOf } from '../../client/store/idb-persistence';
import { z } from 'zod';
import { CURRENT_VERSIONS, EVENT_CATALOG, EventValidationError } from '../../shared/events/catalog';
import { UPCASTERS } from '../../shared/events/upcasters';
import { FOLD_SNAPSHOT_VERSION } from '../../shared/projection/aggregate-fold';
import { LocationProjection, type CheckpointRecord } from '../../shared/projection/location-projection';
import type { TicketView } from '../../shared/projection/views';
import { EVENT_ID_PATTERN, newEventId } from '../../shared/events/event-id';
import { CLOCK_BOUND_MS, HybridClock } from '../../shared/clock/hybrid-clock';
import { SegmentWriter, acksOf, compactedOf, readAllEventJson } from '../../shared/log/log-doc';
import { installWebLocks } from '../helpers/web-locks';
import { installLocalStorage } from '../helpers/device-storage';
import { allViews, closeAll, exchange, openStore, openedStores } from '../helpers/event-stores';
import { until } from '../helpers/until';

let seq = 0;
afterEach(() => closeAll(openedStores));

const DAY = 24 * 60 * 60_000;
const num = (prefix: string, i: number) => `${prefix}-${String(i).padStart(3, '0')}`;
const ticket = (id: string) => ({ aggregate: { id, type: 'ticket' } });
const item = (lineId: string, quantity = 1) => ({
  lineId,
  menuItemId: 'burger',
  name: 'Burger',
  unitPriceCents: 1250,
  quantity,
});

// The same behaviour, whichever persistence backs the store.
for (const persistence of ['memory', 'indexeddb'] as const) {
  describe(`EventStore (${persistence})`, () => {
    const location = () => `loc-${persistence}-${++seq}`;

    it('[STO1] an appended event is readable at once, before the append resolves', async () => {
      const store = await openStore({ location: location(), persistence });
      const pending = store.append('ticket.opened', { number: 'A-001' }, ticket('t1'));
      expect(store.getByAggregate('t1')).toHaveLength(1);
      expect(store.view('t1')).toBeDefined();
      const event = await pending;
      expect(store.getByAggregate('t1')[0]).toEqual(event);
    });

    it('[STO2] stamps id, seq, at and origin', async () => {
      const store = await openStore({ location: location(), persistence });
      const a = await store.append('ticket.opened', { number: 'A-001' }, ticket('t1'));
      const b = await store.append('ticket.item_added', item('l1'), { ...ticket('t1'), staff: 'alice' });
      const c = await store.append('ticket.opened', { number: 'A-002' }, ticket('t2'));
      expect(a.id).toMatch(EVENT_ID_PATTERN);
      expect([a.seq, b.seq, c.seq]).toEqual([1, 2, 1]);
      expect([a.origin.n, b.origin.n, c.origin.n]).toEqual([1, 2, 3]);
      expect(b.origin).toEqual({ terminal: 'till-1', n: 2, staff: 'alice' });
      expect(a.at).toBeLessThan(b.at);
      expect(b.at).toBeLessThan(c.at);
    });

    it('[STO3] the same key twice returns the first event and writes nothing', async () => {
      const store = await openStore({ location: location(), persistence });
      await store.append('ticket.opened', { number: 'A-001' }, ticket('t1'));
      const first = await store.append('ticket.closed', { totalCents: 0 }, { ...ticket('t1'), key: 'close-t1' });
      const before = Y.encodeStateVector(store.doc);
      const again = await store.append('ticket.closed', { totalCents: 0 }, { ...ticket('t1'), key: 'close-t1' });
      expect(again).toEqual(first);
      expect(Y.encodeStateVector(store.doc)).toEqual(before);
      expect(store.getByAggregate('t1')).toHaveLength(2);
    });

    it('[STO4] a wrong payload is refused with the field named, and nothing is written', async () => {
      const store = await openStore({ location: location(), persistence });
      await store.append('ticket.opened', { number: 'A-001' }, ticket('t1'));
      const before = Y.encodeStateVector(store.doc);
      const refused = store.append('ticket.item_added', { ...item('l1'), quantity: 'two' }, ticket('t1'));
      await expect(refused).rejects.toBeInstanceOf(EventValidationError);
      await expect(refused).rejects.toThrow(/quantity/);
      await expect(store.append('ticket.teleported', {}, ticket('t1'))).rejects.toThrow(/type/);
      // The envelope's fields from the options too, as the relay and the server check them.
      for (const [options, field] of [
        [{ ...ticket('t1'), key: 'k'.repeat(250) }, 'key'],
        [ticket('t'.repeat(300)), 'aggregate.id'],
        [{ ...ticket('t1'), staff: '' }, 'origin.staff'],
      ] as const) {
        await expect(store.append('ticket.note_set', { note: 'n' }, options), field).rejects.toMatchObject({ name: 'EventValidationError', field });
      }
      expect(Y.encodeStateVector(store.doc)).toEqual(before);
      expect(store.getByAggregate('t1')).toHaveLength(1);
      expect(store.views()).toHaveLength(1);
    });

    it('[STO5] subscribers hear local and remote changes with the touched aggregates', async () => {
      const store = await openStore({ location: location(), persistence });
      const heard: string[][] = [];
      store.subscribe((c) => heard.push([c.origin, ...c.aggregates]));
      await store.append('ticket.opened', { number: 'A-001' }, ticket('t1'));

      const other = await openStore({ location: location(), persistence: 'memory', terminal: 'till-2' });
      await other.append('ticket.opened', { number: 'B-001' }, ticket('t9'));
      Y.applyUpdate(store.doc, Y.encodeStateAsUpdate(other.doc), { relay: true });
      expect(heard).toEqual([
        ['local', 't1'],
        ['remote', 't9'],
      ]);
      expect(store.view('t9')).toEqual(other.view('t9'));
    });

    it('[STO6][SRV31] an entry that is not a valid event is listed as unreadable, never fatal; one longer than any event is not even parsed', async () => {
      const store = await openStore({ location: location(), persistence });
      const foreign = new Y.Doc();
      const huge = `{"id":"x","payload":${'['.repeat(40_000)}${']'.repeat(40_000)}}`;
      foreign.transact(() => new SegmentWriter(foreign, 'till-9').append(['{"not":"an event"}', 'garbage', huge]));
      const parse = vi.spyOn(JSON, 'parse');
      Y.applyUpdate(store.doc, Y.encodeStateAsUpdate(foreign), { relay: true });
      const parsedHuge = parse.mock.calls.some(([text]) => text === huge);
      parse.mockRestore();
      expect(store.unreadable.map((u) => u.reason)).toEqual([expect.stringMatching(/invalid envelope/), 'not JSON', `too long to be an event (${huge.length} characters)`]);
      expect(parsedHuge).toBe(false);
      await store.append('ticket.opened', { number: 'A-001' }, ticket('t1'));
      expect(store.views()).toHaveLength(1);
    });

    it('[STO6] an event that arrives twice in one update (its writer\'s segment and the server\'s copy) is held and owed once', async () => {
      const store = await openStore({ location: location(), persistence });
      const writer = await openStore({ location: location(), persistence: 'memory', terminal: 'till-9' });
      const sale = await writer.append('ticket.opened', { number: 'Z-001' }, ticket('t1'));
      const room = new Y.Doc();
      room.transact(() => {
        new SegmentWriter(room, 'till-9').append([JSON.stringify(sale)]);
        new SegmentWriter(room, 'server').append([JSON.stringify(sale)]);
      });
      Y.applyUpdate(store.doc, Y.encodeStateAsUpdate(room), { relay: true });
      expect(store.eventsByWriter().get('till-9')).toEqual([sale]);
      expect(store.getByAggregate('t1')).toEqual([sale]);
    });

    it('[STO6] events that arrive again in a later update (the server\'s copy after their writer\'s segment) are held once: one payment, not two', async () => {
      const store = await openStore({ location: location(), persistence });
      const writer = await openStore({ location: location(), persistence: 'memory', terminal: 'till-9' });
      const opened = await writer.append('ticket.opened', { number: 'Z-001' }, ticket('t1'));
      const paid = await writer.append('ticket.payment_recorded', { paymentId: 'p-1', method: 'cash', amountCents: 1250 }, ticket('t1'));
      const room = new Y.Doc();
      room.transact(() => new SegmentWriter(room, 'till-9').append([JSON.stringify(opened), JSON.stringify(paid)]));
      Y.applyUpdate(store.doc, Y.encodeStateAsUpdate(room), { relay: true });
      const before = Y.encodeStateVector(store.doc);
      room.transact(() => new SegmentWriter(room, 'server').append([JSON.stringify(opened), JSON.stringify(paid)]));
      Y.applyUpdate(store.doc, Y.encodeStateAsUpdate(room, before), { relay: true });
      expect(store.eventsByWriter().get('till-9')).toEqual([opened, paid]);
      expect(store.getByAggregate('t1')).toEqual([opened, paid]);
      expect((store.view('t1') as TicketView).payments).toHaveLength(1);
    });

    it('[STO2] origin.n goes on above the server\'s watermark for this writer: its events compacted away and its counter lost, no n is handed out again', async () => {
      const store = await openStore({ location: location(), persistence });
      store.doc.transact(() => acksOf(store.doc).set(store.writer, 7), 'server');
      const next = await store.append('ticket.opened', { number: 'A-001' }, ticket('t1'));
      expect(next.origin.n).toBe(8);
    });
  });
}

describe('EventStore on IndexedDB', () => {
  it('[STO15] appends of one task go into the doc as one update, after the counter is reserved, and each resolves durable', async () => {
    const location = `task-${++seq}`;
    const store = await openStore({ location });
    const order: string[] = [];
    // Observed where the counter reserves (localStorage in browsers; Node has none).
    const lease = (store as unknown as { lease: { reserve(n: number): void } }).lease;
    const reserve = lease.reserve.bind(lease);
    lease.reserve = (n) => {
      order.push(`reserve ${n}`);
      reserve(n);
    };
    store.doc.on('update', () => order.push('doc update'));
    const appends = Array.from({ length: 5 }, (_, i) => store.append('ticket.opened', { number: num('A', i) }, ticket(`t${i}`)));
    expect(store.projection.size).toBe(5);
    expect(order).toEqual([]);
    const events = await Promise.all(appends);
    expect(order).toEqual(['reserve 5', 'doc update']);
    expect(events.map((e) => e.origin.n)).toEqual([1, 2, 3, 4, 5]);
    const reader = await EventStore.open({ location, terminal: 'till-1', crossTab: false });
    openedStores.push(reader);
    expect(reader.projection.size).toBe(5);
  });

  it('[STO7] append N, drop the doc, reload: identical projection', async () => {
    const location = `reload-${++seq}`;
    const first = await EventStore.open({ location, terminal: 'till-1', crossTab: false });
    for (let t = 0; t < 20; t++) {
      await first.append('ticket.opened', { number: num('A', t) }, ticket(`t${t}`));
      for (let i = 0; i < 30; i++) await first.append('ticket.item_added', item(`l${i}`, 1 + (i % 3)), ticket(`t${t}`));
    }
    const expected = allViews(first);
    first.close();
    const second = await openStore({ location });
    expect(allViews(second)).toEqual(expected);
    expect(second.projection.size).toBe(20 * 31);
    // The counter continues after a reload: no origin.n is handed out twice.
    const next = await second.append('ticket.opened', { number: 'A-099' }, ticket('t99'));
    expect(next.origin.n).toBe(20 * 31 + 1);
  });

  it('[STO8] a reload right after `await append` has the event (durable before resolve)', async () => {
    const location = `durable-${++seq}`;
    const writer = await openStore({ location });
    const event = await writer.append('ticket.opened', { number: 'A-001' }, ticket('t1'));
    // Without closing the writer (as if the tab died now), a fresh load sees it.
    const reader = await EventStore.open({ location, terminal: 'till-1', crossTab: false });
    openedStores.push(reader);
    expect(reader.getByAggregate('t1')).toEqual([event]);
  });

  it('[STO13] reopened from its checkpoint: the same views at once, the events read after, then as a full load', async () => {
    const location = `checkpoint-${++seq}`;
    const first = await EventStore.open({ location, terminal: 'till-1', crossTab: false });
    for (let t = 0; t < 5; t++) {
      await first.append('ticket.opened', { number: num('A', t) }, ticket(`t${t}`));
      for (let i = 0; i < 4; i++) await first.append('ticket.item_added', item(`l${i}`), ticket(`t${t}`));
    }
    const views = allViews(first);
    const events = first.getByAggregate('t3');
    const history = first.history('t3');
    await first.close();
    const second = await openStore({ location });
    expect(second.isIndexed).toBe(false);
    expect(allViews(second)).toEqual(views);
    expect(second.projection.size).toBe(25);
    await second.indexed;
    expect(second.isIndexed).toBe(true);
    expect(second.getByAggregate('t3')).toEqual(events);
    expect(second.history('t3')).toEqual(history);
    expect(allViews(second)).toEqual(views);
  });

  it('[STO13] while the log is read, arriving events wait for it and an append reads the rest first', async () => {
    const location = `checkpoint-busy-${++seq}`;
    const first = await EventStore.open({ location, terminal: 'till-1', crossTab: false });
    await first.append('ticket.opened', { number: 'A-001' }, ticket('t1'));
    await first.append('ticket.item_added', item('l1'), ticket('t1'));
    const other = await openStore({ location: `${location}-other`, terminal: 'till-2', persistence: 'memory' });
    Y.applyUpdate(other.doc, Y.encodeStateAsUpdate(first.doc));
    await first.close();
    const second = await openStore({ location });
    expect(second.isIndexed).toBe(false);
    const remote = await other.append('ticket.note_set', { note: 'window seat' }, ticket('t1'));
    Y.applyUpdate(second.doc, Y.encodeStateAsUpdate(other.doc));
    const local = await second.append('ticket.item_added', item('l2'), ticket('t1'));
    expect(second.isIndexed).toBe(true);
    // Folded after the restored events and the remote one that arrived first: next seq, next n.
    expect(local.seq).toBe(remote.seq + 1);
    expect(local.origin.n).toBe(3);
    expect(second.getByAggregate('t1').map((e) => e.id)).toEqual(expect.arrayContaining([remote.id, local.id]));
    expect(second.view('t1')).toMatchObject({ note: 'window seat', lines: [{ lineId: 'l1' }, { lineId: 'l2' }] });
  });

  /** A till that opened ticket t1 and closed: the log and its checkpoint are stored. */
  async function closedWithOneTicket(location: string): Promise<void> {
    const first = await EventStore.open({ location, terminal: 'till-1', crossTab: false });
    await first.append('ticket.opened', { number: 'A-001' }, ticket('t1'));
    await first.close();
  }

  it('[STO13] a change that only moves the state vector (the server acknowledging) rewrites the checkpoint: the next open still restores it', async () => {
    const location = `checkpoint-acks-${++seq}`;
    await closedWithOneTicket(location);
    const second = await EventStore.open({ location, terminal: 'till-1', crossTab: false });
    expect(second.isIndexed).toBe(false);
    await second.indexed;
    const server = new Y.Doc();
    acksOf(server).set('till-1', 1);
    Y.applyUpdate(second.doc, Y.encodeStateAsUpdate(server));
    await second.close();
    const third = await openStore({ location });
    expect(third.isIndexed).toBe(false);
    expect(third.view('t1')).toMatchObject({ number: 'A-001' });
  });

  it('[STO13] a checkpoint older than the stored log is caught up: what it lacks is folded at open, the rest restored', async () => {
    const location = `checkpoint-stale-${++seq}`;
    await closedWithOneTicket(location);
    const second = await EventStore.open({ location, terminal: 'till-1', crossTab: false });
    await second.append('ticket.opened', { number: 'A-002' }, ticket('t2'));
    const late = await second.append('ticket.item_added', item('l1'), ticket('t1'));
    const fresh = await second.append('ticket.opened', { number: 'A-003' }, ticket('t3'));
    // The tab dies before its next checkpoint: only the log has the last events.
    const views = allViews(second);
    const third = await openStore({ location, terminal: 'till-2' });
    expect(third.isIndexed).toBe(false);
    expect(third.view('t1', { partial: true })).toMatchObject({ lines: [{ lineId: 'l1' }] });
    expect(third.view('t3', { partial: true })).toMatchObject({ number: 'A-003' });
    expect(allViews(third)).toEqual(views);
    await third.indexed;
    expect(third.getByAggregate('t1').map((e) => e.id)).toContain(late.id);
    expect(third.getByAggregate('t3').map((e) => e.id)).toEqual([fresh.id]);
    expect(third.projection.size).toBe(4);
    expect(allViews(third)).toEqual(views);
    await second.close();
  });

  it('[STO13] a checkpoint from before a compaction is not used: the log is read at open', async () => {
    const location = `checkpoint-compacted-${++seq}`;
    await closedWithOneTicket(location);
    const second = await EventStore.open({ location, terminal: 'till-1', crossTab: false });
    // A compaction elsewhere, as it reaches this doc: the tombstone (and the deletes) after the checkpoint.
    second.doc.transact(() => compactedOf(second.doc).set('t9', { at: 1, by: 'till-9', events: 1, number: null }));
    await second.durable();
    // The tab dies before its next checkpoint.
    const third = await openStore({ location, terminal: 'till-2' });
    expect(third.isIndexed).toBe(true);
    expect(third.view('t1')).toMatchObject({ number: 'A-001' });
    await second.close();
  });

  function openDatabase(location: string): Promise<IDBDatabase> {
    return new Promise<IDBDatabase>((resolve, reject) => {
      const req = indexedDB.open(`rms:${location}`);
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  }

  it('[STO13] an unreadable checkpoint is ignored: the log is read at open', async () => {
    const location = `checkpoint-corrupt-${++seq}`;
    await closedWithOneTicket(location);
    const db = await openDatabase(location);
    await new Promise<void>((resolve, reject) => {
      const tx = db.transaction('projection', 'readwrite');
      const store = tx.objectStore('projection');
      const keys = store.getAllKeys();
      keys.onsuccess = () => {
        for (const key of keys.result) store.put(new Uint8Array([1, 2, 3]), key);
      };
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
    });
    db.close();
    const second = await openStore({ location });
    expect(second.isIndexed).toBe(true);
    expect(second.view('t1')).toMatchObject({ number: 'A-001' });
  });

  it('[STO13] a checkpoint write that fails keeps its changes for the next one: the views restored after a reload are the log\'s', async () => {
    const location = `checkpoint-failed-${++seq}`;
    const store = await openStore({ location });
    const flushCheckpoint = () => (store as unknown as { storage: { flushCheckpoint(): Promise<void> } }).storage.flushCheckpoint();
    await store.append('ticket.opened', { number: 'A-001' }, ticket('t1'));
    await flushCheckpoint();
    // The next checkpoint write aborts (a one-off disk error); the log's writes go on.
    const put = IDBObjectStore.prototype.put;
    let failNext = true;
    IDBObjectStore.prototype.put = function (this: IDBObjectStore, ...args: Parameters<IDBObjectStore['put']>) {
      const req = put.apply(this, args);
      if (failNext && this.name === 'projection') {
        failNext = false;
        const tx = this.transaction as IDBTransaction & { _abort(name: string): void };
        queueMicrotask(() => tx._abort('UnknownError'));
      }
      return req;
    };
    try {
      await store.append('ticket.item_added', item('l1'), ticket('t1'));
      await flushCheckpoint();
      expect(failNext).toBe(false);
    } finally {
      IDBObjectStore.prototype.put = put;
    }
    // A later checkpoint that changes only t2 still writes t1 as it is now.
    await store.append('ticket.opened', { number: 'A-002' }, ticket('t2'));
    await store.close();
    openedStores.length = 0;
    const reloaded = await openStore({ location });
    expect(reloaded.isIndexed).toBe(false); // restored from the checkpoint
    expect((reloaded.view('t1') as TicketView).lines.map((l) => l.lineId)).toEqual(['l1']);
  });

  /** Opens, adds one line, sends, bumps, pays and closes: a settled ticket. */
  async function settleTicket(store: EventStore, id: string, number: string): Promise<void> {
    await store.append('ticket.opened', { number }, ticket(id));
    await settleOpenTicket(store, id);
  }

  async function settleOpenTicket(store: EventStore, id: string): Promise<void> {
    await store.append('ticket.item_added', item('l1'), ticket(id));
    await store.append('ticket.sent_to_kitchen', { lineIds: ['l1'] }, ticket(id));
    await store.append('ticket.kitchen_item_bumped', { lineId: 'l1' }, ticket(id));
    await store.append('ticket.payment_recorded', { paymentId: `p-${id}`, method: 'card', amountCents: 1250 }, ticket(id));
    await store.append('ticket.closed', { totalCents: 1250 }, ticket(id));
  }

  /** Every record of the stored checkpoint, with the bucket it sits in. */
  async function storedCheckpoint(location: string): Promise<(CheckpointRecord & { bucket: number })[]> {
    const db = await openDatabase(location);
    const [keys, values] = await Promise.all(
      (['getAllKeys', 'getAll'] as const).map(
        (op) =>
          new Promise<unknown[]>((resolve, reject) => {
            const req = db.transaction('projection').objectStore('projection')[op]();
            req.onsuccess = () => resolve(req.result as unknown[]);
            req.onerror = () => reject(req.error);
          }),
      ),
    );
    db.close();
    const out: (CheckpointRecord & { bucket: number })[] = [];
    for (const [i, bytes] of (values as Uint8Array[]).entries()) {
      const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream('deflate-raw'));
      for (const r of JSON.parse(await new Response(stream).text()) as CheckpointRecord[]) out.push({ ...r, bucket: keys![i] as number });
    }
    return out;
  }

  /** Stores these checkpoint records (each in its bucket, replacing the bucket) and, if given, this meta. */
  async function storeCheckpoint(location: string, records: (CheckpointRecord & { bucket: number })[], meta?: object): Promise<void> {
    const buckets = new Map<number, CheckpointRecord[]>();
    for (const { bucket, ...r } of records) buckets.set(bucket, [...(buckets.get(bucket) ?? []), r]);
    const encoded = await Promise.all(
      [...buckets].map(async ([bucket, list]) => {
        const stream = new Blob([JSON.stringify(list)]).stream().pipeThrough(new CompressionStream('deflate-raw'));
        return [bucket, new Uint8Array(await new Response(stream).arrayBuffer())] as const;
      }),
    );
    const db = await openDatabase(location);
    await new Promise<void>((resolve, reject) => {
      const tx = db.transaction(['projection', 'custom'], 'readwrite');
      for (const [bucket, bytes] of encoded) tx.objectStore('projection').put(bytes, bucket);
      if (meta) tx.objectStore('custom').put(meta, 'rms:checkpoint-meta');
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
    });
    db.close();
  }

  async function storedMeta(location: string): Promise<Record<string, unknown>> {
    const db = await openDatabase(location);
    const meta = await new Promise<Record<string, unknown>>((resolve, reject) => {
      const req = db.transaction('custom').objectStore('custom').get('rms:checkpoint-meta');
      req.onsuccess = () => resolve(req.result as Record<string, unknown>);
      req.onerror = () => reject(req.error);
    });
    db.close();
    return meta;
  }

  const NEXT_PAYMENT = CURRENT_VERSIONS['ticket.payment_recorded'] + 1;
  const NEXT_NOTE = CURRENT_VERSIONS['ticket.note_set'] + 1;

  /** An event a newer build wrote (till-9, at a version this build does not know yet) arrives from the relay. */
  function arriveFromNewerBuild(store: EventStore, aggregateId: string, n: number, type: string, v: number, payload: object): void {
    const at = Date.now();
    const seq = Math.max(...store.getByAggregate(aggregateId).map((e) => e.seq)) + 1;
    const event = { id: newEventId(at), seq, at, type, v, aggregate: { id: aggregateId, type: 'ticket' }, origin: { terminal: 'till-9', n }, payload };
    const foreign = new Y.Doc();
    foreign.transact(() => new SegmentWriter(foreign, 'till-9').append([JSON.stringify(event)]));
    Y.applyUpdate(store.doc, Y.encodeStateAsUpdate(foreign), { relay: true });
  }

  /**
   * This build is updated to one that knows those versions (a card payment's terminal
   * reference, a pinned note), as the next build's catalog would; returns the undo.
   */
  function updateToNewerBuild(): () => void {
    const payments = EVENT_CATALOG['ticket.payment_recorded'].versions as Record<number, unknown>;
    const notes = EVENT_CATALOG['ticket.note_set'].versions as Record<number, unknown>;
    const current = CURRENT_VERSIONS as Record<string, number>;
    const upcasters = UPCASTERS as Record<string, Record<number, unknown>>;
    payments[NEXT_PAYMENT] = z.strictObject({ paymentId: z.string(), method: z.enum(['cash', 'card']), amountCents: z.number().int().positive(), terminalRef: z.string().optional() });
    notes[NEXT_NOTE] = z.strictObject({ note: z.string(), pinned: z.boolean().optional() });
    upcasters['ticket.payment_recorded']![NEXT_PAYMENT - 1] = (p: unknown) => p;
    upcasters['ticket.note_set'] = { [NEXT_NOTE - 1]: (p: unknown) => p };
    current['ticket.payment_recorded'] = NEXT_PAYMENT;
    current['ticket.note_set'] = NEXT_NOTE;
    return () => {
      delete payments[NEXT_PAYMENT];
      delete notes[NEXT_NOTE];
      delete upcasters['ticket.payment_recorded']![NEXT_PAYMENT - 1];
      delete upcasters['ticket.note_set'];
      current['ticket.payment_recorded'] = NEXT_PAYMENT - 1;
      current['ticket.note_set'] = NEXT_NOTE - 1;
    };
  }

  /**
   * A till of this build holding a newer build's events, closed (its checkpoint stored): t1
   * sent and paid by a v-next payment, c1 closed at no charge with a v-next note (settled).
   */
  async function closedHoldingNewerEvents(location: string): Promise<void> {
    const first = await EventStore.open({ location, terminal: 'till-1', crossTab: false });
    await first.append('ticket.opened', { number: 'A-001' }, ticket('t1'));
    await first.append('ticket.item_added', item('l1'), ticket('t1'));
    await first.append('ticket.sent_to_kitchen', { lineIds: ['l1'] }, ticket('t1'));
    arriveFromNewerBuild(first, 't1', 1, 'ticket.payment_recorded', NEXT_PAYMENT, { paymentId: 'p1', method: 'card', amountCents: 1250, terminalRef: 'TX-99' });
    await first.append('ticket.opened', { number: 'A-002' }, ticket('c1'));
    arriveFromNewerBuild(first, 'c1', 2, 'ticket.note_set', NEXT_NOTE, { note: 'window seat', pinned: true });
    await first.append('ticket.closed', { totalCents: 0 }, ticket('c1'));
    expect(first.view('t1')).toMatchObject({ status: 'sent', paidCents: 0, needsUpdate: 1 });
    expect(first.view('c1')).toMatchObject({ status: 'closed', note: null, needsUpdate: 1 });
    await first.close();
  }

  it('[STO13] a build that learnt a newer event version does not trust the checkpoint an older build wrote: what it held as needs_update is folded', async () => {
    const location = `checkpoint-upgrade-${++seq}`;
    await closedHoldingNewerEvents(location);
    const undo = updateToNewerBuild();
    try {
      const updated = await openStore({ location });
      expect(updated.isIndexed).toBe(true);
      expect(updated.view('t1')).toMatchObject({ status: 'paid', paidCents: 1250, needsUpdate: 0 });
      expect(updated.view('c1')).toMatchObject({ status: 'closed', note: 'window seat', needsUpdate: 0 });
    } finally {
      undo();
    }
  });

  it('[STO13] records another build wrote into the checkpoint (its tab still open beside this one) are folded from their events, the rest restored', async () => {
    const location = `checkpoint-two-builds-${++seq}`;
    await closedHoldingNewerEvents(location);
    const older = await storedCheckpoint(location);
    expect(older.find((r) => r.id === 'c1')).toMatchObject({ settled: true });
    const undo = updateToNewerBuild();
    try {
      const updated = await EventStore.open({ location, terminal: 'till-1', crossTab: false });
      await updated.append('ticket.opened', { number: 'A-003' }, ticket('t3'));
      const views = allViews(updated);
      await updated.close();
      // The older build's tab writes its t1 and c1 (settled) into the buckets; the meta stays this build's.
      const current = await storedCheckpoint(location);
      await storeCheckpoint(location, [...current.filter((r) => r.id !== 't1' && r.id !== 'c1'), ...older.filter((r) => r.id === 't1' || r.id === 'c1')]);

      const reopened = await openStore({ location });
      expect(reopened.isIndexed).toBe(false);
      expect(reopened.view('t3', { partial: true })).toMatchObject({ number: 'A-003' });
      await reopened.restored;
      await reopened.indexed;
      expect(reopened.view('t1')).toMatchObject({ status: 'paid', paidCents: 1250, needsUpdate: 0 });
      expect(reopened.view('c1')).toMatchObject({ status: 'closed', note: 'window seat', needsUpdate: 0 });
      expect(allViews(reopened)).toEqual(views);
    } finally {
      undo();
    }
  });

  it('[STO13] a record another build wrote for an aggregate no event backs any more (compacted since) is dropped from the checkpoint', async () => {
    const location = `checkpoint-orphan-${++seq}`;
    await closedWithOneTicket(location);
    const records = await storedCheckpoint(location);
    const t1 = records.find((r) => r.id === 't1')!;
    await storeCheckpoint(location, [...records, { ...t1, id: 'gone', fingerprint: 'an-older-build', bucket: bucketOf('gone', t1.settled === true) }]);
    const reopened = await openStore({ location });
    await reopened.restored;
    await reopened.indexed;
    expect(reopened.view('gone')).toBeUndefined();
    await reopened.append('ticket.opened', { number: 'A-002' }, ticket('t2')); // the next checkpoint write
    await reopened.close();
    // Before, a skipped record was never restored, so never dropped: kept in its bucket for good.
    const kept = (await storedCheckpoint(location)).map((r) => r.id);
    expect(kept).not.toContain('gone');
    // Dropped alone: the checkpoint still holds the tickets.
    expect(kept).toEqual(expect.arrayContaining(['t1', 't2']));
  });

  it('[STO13] a checkpoint of a build before fold fingerprints (none stored) is not used: the log is read at open', async () => {
    const location = `checkpoint-unfingerprinted-${++seq}`;
    await closedWithOneTicket(location);
    const { fingerprint: _meta, ...meta } = await storedMeta(location);
    const records = (await storedCheckpoint(location)).map(({ fingerprint: _record, ...r }) => r);
    await storeCheckpoint(location, records, { ...meta, version: FOLD_SNAPSHOT_VERSION });
    const second = await openStore({ location });
    expect(second.isIndexed).toBe(true);
    expect(second.view('t1')).toMatchObject({ number: 'A-001' });
  });

  it('[STO13] settled aggregates are restored after open: screens see the rest at once, then a change brings them', async () => {
    const location = `checkpoint-settled-${++seq}`;
    const first = await EventStore.open({ location, terminal: 'till-1', crossTab: false });
    await first.append('ticket.opened', { number: 'A-001' }, ticket('open'));
    await first.append('ticket.item_added', item('l1'), ticket('open'));
    for (let t = 0; t < 3; t++) await settleTicket(first, `closed${t}`, num('B', t));
    const views = allViews(first);
    await first.close();

    const second = await openStore({ location });
    const changed: string[] = [];
    second.subscribe((change) => changed.push(...change.aggregates));
    expect(second.views('ticket', { partial: true }).map((v) => v.id)).toEqual(['open']);
    expect(second.view('closed1', { partial: true })).toBeUndefined();
    await second.restored;
    expect(changed.sort()).toEqual(['closed0', 'closed1', 'closed2']);
    expect(second.views('ticket', { partial: true }).map((v) => v.id)).toEqual(['closed0', 'closed1', 'closed2', 'open']);
    expect(allViews(second)).toEqual(views);
    await second.indexed;
    expect(allViews(second)).toEqual(views);
    expect(second.history('closed2').map((h) => h.status)).toEqual(Array(6).fill('applied'));
  });

  it('[STO13] asked for every view before the settled ones are restored, the store reads them from the log', async () => {
    const location = `checkpoint-settled-early-${++seq}`;
    const first = await EventStore.open({ location, terminal: 'till-1', crossTab: false });
    await first.append('ticket.opened', { number: 'A-001' }, ticket('open'));
    await settleTicket(first, 'closed', 'B-001');
    const views = allViews(first);
    await first.close();

    const second = await openStore({ location });
    expect(second.isIndexed).toBe(false);
    expect(second.view('closed')).toMatchObject({ status: 'closed', paidCents: 1250 });
    expect(second.isIndexed).toBe(true);
    expect(allViews(second)).toEqual(views);
    // The decompressed records come too late and change nothing.
    await second.restored;
    expect(allViews(second)).toEqual(views);
    expect(second.projection.size).toBe(7);
  });

  it('[STO13] a ticket that settles, or stops being settled, moves to the other part of the checkpoint: stored once', async () => {
    const location = `checkpoint-moves-${++seq}`;
    const first = await EventStore.open({ location, terminal: 'till-1', crossTab: false });
    await first.append('ticket.opened', { number: 'A-001' }, ticket('t1'));
    await first.append('ticket.opened', { number: 'A-002' }, ticket('t2'));
    await first.close();
    const before = await storedCheckpoint(location);
    expect(before.filter((r) => r.id === 't1')).toHaveLength(1);

    // t1 settles.
    const second = await EventStore.open({ location, terminal: 'till-1', crossTab: false });
    await settleOpenTicket(second, 't1');
    await second.close();
    const settled = await storedCheckpoint(location);
    expect(settled.filter((r) => r.id === 't1')).toHaveLength(1);
    expect(settled.find((r) => r.id === 't1')!.bucket).not.toBe(before.find((r) => r.id === 't1')!.bucket);
    const third = await EventStore.open({ location, terminal: 'till-1', crossTab: false });
    expect(third.views('ticket', { partial: true }).map((v) => v.id)).toEqual(['t2']);
    await third.restored;
    expect(third.view('t1')).toMatchObject({ status: 'closed' });

    // An item added on the closed ticket escalates a conflict: t1 is not settled any more.
    await third.append('ticket.item_added', item('late'), ticket('t1'));
    const views = allViews(third);
    await third.close();
    const reopened = await storedCheckpoint(location);
    expect(reopened.filter((r) => r.id === 't1')).toHaveLength(1);
    expect(reopened.find((r) => r.id === 't1')!.bucket).toBe(before.find((r) => r.id === 't1')!.bucket);
    const fourth = await openStore({ location });
    expect(fourth.views('ticket', { partial: true }).map((v) => v.id)).toEqual(['t1', 't2']);
    expect(fourth.view('t1', { partial: true })).toMatchObject({ openConflicts: 1 });
    await fourth.restored;
    await fourth.indexed;
    expect(allViews(fourth)).toEqual(views);
    expect(fourth.projection.size).toBe(8);
  });

  it('[STO13][PRJ13] a closed ticket whose dish, taken off after it was sent, is still CANCELLED on the kitchen screen is not settled: it stays in the live part until the kitchen bumps it', async () => {
    const location = `checkpoint-cancelled-${++seq}`;
    const first = await EventStore.open({ location, terminal: 'till-1', crossTab: false });
    await first.append('ticket.opened', { number: 'A-001' }, ticket('t1'));
    await first.append('ticket.item_added', item('l1'), ticket('t1'));
    await first.append('ticket.item_added', item('l2'), ticket('t1'));
    await first.append('ticket.sent_to_kitchen', { lineIds: ['l1', 'l2'] }, ticket('t1'));
    await first.append('ticket.kitchen_item_bumped', { lineId: 'l1' }, ticket('t1'));
    await first.append('ticket.item_removed', { lineId: 'l2' }, ticket('t1'));
    await first.append('ticket.payment_recorded', { paymentId: 'p-t1', method: 'card', amountCents: 1250 }, ticket('t1'));
    await first.append('ticket.closed', { totalCents: 1250 }, ticket('t1'));
    await first.close();
    expect((await storedCheckpoint(location)).find((r) => r.id === 't1')).toMatchObject({ settled: false });

    const second = await EventStore.open({ location, terminal: 'till-1', crossTab: false });
    expect(second.views('ticket', { partial: true }).map((v) => v.id)).toEqual(['t1']);
    await second.append('ticket.kitchen_item_bumped', { lineId: 'l2' }, ticket('t1'));
    await second.close();
    expect((await storedCheckpoint(location)).find((r) => r.id === 't1')).toMatchObject({ settled: true });
  });

  it('[STO9] stored bytes stay flat over 10 open/close cycles with no new events', async () => {
    const location = `flat-${++seq}`;
    const store = await EventStore.open({ location, terminal: 'till-1', crossTab: false });
    for (let i = 0; i < 50; i++) await store.append('ticket.opened', { number: num('A', i) }, ticket(`t${i}`));
    // Closing writes the projection checkpoint once; from then on nothing is written.
    await store.close();
    const reopened = await EventStore.open({ location, terminal: 'till-1', crossTab: false });
    const bytes = reopened.storedBytes();
    await reopened.close();
    for (let cycle = 0; cycle < 10; cycle++) {
      const again = await EventStore.open({ location, terminal: 'till-1', crossTab: false });
      expect(again.storedBytes()).toBe(bytes);
      await again.close();
    }
  });

  it('[STO10] with IndexedDB unavailable the store works in memory and says so', async () => {
    const saved = globalThis.indexedDB;
    Object.defineProperty(globalThis, 'indexedDB', { value: undefined, configurable: true, writable: true });
    try {
      const store = await openStore({ location: `nodb-${++seq}` });
      expect(store.persistence).toEqual({ mode: 'memory', reason: expect.stringMatching(/IndexedDB/) });
      await store.append('ticket.opened', { number: 'A-001' }, ticket('t1'));
      expect(store.getByAggregate('t1')).toHaveLength(1);
    } finally {
      Object.defineProperty(globalThis, 'indexedDB', { value: saved, configurable: true, writable: true });
    }
  });

  it('[STO11] with IndexedDB failing to open the store works in memory and says why', async () => {
    const saved = globalThis.indexedDB;
    const failing = {
      open() {
        throw new DOMException('The operation failed because of quota', 'QuotaExceededError');
      },
    };
    Object.defineProperty(globalThis, 'indexedDB', { value: failing, configurable: true, writable: true });
    try {
      const store = await openStore({ location: `faildb-${++seq}` });
      expect(store.persistence).toEqual({ mode: 'memory', reason: expect.stringMatching(/QuotaExceededError/) });
      await store.append('ticket.opened', { number: 'A-001' }, ticket('t1'));
      expect(store.view('t1')).toBeDefined();
    } finally {
      Object.defineProperty(globalThis, 'indexedDB', { value: saved, configurable: true, writable: true });
    }
  });
});

describe('Several tabs of one terminal', () => {
  it('[STO12] never hand out the same origin.n and never lose each other\'s writes', async () => {
    const restore = installWebLocks();
    try {
      const location = `tabs-${++seq}`;
      const tabA = await openStore({ location, crossTab: true });
      const tabB = await openStore({ location, crossTab: true });
      expect(tabA.writer).toBe('till-1');
      expect(tabB.writer).toBe('till-1.2');
      const writes: Promise<unknown>[] = [];
      for (let i = 0; i < 25; i++) {
        writes.push(tabA.append('ticket.opened', { number: num('A', i) }, ticket(`a${i}`)));
        writes.push(tabB.append('ticket.opened', { number: num('B', i) }, ticket(`b${i}`)));
      }
      await Promise.all(writes);
      await until(() => tabA.projection.size === 50 && tabB.projection.size === 50, 'each tab holding both tabs\' 50 tickets');
      const stamps = tabA.views().flatMap((v) => tabA.getByAggregate(v.id).map((e) => `${e.origin.terminal}#${e.origin.n}`));
      expect(new Set(stamps).size).toBe(50);
      expect(allViews(tabA)).toEqual(allViews(tabB));

      // Both tabs' writes survive a reload of either.
      tabA.close();
      tabB.close();
      openedStores.length = 0;
      await new Promise((r) => setTimeout(r, 0)); // Web Locks release asynchronously
      const reloaded = await openStore({ location, crossTab: true });
      expect(reloaded.projection.size).toBe(50);
      expect(reloaded.writer).toBe('till-1');
    } finally {
      restore();
    }
  });
});

describe('Several tabs of one terminal: a tab killed before its write committed', () => {
  it('[STO25] the other tab stores what it received from it: the events survive a reload of the device', async () => {
    const restore = installWebLocks();
    try {
      const location = `tabs-${++seq}`;
      // Tab A never gets its write to disk (killed first: here, it has no disk at all).
      const tabA = await openStore({ location, crossTab: true, persistence: 'memory' });
      const tabB = await openStore({ location, crossTab: true });
      const sale = await tabA.append('ticket.opened', { number: 'A-001' }, ticket('a1'));
      await until(() => tabB.view('a1') !== undefined, 'tab B receiving tab A\'s sale');
      await tabB.durable();
      tabA.close();
      tabB.close();
      openedStores.length = 0;
      await new Promise((r) => setTimeout(r, 0)); // Web Locks release asynchronously
      const reloaded = await openStore({ location, crossTab: true });
      expect(reloaded.getByAggregate('a1')).toEqual([sale]);
    } finally {
      restore();
    }
  });
});

/** A localStorage that refuses every write while `full` (about 5 MiB per origin; some browsers count IndexedDB in it). */
function installFullableLocalStorage(): { setFull(full: boolean): void; restore(): void } {
  const { restore } = installLocalStorage();
  const storage = (globalThis as unknown as { localStorage: Storage }).localStorage;
  const setItem = storage.setItem.bind(storage);
  let full = false;
  storage.setItem = (key: string, value: string) => {
    if (full) throw new DOMException('localStorage is full', 'QuotaExceededError');
    setItem(key, value);
  };
  return { setFull: (f) => void (full = f), restore };
}

describe('EventStore with a full localStorage', () => {
  it('[STO15] an append is still written to the log: it is stored, relayed and there after a reload', async () => {
    const { setFull, restore } = installFullableLocalStorage();
    try {
      const location = `ls-full-${++seq}`;
      const store = await openStore({ location });
      await store.append('ticket.opened', { number: 'A-001' }, ticket('t1'));
      setFull(true);
      const added = await store.append('ticket.item_added', item('l1'), ticket('t1'));
      expect(readAllEventJson(store.doc).map((json) => (JSON.parse(json) as { id: string }).id)).toContain(added.id);
      expect(store.persistence.mode).toBe('indexeddb');
      await store.close();
      setFull(false);
      const reopened = await openStore({ location });
      await reopened.indexed;
      expect(reopened.getByAggregate('t1').map((e) => e.id)).toContain(added.id);
      expect(reopened.view('t1')).toMatchObject({ lines: [{ lineId: 'l1' }] });
    } finally {
      restore();
    }
  });

  it('[SYN10] an update from the relay holding a far-ahead event is indexed whole: its suspect is kept in memory', async () => {
    const { setFull, restore } = installFullableLocalStorage();
    try {
      const store = await openStore({ location: `ls-full-${++seq}`, clock: new HybridClock({ offsetMs: 0 }), persistence: 'memory' });
      setFull(true);
      const now = Date.now();
      const far = now + 10 * 60 * 60_000;
      const envelope = (at: number, n: number, type: string, payload: object) => ({ id: newEventId(at), seq: n, at, type, v: 1, aggregate: { id: 't2', type: 'ticket' }, origin: { terminal: 'till-9', n }, payload });
      const opened = envelope(now, 1, 'ticket.opened', { number: 'Z-001' });
      const ahead = envelope(far, 2, 'ticket.note_set', { note: 'future' });
      const foreign = new Y.Doc();
      foreign.transact(() => new SegmentWriter(foreign, 'till-9').append([JSON.stringify(opened), JSON.stringify(ahead)]));
      Y.applyUpdate(store.doc, Y.encodeStateAsUpdate(foreign), { relay: true });
      expect(store.getByAggregate('t2').map((e) => e.id)).toEqual([opened.id, ahead.id]);
      expect(store.view('t2')).toBeDefined();
      expect(store.clockSuspects.map((e) => e.id)).toEqual([ahead.id]);
    } finally {
      restore();
    }
  });
});

describe('EventStore clock', () => {
  /** A store of `terminal` whose clock, not calibrated yet, followed an event stamped 2 days ahead (the relay's first sync came before the server's first answer). */
  async function followingFarAhead(terminal: string) {
    const location = `suspect-${++seq}`;
    const store = await openStore({ location, terminal, clock: new HybridClock() }); // no offset known yet
    const ahead = await openStore({ location, terminal: 'till-9', persistence: 'memory', clock: new HybridClock({ wallNow: () => Date.now() + 2 * DAY, offsetMs: 0 }) });
    const far = await ahead.append('ticket.opened', { number: 'A-001' }, ticket('t1'));
    exchange(ahead, store);
    return { location, store, far };
  }

  it('[SYN10] a far-ahead event the relay synced before the server\'s first answer is a suspect once calibrated: a reload, offline, never drags the clock to it, checkpoint taken meanwhile included', async () => {
    const { restore } = installLocalStorage();
    try {
      const { location, store: kitchen, far } = await followingFarAhead('kds-1');
      await kitchen.compact(); // writes the checkpoint pending since, with the clock followed 2 days ahead
      kitchen.clock.setOffset(0);
      kitchen.clockCalibrated();
      expect(kitchen.clockSuspects.map((e) => e.id)).toEqual([far.id]);
      await closeAll(openedStores);
      const reloaded = await openStore({ location, terminal: 'kds-1' });
      await reloaded.indexed;
      expect(reloaded.clock.calibrated).toBe(false);
      expect(reloaded.clockSuspects.map((e) => e.id)).toEqual([far.id]);
      expect(reloaded.clock.peek()).toBeLessThan(Date.now() + 60_000);
    } finally {
      restore();
    }
  });

  it('[SYN10] a sale this till stamped while its clock followed a far-ahead event before the server\'s first answer is a suspect once calibrated: a reload, offline, never drags the clock to it', async () => {
    const { restore } = installLocalStorage();
    try {
      const { location, store: till, far } = await followingFarAhead('till-1');
      const sale = await till.append('ticket.opened', { number: 'B-001' }, ticket('t2'));
      expect(sale.at).toBeGreaterThan(far.at); // the clock followed it: it cannot judge it yet
      till.clock.setOffset(0);
      till.clockCalibrated();
      expect(till.clockSuspects.map((e) => e.id)).toEqual([far.id, sale.id]);
      await closeAll(openedStores);
      const reloaded = await openStore({ location, terminal: 'till-1' });
      await reloaded.indexed;
      expect(reloaded.clock.calibrated).toBe(false);
      expect(reloaded.clock.peek()).toBeLessThan(Date.now() + 60_000);
      expect(reloaded.clockSuspects.map((e) => e.id).sort()).toEqual([far.id, sale.id].sort());
    } finally {
      restore();
    }
  });

  it('[SYN10] a suspect compacted away is listed no more: the console cannot show an event the store no longer holds', async () => {
    const location = `suspect-${++seq}`;
    const kitchen = await openStore({ location, terminal: 'kds-1', persistence: 'memory', clock: new HybridClock({ offsetMs: 0 }) });
    const ahead = await openStore({ location, terminal: 'till-9', persistence: 'memory', clock: new HybridClock({ wallNow: () => Date.now() + 2 * DAY, offsetMs: 0 }) });
    await ahead.append('ticket.opened', { number: 'A-001' }, ticket('t1'));
    const closed = await ahead.append('ticket.closed', { totalCents: 0 }, ticket('t1'));
    exchange(ahead, kitchen);
    expect(kitchen.clockSuspects).toHaveLength(2);
    const report = await kitchen.compact({ now: closed.at + 3 * DAY, acknowledgements: { marks: { 'till-9': 2 }, above: {} } });
    expect(report.aggregates).toBe(1);
    expect(kitchen.clockSuspects).toEqual([]);
  });

  it('[SYN10] an event flagged as stamped far ahead stays flagged after a reload, when the clock cannot judge it yet: it never drags the clock', async () => {
    const { saved, restore } = installLocalStorage();
    try {
      const location = `suspect-${++seq}`;
      const calibrated = await openStore({ location, clock: new HybridClock({ offsetMs: 0 }) });
      await calibrated.append('ticket.opened', { number: 'A-001' }, ticket('t1'));
      const far = Date.now() + 10 * 60 * 60_000;
      const foreign = new Y.Doc();
      const ahead = { id: newEventId(far), seq: 2, at: far, type: 'ticket.note_set', v: 1, aggregate: { id: 't1', type: 'ticket' }, origin: { terminal: 'till-9', n: 1 }, payload: { note: 'future' } };
      foreign.transact(() => new SegmentWriter(foreign, 'till-9').append([JSON.stringify(ahead)]));
      Y.applyUpdate(calibrated.doc, Y.encodeStateAsUpdate(foreign), { relay: true });
      expect(calibrated.clockSuspects.map((e) => e.id)).toEqual([ahead.id]);
      await calibrated.close();
      openedStores.length = 0;
      // Reopened as the app does: no offset known until the server answers.
      const reloaded = await openStore({ location });
      await reloaded.indexed;
      expect(reloaded.clock.calibrated).toBe(false);
      // Not a register write (those are stamped above what they saw of their aggregate, SYN8): the clock's own stamp.
      const mine = await reloaded.append('ticket.item_added', item('l1'), ticket('t1'));
      expect(mine.at).toBeLessThan(Date.now() + 60_000);
      expect(reloaded.clockSuspects.map((e) => e.id)).toEqual([ahead.id]);
      // Calibrated again, and the server says this device was 10 hours behind: judged again, it is followed.
      reloaded.clock.setOffset(10 * 60 * 60_000);
      reloaded.clockCalibrated();
      expect(reloaded.clockSuspects).toEqual([]);
      expect(reloaded.clock.peek()).toBeGreaterThanOrEqual(far);
      expect(saved.get(`rms:${location}:clock-suspects`)).toBe('[]');
    } finally {
      restore();
    }
  });

  it('[HLC4] a till that wrote with its wall clock days ahead before its first calibration stamps near server time once calibrated: the evening is not sold days ahead', async () => {
    const real = Date.parse('2026-11-27T17:00:00Z');
    const skew = 2 * DAY;
    const clock = new HybridClock({ wallNow: () => real + skew });
    const store = await openStore({ location: `ahead-${++seq}`, persistence: 'memory', clock });
    await store.append('ticket.opened', { number: 'A-001' }, ticket('t1'));
    const skewed = await store.append('ticket.note_set', { note: 'booted ahead' }, ticket('t1'));
    expect(skewed.at).toBeGreaterThanOrEqual(real + skew);
    // The server's first answer: the wall clock is two days fast.
    clock.setOffset(-skew);
    store.clockCalibrated();
    const added = await store.append('ticket.item_added', item('l1'), ticket('t1'));
    await store.append('ticket.opened', { number: 'A-002' }, ticket('t2'));
    const closed = await store.append('ticket.closed', { totalCents: 0 }, ticket('t2'));
    for (const e of [added, closed]) {
      expect(e.at).toBeGreaterThanOrEqual(real);
      expect(e.at).toBeLessThanOrEqual(real + CLOCK_BOUND_MS + 10);
    }
    // Its ticket still folds in the order written (seq), and its own later register write wins over the skewed one.
    expect(added.seq).toBeGreaterThan(skewed.seq);
    const note = await store.append('ticket.note_set', { note: 'calibrated' }, ticket('t1'));
    expect(note.at).toBeGreaterThan(skewed.at);
    expect(store.view('t1')).toMatchObject({ note: 'calibrated', lines: [{ lineId: 'l1' }] });
    expect(store.clock.peek()).toBeLessThanOrEqual(real + CLOCK_BOUND_MS + 10);
  });

  it('[HLC4] reloaded before calibration, a till does not keep stamping after its own events written days ahead once calibrated', async () => {
    const real = Date.parse('2026-11-27T17:00:00Z');
    const location = `ahead-reload-${++seq}`;
    const ahead = await openStore({ location, clock: new HybridClock({ wallNow: () => real + 2 * DAY }) });
    await ahead.append('ticket.opened', { number: 'A-001' }, ticket('t1'));
    await ahead.close();
    openedStores.length = 0;
    // The wall clock set right, the app reloaded: the clock follows what it reads from disk until the server answers.
    const clock = new HybridClock({ wallNow: () => real + 60_000 });
    const reloaded = await openStore({ location, clock });
    await reloaded.indexed;
    clock.setOffset(0);
    reloaded.clockCalibrated();
    const added = await reloaded.append('ticket.item_added', item('l1'), ticket('t1'));
    expect(added.at).toBeLessThanOrEqual(real + 60_000 + CLOCK_BOUND_MS + 10);
    expect(added.seq).toBe(2);
  });

  it('[SYN8] a register write made after seeing a write stamped far ahead (a clock suspect) wins; the clock does not follow it and a close keeps its stamp', async () => {
    let real = Date.parse('2026-11-27T17:00:00Z');
    const skewed = await openStore({ location: `lww-${++seq}`, terminal: 'till-a', persistence: 'memory', clock: new HybridClock({ wallNow: () => real + 2 * DAY }) });
    const kitchen = await openStore({ location: `lww-${seq}`, terminal: 'kds-1', persistence: 'memory', clock: new HybridClock({ wallNow: () => real, offsetMs: 0 }) });
    const soup = { aggregate: { id: 'm-soup', type: 'menu_item' } };
    await kitchen.append('menu.item_defined', { menuItemId: 'm-soup', name: 'Soup', category: 'Starters', priceCents: 500 }, soup);
    await kitchen.append('ticket.opened', { number: 'K-001' }, ticket('t1'));
    await kitchen.append('ticket.item_added', { ...item('l1'), unitPriceCents: 500 }, ticket('t1'));
    Y.applyUpdate(skewed.doc, Y.encodeStateAsUpdate(kitchen.doc));
    // The till two days ahead (not calibrated yet) marks it sold out and notes the ticket.
    const soldOut = await skewed.append('menu.item_availability_set', { menuItemId: 'm-soup', available: false }, soup);
    await skewed.append('ticket.note_set', { note: 'from the future' }, ticket('t1'));
    Y.applyUpdate(kitchen.doc, Y.encodeStateAsUpdate(skewed.doc));
    expect(kitchen.clockSuspects).toHaveLength(2);
    real += 60_000;
    const back = await kitchen.append('menu.item_availability_set', { menuItemId: 'm-soup', available: true }, soup);
    await kitchen.append('ticket.note_set', { note: 'seen, changed' }, ticket('t1'));
    expect(back.at).toBeGreaterThan(soldOut.at);
    expect(kitchen.view('m-soup')).toMatchObject({ soldOut: false });
    expect(kitchen.view('t1')).toMatchObject({ note: 'seen, changed' });
    // The clock itself stays at server time: the sale's close is stamped now (its business day).
    expect(kitchen.clock.peek()).toBeLessThan(real + CLOCK_BOUND_MS);
    await kitchen.append('ticket.payment_recorded', { paymentId: 'p1', method: 'cash', amountCents: 500 }, ticket('t1'));
    const closed = await kitchen.append('ticket.closed', { totalCents: 500 }, ticket('t1'));
    expect(closed.at).toBeGreaterThanOrEqual(real);
    expect(closed.at).toBeLessThan(real + 1_000);
  });

  it('[SYN10] a register write stamped above a far-ahead write is not followed after a reload either: the sales rung up before the server answers are stamped now', async () => {
    const { restore } = installLocalStorage();
    try {
      const location = `lifted-${++seq}`;
      const kitchen = await openStore({ location, terminal: 'kds-1', clock: new HybridClock({ offsetMs: 0 }) });
      await kitchen.append('ticket.opened', { number: 'K-001' }, ticket('t1'));
      const far = Date.now() + 2 * DAY;
      const foreign = new Y.Doc();
      const ahead = { id: newEventId(far), seq: 2, at: far, type: 'ticket.note_set', v: 1, aggregate: { id: 't1', type: 'ticket' }, origin: { terminal: 'till-9', n: 1 }, payload: { note: 'future' } };
      foreign.transact(() => new SegmentWriter(foreign, 'till-9').append([JSON.stringify(ahead)]));
      Y.applyUpdate(kitchen.doc, Y.encodeStateAsUpdate(foreign), { relay: true });
      const lifted = await kitchen.append('ticket.note_set', { note: 'seen, changed' }, ticket('t1'));
      expect(lifted.at).toBeGreaterThan(far);
      await kitchen.close();
      openedStores.length = 0;
      // Reloaded with no answer from the server yet: it reads its own write, two days ahead.
      const reloaded = await openStore({ location, terminal: 'kds-1' });
      await reloaded.indexed;
      expect(reloaded.clock.calibrated).toBe(false);
      await reloaded.append('ticket.opened', { number: 'K-002' }, ticket('t2'));
      const closed = await reloaded.append('ticket.closed', { totalCents: 0 }, ticket('t2'));
      expect(closed.at).toBeLessThan(Date.now() + 60_000);
    } finally {
      restore();
    }
  });

  it('[SYN10] this till\'s own register write, stamped above a far-ahead write it saw, is never listed as a clock suspect: only the far-ahead one is', async () => {
    const store = await openStore({ location: `own-lifted-${++seq}`, persistence: 'memory', clock: new HybridClock({ offsetMs: 0 }) });
    await store.append('ticket.opened', { number: 'A-001' }, ticket('t1'));
    const far = Date.now() + 10 * 60 * 60_000;
    const ahead = { id: newEventId(far), seq: 2, at: far, type: 'ticket.note_set', v: 1, aggregate: { id: 't1', type: 'ticket' }, origin: { terminal: 'till-9', n: 1 }, payload: { note: 'future' } };
    const foreign = new Y.Doc();
    foreign.transact(() => new SegmentWriter(foreign, 'till-9').append([JSON.stringify(ahead)]));
    Y.applyUpdate(store.doc, Y.encodeStateAsUpdate(foreign), { relay: true });
    const mine = await store.append('ticket.note_set', { note: 'now' }, ticket('t1'));
    expect(mine.at).toBeGreaterThan(far);
    expect(store.clockSuspects.map((e) => e.id)).toEqual([ahead.id]);
  });

  it('[STO3] the same key twice: append returns the event the fold keeps (first in fold order), not the one with the smaller id', async () => {
    const store = await openStore({ location: `key-${++seq}`, persistence: 'memory' });
    await store.append('ticket.opened', { number: 'A-001' }, ticket('t1'));
    const t = 1_700_000_000_000;
    const base = { type: 'sale.recorded', v: 1, aggregate: { id: 't1', type: 'ticket' }, key: 'sale-t1' };
    // Two tills sold it offline: the first in fold order (seq 2) has the larger id.
    const first = { ...base, id: newEventId(t + 5000), seq: 2, at: t + 5000, origin: { terminal: 'till-8', n: 1 }, payload: { ticketId: 't1', totalCents: 100, paidCents: 100, closedAt: t } };
    const second = { ...base, id: newEventId(t), seq: 3, at: t, origin: { terminal: 'till-9', n: 1 }, payload: { ticketId: 't1', totalCents: 999, paidCents: 999, closedAt: t } };
    const foreign = new Y.Doc();
    foreign.transact(() => {
      new SegmentWriter(foreign, 'till-8').append([JSON.stringify(first)]);
      new SegmentWriter(foreign, 'till-9').append([JSON.stringify(second)]);
    });
    Y.applyUpdate(store.doc, Y.encodeStateAsUpdate(foreign), { relay: true });
    const got = await store.append('sale.recorded', { ticketId: 't1', totalCents: 1, paidCents: 1, closedAt: t }, { ...ticket('t1'), key: 'sale-t1' });
    expect(got.id).toBe(first.id);
  });
});

describe('The projection a checkpoint restores (LocationProjection)', () => {
  /** A ticket's first two events, and the checkpoint records of their fold. */
  async function checkpointed() {
    const store = await openStore({ location: `restore-${++seq}`, persistence: 'memory' });
    await store.append('ticket.opened', { number: 'A-001' }, ticket('t1'));
    await store.append('ticket.item_added', item('l1'), ticket('t1'));
    const events = [...store.getByAggregate('t1')];
    const folded = new LocationProjection();
    folded.trackChanges();
    folded.apply(events);
    return { store, events, records: folded.takeChanges().put };
  }

  it('[PRJ12] a checkpoint record restored after its aggregate\'s events arrived (newer than the record) leaves the live fold, counting each event once', async () => {
    const { store, records } = await checkpointed();
    await store.append('ticket.item_added', item('l2', 2), ticket('t1'));
    const p = new LocationProjection();
    p.apply(store.getByAggregate('t1'));
    expect(p.restore(records)).toEqual([]);
    expect(p.size).toBe(3);
    expect(p.get('t1')).toMatchObject({ totalCents: 3 * 1250 });
  });

  it('[PRJ12][PRJ9] a restored aggregate given its events with one twice (two stores held it) attaches as the same events, not refolded; compacted away, it leaves nothing counted', async () => {
    const { events, records } = await checkpointed();
    const p = new LocationProjection();
    p.restore(records);
    expect(p.size).toBe(2);
    expect([...p.attach([['t1', [...events, events[1]!]]])]).toEqual([]);
    expect(p.size).toBe(2);
    expect(p.eventsOf('t1')).toHaveLength(2);
    const unread = new LocationProjection();
    unread.restore(records);
    unread.remove(['t1']);
    expect([unread.size, unread.aggregateCount]).toEqual([0, 0]);
  });
});
