/**
 * Time and chance, injected into the sync core so tests can drive them (fake timers,
 * a seeded random). Core code never calls Date.now, performance.now, setTimeout or Math.random directly.
 */
export interface Timers {
  /** The wall clock (ms since the epoch): what is shown and stored. It steps when the device's clock is set. */
  now(): number;
  /**
   * A clock that never steps (performance.now), for elapsed times: round trips, "due again
   * after". Timers without one measure elapsed time on `now` (and never see a step).
   */
  monotonicNow?(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  random(): number;
}

export const realTimers: Timers = {
  now: () => Date.now(),
  monotonicNow: () => performance.now(),
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>),
  random: () => Math.random(),
};

/** Elapsed-time clock of `timers`: its monotonic clock, or its wall clock without one. */
export function monotonicClock(timers: Timers): () => number {
  return () => timers.monotonicNow?.() ?? timers.now();
}
