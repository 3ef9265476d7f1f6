import type { Timers } from './timers';

/**
 * Exponential backoff with full jitter (the delay is uniform in [0, min(cap, base·2^attempt)]),
 * so many terminals failing together spread their retries instead of stampeding the
 * server when it comes back. Reset on success.
 */
export const UPLOAD_BACKOFF = { baseMs: 1_000, capMs: 60_000 } as const;
export const RELAY_BACKOFF = { baseMs: 500, capMs: 30_000 } as const;
/** Events the server rejected as newer than it knows: it must be updated first, which takes minutes at least. */
export const SERVER_UPDATE_BACKOFF = { baseMs: 60_000, capMs: 15 * 60_000 } as const;

export interface BackoffPolicy {
  baseMs: number;
  capMs: number;
}

export class Backoff {
  private failures = 0;

  constructor(
    private readonly policy: BackoffPolicy,
    private readonly random: Timers['random'],
  ) {}

  /** Failures since the last success. */
  get attempt(): number {
    return this.failures;
  }

  /** The ceiling of the next delay: base·2^attempt, clamped to the cap. */
  ceilingMs(): number {
    return Math.min(this.policy.capMs, this.policy.baseMs * 2 ** Math.min(this.failures, 30));
  }

  /** Records a failure and returns how long to wait before the next attempt. */
  fail(): number {
    const delay = Math.floor(this.random() * this.ceilingMs());
    this.failures++;
    return delay;
  }

  reset(): void {
    this.failures = 0;
  }
}
