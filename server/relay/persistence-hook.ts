import * as Y from 'yjs';
import { MAX_CHUNKS, MERGE_BURST_FACTOR, MERGE_IDLE_MS } from '../../shared/log/stored-updates';
import type { RoomStore } from '../store/room-store';
import type { UpdateMerger } from '../store/update-merger';
import type { RelayHook } from './hooks';
import { PERSISTENCE_ORIGIN } from './origins';
import type { Room } from './room';

/** Stored rows deleted per event-loop turn once a chunk or the state row holds them. */
const DROP_SLICE = 200;

interface Progress {
  /** Stored pieces after the state row that are already merged chunks (or loaded pieces). */
  chunks: number;
  /** Single updates stored since the last chunk, kept to merge them without reading back. */
  small: Uint8Array[];
  /** Their sequence numbers: what a chunk of them replaces (not a range: see RoomStore.dropUpdates). */
  smallSeqs: number[];
  /** Pending idle merge (see MERGE_IDLE_MS). */
  idleMerge: NodeJS.Timeout | null;
  /** Updates seen but not stored yet (stored together at the room's next commit). */
  queue: Uint8Array[];
}

/**
 * Stores every room update — all updates of one commit window in one transaction (group
 * commit, at the room's commit; until it succeeds they stay queued) — and keeps what is
 * stored compact in bounded work, as client/store/idb-persistence.ts does:
 *  - once `mergeEvery` single updates are stored, they are merged into one chunk row (a
 *    merge of those updates only: cost proportional to the chunk, not to the document) when
 *    the room's writes pause for MERGE_IDLE_MS, or at once past MERGE_BURST_FACTOR ×
 *    `mergeEvery` (as terminals merge their IndexedDB log). A merge in the middle of traffic
 *    takes CPU from the relay even in a worker thread on a 2-core machine: merging every 500
 *    updates put the relay's p99 at 10 terminals × 100 updates/s at 15.6 ms, against 5.0
 *    without merges and 5.5 merging every 2,000;
 *  - only when more than MAX_CHUNKS chunks pile up are the stored pieces rebuilt into the
 *    state row (at 100k events that is ~20 MB and a second of CPU, so it must be rare:
 *    once per mergeEvery × MAX_CHUNKS updates, ~16k at the default 500);
 *  - a periodic flush and unload merge the pending single updates into a chunk.
 * Merges and rebuilds run in the merger's worker thread, one job at a time; the result is
 * stored first and the rows it holds are dropped after, a slice per turn: a chunk's own
 * rows by their sequence numbers, a rebuild's by range (see RoomStore), so a job never holds up relayed frames for long and may finish
 * after its room unloaded or reloaded. Durability does not wait for them: the updates are
 * stored at the commit, and a merge that fails leaves them stored as they were.
 * Loading applies state row + pieces in one transaction with the `persistence` origin,
 * which this hook then skips, so loading never re-stores what it read.
 */
export interface PersistenceHook extends RelayHook {
  /** Resolves once every merge queued so far is stored (or failed). */
  settled(): Promise<void>;
}

export interface PersistenceOptions {
  /** Single updates stored before they are merged into a chunk (RELAY_COMPACT_EVERY_UPDATES). */
  mergeEvery: number;
  /** Default MERGE_IDLE_MS. */
  mergeIdleMs?: number;
  /** A merge of `room`'s updates failed (they stay stored unmerged). */
  onMergeError?: (err: unknown, room: string) => void;
}

