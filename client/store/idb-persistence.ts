import * as Y from 'yjs';
import { PERSISTENCE } from './origins';
import type { CheckpointChanges, CheckpointRecord } from '../../shared/projection/location-projection';
import { fnv1a32 } from '../../shared/fnv1a';
import { MAX_CHUNKS, MERGE_BURST_FACTOR, MERGE_IDLE_MS, mergeUpdatesBounded } from '../../shared/log/stored-updates';

/** Small update records merged into one chunk, when writes pause (see IdbPersistence). */
export const MERGE_EVERY = 500;
/** More small records than this (a burst) are replaced by one state rather than merged. */
const MAX_MERGE = MERGE_BURST_FACTOR * MERGE_EVERY;

const UPDATES = 'updates';
const CUSTOM = 'custom';
/**
 * Our own store (y-indexeddb ignores it): the projection checkpoint, its records grouped
 * in CHECKPOINT_BUCKETS buckets by aggregate id, and settled aggregates (closed tickets,
 * nearly all of them after a while) in CHECKPOINT_BUCKETS more, keys from
 * CHECKPOINT_BUCKETS up. One IndexedDB record per aggregate made reading 7k of them cost
 * several times the whole log; a write rewrites only the buckets whose aggregates changed;
 * few buckets compress better (small sets barely compress). Open decompresses only the
 * unsettled buckets: the settled ones (~90 % of a 100k-event checkpoint, ~0.4 s to
 * decompress in Chromium) come later, through `StoredCheckpoint.settled`.
 */
const PROJECTION = 'projection';
const CHECKPOINT_BUCKETS = 16;
/** Key in `custom`: highest `updates` key that holds a merged chunk. */
const CHUNK_BOUNDARY = 'rms:chunk-boundary';
/** Key in `custom`: the CheckpointMeta of the records in `projection`. */
const CHECKPOINT_META = 'rms:checkpoint-meta';
/** Version 2 added the `projection` store. */
const DB_VERSION = 2;

/** What a projection checkpoint describes: the doc exactly as its state vector says. */
export interface CheckpointMeta {
  /**
   * foldFingerprint() of the build that wrote it: a checkpoint of another (or with none,
   * from builds that stored a `version` instead) is ignored, by this build and older ones.
   */
  fingerprint: string;
  /** Y.encodeStateVector of the doc the records were taken from. */
  stateVector: Uint8Array;
  /** The hybrid clock when taken: a restored store's clock never goes behind it. */
  clock: number;
}

export interface StoredCheckpoint {
  meta: CheckpointMeta;
  /** The unsettled aggregates' records. */
  records: CheckpointRecord[];
  /** Decompresses the settled aggregates' records (once; null if they cannot be read); null if there are none. */
  settled: (() => Promise<CheckpointRecord[] | null>) | null;
}

export interface PersistenceStats {
  /** The log and the projection checkpoint. */
  storedBytes: number;
  checkpointBytes: number;
  records: number;
  chunks: number;
}

/**
 * Durable storage of a location's Y.Doc in IndexedDB, in y-indexeddb's layout
 * (database = doc name; object stores `updates` (auto-increment) and `custom`), so
 * y-indexeddb can read what we write. What we do differently, and why:
 *  - every update is committed in a transaction we await (`committed()`), so an
 *    `append` can resolve only once its event is on disk (durability `strict`);
 *  - updates written within one task share one IndexedDB transaction;
 *  - nothing is written on open (y-indexeddb stores a state on every open and grows);
 *  - small updates are merged in bounded chunks of MERGE_EVERY, when writes pause, instead
 *    of re-encoding the whole document every 500 writes (quadratic bytes written at 100k events);
 *  - other tabs of the device write into the same database: a record this tab neither read
 *    nor wrote is applied to its doc before a merge or a rewrite replaces it (the tabs'
 *    BroadcastChannel may not have delivered it yet), never cleared unread.
 */
