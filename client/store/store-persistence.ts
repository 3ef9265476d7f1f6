import type * as Y from 'yjs';
import type { HybridClock } from '../../shared/clock/hybrid-clock';
import type { LocationProjection } from '../../shared/projection/location-projection';
import { IdbPersistence, type StoredCheckpoint } from './idb-persistence';
import { CheckpointWriter } from './checkpoint-writer';
import { StorageFullError, isQuotaError } from './storage-errors';

export type PersistenceState =
  | { mode: 'indexeddb'; persisted: boolean | null }
  | { mode: 'memory'; reason: string };

/**
 * Where EventStore keeps its doc, and what it says of that (`state`, which the status bar
 * shows): IndexedDB (IdbPersistence) with the projection checkpoint (CheckpointWriter), or
 * memory when there is none, it fails to open, or it stops saving.
 *
 * Invariants: `state` says `memory` as soon as a log write fails with nobody awaiting it or
 * the database is closed under us (STO19), and `indexeddb` again once a write succeeds — not
 * while a full disk is recovered from. A full disk is recovered from by one `recover` at a
 * time (compaction, rewriting the log smaller); if that fails, `memory` and StorageFullError.
 * The checkpoint is rewritten a moment after every change of the doc; the store flushes it
 * before close(), whose database closes once the writes queued so far are done.
 */
export class StorePersistence {
  state: PersistenceState = { mode: 'memory', reason: 'not opened yet' };
  private layer: IdbPersistence | null = null;
  private checkpoints: CheckpointWriter | null = null;
  /** Whether the browser granted persistent storage (as `state` reports it in IndexedDB mode). */
  private persisted: boolean | null = null;
  private recovery: Promise<void> | null = null;

  constructor(
    /** Frees space on a full disk: compaction, which rewrites the log as one smaller state. */
    private readonly recover: () => Promise<unknown>,
    /** `state` changed by itself (a write failed or succeeded again): tell the store's listeners. */
    private readonly onChange: () => void,
  ) {}

  /**
   * Opens the database `name` and loads `doc` from it, or stays in memory saying why.
   * `ready`: see CheckpointWriter (false while a checkpoint would not describe the doc).
   */
  async open(name: string, doc: Y.Doc, projection: LocationProjection, clock: HybridClock, ready: () => boolean): Promise<void> {
    if (typeof indexedDB === 'undefined') {
      this.state = { mode: 'memory', reason: 'IndexedDB is not available in this browser' };
      return;
    }
    try {
      this.layer = await IdbPersistence.open(name, doc);
      this.checkpoints = new CheckpointWriter(this.layer, doc, projection, clock, ready);
    } catch (err) {
      this.state = { mode: 'memory', reason: `IndexedDB could not be opened: ${describe(err)}` };
      return;
    }
    // Any change of the doc (events, and the server's acks, which move its state vector too)
    // makes the checkpoint stale: rewrite it (only its meta, when no view changed). Not an
    // 'update' listener: Yjs encodes every transaction for those (13 % of an append in memory).
    const checkpoints = this.checkpoints;
    doc.on('afterTransaction', (tr: Y.Transaction) => {
      if (tr.changed.size > 0 || tr.deleteSet.clients.size > 0) checkpoints.schedule();
    });
    this.layer.onHealth = (problem) => this.onHealth(problem);
    this.state = { mode: 'indexeddb', persisted: null };
    this.persisted = await requestPersistentStorage();
    // Unless a failure was reported meanwhile.
    if (this.state.mode === 'indexeddb') this.state = { mode: 'indexeddb', persisted: this.persisted };
  }

  /** The projection checkpoint read at open, handed out once (null in memory). */
  takeCheckpoint(): StoredCheckpoint | null {
    return this.layer?.takeCheckpoint() ?? null;
  }

  /** The projection changed without the doc changing (events read or refolded): rewrite the checkpoint in a moment. */
  scheduleCheckpoint(): void {
    this.checkpoints?.schedule();
  }

  /** Writes the checkpoint now if anything is pending; a failure costs only speed (see CheckpointWriter). */
  flushCheckpoint(): Promise<void> {
    return this.checkpoints?.flush().catch(() => undefined) ?? Promise.resolve();
  }

  /** Replaces the stored log by one state of the doc (compaction: the bytes shrink). */
  rewriteLog(): Promise<void> {
    return this.layer?.rewrite() ?? Promise.resolve();
  }

  /** Resolves once `written` (the appends so far in the doc) and every update are committed (at once in memory). */
  async durable(written: Promise<void>): Promise<void> {
    if (!this.layer) return;
    try {
      await written;
      await this.layer.committed();
    } catch (err) {
      if (!isQuotaError(err)) throw err;
      await this.recoverFromFullStorage(err);
    }
  }

  /** IndexedDB bytes of the log and the checkpoint (null in memory). */
  storedBytes(): number | null {
    return this.layer?.stats().storedBytes ?? null;
  }

  /** Stops recording the doc; resolves once the writes already queued are on disk and the database is closed. */
  close(): Promise<void> {
    return this.layer?.close() ?? Promise.resolve();
  }

  /**
   * IndexedDB said the device is full: compact (which rewrites the log smaller), then retry
   * the writes that failed. If that is not enough, fail loudly: the events stay in memory
   * and keep syncing, but this device cannot promise to keep them.
   */
  private recoverFromFullStorage(cause: unknown): Promise<void> {
    this.recovery ??= (async () => {
      try {
        // The rewrite stores the whole (now smaller) state in place of the log, failed writes included.
        await this.recover();
        this.state = { mode: 'indexeddb', persisted: this.persisted };
      } catch (err) {
        this.state = { mode: 'memory', reason: `storage is full: recent changes are not saved on this device (${describe(err)})` };
        this.onChange();
        throw new StorageFullError(describe(cause));
      } finally {
        this.recovery = null;
      }
    })();
    return this.recovery;
  }

  /**
   * A log write failed with nobody awaiting it (the relay's events), or the connection was
   * closed under us: say `memory` at once (STO19) — before, only an awaited append saw it,
   * and the status bar kept saying the log was saved. A full disk is recovered from as for
   * an append (compaction, then memory if that fails); a write that succeeds again clears it.
   */
  private onHealth(problem: unknown): void {
    if (problem === null) {
      if (this.state.mode === 'memory' && this.recovery === null) {
        this.state = { mode: 'indexeddb', persisted: this.persisted };
        this.onChange();
      }
      return;
    }
    if (isQuotaError(problem)) {
      void this.recoverFromFullStorage(problem).catch(() => undefined);
      return;
    }
    if (this.state.mode === 'memory') return; // the first reason is the telling one
    this.state = { mode: 'memory', reason: `IndexedDB stopped saving: recent changes are only in memory on this device (${describe(problem)})` };
    this.onChange();
  }
}

async function requestPersistentStorage(): Promise<boolean | null> {
  const storage = typeof navigator !== 'undefined' ? navigator.storage : undefined;
  if (!storage?.persist) return null;
  try {
    return (await storage.persisted()) || (await storage.persist());
  } catch {
    return null;
  }
}

/** A failure as a persistence reason or a NotSavedError's detail tells it. */
export function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
