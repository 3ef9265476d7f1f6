import * as Y from 'yjs';
import { IndexeddbPersistence } from 'y-indexeddb';
import PouchDB from 'pouchdb-browser';
import { EventStore } from '../../client/store/event-store';
import { IdbPersistence } from '../../client/store/idb-persistence';
import { SyncManager } from '../../client/sync/sync-manager';
import { appEndpoints } from '../../client/sync/endpoints';
import { SegmentWriter } from '../../shared/log/log-doc';
import { newEventId } from '../../shared/events/event-id';
import { CURRENT_VERSIONS } from '../../shared/events/catalog';
import { ticketCommands, type Command } from '../workload';

/**
 * The browser bench page (built by bench/browser-build.ts, driven by bench/browser-suite.ts
 * through `window.rmsBench`). Every system sees the same workload: `ticketCommands(count,
 * seed)` from bench/workload.ts (whole tickets of ~15 events, ~200 B of JSON each). Our
 * EventStore stamps them itself; raw IndexedDB and PouchDB get the same commands stamped
 * as our store would (id, seq per aggregate, at, origin), as JSON.
 */

type Sys = 'ours' | 'raw' | 'pouch';
type PouchDb = InstanceType<typeof PouchDB>;

const epoch = (): number => performance.timeOrigin + performance.now();
const open = new Map<string, EventStore>();
const pouches = new Map<string, PouchDb>();

function appendOptions(c: Command) {
  return c.key === undefined ? { aggregate: c.aggregate } : { aggregate: c.aggregate, key: c.key };
}

interface Envelope {
  id: string;
  seq: number;
  at: number;
  type: string;
  v: number;
  aggregate: { id: string; type: string };
  origin: { terminal: string; n: number };
  payload: unknown;
  key?: string;
}

/** The workload stamped as our store would stamp it (for the systems that do not stamp). */
/** The workload's payloads are written at each type's current version (ticket.item_added is v2). */
function versionOf(type: string): number {
  return (CURRENT_VERSIONS as Readonly<Record<string, number>>)[type] ?? 1;
}

function envelopes(count: number, seed: number, prefix = 'A', terminal = 'till-1'): Envelope[] {
  const seqs = new Map<string, number>();
  const out: Envelope[] = [];
  let n = 0;
  for (const c of ticketCommands(count, seed, prefix)) {
    n++;
    const seq = (seqs.get(c.aggregate.id) ?? 0) + 1;
    seqs.set(c.aggregate.id, seq);
    const at = Date.now();
    const e: Envelope = { id: newEventId(at), seq, at, type: c.type, v: versionOf(c.type), aggregate: c.aggregate, origin: { terminal, n }, payload: c.payload };
    if (c.key !== undefined) e.key = c.key;
    out.push(e);
  }
  return out;
}

// ───────────────────────── raw IndexedDB (the floor) ─────────────────────────

const RAW_STORE = 'events';

function openRaw(name: string): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(name, 1);
    req.onupgradeneeded = () => {
      const s = req.result.createObjectStore(RAW_STORE, { keyPath: 'id' });
      s.createIndex('aggregate', 'aggregate');
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

/** One transaction with the same durability our store asks for ('strict'). */
function rawPut(db: IDBDatabase, batch: readonly Envelope[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const tx = db.transaction(RAW_STORE, 'readwrite', { durability: 'strict' });
    const s = tx.objectStore(RAW_STORE);
    for (const e of batch) s.put({ id: e.id, aggregate: e.aggregate.id, json: JSON.stringify(e) });
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
}

function req<T>(r: IDBRequest): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result as T);
    r.onerror = () => reject(r.error);
  });
}

const raws = new Map<string, IDBDatabase>();

// ───────────────────────── PouchDB ─────────────────────────

const DESIGN = {
  _id: '_design/agg',
  views: { by_aggregate: { map: 'function (doc) { if (doc.aggregate) emit(doc.aggregate.id); }' } },
};

async function pouchWithIndex(name: string): Promise<PouchDb> {
  const db = new PouchDB(name);
  await db.put(DESIGN);
  return db;
}