export class IdbPersistence {
  private queue: Uint8Array[] = [];
  /** Every write, in order (batches, merges, rewrites): later work chains after it. */
  private flushing: Promise<void> = Promise.resolve();
  /** The batch not yet started, if any. */
  private scheduled: Promise<void> | null = null;
  /** The latest batch: what a caller waits for (merges after it do not delay appends). */
  private lastBatch: Promise<void> = Promise.resolve();
  private smallRecords = 0;
  private chunkRecords = 0;
  private bytes = 0;
  private storedCheckpoint: StoredCheckpoint | null = null;
  /** Stored bytes of each checkpoint bucket, and their sum. */
  private readonly checkpointSizes = new Map<number, number>();
  /** Whether each stored checkpoint record sits in a settled bucket, as far as read or written. */
  private readonly storedSettled = new Map<string, boolean>();
  private checkpointBytes = 0;
  /** After close(): queued writes finish, but nothing reads the doc (it may be destroyed). */
  private closed = false;
  private mergeTimer: ReturnType<typeof setTimeout> | null = null;
  /**
   * Told when the log can no longer be written (the error: a failed log write, the
   * connection closed under us) and when a log write succeeds again after one failed (null).
   * Nothing else hears of a failed write of events no caller awaits (the relay's, STO19).
   */
  onHealth: ((problem: unknown) => void) | null = null;
  private failing = false;
  /** Every `updates` record up to this key was applied to the doc (read at open, or our rewrite). */
  private readUpTo = 0;
  /** Keys of the records this tab added above `readUpTo`: what it did not add is another tab's. */
  private readonly ownKeys = new Set<number>();
  /**
   * Another tab's updates (TAB) are stored too: they reach this tab as soon as they enter that
   * tab's doc, possibly before its own IndexedDB batch (queued behind a checkpoint or a merge)
   * commits; killed then, the events would live only in this tab's memory. Yjs applies a
   * record stored twice once.
   */
  private readonly onUpdate = (update: Uint8Array, origin: unknown): void => {
    if (origin === PERSISTENCE) return;
    this.queue.push(update);
    this.schedule();
  };

  private constructor(
    readonly name: string,
    private readonly db: IDBDatabase,
    private readonly doc: Y.Doc,
  ) {}

  /** Opens the database, applies everything stored, then records every later update. */
  static async open(name: string, doc: Y.Doc): Promise<IdbPersistence> {
    const db = await openDatabase(name);
    const p = new IdbPersistence(name, db, doc);
    // Closed under us, nothing is saved any more: say so now, not at the next write (STO19).
    // A newer build in another tab needs to upgrade: let it, and report this tab unsaved.
    db.onversionchange = () => {
      db.close();
      p.failed(new Error(`IndexedDB ${name} was closed for a newer version of the app in another tab: reload this tab`));
    };
    db.onclose = () => p.failed(new Error(`IndexedDB ${name} was closed by the browser (site data cleared, or a disk error)`));
    await p.load();
    doc.on('update', p.onUpdate);
    return p;
  }

  /** The projection checkpoint read at open, handed out once (it is large). */
  takeCheckpoint(): StoredCheckpoint | null {
    const checkpoint = this.storedCheckpoint;
    this.storedCheckpoint = null;
    return checkpoint;
  }

