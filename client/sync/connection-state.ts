import type { ConnectionState } from './sync-status';

/**
 * The network state staff see, judged from real outcomes. Browser online/offline events
 * are hints: `offline` pauses work at once, `online` only makes us try again; whether we
 * are online is decided by the next request.
 *
 *            success (fast)              success (slow)
 *   ┌────────────────────► online ◄──────────────────► slow
 *   │                        │ failure                  │ failure
 *   │                        ▼                          ▼
 *   │  success        intermittent ◄────────────────────┘
 *   └─────────────────────── │ OFFLINE_AFTER consecutive failures, or browser offline
 *                            ▼
 *                         offline ── browser online / success ──► (next outcome decides)
 *
 * A success while failures are recent (within RECENT_MS) stays `intermittent`.
 */
export const SLOW_LATENCY_MS = 1_500;
export const OFFLINE_AFTER = 4;
export const RECENT_MS = 60_000;
/** Weight of the newest latency sample in the moving average. */
const EWMA_WEIGHT = 0.3;

export class ConnectionMonitor {
  private state: ConnectionState;
  private consecutiveFailures = 0;
  private failureTimes: number[] = [];
  private latencyEwma: number | null = null;

  constructor(
    private readonly now: () => number,
    browserOnline = true,
  ) {
    this.state = browserOnline ? { name: 'online', latencyMs: null } : { name: 'offline', since: now() };
  }

  get current(): ConnectionState {
    return this.state;
  }

  /** Smoothed round-trip latency of recent successes, ms. */
  get latencyMs(): number | null {
    return this.latencyEwma;
  }

  get isSlow(): boolean {
    return this.state.name === 'slow';
  }

  succeeded(latencyMs: number): ConnectionState {
    this.consecutiveFailures = 0;
    this.latencyEwma = this.latencyEwma === null ? latencyMs : this.latencyEwma + EWMA_WEIGHT * (latencyMs - this.latencyEwma);
    const recent = this.recentFailures();
    if (recent > 0) this.state = { name: 'intermittent', recentFailures: recent };
    else if (this.latencyEwma > SLOW_LATENCY_MS) this.state = { name: 'slow', latencyMs: Math.round(this.latencyEwma) };
    else this.state = { name: 'online', latencyMs: Math.round(this.latencyEwma) };
    return this.state;
  }

  failed(): ConnectionState {
    this.consecutiveFailures++;
    this.failureTimes.push(this.now());
    if (this.consecutiveFailures >= OFFLINE_AFTER) {
      if (this.state.name !== 'offline') this.state = { name: 'offline', since: this.now() };
    } else {
      this.state = { name: 'intermittent', recentFailures: this.recentFailures() };
    }
    return this.state;
  }

  browserOffline(): ConnectionState {
    if (this.state.name !== 'offline') this.state = { name: 'offline', since: this.now() };
    return this.state;
  }

  /** The browser thinks it is back: allow attempts again; the next outcome decides the state. */
  browserOnline(): ConnectionState {
    this.consecutiveFailures = 0;
    if (this.state.name === 'offline') this.state = { name: 'intermittent', recentFailures: this.recentFailures() };
    return this.state;
  }

  private recentFailures(): number {
    const since = this.now() - RECENT_MS;
    this.failureTimes = this.failureTimes.filter((t) => t >= since);
    return this.failureTimes.length;
  }
}
