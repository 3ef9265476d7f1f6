// Plain JavaScript (types in stored-updates.d.ts): the relay runs these in a worker thread
// (server/store/update-merger.ts), which imports this file natively, with no TypeScript loader
// to start (a tsx loader in the worker cost ~500 ms of CPU at its first merge).
import * as Y from 'yjs';

/**
 * Keeping a stored update log small, for terminals (client/store/idb-persistence.ts) and the
 * relay alike.
 */

/** Inputs per Y.mergeUpdates call. */
export const MERGE_FAN_IN = 16;

// When a log is merged: one policy for terminals and the relay.
/** Merged chunks beyond this many are folded, with any state, into one new state. */
export const MAX_CHUNKS = 32;
/** Single updates are merged once writes to the log have paused this long… */
export const MERGE_IDLE_MS = 1_000;
/** …or at once when this many times the chunk size piled up (a burst, or a log that never pauses). */
export const MERGE_BURST_FACTOR = 4;

/**
 * One update equivalent to `updates`. Y.mergeUpdates re-sorts all its inputs for every
 * struct it writes, so its cost grows with the square of the number of inputs (500 single
 * updates of 100 terminals took ~15 ms, 20,000 took 12.7 s); merging MERGE_FAN_IN at a
 * time, level by level, keeps it O(n log n) for the same document.
 */
export function mergeUpdatesBounded(updates) {
  let level = updates;
  while (level.length > MERGE_FAN_IN) {
    const next = [];
    for (let i = 0; i < level.length; i += MERGE_FAN_IN) next.push(Y.mergeUpdates(level.slice(i, i + MERGE_FAN_IN)));
    level = next;
  }
  return Y.mergeUpdates(level);
}

/**
 * The state of a document built from `pieces`, re-encoded. Unlike a merge it drops the
 * content of deleted items, so it is what frees space after compaction.
 */
export function rebuildState(pieces) {
  const doc = new Y.Doc();
  doc.transact(() => {
    for (const p of pieces) Y.applyUpdate(doc, p);
  });
  const state = Y.encodeStateAsUpdate(doc);
  doc.destroy();
  return state;
}
