import { HybridClock } from '../../shared/clock/hybrid-clock';
import { CURRENT_VERSIONS, isKnownType } from '../../shared/events/catalog';
import type { AggregateRef, EventEnvelope } from '../../shared/events/envelope';
import { newEventId } from '../../shared/events/event-id';
import { projectAggregate } from '../../shared/projection/project-aggregate';
import type { HistoryEntry, TicketView } from '../../shared/projection/views';

/**
 * A terminal writing events the way the real EventStore stamps them — seq after the
 * highest it has seen in the aggregate, hybrid-clock `at`, its own origin counter — without
 * any storage, for pure projection tests. `see` is how it observes other terminals' events.
 */
export class TestWriter {
  readonly clock: HybridClock;
  private n = 0;
  private readonly seqs = new Map<string, number>();

  constructor(
    readonly id: string,
    wallNow: () => number,
  ) {
    this.clock = new HybridClock({ wallNow });
  }

  write(aggregate: AggregateRef, type: string, payload: unknown, opts: { v?: number; key?: string } = {}): EventEnvelope {
    const at = this.clock.now();
    const e: EventEnvelope = {
      id: newEventId(at),
      seq: (this.seqs.get(aggregate.id) ?? 0) + 1,
      at,
      type,
      v: opts.v ?? (isKnownType(type) ? CURRENT_VERSIONS[type] : 1),
      aggregate,
      origin: { terminal: this.id, n: ++this.n },
      ...(opts.key ? { key: opts.key } : {}),
      payload,
    };
    this.see(e);
    return e;
  }

  see(...events: EventEnvelope[]): this {
    for (const e of events) {
      this.clock.observe(e.at);
      this.seqs.set(e.aggregate.id, Math.max(this.seqs.get(e.aggregate.id) ?? 0, e.seq));
    }
    return this;
  }
}

/** The ticket these events fold into, with its history (throws if they are not a ticket's). */
export function ticketOf(events: EventEnvelope[]): TicketView & { history: HistoryEntry[] } {
  const v = projectAggregate(events);
  if (v.kind !== 'ticket') throw new Error(`not a ticket: ${v.kind}`);
  return v;
}

/** What the fold did with `e`: its history entry's status, reason and conflict. */
export function foldedAs(v: { history: HistoryEntry[] }, e: EventEnvelope): Pick<HistoryEntry, 'status' | 'reason' | 'conflictId'> {
  const h = v.history.find((x) => x.eventId === e.id);
  if (h === undefined) throw new Error(`event ${e.id} is not in the history`);
  return { status: h.status, reason: h.reason, conflictId: h.conflictId };
}

/** A terminal whose wall clock stands still (at `skewMs` from a fixed moment): its hybrid clock alone moves its stamps on. */
export class FixedClockTerminal extends TestWriter {
  constructor(id: string, skewMs = 0) {
    super(id, () => 1_700_000_000_000 + skewMs);
  }
}
