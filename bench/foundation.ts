import 'fake-indexeddb/auto';
import * as Y from 'yjs';
import { IndexeddbPersistence } from 'y-indexeddb';
import { EventStore } from '../client/store/event-store';
import { PERSISTENCE } from '../client/store/origins';
import { newEventId } from '../shared/events/event-id';
import { ticketCommands, type Command } from './workload';
import { gc, repeat, summarize } from './stats';
import type { BenchRow } from './report';

/**
 * Foundation benchmarks (issue "Foundation"): local append, cold load, stored bytes and
 * heap of our EventStore, each beside the raw Yjs floor measured in the same run.
 * IndexedDB is excluded from append and cold load (memory persistence); the stored-bytes
 * figures use fake-indexeddb, which stores what it is given, byte for byte.
 */
const SUITE = 'foundation';

export interface FoundationOptions {
  quick: boolean;
}

async function storeWith(held: number, terminal = 'till-1'): Promise<EventStore> {
  const store = await EventStore.open({ location: `bench-${Math.random()}`, terminal, persistence: 'memory', crossTab: false });
  for (const c of ticketCommands(held)) await store.append(c.type, c.payload, appendOptions(c));
  return store;
}

function appendOptions(c: Command) {
  return c.key === undefined ? { aggregate: c.aggregate } : { aggregate: c.aggregate, key: c.key };
}

/** Appends `count` more events of fresh tickets and returns per-append ms. */
async function timeAppends(store: EventStore, count: number): Promise<number[]> {
  gc(); // start each series with a clean heap, so both sides pay the same collections
  const samples: number[] = [];
  for (const c of ticketCommands(count, 99, 'Z')) {
    const t0 = performance.now();
    await store.append(c.type, c.payload, appendOptions(c));
    samples.push(performance.now() - t0);
  }
  return samples;
}

/** Envelope-shaped objects for the raw floors, as our store would stamp them. */
function rawEvents(count: number, seed: number, prefix: string): object[] {
  const out: object[] = [];
  let n = 0;
  for (const c of ticketCommands(count, seed, prefix)) {
    n++;
    out.push({ id: newEventId(), seq: n, at: 1_764_000_000_000 + n, type: c.type, v: 1, aggregate: c.aggregate, origin: { terminal: 'till-1', n }, payload: c.payload });
  }
  return out;
}

function timeFloor(held: number, count: number, write: (doc: Y.Doc, e: object) => void, prefill: (doc: Y.Doc, events: object[]) => void): number[] {
  const doc = new Y.Doc();
  prefill(doc, rawEvents(held, 7, 'A'));
  const samples: number[] = [];
  for (const e of rawEvents(count, 99, 'Z')) {
    const t0 = performance.now();
    doc.transact(() => write(doc, e));
    samples.push(performance.now() - t0);
  }
  return samples;
}

const mapFloor = (held: number, count: number) =>
  timeFloor(held, count, (doc, e) => doc.getMap('events').set((e as { id: string }).id, e), (doc, events) => {
    for (const e of events) doc.transact(() => doc.getMap('events').set((e as { id: string }).id, e));
  });

// The naive log: one growing array. Prefilled in one push (one merged item, as 100k
// single pushes would leave it), then timed one push per transaction.
const arrayFloor = (held: number, count: number) =>
  timeFloor(held, count, (doc, e) => doc.getArray('events').push([e]), (doc, events) => {
    doc.transact(() => doc.getArray('events').push(events));
  });

async function appendRows(quick: boolean): Promise<BenchRow[]> {
  const measured = quick ? 500 : 2000;
  const bigHeld = quick ? 20_000 : 100_000;
  // Warm up the JIT on a throwaway store, so the first measurement is not the compiler's.
  const warm = await storeWith(5000);
  await timeAppends(warm, measured);
  warm.close();
  const small = await storeWith(1000);
  const atSmall = summarize(await timeAppends(small, measured));
  small.close();
  const big = await storeWith(bigHeld);
  const bigSamples = await timeAppends(big, measured);
  const atBig = summarize(bigSamples);
  big.close();
  const mapAtBig = summarize(mapFloor(bigHeld, measured));
  const arrayAtBig = summarize(arrayFloor(bigHeld, measured));
  const opsPerSec = (s: { mean: number }) => 1000 / s.mean;
  const held = `${bigHeld / 1000}k held`;
  return [
    { suite: SUITE, metric: `append p99 at ${held} vs at 1k held (flat)`, ours: atBig.p99, anchor: atSmall.p99, anchorName: 'ours at 1k held', unit: 'ms', target: { op: '<=', value: 1.5, on: 'ratio' } },
    { suite: SUITE, metric: `append throughput at ${held} vs raw Y.Map.set`, ours: opsPerSec(atBig), anchor: opsPerSec(mapAtBig), anchorName: 'Y.Map floor', unit: 'ev/s', target: { op: '>=', value: 0.5, on: 'ratio' } },
    { suite: SUITE, metric: `append p99 at ${held} vs naive Y.Array.push`, ours: atBig.p99, anchor: arrayAtBig.p99, anchorName: 'naive Y.Array', unit: 'ms', target: null, note: 'the naive array copies its merged run on every push' },
    { suite: SUITE, metric: `append p50 at ${held}`, ours: atBig.p50, anchor: mapAtBig.p50, anchorName: 'Y.Map floor', unit: 'ms', target: null },
  ];
}

