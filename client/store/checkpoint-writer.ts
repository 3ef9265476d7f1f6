import * as Y from 'yjs';
import { FOLD_SNAPSHOT_VERSION } from '../../shared/projection/aggregate-fold';
import type { LocationProjection } from '../../shared/projection/location-projection';
import type { HybridClock } from '../../shared/clock/hybrid-clock';
import type { CheckpointMeta, IdbPersistence, StoredCheckpoint } from './idb-persistence';

/** A checkpoint is written this long after the first change since the last one (and on close). */
export const CHECKPOINT_DELAY_MS = 2_000;

/**
 * Keeps the projection checkpoint in IndexedDB up to date: the aggregates changed since
 * the last write, with the doc's state vector, taken together so they describe one state.
 * A failed write (e.g. full storage) costs only speed: the next open sees a stale state
 * vector and reads the log instead, and the changes are written next time.
 */
export class CheckpointWriter {
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly layer: IdbPersistence,
    private readonly doc: Y.Doc,
    private readonly projection: LocationProjection,
    private readonly clock: HybridClock,
    /**
     * False while the projection is restored but its events are not read, or holds appended
     * events the doc does not have yet: a checkpoint then would not describe the doc.
     */
    private readonly ready: () => boolean,
  ) {
    projection.trackChanges();
  }

  /** True when the checkpoint describes exactly this doc, so the projection can start from it. */
  static describes(checkpoint: StoredCheckpoint, doc: Y.Doc): boolean {
    if (checkpoint.meta.version !== FOLD_SNAPSHOT_VERSION) return false;
    const now = Y.encodeStateVector(doc);
    const then = checkpoint.meta.stateVector;
    return now.length === then.length && now.every((b, i) => b === then[i]);
  }

  /** Something changed: write in a moment. */
  schedule(): void {
    if (this.timer !== null) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.write().catch(() => undefined);
    }, CHECKPOINT_DELAY_MS);
  }

  /** Writes now if anything is pending (compaction, close). Taken synchronously, written after queued log writes. */
  flush(): Promise<void> {
    if (this.timer === null) return Promise.resolve();
    clearTimeout(this.timer);
    this.timer = null;
    return this.write();
  }

  private async write(): Promise<void> {
    if (!this.ready()) return;
    const changes = this.projection.takeChanges();
    const meta: CheckpointMeta = { version: FOLD_SNAPSHOT_VERSION, stateVector: Y.encodeStateVector(this.doc), clock: this.clock.peek() };
    try {
      await this.layer.writeCheckpoint(changes, meta);
    } catch (err) {
      this.projection.requeue(changes);
      throw err;
    }
  }
}
