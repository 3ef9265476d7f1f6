import type { HistoryStatus } from './views';

/**
 * What a reducer returns for one event: the next state (a new object; the previous one is
 * never mutated, so a reducer is a pure function) and how the event fared, for history.
 */
export interface Outcome {
  status: Exclude<HistoryStatus, 'needs_update'>;
  reason: string | null;
  conflictId: string | null;
  /** Earlier events that lost a last-write-wins race to this one (history marks them). */
  supersedes?: readonly string[];
}

export interface Step<S> {
  state: S;
  outcome: Outcome;
}

export function outcome(status: Outcome['status'], reason: string | null = null, conflictId: string | null = null): Outcome {
  return { status, reason, conflictId };
}

/** Ends every switch over a union: adding a member without handling it fails to compile. */
export function assertNever(x: never, what = 'value'): never {
  throw new Error(`unhandled ${what}: ${JSON.stringify(x)}`);
}