/**
 * Cold load as a till restarts: the log and the projection checkpoint it wrote on close are
 * read from IndexedDB (fake-indexeddb here: it clones what it stores, as a browser does),
 * applied, and the projection restored. `ready` is when every view is readable (open, then
 * the settled aggregates' folds, `restored`; each decoded on first read); `all views read`
 * also decodes every one of them once.
 * The first open after another replica wrote the log (no checkpoint of ours) reads and
 * folds every event, and is shown too.
 */
async function coldLoadRows(quick: boolean): Promise<BenchRow[]> {
  const sizes = quick ? [10_000] : [10_000, 100_000];
  const rows: BenchRow[] = [];
  const perEvent: number[] = [];
  for (const size of sizes) {
    const source = await storeWith(size);
    const state = Y.encodeStateAsUpdate(source.doc);
    await source.close();
    const location = `cold-${size}-${Math.random()}`;
    const runs = quick ? 3 : 5;
    const floor = await repeat(runs, () => {
      const t0 = performance.now();
      Y.applyUpdate(new Y.Doc(), state);
      return performance.now() - t0;
    });
    const unCheckpointed = await repeat(runs, async () => {
      gc();
      const t0 = performance.now();
      const store = await EventStore.open({ location: `fold-${Math.random()}`, terminal: 'till-2', persistence: 'memory', crossTab: false });
      Y.applyUpdate(store.doc, state, PERSISTENCE);
      const ms = performance.now() - t0;
      await store.close();
      return ms;
    });
    // A till receives the log (e.g. from the relay), then closes: that writes its checkpoint.
    const writer = await EventStore.open({ location, terminal: 'till-2', crossTab: false });
    Y.applyUpdate(writer.doc, state);
    await writer.close();
    const opened = async (readAll: boolean) =>
      repeat(runs, async () => {
        gc();
        const t0 = performance.now();
        const store = await EventStore.open({ location, terminal: 'till-2', crossTab: false });
        // Every view readable: the settled aggregates' folds follow open.
        await store.restored;
        if (readAll) store.views();
        const ms = performance.now() - t0;
        if (store.projection.size !== size) throw new Error(`cold load held ${store.projection.size} of ${size}`);
        if (store.isIndexed) throw new Error('the checkpoint was not used');
        await store.close();
        return ms;
      });
    const ready = await opened(false);
    const allRead = await opened(true);
    // The same state through y-indexeddb on the same fake-indexeddb: the floor with the storage read.
    const yName = `cold-yidb-${size}-${Math.random()}`;
    const seedDoc = new Y.Doc();
    Y.applyUpdate(seedDoc, state);
    const seeded = new IndexeddbPersistence(yName, seedDoc);
    await seeded.whenSynced;
    await seeded.destroy();
    const yidb = await repeat(runs, async () => {
      gc();
      const t0 = performance.now();
      const p = new IndexeddbPersistence(yName, new Y.Doc());
      await p.whenSynced;
      const ms = performance.now() - t0;
      await p.destroy();
      return ms;
    });
    perEvent.push(allRead.median / size);
    const k = size / 1000;
    rows.push({ suite: SUITE, metric: `cold load ${k}k events → projection ready (from checkpoint)`, ours: ready.median, anchor: floor.median, anchorName: 'Y.applyUpdate floor', unit: 'ms', spread: `${ready.min.toFixed(0)}–${ready.max.toFixed(0)}`, target: { op: '<=', value: 1.5, on: 'ratio' }, note: 'open, then `restored`: every view readable; each view is decoded on its first read, the events are read in the background after' });
    rows.push({ suite: SUITE, metric: `cold load ${k}k events → every view read once`, ours: allRead.median, anchor: floor.median, anchorName: 'Y.applyUpdate floor', unit: 'ms', spread: `${allRead.min.toFixed(0)}–${allRead.max.toFixed(0)}`, target: { op: '<=', value: 1.5, on: 'ratio' } });
    rows.push({ suite: SUITE, metric: `cold load ${k}k events → projection ready, vs y-indexeddb reading the same state`, ours: ready.median, anchor: yidb.median, anchorName: 'y-indexeddb whenSynced', unit: 'ms', spread: `${ready.min.toFixed(0)}–${ready.max.toFixed(0)}`, target: null, note: `both read fake-indexeddb: the anchor is the Y.applyUpdate floor plus the storage read; anchor spread ${yidb.min.toFixed(0)}–${yidb.max.toFixed(0)}` });
    rows.push({ suite: SUITE, metric: `cold load ${k}k events without a checkpoint (read and fold every event)`, ours: unCheckpointed.median, anchor: floor.median, anchorName: 'Y.applyUpdate floor', unit: 'ms', spread: `${unCheckpointed.min.toFixed(0)}–${unCheckpointed.max.toFixed(0)}`, target: null, note: 'IndexedDB excluded: the state is applied to an open store' });
  }
  if (perEvent.length === 2) {
    rows.push({ suite: SUITE, metric: 'cold load cost per event, 100k vs 10k (linear = 1)', ours: perEvent[1]!, anchor: perEvent[0]!, anchorName: 'per event at 10k', unit: 'ms', target: { op: '<=', value: 1.3, on: 'ratio' } });
  }
  return rows;
}

