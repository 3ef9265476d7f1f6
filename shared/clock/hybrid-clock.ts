/**
 * How far ahead of server time a stamp is still plausible (a device's clock calibrated a while
 * ago, drifting): beyond it a terminal lists an event for review (EventStore `clockSuspects`)
 * and the server judges a tombstone as of its own time plus this.
 */
export const CLOCK_BOUND_MS = 5 * 60_000;

export interface HybridClockOptions {
  /** Wall clock in ms; injected so tests can skew and freeze it. */
  wallNow?: () => number;
  /** Estimated (server time - wall time), in ms. */
  offsetMs?: number;
}

/**
 * Hybrid logical clock, as one number of milliseconds.
 *
 * Invariants:
 *  - every stamp is strictly greater than the previous stamp of this clock (monotonic,
 *    even when the wall clock jumps back), unless it was capped (`capAt`: stamps issued or
 *    followed before calibration beyond the bound ahead of server time);
 *  - every stamp is strictly greater than every stamp this clock has `observe`d, so
 *    "I saw it, then changed it" wins LWW even on a terminal whose wall clock runs slow;
 *  - otherwise a stamp is the wall clock corrected by the estimated offset to the
 *    server's time, so stamps of different terminals stay comparable.
 */
export class HybridClock {
  private last = 0;
  private offsetMs: number;
  private calibratedFlag: boolean;
  private readonly wallNow: () => number;

  constructor(options: HybridClockOptions = {}) {
    this.wallNow = options.wallNow ?? (() => Date.now());
    this.offsetMs = options.offsetMs ?? 0;
    this.calibratedFlag = options.offsetMs !== undefined;
  }

  /** A new stamp for an event this replica writes. */
  now(): number {
    const physical = Math.floor(this.wallNow() + this.offsetMs);
    this.last = Math.max(physical, this.last + 1);
    return this.last;
  }

  /** Record a stamp seen on another event, so later stamps of ours come after it. */
  observe(at: number): void {
    if (at > this.last) this.last = at;
  }

  /**
   * Forgets stamps above `t` (issued or followed): the next stamp is at most t + 1, and follows
   * physical time once that passes t, rather than last + 1 in the future for as long as the skew.
   * For a clock found beyond the bound ahead of server time once calibrated (HLC4).
   */
  capAt(t: number): void {
    if (this.last > t) this.last = t;
  }

  /** The highest stamp issued or seen. */
  peek(): number {
    return this.last;
  }

  /** This device's wall clock, uncorrected (what the offset is measured against). */
  wallTime(): number {
    return this.wallNow();
  }

  /** The current physical estimate of server time (wall + offset), without stamping. */
  physicalNow(): number {
    return Math.floor(this.wallNow() + this.offsetMs);
  }

  /** Sets the estimated offset to the server's time; from then on the clock is calibrated. */
  setOffset(offsetMs: number): void {
    this.offsetMs = offsetMs;
    this.calibratedFlag = true;
  }

  /**
   * Whether physical time is known to be close to the server's. Until it is, this clock
   * cannot judge another terminal's stamp as implausible: its own wall clock may be the
   * one that is off.
   */
  get calibrated(): boolean {
    return this.calibratedFlag;
  }

  getOffset(): number {
    return this.offsetMs;
  }
}