export function persistenceHook(store: RoomStore, merger: UpdateMerger, options: PersistenceOptions): PersistenceHook {
  const { mergeEvery, mergeIdleMs = MERGE_IDLE_MS, onMergeError = () => {} } = options;
  const progress = new Map<string, Progress>();
  // One job at a time: each replaces a range of rows that no earlier job still has to write.
  let jobs: Promise<void> = Promise.resolve();
  const enqueue = (room: string, job: () => Promise<void>): void => {
    jobs = jobs.then(job).catch((err: unknown) => onMergeError(err, room));
  };

  const nextTurn = (): Promise<void> => new Promise((r) => setImmediate(r));

  /** Deletes the rows a chunk now holds, a slice per event-loop turn. */
  const dropMerged = async (room: string, seqs: readonly number[]): Promise<void> => {
    for (let i = 0; i < seqs.length; i += DROP_SLICE) {
      if (i > 0) await nextTurn();
      store.dropUpdates(room, seqs.slice(i, i + DROP_SLICE));
    }
  };

  /** Deletes the rows the state row now holds, a slice per event-loop turn. */
  const dropThrough = async (room: string, toSeq: number): Promise<void> => {
    while (store.dropThrough(room, toSeq, DROP_SLICE) === DROP_SLICE) await nextTurn();
  };

  const mergeSmall = (room: Room): void => {
    const p = progress.get(room.name);
    if (p === undefined) return;
    cancelIdleMerge(p);
    if (p.small.length === 0) return;
    const { small, smallSeqs } = p;
    p.small = [];
    p.smallSeqs = [];
    if (p.chunks + 1 > MAX_CHUNKS) {
      p.chunks = 0;
      // Everything stored when the job runs (chunks of earlier jobs included), not just through
      // `to`; reading it is the one main-thread cost of a rebuild (~20 MB at 100k events).
      enqueue(room.name, async () => {
        const stored = await store.load(room.name);
        store.putState(room.name, await merger.rebuild(stored.updates));
        await dropThrough(room.name, stored.lastSeq);
      });
      return;
    }
    p.chunks += 1;
    if (small.length < 2) return;
    enqueue(room.name, async () => {
      store.appendChunk(room.name, await merger.merge(small));
      await dropMerged(room.name, smallSeqs);
    });
  };

  const cancelIdleMerge = (p: Progress): void => {
    if (p.idleMerge !== null) clearTimeout(p.idleMerge);
    p.idleMerge = null;
  };

  /** Group commit: everything the room applied since its last commit, in one SQLite transaction. */
  const commit = (room: Room): void => {
    const p = progress.get(room.name);
    if (p === undefined || p.queue.length === 0) return;
    const seqs = store.appendUpdates(room.name, p.queue);
    // Stored now: from here a failure to merge only costs space, so it must not throw.
    for (let i = 0; i < seqs.length; i++) {
      p.small.push(p.queue[i]!);
      p.smallSeqs.push(seqs[i]!);
    }
    p.queue = [];
    if (p.small.length >= mergeEvery * MERGE_BURST_FACTOR) return mergeSmall(room);
    if (p.small.length < mergeEvery) return;
    cancelIdleMerge(p);
    p.idleMerge = setTimeout(() => mergeSmall(room), mergeIdleMs);
    p.idleMerge.unref();
  };

  return {
    name: 'persistence',
    settled: () => jobs,
    async onLoad(room) {
      const snapshot = await store.load(room.name);
      if (snapshot.updates.length > 0) {
        // One transaction, no Y.mergeUpdates first: merging re-encodes the whole state once more.
        room.doc.transact(() => {
          for (const update of snapshot.updates) Y.applyUpdate(room.doc, update);
        }, PERSISTENCE_ORIGIN);
      }
      progress.set(room.name, {
        chunks: Math.max(0, snapshot.updates.length - 1),
        small: [],
        smallSeqs: [],
        idleMerge: null,
        queue: [],
      });
    },
    onUpdate(room, update, origin) {
      if (origin?.kind === 'persistence') return;
      // Updates during onLoad come from persistence only; after it, progress exists.
      progress.get(room.name)?.queue.push(update);
    },
    onCommit: commit,
    onFlush(room) {
      commit(room);
      mergeSmall(room);
    },
    onUnload(room) {
      const p = progress.get(room.name);
      if (p !== undefined) cancelIdleMerge(p);
      progress.delete(room.name);
    },
  };
}
