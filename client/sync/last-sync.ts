import { deviceStorage, keepOnDevice } from '../store/device-storage';

/**
 * When this terminal last heard from the server that it is in step (SyncStatus.lastSyncAt), or
 * first received the location's room (SyncStatus.roomReceivedAt, marked with `markOnce`), kept
 * on the device so an offline reload still says when. A wall-clock time: `mark` replaces it even
 * when it lies later (the clock was set back: the highest kept read "Last sync 0s ago" meanwhile);
 * `markOnce` keeps the first.
 */
export class LastSyncTime {
  private value: number | null;
  /** The value in storage: written at most once a second (marks can change many times a second under load). */
  private written: number | null;
  private readonly storage = deviceStorage();

  constructor(private readonly key: string) {
    this.value = this.written = Number(this.storage?.getItem(key) ?? 0) || null;
  }

  /** The time stored, no later than `now` (a time in the future is no news of when). */
  at(now: number): number | null {
    return this.value === null ? null : Math.min(this.value, now);
  }

  /** In step at `now`, even if an earlier mark lies later (the clock was set back since). */
  mark(now: number): void {
    this.value = now;
    if (this.written === null || Math.abs(now - this.written) >= 1_000) this.save();
  }

  /** Marks `now` the first time only: what happened once stays when it first did. */
  markOnce(now: number): void {
    if (this.value === null) this.mark(now);
  }

  /** The wall clock was set by `stepMs` (negative: back): the time stored moves with it. */
  shift(stepMs: number): void {
    if (this.value === null) return;
    this.value += stepMs;
    this.save();
  }

  private save(): void {
    this.written = this.value;
    keepOnDevice(this.storage, this.key, String(this.value));
  }
}
