import type { EventEnvelope } from '../../shared/events/envelope';

/**
 * IndexedDB failed to save a change (its connection closed under the tab by a newer build in
 * another tab, site data cleared, a disk error). The change is written all the same (`event`,
 * when an append says so): held in memory and synced, not saved here. A command goes on with
 * what must follow it (a close's sale) and reports this at its end.
 */
export class NotSavedError extends Error {
  override readonly name: string = 'NotSavedError';
  constructor(
    protected readonly detail: string,
    readonly event: EventEnvelope | null = null,
    text = `This device could not save the change; it is kept in memory and synced (${detail})`,
  ) {
    super(text);
  }

  /** The same failure, naming the event an append wrote. */
  of(event: EventEnvelope): NotSavedError {
    return new NotSavedError(this.detail, event);
  }
}

/** The device ran out of storage and compaction could not free enough (a NotSavedError). */
export class StorageFullError extends NotSavedError {
  override readonly name = 'StorageFullError';
  constructor(detail: string, event: EventEnvelope | null = null) {
    super(detail, event, `This device's storage is full; the change is kept in memory and synced, but not saved here (${detail})`);
  }

  override of(event: EventEnvelope): StorageFullError {
    return new StorageFullError(this.detail, event);
  }
}

export function isQuotaError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { name?: unknown }).name === 'QuotaExceededError';
}
