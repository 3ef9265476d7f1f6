import * as Y from 'yjs';
import { COMPACTED } from '../../shared/log/log-doc';
import { foldFingerprint, type LocationProjection } from '../../shared/projection/location-projection';
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

  /**
   * The event JSON this doc holds beyond what the checkpoint describes ([] when it describes
   * exactly this doc), so the projection can start from it and fold those. Null when it
   * cannot: folds of another build (another foldFingerprint, or none: older builds), a
   * state the doc does not contain, or a compaction since (its deletions are not in a state
   * vector; its tombstones are). The meta is the last writer's: records a tab of another
   * build wrote are skipped one by one (LocationProjection.restore).
   */
  static eventsSince(checkpoint: StoredCheckpoint, doc: Y.Doc): string[] | null {
    if (checkpoint.meta.fingerprint !== foldFingerprint()) return null;
    const then = checkpoint.meta.stateVector;
    const nowBytes = Y.encodeStateVector(doc);
    if (nowBytes.length === then.length && nowBytes.every((b, i) => b === then[i])) return [];
    const now = Y.decodeStateVector(nowBytes);
    for (const [client, clock] of Y.decodeStateVector(then)) if ((now.get(client) ?? 0) < clock) return null;
    const late: string[] = [];
    for (const struct of Y.decodeUpdate(Y.encodeStateAsUpdate(doc, then)).structs) {
      if (!(struct instanceof Y.Item)) continue;
      // A decoded (not integrated) struct names its root type by name.
      if ((struct.parent as unknown) === COMPACTED) return null;
      // Only segments hold strings (acks and marks are numbers, tombstones objects).
      for (const value of struct.content.getContent()) if (typeof value === 'string') late.push(value);
    }
    return late;
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
    const meta: CheckpointMeta = { fingerprint: foldFingerprint(), stateVector: Y.encodeStateVector(this.doc), clock: this.clock.peek() };
    try {
      await this.layer.writeCheckpoint(changes, meta);
    } catch (err) {
      this.projection.requeue(changes);
      throw err;
    }
  }
}
