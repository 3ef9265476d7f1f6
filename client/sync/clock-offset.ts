/**
 * Estimates (server time − local wall clock) from request round trips, NTP style: for a
 * request answered with the server's time s when the wall clock read t1, after a round trip
 * of rtt (timed on the monotonic clock), the offset is s − (t1 − rtt / 2), with an error of at
 * most half the round trip. Of the last few samples the one with the shortest round trip is
 * the most precise, so that one is used. A sample measures the wall clock as it was: once the
 * wall clock is set (WallStepDetector), the samples are cleared.
 */
export const OFFSET_SAMPLES = 8;
/** Wall and monotonic time drifting apart by more than this between two looks: the wall clock was set. */
export const WALL_STEP_MS = 2_000;

export interface OffsetSample {
  offsetMs: number;
  rttMs: number;
}

export class ClockOffsetEstimator {
  private samples: OffsetSample[] = [];

  /** Adds a sample; returns the current best estimate. */
  add(receivedAt: number, rttMs: number, serverTime: number): number {
    const rtt = Math.max(0, rttMs);
    this.samples.push({ offsetMs: serverTime - (receivedAt - rtt / 2), rttMs: rtt });
    if (this.samples.length > OFFSET_SAMPLES) this.samples.shift();
    return this.estimate()!;
  }

  estimate(): number | null {
    let best: OffsetSample | null = null;
    for (const s of this.samples) if (!best || s.rttMs < best.rttMs) best = s;
    return best === null ? null : Math.round(best.offsetMs);
  }

  clear(): void {
    this.samples = [];
  }
}

/**
 * Notices the wall clock being set (by NTP or by staff): between two looks, wall time moved
 * by more or less than monotonic time, beyond WALL_STEP_MS. (A device asleep may also read as
 * a forward step where its monotonic clock stops then: the offset is measured again, harmless;
 * a backward step is always the clock set.)
 */
export class WallStepDetector {
  private wallAt: number;
  private monoAt: number;

  constructor(
    private readonly wall: () => number,
    private readonly mono: () => number,
  ) {
    this.wallAt = wall();
    this.monoAt = mono();
  }

  /** How far the wall clock was set since the last look (+ = forward), or 0 if it was not. */
  step(): number {
    const wall = this.wall();
    const mono = this.mono();
    const drift = wall - this.wallAt - (mono - this.monoAt);
    this.wallAt = wall;
    this.monoAt = mono;
    return Math.abs(drift) > WALL_STEP_MS ? drift : 0;
  }
}
