import type { Timers } from '../../client/sync/timers';

/**
 * Virtual time for the sync core: timers fire only when the test advances the clock,
 * and `random` is seeded, so a backoff schedule is exact and repeatable.
 */
export class ManualTimers implements Timers {
  private time = 1_764_000_000_000;
  private nextId = 1;
  private readonly pending = new Map<number, { at: number; fn: () => void }>();
  private seed: number;

  constructor(seed = 42) {
    this.seed = seed;
  }

  now = (): number => this.time;

  setTimeout = (fn: () => void, ms: number): unknown => {
    const id = this.nextId++;
    this.pending.set(id, { at: this.time + Math.max(0, ms), fn });
    return id;
  };

  clearTimeout = (handle: unknown): void => {
    this.pending.delete(handle as number);
  };

  /** mulberry32 */
  random = (): number => {
    this.seed = (this.seed + 0x6d2b79f5) >>> 0;
    let t = this.seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };

  /** The earliest pending timer's due time, if any. */
  nextDue(): number | null {
    let best: number | null = null;
    for (const t of this.pending.values()) if (best === null || t.at < best) best = t.at;
    return best;
  }

  /** Moves time forward by `ms`, firing due timers in order. */
  advance(ms: number): void {
    const until = this.time + ms;
    for (let guard = 0; guard < 10_000; guard++) {
      let nextId: number | null = null;
      let next: { at: number; fn: () => void } | null = null;
      for (const [id, t] of this.pending) if (t.at <= until && (!next || t.at < next.at)) [nextId, next] = [id, t];
      if (!next || nextId === null) break;
      this.pending.delete(nextId);
      this.time = next.at;
      next.fn();
    }
    this.time = until;
  }
}

/**
 * A tablet's clocks: the real wall clock set `wallOffsetMs` away (as staff or NTP set it),
 * the real monotonic clock, and timers that fire only when the test says (`fire`).
 */
export class TabletClock implements Timers {
  wallOffsetMs = 0;
  private readonly manual = new ManualTimers(17);
  now = (): number => Date.now() + this.wallOffsetMs;
  monotonicNow = (): number => performance.now();
  setTimeout = (fn: () => void, ms: number): unknown => this.manual.setTimeout(fn, ms);
  clearTimeout = (handle: unknown): void => this.manual.clearTimeout(handle);
  random = (): number => this.manual.random();
  fire(ms: number): void {
    this.manual.advance(ms);
  }
}