  /**
   * Writes the changed checkpoint records and the new meta in one transaction, after the
   * log writes queued so far: records and meta are only ever seen together.
   */
  writeCheckpoint(changes: CheckpointChanges, meta: CheckpointMeta): Promise<void> {
    const work = this.flushing.catch(() => undefined).then(async () => {
      const changed = this.byBucket(changes);
      const keys = [...changed.keys()];
      // Read-modify-write in two transactions (compression is async); writes are serialised on `flushing`.
      const read = this.db.transaction(PROJECTION, 'readonly').objectStore(PROJECTION);
      const stored = await Promise.all(keys.map((b) => request<Uint8Array | undefined>(read.get(b))));
      const encoded = await Promise.all(
        keys.map(async (bucket, i) => {
          const before = stored[i];
          const records = new Map((before ? await this.decodeBucket(bucket, before) : []).map((r) => [r.id, r]));
          const change = changed.get(bucket)!;
          for (const id of change.deleted) records.delete(id);
          for (const r of change.put) records.set(r.id, r);
          return records.size === 0 ? null : encodeBucket([...records.values()]);
        }),
      );
      await this.write([PROJECTION, CUSTOM], (tx) => {
        const buckets = tx.objectStore(PROJECTION);
        keys.forEach((bucket, i) => {
          const value = encoded[i];
          if (value) buckets.put(value, bucket);
          else buckets.delete(bucket);
        });
        tx.objectStore(CUSTOM).put(meta, CHECKPOINT_META);
      });
      keys.forEach((bucket, i) => this.countCheckpointBucket(bucket, encoded[i]?.byteLength ?? 0));
      for (const id of changes.deleted) this.storedSettled.delete(id);
      for (const r of changes.put) this.storedSettled.set(r.id, r.settled === true);
    });
    this.flushing = work.catch(() => undefined);
    return work;
  }

  /** Resolves once every update seen so far is committed; rejects if a write failed. */
  committed(): Promise<void> {
    return this.scheduled ?? this.lastBatch;
  }

  stats(): PersistenceStats {
    return { storedBytes: this.bytes + this.checkpointBytes, checkpointBytes: this.checkpointBytes, records: this.smallRecords + this.chunkRecords, chunks: this.chunkRecords };
  }

  /**
   * Replaces the whole update log by one state update of the doc as it is now
   * (compaction: deleted content is gone from the encoding, so the bytes shrink).
   */
  async rewrite(): Promise<void> {
    // After the writes already queued (a failed one is superseded: the state includes it).
    this.flushing = this.flushing.catch(() => undefined).then(() => this.replaceWithState());
    return this.flushing;
  }

  private async replaceWithState(): Promise<void> {
    if (this.closed) throw new Error(`${this.name} is closed`);
    // The state includes every queued update, so the queue is done with — once it is
    // committed. A failed state keeps them queued for the next write (STO18): dropped, the
    // later updates of this doc, stored, could not be applied at load (Yjs keeps an update
    // whose predecessors are missing pending), so appends that resolved were gone after a reload.
    const pending = this.queue;
    this.queue = [];
    let state: Uint8Array;
    let key: number;
    let tx: IDBTransaction | null = null;
    try {
      tx = this.db.transaction([UPDATES, CUSTOM], 'readwrite', { durability: 'strict' });
      const updates = tx.objectStore(UPDATES);
      // In the same transaction: no other tab writes between reading its records and the clear.
      await this.absorbForeign(updates, await request<IDBValidKey[]>(updates.getAllKeys(IDBKeyRange.lowerBound(this.readUpTo, true))));
      state = Y.encodeStateAsUpdate(this.doc);
      updates.clear();
      key = await request<number>(updates.add(state) as IDBRequest<number>);
      tx.objectStore(CUSTOM).put(key, CHUNK_BOUNDARY);
      await done(tx);
    } catch (err) {
      this.queue = pending.concat(this.queue);
      // An aborted transaction fails its pending requests with AbortError: its own error is the
      // telling one (QuotaExceededError on a full disk, which the store recovers from).
      const cause: unknown = tx?.error ?? err;
      this.failed(cause);
      throw cause;
    }
    this.succeeded();
    this.readUpTo = key;
    this.ownKeys.clear();
    this.smallRecords = 0;
    this.chunkRecords = 1;
    this.bytes = state.byteLength;
    // Everything written so far is in this state, including a batch that had failed.
    if (this.scheduled === null) this.lastBatch = Promise.resolve();
  }

