import type { EventEnvelope } from '../events/envelope';
import { CURRENT_VERSIONS, EVENT_TYPES } from '../events/catalog';
import { fnv1a32 } from '../fnv1a';
import { AggregateFold, FOLD_SNAPSHOT_VERSION, type FoldSnapshot } from './aggregate-fold';
import { isSettled, type AggregateView, type HistoryEntry } from './views';

// Re-exported because callers of the projection name its views (client/store imports it here).
export type { AggregateView } from './views';

/** One aggregate of a projection checkpoint: its type and size readable without decoding the fold. */
export interface CheckpointRecord {
  id: string;
  type: string;
  size: number;
  /** The view was settled (isSettled) when taken; absent in checkpoints of older builds. */
  settled?: boolean;
  /** foldFingerprint() of the build that folded it; absent in checkpoints of older builds (not restored). */
  fingerprint?: string;
  /** JSON of the FoldSnapshot, decoded on first use. */
  fold: string;
}

/**
 * What a fold snapshot depends on: the fold's own logic (FOLD_SNAPSHOT_VERSION) and every
 * event type with the version this build reads it at. A build that learnt a new version or
 * type folds differently what an older one kept as needs_update (a payment it could not
 * read), so a snapshot taken with another fingerprint is refolded, never restored.
 * Computed on each call (a few dozen entries): tests teach the catalog a version at runtime.
 */
export function foldFingerprint(): string {
  const versions = EVENT_TYPES.map((t) => `${t}@${CURRENT_VERSIONS[t]}`).join(',');
  return `${FOLD_SNAPSHOT_VERSION}.${fnv1a32(versions).toString(36)}`;
}

/** What changed since the last `takeChanges()`: records to write and aggregates to drop. */
export interface CheckpointChanges {
  put: CheckpointRecord[];
  deleted: string[];
}

/**
 * Every aggregate of one location, kept up to date incrementally as events arrive from
 * the local log, the relay or the server (in any order, with duplicates).
 *
 * Cost: an event that sorts after its aggregate's last one is folded on top of the
 * current state (O(1) in the number of events held); an out-of-order one refolds only
 * its own aggregate, once per `apply` call however many such events it brought.
 *
 * Checkpoints: `restore` starts from stored fold snapshots instead of the events. The
 * folds are decoded on first use and stay detached (views only) until `attach` hands
 * them their events; until then only views, types, counts and lastSeqOf may be asked.
 */
export class LocationProjection {
  private readonly folds = new Map<string, AggregateFold>();
  /** Restored folds not decoded yet. */
  private readonly frozen = new Map<string, CheckpointRecord>();
  /** Records of another build's folds skipped by `restore` (see dropDetached). */
  private readonly skipped = new Set<string>();
  /** Event id → aggregate id, for every event held in an attached fold. */
  private readonly aggregateIndex = new Map<string, string>();
  /** Aggregates changed or removed since the last takeChanges(); null unless checkpoints are kept. */
  private changed: Set<string> | null = null;
  private count = 0;

  /** Adds events; returns the ids of the aggregates whose view changed. */
  apply(events: readonly EventEnvelope[]): Set<string> {
    const changed = new Set<string>();
    for (const e of events) {
      if (this.aggregateIndex.has(e.id)) continue;
      let fold = this.fold(e.aggregate.id);
      if (!fold) {
        fold = new AggregateFold(e.aggregate.id);
        this.folds.set(e.aggregate.id, fold);
      }
      fold.add(e);
      this.aggregateIndex.set(e.id, e.aggregate.id);
      this.count++;
      changed.add(e.aggregate.id);
    }
    for (const id of changed) {
      this.folds.get(id)!.settle();
      this.changed?.add(id);
    }
    return changed;
  }

  /** Forgets whole aggregates (compaction). Their events may be applied again later. */
  remove(aggregateIds: Iterable<string>): void {
    for (const id of aggregateIds) {
      const record = this.frozen.get(id);
      if (record) {
        this.frozen.delete(id);
        this.count -= record.size;
        this.changed?.add(id);
        continue;
      }
      const fold = this.folds.get(id);
      if (!fold) continue;
      if (!fold.detached) for (const e of fold.ordered()) this.aggregateIndex.delete(e.id);
      this.count -= fold.size;
      this.folds.delete(id);
      this.changed?.add(id);
    }
  }

  get(aggregateId: string): AggregateView | undefined {
    return this.fold(aggregateId)?.view();
  }

  /** The aggregate's events in fold order, each id once. */
  eventsOf(aggregateId: string): readonly EventEnvelope[] {
    return this.fold(aggregateId)?.ordered() ?? [];
  }

  historyOf(aggregateId: string): HistoryEntry[] {
    return this.fold(aggregateId)?.history() ?? [];
  }

  /** The seq of the aggregate's last event in fold order (0 if none); works on detached folds. */
  lastSeqOf(aggregateId: string): number {
    return this.fold(aggregateId)?.lastSeq ?? 0;
  }