async function bytesRows(quick: boolean): Promise<BenchRow[]> {
  const size = quick ? 2000 : 10_000;
  const location = `bytes-${Math.random()}`;
  const store = await EventStore.open({ location, terminal: 'till-1', crossTab: false });
  let jsonBytes = 0;
  for (const c of ticketCommands(size)) {
    const e = await store.append(c.type, c.payload, appendOptions(c));
    jsonBytes += JSON.stringify(e).length;
  }
  const stateBytes = Y.encodeStateAsUpdate(store.doc).byteLength;
  // Closing writes the projection checkpoint: stored bytes count it with the log.
  await store.close();
  const reopened = await EventStore.open({ location, terminal: 'till-1', crossTab: false });
  const stored = reopened.storedBytes() ?? NaN;
  await reopened.close();
  let afterCycles = stored;
  for (let i = 0; i < 10; i++) {
    const again = await EventStore.open({ location, terminal: 'till-1', crossTab: false });
    afterCycles = again.storedBytes() ?? NaN;
    await again.close();
  }
  // y-indexeddb alone: stores the doc's state on every open.
  const yName = `yidb-${Math.random()}`;
  const seedDoc = new Y.Doc();
  const seeded = new IndexeddbPersistence(yName, seedDoc);
  await seeded.whenSynced;
  for (const e of rawEvents(200, 7, 'A')) seedDoc.transact(() => seedDoc.getMap('events').set((e as { id: string }).id, e));
  await new Promise((r) => setTimeout(r, 50));
  await seeded.destroy();
  const yBytes: number[] = [];
  for (let i = 0; i < 11; i++) {
    const doc = new Y.Doc();
    const p = new IndexeddbPersistence(yName, doc);
    await p.whenSynced;
    yBytes.push(await storedBytesOf(yName));
    await p.destroy();
  }
  return [
    { suite: SUITE, metric: `stored bytes per event in IndexedDB, log + projection checkpoint (${size / 1000}k events)`, ours: stored / size, anchor: jsonBytes / size, anchorName: 'event JSON', unit: 'B', target: { op: '<=', value: 1.2, on: 'ratio' } },
    { suite: SUITE, metric: 'Yjs state bytes per event', ours: stateBytes / size, anchor: jsonBytes / size, anchorName: 'event JSON', unit: 'B', target: { op: '<=', value: 1.2, on: 'ratio' } },
    { suite: SUITE, metric: 'stored bytes after 10 open/close cycles vs before', ours: afterCycles, anchor: stored, anchorName: 'before', unit: 'B', target: { op: '<=', value: 1, on: 'ratio' } },
    { suite: SUITE, metric: 'y-indexeddb alone: bytes after 10 open/close cycles vs after 1', ours: yBytes[10]!, anchor: yBytes[0]!, anchorName: 'after 1 open', unit: 'B', target: null, note: 'grows: it stores the state on every open' },
  ];
}

async function storedBytesOf(name: string): Promise<number> {
  const db = await new Promise<IDBDatabase>((resolve, reject) => {
    const req = indexedDB.open(name);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
  const values = await new Promise<Uint8Array[]>((resolve, reject) => {
    const req = db.transaction('updates', 'readonly').objectStore('updates').getAll();
    req.onsuccess = () => resolve(req.result as Uint8Array[]);
    req.onerror = () => reject(req.error);
  });
  db.close();
  return values.reduce((s, v) => s + v.byteLength, 0);
}

async function heapRows(quick: boolean): Promise<BenchRow[]> {
  const size = quick ? 20_000 : 100_000;
  gc();
  const before = process.memoryUsage().heapUsed;
  const store = await storeWith(size);
  gc();
  const ours = process.memoryUsage().heapUsed - before;
  store.close();
  gc();
  const before2 = process.memoryUsage().heapUsed;
  const doc = new Y.Doc();
  for (const e of rawEvents(size, 7, 'A')) doc.transact(() => doc.getMap('events').set((e as { id: string }).id, e));
  gc();
  const floor = process.memoryUsage().heapUsed - before2;
  doc.destroy();
  const per100k = 100_000 / size / (1024 * 1024);
  return [{ suite: SUITE, metric: 'heap per 100k events held (doc + index + projection)', ours: ours * per100k, anchor: floor * per100k, anchorName: 'Y.Map of objects', unit: 'MB', target: null }];
}

export async function foundationBench(options: FoundationOptions): Promise<BenchRow[]> {
  return [
    ...(await appendRows(options.quick)),
    ...(await coldLoadRows(options.quick)),
    ...(await bytesRows(options.quick)),
    ...(await heapRows(options.quick)),
  ];
}
