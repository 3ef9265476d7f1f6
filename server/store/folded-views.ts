import { TICKET_AGGREGATE } from '../../shared/domain/ticket-events';
import type { EventEnvelope } from '../../shared/events/envelope';
import { LocationProjection, type AggregateView } from '../../shared/projection/location-projection';
import type { DayWindow } from '../../shared/reports/day-takings';
import { SHORTEST_KEPT_MS, retentionOf } from '../../shared/compaction/retention-policy';
import { CLOCK_BOUND_MS } from '../../shared/clock/hybrid-clock';
import { TOMBSTONE_KEPT_MS } from '../../shared/compaction/compaction-plan';
import type { CanonicalLog } from './canonical-log';

/*
 * The server's views, folded per request by the shared projection (the code the terminals
 * run, so a server view and a terminal view of the same events are equal) from only the
 * events the request needs, read by index from the canonical store. Nothing is kept between
 * requests: memory does not grow with the log, an event stored is in the next read, and no
 * request folds a location's whole history (SRV28).
 */

/** A projection of one aggregate alone (empty when the location holds no event of it). */
export async function foldAggregate(store: CanonicalLog, location: string, aggregateId: string): Promise<LocationProjection> {
  return folded(await store.readAggregate(location, aggregateId));
}

/** The views of the tickets a takings report of `window` may count (CanonicalLog.readTakingsTickets). */
export async function foldTakingsTickets(store: CanonicalLog, location: string, window: DayWindow): Promise<AggregateView[]> {
  return folded(await store.readTakingsTickets(location, window)).all(TICKET_AGGREGATE);
}

/** How many aggregates aggregatesMayLeave folds before it lets the event loop run (a first compaction names thousands). */
const FOLDS_PER_TURN = 50;

/**
 * Of the aggregates compacted (aggregate id → the tombstone's time), those the canonical log
 * lets leave a terminal (retentionOf: a ticket closed or voided, no conflict open, every event
 * acknowledged, its last event at least SHORTEST_KEPT_MS before the tombstone's time): the
 * device's calendar decides when, the server only that it may, by its own log. A till that
 * compacted offline a ticket another till refunded since had not seen the refund: its
 * tombstone is older than the refund allows. A tombstone dated later than the server's clock
 * (plus CLOCK_BOUND_MS) is judged as of then: dated a day ahead, it let go a ticket closed
 * minutes ago. Also a ticket opened longer ago than a tombstone is
 * kept (CMP8): a terminal lets the rest of it go as a fragment, settled or not. The room guard
 * asks it of the tombstones a connection writes.
 */
export async function aggregatesMayLeave(store: CanonicalLog, location: string, compactedAt: ReadonlyMap<string, number>, now: number): Promise<Set<string>> {
  const acks = await store.acknowledgements(location);
  const anyCalendar = { keptUntil: (at: number) => at + SHORTEST_KEPT_MS };
  const allowed = new Set<string>();
  let folds = 0;
  for (const [aggregateId, at] of compactedAt) {
    if (++folds % FOLDS_PER_TURN === 0) await new Promise((turn) => setImmediate(turn));
    const projection = folded(await store.readAggregate(location, aggregateId));
    const view = projection.get(aggregateId);
    if (view === undefined) continue;
    const events = projection.eventsOf(aggregateId);
    const fragmentAge = now - (events[0]?.at ?? now) >= TOMBSTONE_KEPT_MS;
    if (fragmentAge || retentionOf(view, events, acks, Math.min(at, now + CLOCK_BOUND_MS), anyCalendar).compactable) allowed.add(aggregateId);
  }
  return allowed;
}

function folded(jsons: readonly string[]): LocationProjection {
  const projection = new LocationProjection();
  projection.apply(jsons.map((json) => JSON.parse(json) as EventEnvelope));
  return projection;
}