  /**
   * Applies the records among `keys` another tab wrote (neither read nor added by this one)
   * to the doc, as stored updates, before they are merged or cleared.
   */
  private async absorbForeign(updates: IDBObjectStore, keys: readonly IDBValidKey[], values?: readonly Uint8Array[]): Promise<void> {
    const foreign = keys.flatMap((key, i) => ((key as number) > this.readUpTo && !this.ownKeys.has(key as number) ? [i] : []));
    if (foreign.length === 0) return;
    const stored = values ? foreign.map((i) => values[i]!) : await Promise.all(foreign.map((i) => request<Uint8Array>(updates.get(keys[i]!))));
    Y.transact(this.doc, () => {
      for (const u of stored) Y.applyUpdate(this.doc, u);
    }, PERSISTENCE);
  }

  /**
   * Stops recording; the database closes once the writes already queued are done. A failed
   * batch still queued then (STO19: refused before the close, or by the write the close found
   * scheduled) is tried once more: with no later write to carry it, it was gone with the tab
   * although the disk works again. Refused again, the close still ends (an awaited append saw
   * the refusal; the store said its log is only in memory).
   */
  close(): Promise<void> {
    this.closed = true;
    if (this.mergeTimer !== null) clearTimeout(this.mergeTimer);
    this.doc.off('update', this.onUpdate);
    return this.flushing
      .catch(() => undefined)
      .then(() => (this.queue.length > 0 ? this.flush().catch(() => undefined) : undefined))
      .then(() => this.db.close());
  }

  /**
   * The bucket changes a checkpoint write makes: each record into the bucket of its class,
   * and out of the other class's bucket when it may sit there (it changed class, or it
   * was never read: the settled buckets may not be decompressed yet).
   */
  private byBucket(changes: CheckpointChanges): Map<number, CheckpointChanges> {
    const out = new Map<number, CheckpointChanges>();
    const of = (bucket: number): CheckpointChanges => {
      let change = out.get(bucket);
      if (!change) out.set(bucket, (change = { put: [], deleted: [] }));
      return change;
    };
    for (const id of changes.deleted) {
      const stored = this.storedSettled.get(id);
      for (const settled of [false, true]) if (stored === undefined || stored === settled) of(bucketOf(id, settled)).deleted.push(id);
    }
    for (const r of changes.put) {
      const settled = r.settled === true;
      of(bucketOf(r.id, settled)).put.push(r);
      if (this.storedSettled.get(r.id) !== settled) of(bucketOf(r.id, !settled)).deleted.push(r.id);
    }
    return out;
  }

  /** Decompresses one bucket, noting which class each of its records is stored in. */
  private async decodeBucket(bucket: number, bytes: Uint8Array): Promise<CheckpointRecord[]> {
    const records = await decodeBucket(bytes);
    for (const r of records) this.storedSettled.set(r.id, isSettledBucket(bucket));
    return records;
  }

  private countCheckpointBucket(bucket: number, bytes: number): void {
    this.checkpointBytes += bytes - (this.checkpointSizes.get(bucket) ?? 0);
    this.checkpointSizes.set(bucket, bytes);
  }

  private async load(): Promise<void> {
    const tx = this.db.transaction([UPDATES, CUSTOM, PROJECTION], 'readonly');
    const updates = tx.objectStore(UPDATES);
    const [keys, values, boundary, meta, bucketKeys, buckets] = await Promise.all([
      request<IDBValidKey[]>(updates.getAllKeys()),
      request<Uint8Array[]>(updates.getAll()),
      request<number | undefined>(tx.objectStore(CUSTOM).get(CHUNK_BOUNDARY)),
      request<CheckpointMeta | undefined>(tx.objectStore(CUSTOM).get(CHECKPOINT_META)),
      request<number[]>(tx.objectStore(PROJECTION).getAllKeys()),
      request<Uint8Array[]>(tx.objectStore(PROJECTION).getAll()),
    ]);
    bucketKeys.forEach((bucket, i) => this.countCheckpointBucket(bucket, buckets[i]!.byteLength));
    // Buckets of another layout (another bucket count) cannot be trusted to hold each aggregate once.
    const usable = meta !== undefined && bucketKeys.every((b) => b < 2 * CHECKPOINT_BUCKETS);
    const decodeAll = (settled: boolean): Promise<CheckpointRecord[] | null> =>
      Promise.all(bucketKeys.flatMap((b, i) => (isSettledBucket(b) === settled ? [this.decodeBucket(b, buckets[i]!)] : []))).then(
        (parts) => parts.flat(),
        () => null,
      );
    // Decompressing runs while the updates are applied.
    const records = usable ? decodeAll(false) : null;
    Y.transact(this.doc, () => {
      for (const u of values) Y.applyUpdate(this.doc, u);
    }, PERSISTENCE);
    this.bytes = values.reduce((sum, u) => sum + u.byteLength, 0);
    this.readUpTo = keys.length === 0 ? 0 : (keys[keys.length - 1] as number);
    this.chunkRecords = boundary === undefined ? 0 : keys.filter((k) => (k as number) <= boundary).length;
    this.smallRecords = values.length - this.chunkRecords;
    // An unreadable checkpoint is ignored: the log is read instead, and the next one replaces it.
    const restored = await records;
    let settled: Promise<CheckpointRecord[] | null> | null = null;
    const anySettled = bucketKeys.some(isSettledBucket);
    if (meta !== undefined && restored !== null) {
      this.storedCheckpoint = { meta, records: restored, settled: anySettled ? () => (settled ??= decodeAll(true)) : null };
    }
  }

