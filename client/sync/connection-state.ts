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
 *                         offline ── browser online ──► (the next outcome decides)
 *
 * A success while failures are recent (within RECENT_MS) stays `intermittent`, until they
 * are no longer recent. The relay connecting counts as a success (`reachable`), so a
 * terminal with nothing to upload still learns that it is back. The relay failing to connect
 * is no outcome by itself (websockets may be blocked while REST works): the sync manager then
 * asks the server over REST, and that answer or failure counts, so a terminal with nothing to
 * upload learns that the server is gone.
 * `intermittent` is judged again whenever read: its count of recent failures never freezes,
 * and once none is recent without a success since, it reads `offline` since the last failure.
 * The relay in step (`linked`) is the server answering all along: a REST request failing
 * meanwhile reads `intermittent` while recent, then `online` (the failures forgotten), never
 * `offline` (a till the relay delivered for read "Offline" for minutes after one hiccup).
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
  /** What the server last told us: a success, a failure, or nothing since the browser's hint. */
  private lastOutcome: 'success' | 'failure' | 'none' = 'none';
  private lastFailureAt: number | null = null;

  constructor(
    private readonly now: () => number,
    browserOnline = true,
    /** The relay is connected and in step with the server. */
    private readonly linked: () => boolean = () => false,
  ) {
    this.state = browserOnline ? { name: 'online', latencyMs: null } : { name: 'offline', since: now() };
  }

  get current(): ConnectionState {
    if (this.linked()) {
      // Failures still recent keep counting: a half-open relay socket (the server gone, noticed
      // only at y-websocket's 30 s timeout) is no answer, and once it closes the state is offline.
      const recent = this.recentFailures();
      return recent === 0 ? this.reachable() : { name: 'intermittent', recentFailures: recent };
    }
    // Failures stop being recent with time alone: re-judge when read.
    if (this.state.name === 'intermittent') this.state = this.intermittentNow(this.state.recentFailures);
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
    this.latencyEwma = this.latencyEwma === null ? latencyMs : this.latencyEwma + EWMA_WEIGHT * (latencyMs - this.latencyEwma);
    return this.reachable();
  }

  /**
   * The server answered (an upload, or the relay connected and synced): failures stop being
   * consecutive. Without an upload to time, the latency estimate stays as it was.
   */
  reachable(): ConnectionState {
    this.consecutiveFailures = 0;
    this.lastOutcome = 'success';
    this.state = this.judged();
    return this.state;
  }

  failed(): ConnectionState {
    this.consecutiveFailures++;
    this.lastOutcome = 'failure';
    this.lastFailureAt = this.now();
    this.failureTimes.push(this.lastFailureAt);
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

  /**
   * The browser thinks it is back: allow attempts again; the next outcome decides the state.
   * Until then it stays offline, or intermittent if failures are recent (never "intermittent,
   * 0 failures", which says nothing).
   */
  browserOnline(): ConnectionState {
    this.consecutiveFailures = 0;
    this.lastOutcome = 'none';
    const recent = this.recentFailures();
    if (this.state.name === 'offline' && recent > 0) this.state = { name: 'intermittent', recentFailures: recent };
    return this.state;
  }

  /** An intermittent state as of now: its recent failures counted again (the same object if unchanged). */
  private intermittentNow(shown: number): ConnectionState {
    if (this.lastOutcome === 'success') return this.judged();
    const recent = this.recentFailures();
    if (recent === 0) return { name: 'offline', since: this.lastFailureAt ?? this.now() };
    return recent === shown ? this.state : { name: 'intermittent', recentFailures: recent };
  }

  /** The state the outcomes so far support, once the last one was a success. */
  private judged(): ConnectionState {
    const recent = this.recentFailures();
    if (recent > 0) return { name: 'intermittent', recentFailures: recent };
    const latencyMs = this.latencyEwma === null ? null : Math.round(this.latencyEwma);
    if (latencyMs !== null && latencyMs > SLOW_LATENCY_MS) return { name: 'slow', latencyMs };
    return { name: 'online', latencyMs };
  }

  private recentFailures(): number {
    const since = this.now() - RECENT_MS;
    this.failureTimes = this.failureTimes.filter((t) => t >= since);
    return this.failureTimes.length;
  }
}
