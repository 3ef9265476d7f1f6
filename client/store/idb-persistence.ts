import * as Y from 'yjs';
import * as idb from 'lib0/indexeddb';
import { PERSISTENCE, TAB } from './origins';

/**
 * Durable storage of a location's Y.Doc in IndexedDB, in y-indexeddb's layout
 * (database = doc name; object stores `updates` (auto-increment) and `custom`), so
 * y-indexeddb can read what we write. What we do differently, and why:
 *  - every update is committed in a transaction we await (`committed()`), so an
 *    `append` can resolve only once its event is on disk (durability `strict`);
 *  - updates written within one task share one IndexedDB transaction;
 *  - nothing is written on open (y-indexeddb stores a state on every open and grows);
 *  - small updates are merged in bounded chunks of MERGE_EVERY instead of re-encoding
 *    the whole document every 500 writes (quadratic bytes written at 100k events).
 */
export const MERGE_EVERY = 500;
/** Chunks beyond this many are folded into one full state (rare: every ~16k writes). */
export const MAX_CHUNKS = 32;
/** More small records than this (a burst) are replaced by one state rather than merged. */
export const MAX_MERGE = 4 * MERGE_EVERY;

const UPDATES = 'updates';
const CUSTOM = 'custom';
/** Key in `custom`: highest `updates` key that holds a merged chunk. */
const CHUNK_BOUNDARY = 'rms:chunk-boundary';

export interface PersistenceStats {
  storedBytes: number;
  records: number;
  chunks: number;
}

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
  private readonly onUpdate = (update: Uint8Array, origin: unknown): void => {
    if (origin === PERSISTENCE || origin === TAB) return;
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
    const db = await idb.openDB(name, (db) =>
      idb.createStores(db, [[UPDATES, { autoIncrement: true }], [CUSTOM]]),
    );
    const p = new IdbPersistence(name, db, doc);
    await p.load();
    doc.on('update', p.onUpdate);
    return p;
  }

  /** Resolves once every update seen so far is committed; rejects if a write failed. */
  committed(): Promise<void> {
    return this.scheduled ?? this.lastBatch;
  }

  stats(): PersistenceStats {
    return { storedBytes: this.bytes, records: this.smallRecords + this.chunkRecords, chunks: this.chunkRecords };
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
    // The state includes every queued update, so the queue is done with.
    this.queue = [];
    const state = Y.encodeStateAsUpdate(this.doc);
    await this.write([UPDATES, CUSTOM], (tx) => {
      const updates = tx.objectStore(UPDATES);
      updates.clear();
      const req = updates.add(state);
      req.onsuccess = () => tx.objectStore(CUSTOM).put(req.result, CHUNK_BOUNDARY);
    });
    this.smallRecords = 0;
    this.chunkRecords = 1;
    this.bytes = state.byteLength;
    // Everything written so far is in this state, including a batch that had failed.
    if (this.scheduled === null) this.lastBatch = Promise.resolve();
  }

  close(): void {
    this.doc.off('update', this.onUpdate);
    this.db.close();
  }

  private async load(): Promise<void> {
    const tx = this.db.transaction([UPDATES, CUSTOM], 'readonly');
    const updates = tx.objectStore(UPDATES);
    const [keys, values, boundary] = await Promise.all([
      request<IDBValidKey[]>(updates.getAllKeys()),
      request<Uint8Array[]>(updates.getAll()),
      request<number | undefined>(tx.objectStore(CUSTOM).get(CHUNK_BOUNDARY)),
    ]);
    Y.transact(this.doc, () => {
      for (const u of values) Y.applyUpdate(this.doc, u);
    }, PERSISTENCE);
    this.bytes = values.reduce((sum, u) => sum + u.byteLength, 0);
    this.chunkRecords = boundary === undefined ? 0 : keys.filter((k) => (k as number) <= boundary).length;
    this.smallRecords = values.length - this.chunkRecords;
  }

  private schedule(): void {
    if (this.scheduled) return;
    // One transaction for everything written in this task; chained so commits stay ordered.
    const batch = this.flushing
      .catch(() => undefined)
      .then(() => new Promise<void>((r) => queueMicrotask(r)))
      .then(() => this.flush());
    this.scheduled = this.lastBatch = batch;
    // Merging only saves space and load time; it runs after the batch, off the path of the
    // appends waiting for it. A failed merge is retried after the next batch.
    this.flushing = batch
      .then(() => (this.smallRecords >= MERGE_EVERY ? this.compactLog() : undefined))
      .catch(() => undefined);
  }

  private async flush(): Promise<void> {
    this.scheduled = null;
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    try {
      await this.write([UPDATES], (tx) => {
        const updates = tx.objectStore(UPDATES);
        for (const u of batch) updates.add(u);
      });
    } catch (err) {
      // Keep the batch: the next write (or a rewrite) retries it. Callers awaiting this flush see the error.
      this.queue = batch.concat(this.queue);
      throw err instanceof Error ? err : new Error(String(err));
    }
    this.smallRecords += batch.length;
    this.bytes += batch.reduce((sum, u) => sum + u.byteLength, 0);
  }

  /**
   * Y.mergeUpdates is quadratic in the number of updates merged, so a big burst (or too
   * many chunks) is replaced by one state instead, which costs linear in the doc.
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
    const merged = Y.mergeUpdates(values);
    store.delete(IDBKeyRange.bound(keys[0]!, keys[keys.length - 1]!));
    const newKey = await request<IDBValidKey>(store.add(merged));
    tx.objectStore(CUSTOM).put(newKey, CHUNK_BOUNDARY);
    await done(tx);
    this.bytes += merged.byteLength - values.reduce((s, u) => s + u.byteLength, 0);
    this.smallRecords -= values.length;
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