  private schedule(): void {
    if (this.scheduled) return;
    // One transaction for everything written in this task; chained so commits stay ordered.
    const batch = this.flushing
      .catch(() => undefined)
      .then(() => new Promise<void>((r) => queueMicrotask(r)))
      .then(() => this.flush());
    this.scheduled = this.lastBatch = batch;
    this.flushing = batch.then(() => this.scheduleMerge()).catch(() => undefined);
  }

  /**
   * Merging only saves space and load time, so it waits until writes pause for
   * MERGE_IDLE_MS rather than compete with a burst of appends; a burst that piles up more
   * than MAX_MERGE small records is folded at once. A failed merge is retried later.
   */
  private scheduleMerge(): Promise<void> | undefined {
    if (this.mergeTimer !== null) clearTimeout(this.mergeTimer);
    this.mergeTimer = null;
    if (this.closed || this.smallRecords < MERGE_EVERY) return undefined;
    if (this.smallRecords > MAX_MERGE) return this.compactLog();
    this.mergeTimer = setTimeout(() => {
      this.mergeTimer = null;
      if (this.closed || this.scheduled !== null) return;
      this.flushing = this.flushing.then(() => (this.closed ? undefined : this.compactLog())).catch(() => undefined);
    }, MERGE_IDLE_MS);
    return undefined;
  }

  private async flush(): Promise<void> {
    this.scheduled = null;
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    try {
      await this.write([UPDATES], (tx) => {
        const updates = tx.objectStore(UPDATES);
        for (const u of batch) {
          const req = updates.add(u) as IDBRequest<number>;
          req.onsuccess = () => this.ownKeys.add(req.result);
        }
      });
    } catch (err) {
      // Keep the batch: the next write (or a rewrite) retries it. Callers awaiting this flush see the error.
      this.queue = batch.concat(this.queue);
      this.failed(err);
      throw err instanceof Error ? err : new Error(String(err));
    }
    this.succeeded();
    this.smallRecords += batch.length;
    this.bytes += batch.reduce((sum, u) => sum + u.byteLength, 0);
  }

  private failed(err: unknown): void {
    if (this.closed) return;
    this.failing = true;
    this.onHealth?.(err);
  }

  /** A log write committed; if one had failed, everything it held was written with it. */
  private succeeded(): void {
    // Closed: the retry at the close stored it, but the store closed on what it said last.
    if (this.closed || !this.failing || this.queue.length > 0) return;
    this.failing = false;
    this.onHealth?.(null);
  }

  /**
   * Merging costs O(n log n) in the updates merged, re-encoding the doc linear in the doc:
   * a big burst (or too many chunks) is replaced by one state instead.
   */
  private compactLog(): Promise<void> {
    if (this.chunkRecords + 1 > MAX_CHUNKS || this.smallRecords > MAX_MERGE) return this.replaceWithState();
    return this.mergeSmallRecords();
  }

