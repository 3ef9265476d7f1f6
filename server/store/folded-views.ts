import { TICKET_AGGREGATE } from '../../shared/domain/ticket-events';
import type { EventEnvelope } from '../../shared/events/envelope';
import { LocationProjection, type AggregateView } from '../../shared/projection/location-projection';
import type { DayWindow } from '../../shared/reports/day-takings';
import { retentionOf } from '../../shared/compaction/retention-policy';
import { TOMBSTONE_KEPT_MS } from '../../shared/compaction/compaction-plan';
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

/** How many aggregates aggregatesMayLeave folds before it lets the event loop run (a first compaction names thousands). */
const FOLDS_PER_TURN = 50;

/**
 * Of `aggregateIds`, those the canonical log lets leave a terminal (retentionOf: a ticket closed
 * or voided, no conflict open, every event acknowledged), whatever the day: the device's
 * calendar decides when, the server only that it may. Also a ticket opened longer ago than a
 * tombstone is kept (CMP8): a terminal lets the rest of it go as a fragment, settled or not. The
 * room guard asks it of the tombstones a connection writes.
 */
export async function aggregatesMayLeave(store: EventStore, location: string, aggregateIds: Iterable<string>, now: number): Promise<Set<string>> {
  const watermarks = await store.watermarks(location);
  const anyDay = { keptUntil: () => 0 };
  const allowed = new Set<string>();
  let folds = 0;
  for (const aggregateId of aggregateIds) {
    if (++folds % FOLDS_PER_TURN === 0) await new Promise((turn) => setImmediate(turn));
    const projection = folded(await store.readAggregate(location, aggregateId));
    const view = projection.get(aggregateId);
    if (view === undefined) continue;
    const events = projection.eventsOf(aggregateId);
    const fragmentAge = now - (events[0]?.at ?? now) >= TOMBSTONE_KEPT_MS;
    if (fragmentAge || retentionOf(view, events, watermarks, 0, anyDay).compactable) allowed.add(aggregateId);
  }
  return allowed;
}

function folded(jsons: readonly string[]): LocationProjection {
  const projection = new LocationProjection();
  projection.apply(jsons.map((json) => JSON.parse(json) as EventEnvelope));
  return projection;
}
