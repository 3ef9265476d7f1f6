import type { RetentionPolicy } from '../../shared/compaction/retention-policy';
import type { Timers } from '../sync/timers';
import type { CompactionReport, EventStore } from './event-store';

/**
 * When compaction runs on a terminal: when the app has been idle for a while, when the
 * stored bytes pass a threshold, and when staff ask for it from the console. (A quota
 * error on write compacts by itself: see EventStore.durable.) Every run judges "acknowledged"
 * as the store's acknowledgement source says (EventStore.useAcknowledgements), as a full disk's does.
 * None runs before the clock is calibrated (CMP9): retention reads server time, and a device
 * rebooted offline with its wall clock days ahead would let go of today's tickets.
 */
export interface CompactionSchedule {
  /** No local or remote change for this long counts as idle. */
  idleMs: number;
  /** How often to check for idleness and size. */
  checkEveryMs: number;
  /** Compact when IndexedDB holds more than this. */
  maxStoredBytes: number;
  policy?: RetentionPolicy;
}

export const DEFAULT_COMPACTION_SCHEDULE: CompactionSchedule = {
  idleMs: 2 * 60_000,
  checkEveryMs: 5 * 60_000,
  maxStoredBytes: 64 * 1024 * 1024,
};

export type CompactionTrigger = 'idle' | 'threshold' | 'manual';

export interface StorageStatus {
  storedBytes: number | null;
  eventsHeld: number;
  aggregatesHeld: number;
  lastCompaction: (CompactionReport & { trigger: CompactionTrigger }) | null;
  /** The last run failed (cleared by one that succeeds): a scheduled run has no caller to tell. */
  lastFailure: { at: number; trigger: CompactionTrigger; message: string } | null;
  running: boolean;
  /** No run until the server's time is known (CMP9): this device's clock may be off since it started. */
  waitingForServerTime: boolean;
}

/** A manual run's refusal before calibration (the console says so from waitingForServerTime). */
export class WaitingForServerTimeError extends Error {
  constructor() {
    super("this device has not had the server's time since it started (its clock may be off): it compacts once it has");
    this.name = 'WaitingForServerTimeError';
  }
}

export class CompactionScheduler {
  private lastActivity: number;
  private timer: unknown = null;
  private running: Promise<CompactionReport> | null = null;
  private last: StorageStatus['lastCompaction'] = null;
  private lastFailure: StorageStatus['lastFailure'] = null;
  /** Activity since the last compaction that freed something: an idle terminal does not redo it. */
  private activeSinceCompaction = true;
  private readonly listeners = new Set<(s: StorageStatus) => void>();
  private readonly unsubscribe: () => void;

  constructor(
    private readonly store: EventStore,
    private readonly timers: Timers,
    private readonly schedule: CompactionSchedule = DEFAULT_COMPACTION_SCHEDULE,
  ) {
    this.lastActivity = timers.now();
    this.unsubscribe = store.subscribe(() => {
      this.lastActivity = this.timers.now();
      this.activeSinceCompaction = true;
      this.publish();
    });
    this.arm();
  }

  status(): StorageStatus {
    return {
      storedBytes: this.store.storedBytes(),
      eventsHeld: this.store.projection.size,
      aggregatesHeld: this.store.projection.aggregateCount,
      lastCompaction: this.last,
      lastFailure: this.lastFailure,
      running: this.running !== null,
      waitingForServerTime: !this.store.clock.calibrated,
    };
  }

  subscribe(fn: (s: StorageStatus) => void): () => void {
    this.listeners.add(fn);
    fn(this.status());
    return () => this.listeners.delete(fn);
  }

  compactNow(): Promise<CompactionReport> {
    // check() waits for the clock; not a failure (the next run need not rewrite the log).
    if (!this.store.clock.calibrated) return Promise.reject(new WaitingForServerTimeError());
    return this.run('manual');
  }

  stop(): void {
    this.unsubscribe();
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    this.timer = null;
    this.listeners.clear();
  }

  /** One check: compacts when idle or over the size threshold. */
  async check(): Promise<void> {
    if (!this.store.clock.calibrated) return; // the next check after the server's answer runs
    const bytes = this.store.storedBytes();
    if (bytes !== null && bytes > this.schedule.maxStoredBytes) await this.run('threshold');
    else if (this.activeSinceCompaction && this.timers.now() - this.lastActivity >= this.schedule.idleMs) await this.run('idle');
  }

  private arm(): void {
    this.timer = this.timers.setTimeout(() => {
      this.arm();
      // A failure is in the status (lastFailure), shown on the console; the next check retries.
      this.check().catch(() => undefined);
    }, this.schedule.checkEveryMs);
  }

  private run(trigger: CompactionTrigger): Promise<CompactionReport> {
    this.running ??= (async () => {
      try {
        const report = await this.store.compact({
          // Events are stamped in server-corrected time: a device clock 45 minutes fast must
          // not let a day's tickets go before the Takings screen warns the day may be incomplete.
          now: this.timers.now() + this.store.clock.getOffset(),
          ...(this.schedule.policy ? { policy: this.schedule.policy } : {}),
          // A failed run removed the aggregates from the doc but may not have shrunk the log.
          ...(this.lastFailure ? { rewriteLog: true } : {}),
        });
        this.last = { ...report, trigger };
        this.lastFailure = null;
        // Nothing was old enough yet: retention windows pass with time, so look again later.
        if (report.aggregates > 0) this.activeSinceCompaction = false;
        return report;
      } catch (err) {
        this.lastFailure = { at: this.timers.now(), trigger, message: err instanceof Error ? err.message : String(err) };
        throw err;
      } finally {
        this.running = null;
        this.publish();
      }
    })();
    this.publish();
    return this.running;
  }

  private publish(): void {
    if (this.listeners.size === 0) return;
    const status = this.status();
    for (const fn of this.listeners) fn(status);
  }
}
