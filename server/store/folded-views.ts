import { TICKET_AGGREGATE } from '../../shared/domain/ticket-events';
import type { EventEnvelope } from '../../shared/events/envelope';
import { LocationProjection, type AggregateView } from '../../shared/projection/location-projection';
import type { DayWindow } from '../../shared/reports/day-takings';
import { retentionOf } from '../../shared/compaction/retention-policy';
import type { EventStore } from './event-store';

/*
 * The server's views, folded per request by the shared projection (the code the terminals
 * run, so a server view and a terminal view of the same events are equal) from only the
 * events the request needs, read by index from the canonical store. Nothing is kept between
 * requests: memory does not grow with the log, an event stored is in the next read, and no
 * request folds a location's whole history (SRV28).
 */

/** A projection of one aggregate alone (empty when the location holds no event of it). */
export async function foldAggregate(store: EventStore, location: string, aggregateId: string): Promise<LocationProjection> {
  return folded(await store.readAggregate(location, aggregateId));
}

/** The views of the tickets a takings report of `window` may count (EventStore.readTakingsTickets). */
export async function foldTakingsTickets(store: EventStore, location: string, window: DayWindow): Promise<AggregateView[]> {
  return folded(await store.readTakingsTickets(location, window)).all(TICKET_AGGREGATE);
}

/**
 * Whether the canonical log lets the aggregate leave a terminal (retentionOf: a ticket closed
 * or voided, no conflict open, every event acknowledged), whatever the day: the device's
 * calendar decides when, the server only that it may. The room guard asks it of a tombstone a
 * connection writes.
 */
export async function mayLeaveTerminals(store: EventStore, location: string, aggregateId: string): Promise<boolean> {
  const projection = folded(await store.readAggregate(location, aggregateId));
  const view = projection.get(aggregateId);
  if (view === undefined) return false;
  const anyDay = { keptUntil: () => 0 };
  return retentionOf(view, projection.eventsOf(aggregateId), await store.watermarks(location), 0, anyDay).compactable;
}

function folded(jsons: readonly string[]): LocationProjection {
  const projection = new LocationProjection();
  projection.apply(jsons.map((json) => JSON.parse(json) as EventEnvelope));
  return projection;
}
