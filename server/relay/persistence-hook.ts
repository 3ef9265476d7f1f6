import * as Y from 'yjs';
import type { RoomStore } from '../store/room-store';
import type { UpdateMerger } from '../store/update-merger';
import type { RelayHook } from './hooks';
import { PERSISTENCE_ORIGIN } from './origins';
import type { Room } from './room';

/** Merged chunks beyond this many are folded, with the state row, into one new state. */
export const MAX_CHUNKS = 32;

interface Progress {
  /** Sequence number of the newest update stored for the room. */
  lastSeq: number;
  /** Stored pieces after the state row that are already merged chunks (or loaded pieces). */
  chunks: number;
  /** Single updates stored since the last chunk, kept to merge them without reading back. */
  small: Uint8Array[];
  /** Sequence number of small[0]. */
  smallFrom: number;
  /** Updates seen but not stored yet (stored together at the room's next commit). */
  queue: Uint8Array[];
}

/**
 * Stores every room update — all updates of one event-loop turn in one transaction (group
 * commit, at the room's commit; until it succeeds they stay queued) — and keeps what is
 * stored compact in bounded work, as client/store/idb-persistence.ts does:
 *  - every `mergeEvery` single updates are merged into one chunk row (a merge of those
 *    updates only: cost proportional to the chunk, not to the document);
 *  - only when more than MAX_CHUNKS chunks pile up are the stored pieces rebuilt into the
 *    state row (at 100k events that is ~20 MB and a second of CPU, so it must be rare:
 *    once per mergeEvery × MAX_CHUNKS updates, ~16k at the default 500);
 *  - a periodic flush and unload merge the pending single updates into a chunk.
 * Merges and rebuilds run in the merger's worker thread, one job at a time, and replace
 * stored rows by sequence range, so they never hold up a relayed frame and a job may finish
 * after its room unloaded or reloaded. Durability does not wait for them: the updates are
 * stored at the commit, and a merge that fails leaves them stored as they were.
 * Loading applies state row + pieces in one transaction with the `persistence` origin,
 * which this hook then skips, so loading never re-stores what it read.
 */
export interface PersistenceHook extends RelayHook {
  /** Resolves once every merge queued so far is stored (or failed). */
  settled(): Promise<void>;
}

export function persistenceHook(
  store: RoomStore,
  merger: UpdateMerger,
  mergeEvery: number,
  onMergeError: (err: unknown) => void = () => {},
): PersistenceHook {
  const progress = new Map<string, Progress>();
  // One job at a time: each replaces a range of rows that no earlier job still has to write.
  let jobs: Promise<void> = Promise.resolve();
  const enqueue = (job: () => Promise<void>): void => {
    jobs = jobs.then(job).catch(onMergeError);
  };

  const mergeSmall = (room: Room): void => {
    const p = progress.get(room.name);
    if (p === undefined || p.small.length === 0) return;
    const { small, smallFrom: from, lastSeq: to } = p;
    p.small = [];
    if (p.chunks + 1 > MAX_CHUNKS) {
      p.chunks = 0;
      enqueue(async () => store.compact(room.name, await merger.rebuild(store.piecesThrough(room.name, to)), to));
      return;
    }
    p.chunks += 1;
    if (small.length > 1) enqueue(async () => store.mergeRange(room.name, from, to, await merger.merge(small)));
  };

  /** Group commit: everything the room applied this turn, in one SQLite transaction. */
  const commit = (room: Room): void => {
    const p = progress.get(room.name);
    if (p === undefined || p.queue.length === 0) return;
    const seqs = store.appendUpdates(room.name, p.queue);
    // Stored now: from here a failure to merge only costs space, so it must not throw.
    for (let i = 0; i < seqs.length; i++) {
      if (p.small.length === 0) p.smallFrom = seqs[i]!;
      p.small.push(p.queue[i]!);
      p.lastSeq = seqs[i]!;
    }
    p.queue = [];
    if (p.small.length >= mergeEvery) mergeSmall(room);
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
        lastSeq: snapshot.lastSeq,
        chunks: Math.max(0, snapshot.updates.length - 1),
        small: [],
        smallFrom: 0,
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
      progress.delete(room.name);
    },
  };
}