// ───────────────────────── the API driven from Node ─────────────────────────

async function appendRun(o: { system: Sys; name: string; count: number; batch: number; seed: number }): Promise<{ ms: number; indexMs: number; events: number }> {
  if (o.system === 'ours') {
    const store = await EventStore.open({ location: o.name, terminal: 'till-1', crossTab: false });
    if (store.persistence.mode !== 'indexeddb') throw new Error(`ours is not on IndexedDB: ${JSON.stringify(store.persistence)}`);
    const cmds = [...ticketCommands(o.count, o.seed)];
    const t0 = performance.now();
    if (o.batch === 1) {
      for (const c of cmds) await store.append(c.type, c.payload, appendOptions(c));
    } else {
      for (let i = 0; i < cmds.length; i += o.batch) {
        await Promise.all(cmds.slice(i, i + o.batch).map((c) => store.append(c.type, c.payload, appendOptions(c))));
      }
    }
    const ms = performance.now() - t0;
    if (store.projection.size !== cmds.length) throw new Error(`ours holds ${store.projection.size} of ${cmds.length}`);
    open.set(o.name, store);
    return { ms, indexMs: 0, events: cmds.length };
  }
  const events = envelopes(o.count, o.seed);
  if (o.system === 'raw') {
    const db = await openRaw(o.name);
    const t0 = performance.now();
    for (let i = 0; i < events.length; i += o.batch) await rawPut(db, events.slice(i, i + o.batch));
    const ms = performance.now() - t0;
    raws.set(o.name, db);
    return { ms, indexMs: 0, events: events.length };
  }
  const db = await pouchWithIndex(o.name);
  const docs = events.map((e) => ({ _id: e.id, ...e }));
  const t0 = performance.now();
  for (let i = 0; i < docs.length; i += o.batch) {
    const res = await db.bulkDocs(docs.slice(i, i + o.batch));
    for (const r of res) if ('error' in r && r.error) throw new Error(`pouch bulkDocs: ${JSON.stringify(r)}`);
  }
  const ms = performance.now() - t0;
  // The view is built lazily: bring it up to date, as ours is indexed on append.
  const t1 = performance.now();
  await db.query('agg/by_aggregate', { limit: 0 });
  const indexMs = performance.now() - t1;
  pouches.set(o.name, db);
  return { ms, indexMs, events: docs.length };
}

/** Reads `queries` aggregates (of tickets 1..tickets) by id; per-query ms. */
async function readRun(o: { system: Sys; name: string; tickets: number; queries: number }): Promise<{ samples: number[]; totalMs: number }> {
  const samples: number[] = [];
  const started = performance.now();
  let checksum = 0;
  for (let q = 0; q < o.queries; q++) {
    const id = `ticket-A-${1 + ((q * 7919) % o.tickets)}`;
    const t0 = performance.now();
    let events: readonly { id: string }[];
    if (o.system === 'ours') events = open.get(o.name)!.getByAggregate(id);
    else if (o.system === 'raw') {
      const rows = await req<{ json: string }[]>(raws.get(o.name)!.transaction(RAW_STORE, 'readonly').objectStore(RAW_STORE).index('aggregate').getAll(id));
      events = rows.map((r) => JSON.parse(r.json) as Envelope);
    } else {
      const res = await pouches.get(o.name)!.query('agg/by_aggregate', { key: id, include_docs: true });
      events = res.rows.map((r) => r.doc as unknown as Envelope);
    }
    samples.push(performance.now() - t0);
    if (events.length === 0) throw new Error(`${o.system}: no events for ${id}`);
    checksum += events.length;
  }
  const totalMs = performance.now() - started;
  (globalThis as { __checksum?: number }).__checksum = checksum;
  return { samples, totalMs };
}

