import type { EventEnvelope } from '../events/envelope';
import { AggregateFold } from './aggregate-fold';
import type { AggregateView } from './views';

// Re-exported because callers of the projection name its views (client/store imports it here).
export type { AggregateView } from './views';

/**
 * Every aggregate of one location, kept up to date incrementally as events arrive from
 * the local log, the relay or the server (in any order, with duplicates).
 *
 * Cost: an event that sorts after its aggregate's last one is folded on top of the
 * current state (O(1) in the number of events held); an out-of-order one refolds only
 * its own aggregate, once per `apply` call however many such events it brought.
 */
export class LocationProjection {
  private readonly folds = new Map<string, AggregateFold>();
  /** Event id → aggregate id, for every event held. */
  private readonly aggregateIndex = new Map<string, string>();
  private count = 0;

  /** Adds events; returns the ids of the aggregates whose view changed. */
  apply(events: readonly EventEnvelope[]): Set<string> {
    const changed = new Set<string>();
    for (const e of events) {
      if (this.aggregateIndex.has(e.id)) continue;
      let fold = this.folds.get(e.aggregate.id);
      if (!fold) {
        fold = new AggregateFold(e.aggregate.id);
        this.folds.set(e.aggregate.id, fold);
      }
      fold.add(e);
      this.aggregateIndex.set(e.id, e.aggregate.id);
      this.count++;
      changed.add(e.aggregate.id);
    }
    for (const id of changed) this.folds.get(id)!.settle();
    return changed;
  }

  /** Forgets whole aggregates (compaction). Their events may be applied again later. */
  remove(aggregateIds: Iterable<string>): void {
    for (const id of aggregateIds) {
      const fold = this.folds.get(id);
      if (!fold) continue;
      for (const e of fold.ordered()) this.aggregateIndex.delete(e.id);
      this.count -= fold.size;
      this.folds.delete(id);
    }
  }

  get(aggregateId: string): AggregateView | undefined {
    return this.folds.get(aggregateId)?.view();
  }

  /** The aggregate's events in fold order, each id once. */
  eventsOf(aggregateId: string): readonly EventEnvelope[] {
    return this.folds.get(aggregateId)?.ordered() ?? [];
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
    const ids = [...this.folds.keys()].sort();
    const out: AggregateView[] = [];
    for (const id of ids) {
      const fold = this.folds.get(id)!;
      if (type === undefined || fold.type === type) out.push(fold.view());
    }
    return out;
  }

  /** Aggregates held. */
  get aggregateCount(): number {
    return this.folds.size;
  }

  /** Events held. */
  get size(): number {
    return this.count;
  }
}
