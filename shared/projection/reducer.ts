import type { HistoryStatus } from './views';

/**
 * What a reducer returns for one event: how it fared, for history. Reducers update the
 * state they are given in place; that state is owned by one AggregateFold and never
 * escapes it (views are copies), so folds stay deterministic without a copy per event.
 */
export interface Outcome {
  status: Exclude<HistoryStatus, 'needs_update'>;
  reason: string | null;
  conflictId: string | null;
  /** Earlier events that lost a last-write-wins race to this one (history marks them). */
  supersedes?: readonly string[];
}

// One shared, frozen outcome per status for the common reason-less case: most events are
// plain 'applied', and allocating an object for each showed up in GC time of large folds.
const BARE: { readonly [K in Outcome['status']]: Outcome } = {
  applied: Object.freeze({ status: 'applied', reason: null, conflictId: null }),
  superseded: Object.freeze({ status: 'superseded', reason: null, conflictId: null }),
  duplicate: Object.freeze({ status: 'duplicate', reason: null, conflictId: null }),
  escalated: Object.freeze({ status: 'escalated', reason: null, conflictId: null }),
  ignored: Object.freeze({ status: 'ignored', reason: null, conflictId: null }),
  invalid: Object.freeze({ status: 'invalid', reason: null, conflictId: null }),
};

/** An outcome. May return a shared frozen object: callers copy (spread) it, never mutate it. */
export function outcome(status: Outcome['status'], reason: string | null = null, conflictId: string | null = null): Outcome {
  if (reason === null && conflictId === null) return BARE[status];
  return { status, reason, conflictId };
}