/** Fills our log for a location (appends in batches of 1000), plus one open marker ticket last. */
async function fillOurs(o: { location: string; terminal: string; count: number; marker: string }): Promise<{ ms: number; storedBytes: number | null }> {
  const store = await EventStore.open({ location: o.location, terminal: o.terminal, crossTab: false });
  const cmds = ticketCommands(o.count - 1);
  const t0 = performance.now();
  let batch: Promise<unknown>[] = [];
  for (const c of cmds) {
    batch.push(store.append(c.type, c.payload, appendOptions(c)));
    if (batch.length === 1000) {
      await Promise.all(batch);
      batch = [];
    }
  }
  await Promise.all(batch);
  await store.append('ticket.opened', { number: o.marker, tableId: 'table-1', covers: 2 }, { aggregate: { id: `ticket-${o.marker}`, type: 'ticket' } });
  const ms = performance.now() - t0;
  const storedBytes = store.storedBytes();
  store.close();
  return { ms, storedBytes };
}

/**
 * Lays `count` workload events (stamped by another till, plus one open marker ticket) into
 * a location's log the way our store does — the writer's segments of the log doc, through
 * our IdbPersistence — in transactions of 1000 (faster than 100k appends; same stored layout).
 */
async function fillOursFast(o: { location: string; terminal: string; count: number; marker: string }): Promise<{ ms: number; storedBytes: number }> {
  const doc = new Y.Doc({ gc: true });
  const persistence = await IdbPersistence.open(`rms:${o.location}`, doc);
  const writer = new SegmentWriter(doc, o.terminal);
  const events = envelopes(o.count - 1, 7, 'A', o.terminal);
  const at = Date.now();
  events.push({ id: newEventId(at), seq: 1, at, type: 'ticket.opened', v: versionOf('ticket.opened'), aggregate: { id: `ticket-${o.marker}`, type: 'ticket' }, origin: { terminal: o.terminal, n: o.count }, payload: { number: o.marker, tableId: 'table-1', covers: 2 } });
  const t0 = performance.now();
  for (let i = 0; i < events.length; i += 1000) {
    const chunk = events.slice(i, i + 1000).map((e) => JSON.stringify(e));
    doc.transact(() => writer.append(chunk), 'bench-fill');
    await persistence.committed();
  }
  const ms = performance.now() - t0;
  const storedBytes = persistence.stats().storedBytes;
  await persistence.close();
  doc.destroy();
  return { ms, storedBytes };
}

/** Opens the stored log (and reads every view if asked); closing writes a checkpoint if there was none. */
async function coldOurs(o: { location: string; terminal: string; expect: number; readViews: boolean; checkpoint: boolean }): Promise<number> {
  const t0 = performance.now();
  const store = await EventStore.open({ location: o.location, terminal: o.terminal, crossTab: false });
  // Every view readable: the settled aggregates' folds follow open.
  await store.restored;
  if (o.readViews) store.views();
  const size = store.projection.size;
  const ms = performance.now() - t0;
  const restored = !store.isIndexed;
  await store.close();
  if (size < o.expect) throw new Error(`cold ours: ${size} of ${o.expect} events`);
  if (restored !== o.checkpoint) throw new Error(`cold ours: ${restored ? 'restored a checkpoint' : 'found no usable checkpoint'}`);
  return ms;
}

async function coldYidb(o: { name: string; expectEntries: number }): Promise<number> {
  const t0 = performance.now();
  const doc = new Y.Doc();
  const p = new IndexeddbPersistence(o.name, doc);
  await p.whenSynced;
  const ms = performance.now() - t0;
  let entries = 0;
  for (const seg of doc.getMap<Y.Array<string>>('segments').values()) entries += seg.length;
  await p.destroy();
  doc.destroy();
  if (entries < o.expectEntries) throw new Error(`cold y-indexeddb: ${entries} of ${o.expectEntries}`);
  return ms;
}

async function fillPouch(o: { name: string; count: number }): Promise<number> {
  const db = new PouchDB(o.name);
  const docs = envelopes(o.count, 7).map((e) => ({ _id: e.id, ...e }));
  const t0 = performance.now();
  for (let i = 0; i < docs.length; i += 1000) await db.bulkDocs(docs.slice(i, i + 1000));
  const ms = performance.now() - t0;
  await db.close();
  return ms;
}