  /** Folds the small records after the chunk boundary into one chunk, atomically. */
  private async mergeSmallRecords(): Promise<void> {
    const boundary = await this.boundary();
    const range = boundary === undefined ? undefined : IDBKeyRange.lowerBound(boundary, true);
    const tx = this.db.transaction([UPDATES, CUSTOM], 'readwrite', { durability: 'strict' });
    const store = tx.objectStore(UPDATES);
    const [keys, values] = await Promise.all([
      request<IDBValidKey[]>(store.getAllKeys(range)),
      request<Uint8Array[]>(store.getAll(range)),
    ]);
    if (values.length === 0) return;
    // The chunk will be ours: what other tabs wrote into it must be in our doc.
    await this.absorbForeign(store, keys, values);
    const merged = mergeUpdatesBounded(values);
    store.delete(IDBKeyRange.bound(keys[0]!, keys[keys.length - 1]!));
    const newKey = await request<number>(store.add(merged) as IDBRequest<number>);
    tx.objectStore(CUSTOM).put(newKey, CHUNK_BOUNDARY);
    await done(tx);
    for (const key of keys) this.ownKeys.delete(key as number);
    this.ownKeys.add(newKey);
    this.bytes += merged.byteLength - values.reduce((s, u) => s + u.byteLength, 0);
    this.smallRecords = Math.max(0, this.smallRecords - values.length); // other tabs' records are not counted
    this.chunkRecords += 1;
  }

  private async boundary(): Promise<number | undefined> {
    const tx = this.db.transaction(CUSTOM, 'readonly');
    return request<number | undefined>(tx.objectStore(CUSTOM).get(CHUNK_BOUNDARY));
  }

  private async write(stores: string[], work: (tx: IDBTransaction) => void): Promise<void> {
    const tx = this.db.transaction(stores, 'readwrite', { durability: 'strict' });
    work(tx);
    await done(tx);
  }
}

/** The checkpoint bucket an aggregate's record is stored in (settled ones apart). */
export function bucketOf(aggregateId: string, settled: boolean): number {
  return (fnv1a32(aggregateId) % CHECKPOINT_BUCKETS) + (settled ? CHECKPOINT_BUCKETS : 0);
}

function isSettledBucket(bucket: number): boolean {
  return bucket >= CHECKPOINT_BUCKETS;
}

/** A bucket is stored as deflated JSON: it compresses ~8× and IndexedDB reads cost per byte. */
async function encodeBucket(records: CheckpointRecord[]): Promise<Uint8Array> {
  const stream = new Blob([JSON.stringify(records)]).stream().pipeThrough(new CompressionStream('deflate-raw'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

async function decodeBucket(bytes: Uint8Array): Promise<CheckpointRecord[]> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream('deflate-raw'));
  return JSON.parse(await new Response(stream).text()) as CheckpointRecord[];
}

/** Opens (creating or upgrading) the database: y-indexeddb's stores plus our `projection`. */
function openDatabase(name: string): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(name, DB_VERSION);
    req.onupgradeneeded = () => {
      const db = req.result;
      if (!db.objectStoreNames.contains(UPDATES)) db.createObjectStore(UPDATES, { autoIncrement: true });
      if (!db.objectStoreNames.contains(CUSTOM)) db.createObjectStore(CUSTOM);
      if (!db.objectStoreNames.contains(PROJECTION)) db.createObjectStore(PROJECTION);
    };
    // IdbPersistence.open handles `versionchange` (a newer build's upgrade in another tab).
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error(`IndexedDB ${name} could not be opened`));
    req.onblocked = () => reject(new Error(`IndexedDB ${name} is blocked by another connection at an older version`));
  });
}

function request<T>(req: IDBRequest): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result as T);
    req.onerror = () => reject(req.error ?? new Error('IndexedDB request failed'));
  });
}

function done(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
    tx.onerror = () => reject(tx.error ?? new Error('IndexedDB transaction failed'));
  });
}
