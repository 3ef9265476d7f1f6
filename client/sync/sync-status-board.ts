import type { ConnectionState, SyncMetrics, SyncStatus } from './sync-status';
import type { Timers } from './timers';

/** The console's charts take a sample this often, paused or not (offline is when the outbox grows). */
export const SAMPLE_EVERY_MS = 5_000;
const MAX_SAMPLES = 120;

export interface StatusBoardOptions {
  timers: Timers;
  /** The status as of now, with these metrics (the SyncManager builds it; see SyncManager.computeStatus). */
  status: (metrics: SyncMetrics) => SyncStatus;
  /** The connection state as of now (a sample republishes it: failures stop being recent with time alone). */
  connection: () => ConnectionState;
  /** Offline (the browser says so): the charts show a gap for latency. */
  paused: () => boolean;
}

/**
 * What the sync tells the staff app and the console: the SyncStatus, published to
 * subscribers, and the metrics and chart samples in it. The SyncManager decides when to send
 * and what an answer means; it tells the board what happened (an upload sent, stored, a
 * failure and its cause, an answer's latency) and asks it to publish, and builds the rest of
 * the status itself (`status`).
 *
 * Invariants:
 *  - changes publish once per task, however many come (1,000 appends: one status);
 *  - a sample is taken every SAMPLE_EVERY_MS from startSampling() until stop(), paused or
 *    not; the last MAX_SAMPLES are kept;
 *  - subscribers get copies of the metrics, never the counts the board goes on changing;
 *  - after stop() nothing is sampled and no subscriber is called.
 */
export class SyncStatusBoard {
  private readonly listeners = new Set<(s: SyncStatus) => void>();
  private current: SyncStatus;
  private publishQueued = false;
  private readonly metrics: SyncMetrics = {
    attempts: 0,
    successes: 0,
    failuresByCause: {},
    eventsSent: 0,
    bytesSent: 0,
    lastSuccessAt: null,
    lastLatencyMs: null,
    samples: [],
  };
  /** The latency the charts show: the last answer's, none (a gap) since a failure. */
  private chartedLatencyMs: number | null = null;
  private sampleTimer: unknown = null;

  constructor(private readonly options: StatusBoardOptions) {
    this.current = options.status(this.metricsSnapshot());
  }

  /** The status as last published. */
  get status(): SyncStatus {
    return this.current;
  }

  /** Uploads stored so far. */
  get successes(): number {
    return this.metrics.successes;
  }

  /** Calls `fn` at once and on every change. */
  subscribe(fn: (s: SyncStatus) => void): () => void {
    this.listeners.add(fn);
    fn(this.current);
    return () => this.listeners.delete(fn);
  }

  /** Something in the status changed: it is built again and published, once for a burst of changes (one per task). */
  publish(): void {
    if (this.publishQueued) return;
    this.publishQueued = true;
    queueMicrotask(() => {
      this.publishQueued = false;
      this.current = this.options.status(this.metricsSnapshot());
      for (const fn of this.listeners) fn(this.current);
    });
  }

  /** An upload was sent. */
  attempted(): void {
    this.metrics.attempts++;
  }

  /** An upload was stored: its events and bytes, when its answer came and how long it took. */
  stored(upload: { events: number; bytes: number; receivedAt: number; latencyMs: number }): void {
    this.metrics.successes++;
    this.metrics.eventsSent += upload.events;
    this.metrics.bytesSent += upload.bytes;
    this.metrics.lastSuccessAt = upload.receivedAt;
    this.metrics.lastLatencyMs = upload.latencyMs;
  }

  /** The server answered a probe after `latencyMs`. */
  probed(latencyMs: number): void {
    this.metrics.lastLatencyMs = latencyMs;
  }

  /** A failure, counted by `cause`: a request unanswered (its FailureCause), a batch refused (too_large, refused), the token refused (unauthorized), an event newer than the server knows (server_needs_update). */
  failed(cause: string): void {
    this.metrics.failuresByCause[cause] = (this.metrics.failuresByCause[cause] ?? 0) + 1;
  }

  /** The latency the charts show from now: an answer's, or none (null, a gap) after a failure. */
  charted(latencyMs: number | null): void {
    this.chartedLatencyMs = latencyMs;
  }

  /** An answer that was not timed (the relay synced): the charts show the last latency again after a gap. */
  answeredUntimed(): void {
    this.chartedLatencyMs ??= this.metrics.lastLatencyMs;
  }

  /** The wall clock was set back by `step` (< 0): the last success moves with it (it would lie in the future). */
  shift(step: number): void {
    if (this.metrics.lastSuccessAt !== null) this.metrics.lastSuccessAt += step;
  }

  /** Samples every SAMPLE_EVERY_MS until stop(), paused or not. */
  startSampling(): void {
    this.sampleTimer = this.options.timers.setTimeout(() => {
      // Re-armed first: a listener that throws (a full localStorage) must not stop the charts.
      this.startSampling();
      this.sample();
    }, SAMPLE_EVERY_MS);
  }

  /** No more samples, and no subscriber is called again. */
  stop(): void {
    if (this.sampleTimer !== null) this.options.timers.clearTimeout(this.sampleTimer);
    this.sampleTimer = null;
    this.listeners.clear();
  }

  /**
   * One point of the console's charts: the owed count as last published, and the last answer's
   * latency (a gap since a failure, and while paused). Republishes the status with it and the
   * connection state as of now (failures stop being recent with time alone), recomputing nothing else.
   */
  private sample(): void {
    const { owed } = this.current;
    const latencyMs = this.options.paused() ? null : this.chartedLatencyMs;
    if (owed !== null) this.metrics.samples.push({ at: this.options.timers.now(), outbox: owed, latencyMs });
    if (this.metrics.samples.length > MAX_SAMPLES) this.metrics.samples.shift();
    this.current = { ...this.current, connection: this.options.connection(), metrics: this.metricsSnapshot() };
    for (const fn of this.listeners) fn(this.current);
  }

  private metricsSnapshot(): SyncMetrics {
    return { ...this.metrics, failuresByCause: { ...this.metrics.failuresByCause }, samples: [...this.metrics.samples] };
  }
}
