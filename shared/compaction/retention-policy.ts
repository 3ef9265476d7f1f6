import type { EventEnvelope } from '../events/envelope';
import { acknowledges, type Acknowledgements } from '../log/acknowledgements';
import { hasEnded, type AggregateView } from '../projection/views';

/**
 * Which aggregates may leave a terminal (compaction). One aggregate leaves only when ALL hold:
 *  - it is a ticket that is closed or voided, with no open conflict (reference data — menu
 *    items, tables — and aggregate types this build does not know always stay), or a
 *    fragment (no opening held, CMP8), whatever its status;
 *  - none of its events is one this build cannot read (needs_update);
 *  - every one of its events is acknowledged by the server (origin.n ≤ watermark, or in a
 *    range it stores above it: acknowledges), so the canonical log has it: nothing owed ever leaves;
 *  - it is past `policy.keptUntil(lastEventAt)`: by default the end of the business day
 *    after its own.
 * The server's canonical log keeps everything; this only bounds what terminals hold.
 */
export interface RetentionPolicy {
  /**
   * When a settled ticket whose last event is at `at` may leave the device: the end of the
   * business day after its own, where the restaurant is. A device gives its calendar's
   * (client/store/device-retention.ts), which knows each day's summer time and length.
   */
  keptUntil(at: number): number;
}

const DAY_MS = 24 * 60 * 60_000;
/** The hour (local) at which a business day ends: 04:00. */
export const BUSINESS_DAY_END_HOUR = 4;

/** Days ending at 04:00 UTC: where no calendar is at hand (tests, the benchmarks). */
export const DEFAULT_RETENTION: RetentionPolicy = {
  keptUntil(at) {
    const endHour = BUSINESS_DAY_END_HOUR * 60 * 60_000;
    return Math.floor((at - endHour) / DAY_MS) * DAY_MS + endHour + 2 * DAY_MS;
  },
};

/**
 * The least time any device's calendar keeps a settled ticket after its last event: a day of
 * 23 hours (the spring clock change) ending just after it, less 3 hours for a device's clock
 * running ahead. The server judges a tombstone by it (it knows no device's days): a ticket
 * whose last event in the canonical log is later than the compacting device could have let go
 * at the tombstone's time had changed since that device last saw it (SRV16).
 */
export const SHORTEST_KEPT_MS = 20 * 60 * 60_000;

export type Retention = { compactable: true } | { compactable: false; reason: string };

export function retentionOf(
  view: AggregateView,
  events: readonly EventEnvelope[],
  acks: Acknowledgements,
  now: number,
  policy: RetentionPolicy = DEFAULT_RETENTION,
): Retention {
  if (view.kind !== 'ticket') return { compactable: false, reason: `${view.aggregateType} is kept` };
  // No opening held: the rest of a ticket archived here so long ago that its tombstone ended
  // (CMP8), written by a till offline all that time. Nothing here can settle it, the server
  // has the whole of it: it goes as its events would have, not kept as an open ticket forever.
  const fragment = view.number === null;
  if (!fragment && !hasEnded(view)) return { compactable: false, reason: `ticket is ${view.status}` };
  if (!fragment && view.openConflicts > 0) return { compactable: false, reason: 'ticket has open conflicts' };
  if (view.needsUpdate > 0) return { compactable: false, reason: 'ticket has events this build cannot read' };
  const owed = events.find((e) => !acknowledges(acks, e.origin.terminal, e.origin.n));
  if (owed) return { compactable: false, reason: `event ${owed.id} is not acknowledged yet` };
  const keepUntil = policy.keptUntil(view.lastEventAt);
  if (now < keepUntil) return { compactable: false, reason: `kept until ${new Date(keepUntil).toISOString()}` };
  return { compactable: true };
}
