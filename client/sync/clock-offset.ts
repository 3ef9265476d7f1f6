/**
 * Estimates (server time − local wall clock) from request round trips, NTP style: for a
 * request sent at t0 and answered at t1 with the server's time s, the offset is
 * s − (t0 + t1) / 2, with an error of at most half the round trip. Of the last few samples
 * the one with the shortest round trip is the most precise, so that one is used.
 */
export const OFFSET_SAMPLES = 8;

export interface OffsetSample {
  offsetMs: number;
  rttMs: number;
}

export class ClockOffsetEstimator {
  private samples: OffsetSample[] = [];

  /** Adds a sample; returns the current best estimate. */
  add(sentAt: number, receivedAt: number, serverTime: number): number {
    const rttMs = Math.max(0, receivedAt - sentAt);
    this.samples.push({ offsetMs: serverTime - (sentAt + receivedAt) / 2, rttMs });
    if (this.samples.length > OFFSET_SAMPLES) this.samples.shift();
    return this.estimate()!;
  }

  estimate(): number | null {
    let best: OffsetSample | null = null;
    for (const s of this.samples) if (!best || s.rttMs < best.rttMs) best = s;
    return best === null ? null : Math.round(best.offsetMs);
  }
}