async function coldPouch(o: { name: string; expect: number }): Promise<number> {
  const t0 = performance.now();
  const db = new PouchDB(o.name);
  const res = await db.allDocs({ include_docs: true });
  const ms = performance.now() - t0;
  await db.close();
  if (res.rows.length < o.expect) throw new Error(`cold pouch: ${res.rows.length} of ${o.expect}`);
  return ms;
}

/** Bytes of every record (keys and values) of the IndexedDB databases whose name starts with `prefix`. */
async function countedBytes(prefix: string): Promise<number> {
  const size = (v: unknown): number =>
    v instanceof Uint8Array || v instanceof ArrayBuffer ? v.byteLength : typeof v === 'string' ? v.length : typeof v === 'number' ? 8 : v === undefined ? 0 : JSON.stringify(v).length;
  let total = 0;
  for (const info of await indexedDB.databases()) {
    if (!info.name?.startsWith(prefix)) continue;
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const r = indexedDB.open(info.name!);
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
    for (const storeName of Array.from(db.objectStoreNames)) {
      const s = db.transaction(storeName, 'readonly').objectStore(storeName);
      const [keys, values] = await Promise.all([req<IDBValidKey[]>(s.getAllKeys()), req<unknown[]>(s.getAll())]);
      for (const k of keys) total += size(k);
      for (const v of values) total += size(v);
    }
    db.close();
  }
  return total;
}

function openByName(name: string, upgrade?: (db: IDBDatabase) => void): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const r = indexedDB.open(name);
    if (upgrade) r.onupgradeneeded = () => upgrade(r.result);
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

/** Copies a y-indexeddb-layout database (stores `updates`, auto-increment, and `custom`) record by record. */
async function copyDb(o: { from: string; to: string }): Promise<void> {
  const src = await openByName(o.from);
  const dst = await openByName(o.to, (db) => {
    db.createObjectStore('updates', { autoIncrement: true });
    db.createObjectStore('custom');
  });
  for (const store of ['updates', 'custom']) {
    const s = src.transaction(store, 'readonly').objectStore(store);
    const [keys, values] = await Promise.all([req<IDBValidKey[]>(s.getAllKeys()), req<unknown[]>(s.getAll())]);
    await new Promise<void>((resolve, reject) => {
      const tx = dst.transaction(store, 'readwrite');
      const d = tx.objectStore(store);
      keys.forEach((k, i) => d.put(values[i], k));
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
    });
  }
  src.close();
  dst.close();
}

async function usage(): Promise<number> {
  return (await navigator.storage.estimate()).usage ?? NaN;
}

/** Stores `count` workload events in a fresh database of `system`; counted bytes and the usage delta. */
async function bytesRun(o: { system: Sys | 'json'; name: string; count: number }): Promise<{ counted: number; usageDelta: number; json: number }> {
  const before = await usage();
  let json = 0;
  let prefix = o.name;
  if (o.system === 'ours') {
    const store = await EventStore.open({ location: o.name, terminal: 'till-1', crossTab: false });
    const cmds = [...ticketCommands(o.count, 11)];
    for (let i = 0; i < cmds.length; i += 50) {
      const written = await Promise.all(cmds.slice(i, i + 50).map((c) => store.append(c.type, c.payload, appendOptions(c))));
      for (const e of written) json += JSON.stringify(e).length;
    }
    store.close();
    prefix = `rms:${o.name}`;
  } else if (o.system === 'raw') {
    const db = await openRaw(o.name);
    const events = envelopes(o.count, 11);
    for (let i = 0; i < events.length; i += 50) await rawPut(db, events.slice(i, i + 50));
    json = events.reduce((s, e) => s + JSON.stringify(e).length, 0);
    db.close();
  } else if (o.system === 'pouch') {
    const db = await pouchWithIndex(o.name);
    const events = envelopes(o.count, 11);
    for (let i = 0; i < events.length; i += 50) await db.bulkDocs(events.slice(i, i + 50).map((e) => ({ _id: e.id, ...e })));
    await db.query('agg/by_aggregate', { limit: 0 });
    json = events.reduce((s, e) => s + JSON.stringify(e).length, 0);
    await db.close();
    prefix = `_pouch_${o.name}`;
  }
  // Let the browser flush and account what it wrote.
  await new Promise((r) => setTimeout(r, 1500));
  return { counted: await countedBytes(prefix), usageDelta: (await usage()) - before, json };
}

