import type { EventEnvelope } from '../events/envelope';
import { AggregateFold } from './aggregate-fold';
import type { AuditedView } from './views';

/**
 * The full fold of one aggregate, from any order of its events, duplicates included.
 * The reference the incremental LocationProjection must always agree with.
 */
export function projectAggregate(events: readonly EventEnvelope[]): AuditedView {
  const first = events[0];
  if (!first) throw new RangeError('projectAggregate needs at least one event');
  const fold = new AggregateFold(first.aggregate.id);
  const seen = new Set<string>();
  for (const e of events) {
    if (e.aggregate.id !== first.aggregate.id) {
      throw new RangeError(`events of ${e.aggregate.id} and ${first.aggregate.id} mixed`);
    }
    if (seen.has(e.id)) continue;
    seen.add(e.id);
    fold.add(e);
  }
  return { ...fold.view(), history: fold.history() };
}