  /** The aggregate an event belongs to, if the event is held. */
  aggregateOf(eventId: string): string | undefined {
    return this.aggregateIndex.get(eventId);
  }

  has(eventId: string): boolean {
    return this.aggregateIndex.has(eventId);
  }

  /** Views of every aggregate (of one aggregate type if given), by aggregate id. */
  all(type?: string): AggregateView[] {
    const ids = [...this.folds.keys(), ...this.frozen.keys()].sort();
    const out: AggregateView[] = [];
    for (const id of ids) {
      const record = this.frozen.get(id);
      if (record && type !== undefined && record.type !== type) continue;
      const fold = this.fold(id)!;
      if (type === undefined || fold.type === type) out.push(fold.view());
    }
    return out;
  }

  /** Aggregates held. */
  get aggregateCount(): number {
    return this.folds.size + this.frozen.size;
  }

  /** Events held. */
  get size(): number {
    return this.count;
  }

  /**
   * From now on, remembers which aggregates change, for incremental checkpoints (only a
   * projection that is checkpointed pays for it); those held already count as changed.
   */
  trackChanges(): void {
    this.changed ??= new Set(this.folds.keys());
  }

  /** Snapshots of the aggregates changed since the last call, for an incremental checkpoint. */
  takeChanges(): CheckpointChanges {
    if (this.changed === null) throw new Error('takeChanges needs trackChanges() first');
    const put: CheckpointRecord[] = [];
    const deleted: string[] = [];
    const fingerprint = foldFingerprint();
    for (const id of this.changed) {
      const fold = this.folds.get(id);
      if (fold) put.push({ id, type: fold.type, size: fold.size, settled: isSettled(fold.view()), fingerprint, fold: JSON.stringify(fold.snapshot()) });
      else if (!this.frozen.has(id)) deleted.push(id);
    }
    this.changed.clear();
    return { put, deleted };
  }

  /** A checkpoint write failed: these aggregates still need writing next time. */
  requeue(changes: CheckpointChanges): void {
    for (const r of changes.put) this.changed?.add(r.id);
    for (const id of changes.deleted) this.changed?.add(id);
  }

  /**
   * Starts from a checkpoint: every aggregate restored detached. May come in parts (the
   * settled aggregates after the rest), before any `attach`; an aggregate already held is
   * kept as it is. A record another build folded (another foldFingerprint: a tab of an
   * older build writes into the same checkpoint) is skipped: its aggregate is folded from
   * its events when they are attached. Returns the ids restored.
   */
  restore(records: readonly CheckpointRecord[]): string[] {
    const restored: string[] = [];
    const fingerprint = foldFingerprint();
    for (const r of records) {
      if (r.fingerprint !== fingerprint) this.skipped.add(r.id);
      if (r.fingerprint !== fingerprint || this.frozen.has(r.id) || this.folds.has(r.id)) continue;
      this.frozen.set(r.id, r);
      this.count += r.size;
      restored.push(r.id);
    }
    return restored;
  }

  /**
   * Gives detached folds their events (grouped by aggregate; events of aggregates the
   * checkpoint did not hold are applied as new). May be called for a few aggregates at a
   * time; `dropDetached` ends it. Returns the aggregates whose view changed: refolded
   * because their events were not the ones the checkpoint folded, or new.
   */
  attach(byAggregate: Iterable<readonly [string, readonly EventEnvelope[]]>): Set<string> {
    const changed = new Set<string>();
    const fresh: EventEnvelope[] = [];
    for (const [id, events] of byAggregate) {
      const fold = this.fold(id);
      if (!fold?.detached) {
        fresh.push(...events);
        continue;
      }
      const unique = uniqueById(events);
      this.count += unique.length - fold.size;
      if (!fold.attach(unique)) changed.add(id);
      for (const e of unique) this.aggregateIndex.set(e.id, id);
    }
    for (const id of this.apply(fresh)) changed.add(id);
    for (const id of changed) this.changed?.add(id);
    return changed;
  }

  /** After the last `attach`: drops restored aggregates that no event backs any more. */
  dropDetached(): Set<string> {
    const orphans = [...this.frozen.keys()];
    for (const [id, fold] of this.folds) if (fold.detached) orphans.push(id);
    this.remove(orphans);
    // Skipped records no event backs either (compacted since): dropped from the checkpoint too.
    for (const id of this.skipped) if (!this.folds.has(id)) this.changed?.add(id);
    this.skipped.clear();
    return new Set(orphans);
  }

  private fold(aggregateId: string): AggregateFold | undefined {
    const record = this.frozen.get(aggregateId);
    if (record === undefined) return this.folds.get(aggregateId);
    const fold = AggregateFold.restore(JSON.parse(record.fold) as FoldSnapshot);
    this.frozen.delete(aggregateId);
    this.folds.set(aggregateId, fold);
    return fold;
  }
}

function uniqueById(events: readonly EventEnvelope[]): EventEnvelope[] {
  const seen = new Set<string>();
  return events.filter((e) => !seen.has(e.id) && seen.add(e.id) !== undefined);
}
