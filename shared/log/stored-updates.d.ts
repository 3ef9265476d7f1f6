/** Inputs per Y.mergeUpdates call. */
export declare const MERGE_FAN_IN: number;
/** Merged chunks beyond this many are folded, with any state, into one new state. */
export declare const MAX_CHUNKS: number;
/** Single updates are merged once writes to the log have paused this long… */
export declare const MERGE_IDLE_MS: number;
/** …or at once when this many times the chunk size piled up. */
export declare const MERGE_BURST_FACTOR: number;
/** One update equivalent to `updates`, merged at most MERGE_FAN_IN at a time (O(n log n)). */
export declare function mergeUpdatesBounded(updates: readonly Uint8Array[]): Uint8Array;
/** The state of a document built from `pieces`, re-encoded: drops the content of deleted items. */
export declare function rebuildState(pieces: readonly Uint8Array[]): Uint8Array;
