/** Inputs per Y.mergeUpdates call. */
export declare const MERGE_FAN_IN: number;
/** One update equivalent to `updates`, merged at most MERGE_FAN_IN at a time (O(n log n)). */
export declare function mergeUpdatesBounded(updates: readonly Uint8Array[]): Uint8Array;
/** The state of a document built from `pieces`, re-encoded: drops the content of deleted items. */
export declare function rebuildState(pieces: readonly Uint8Array[]): Uint8Array;
