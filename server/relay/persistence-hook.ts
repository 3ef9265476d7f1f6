import * as Y from 'yjs';
import type { RoomStore } from '../store/room-store';
import type { RelayHook } from './hooks';
import { PERSISTENCE_ORIGIN } from './origins';
import type { Room } from './room';

/** Merged chunks beyond this many are folded, with the state row, into one new state. */
export const MAX_CHUNKS = 32;

/** Inputs per Y.mergeUpdates call in mergeBounded. */
const MERGE_FAN_IN = 16;

/**
 * Y.mergeUpdates of many updates, merged at most MERGE_FAN_IN at a time, level by level.
 * Y.mergeUpdates re-sorts all its inputs for every struct it writes, so its cost grows with
 * the square of the number of updates: 500 single updates of 100 terminals took ~15 ms, and
 * the ~20,000 a backlogged room applies in one turn took 12.7 s on the event loop. Bounded
 * fan-in keeps it O(n log n), and the merge holds the same document.
 */
export function mergeBounded(updates: readonly Uint8Array[]): Uint8Array {
  let level = updates;
  while (level.length > MERGE_FAN_IN) {
    const next: Uint8Array[] = [];
    for (let i = 0; i < level.length; i += MERGE_FAN_IN) next.push(Y.mergeUpdates(level.slice(i, i + MERGE_FAN_IN)));
    level = next;
  }
  return Y.mergeUpdates(level as Uint8Array[]);
}

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
 *  - every `mergeEvery` single updates are merged into one chunk row (mergeBounded of
 *    those updates only: cost proportional to the chunk, not to the document);
 *  - only when more than MAX_CHUNKS chunks pile up is the whole state re-encoded into the
 *    state row (at 100k events that is ~20 MB and a second of CPU, so it must be rare:
 *    once per mergeEvery × MAX_CHUNKS updates, ~16k at the default 500);
 *  - a periodic flush and unload merge the pending single updates into a chunk.
 * Loading applies state row + pieces in one transaction with the `persistence` origin,
 * which this hook then skips, so loading never re-stores what it read.
 */
export function persistenceHook(store: RoomStore, mergeEvery: number): RelayHook {
  const progress = new Map<string, Progress>();

  const compactFully = (room: Room, p: Progress): void => {
    store.compact(room.name, Y.encodeStateAsUpdate(room.doc), p.lastSeq);
    p.chunks = 0;
    p.small = [];
  };

  const mergeSmall = (room: Room): void => {
    const p = progress.get(room.name);
    if (p === undefined || p.small.length === 0) return;
    if (p.chunks + 1 > MAX_CHUNKS) return compactFully(room, p);
    if (p.small.length > 1) store.mergeRange(room.name, p.smallFrom, p.lastSeq, mergeBounded(p.small));
    p.chunks += 1;
    p.small = [];
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