// ───────────────────────── end to end (two terminals) ─────────────────────────

let e2e: { store: EventStore; sync: SyncManager; received: Map<string, number> } | null = null;

async function e2eOpen(o: { location: string; terminal: string; token: string }): Promise<string> {
  const store = await EventStore.open({ location: o.location, terminal: o.terminal, crossTab: false });
  const received = new Map<string, number>();
  store.subscribe((change) => {
    if (change.origin === 'local') return;
    const at = epoch();
    for (const e of change.events) if (!received.has(e.id)) received.set(e.id, at);
  });
  const sync = SyncManager.start({ ...appEndpoints(), store, location: o.location, token: o.token, role: 'terminal', browser: window });
  e2e = { store, sync, received };
  return store.writer;
}

function e2eStatus(): { relay: string; connection: string; owed: number | null } {
  const s = e2e!.sync.status;
  return { relay: String(s.relay), connection: String(s.connection), owed: s.owed };
}

/** Appends one workload event; t0 just before the call, durable when it resolved. */
async function e2eAppend(c: Command): Promise<{ id: string; t0: number; durable: number }> {
  const t0 = epoch();
  const e = await e2e!.store.append(c.type, c.payload, appendOptions(c));
  return { id: e.id, t0, durable: epoch() };
}

function e2eReceived(ids: string[]): (number | null)[] {
  return ids.map((id) => e2e!.received.get(id) ?? null);
}

/** Floor: one event, one strict transaction, awaited; per-put ms. */
async function idbPutSamples(o: { name: string; count: number; seed: number }): Promise<number[]> {
  const db = await openRaw(o.name);
  const out: number[] = [];
  for (const e of envelopes(o.count, o.seed, 'F')) {
    const t0 = performance.now();
    await rawPut(db, [e]);
    out.push(performance.now() - t0);
  }
  db.close();
  return out;
}

// Floor: a bare WebSocket forward (this page → Node forwarder → the other page).
let ws: WebSocket | null = null;
const wsGot = new Map<string, number>();

async function wsOpen(url: string): Promise<void> {
  ws = new WebSocket(url);
  ws.onmessage = (m) => {
    const id = (JSON.parse(String(m.data)) as { id: string }).id;
    wsGot.set(id, epoch());
  };
  await new Promise<void>((resolve, reject) => {
    ws!.onopen = () => resolve();
    ws!.onerror = () => reject(new Error('ws floor: could not connect'));
  });
}

function wsSend(e: unknown): number {
  const t0 = epoch();
  ws!.send(JSON.stringify(e));
  return t0;
}

function wsReceived(ids: string[]): (number | null)[] {
  return ids.map((id) => wsGot.get(id) ?? null);
}

async function deleteAll(): Promise<void> {
  for (const s of open.values()) s.close();
  open.clear();
  for (const d of raws.values()) d.close();
  raws.clear();
  for (const p of pouches.values()) await p.close();
  pouches.clear();
  for (const info of await indexedDB.databases()) {
    if (!info.name) continue;
    await new Promise<void>((resolve) => {
      const r = indexedDB.deleteDatabase(info.name!);
      r.onsuccess = () => resolve();
      r.onerror = () => resolve();
      r.onblocked = () => resolve();
    });
  }
}

const api = {
  epoch,
  envelopes,
  appendRun,
  readRun,
  fillOurs,
  fillOursFast,
  coldOurs,
  coldYidb,
  fillPouch,
  coldPouch,
  bytesRun,
  countedBytes,
  copyDb,
  e2eOpen,
  e2eStatus,
  e2eAppend,
  e2eReceived,
  idbPutSamples,
  wsOpen,
  wsSend,
  wsReceived,
  deleteAll,
};
export type RmsBench = typeof api;
(window as unknown as { rmsBench: RmsBench }).rmsBench = api;
document.getElementById('status')!.textContent = 'ready';
