import { HybridClock } from '../../shared/clock/hybrid-clock';
import { CURRENT_VERSIONS, isKnownType } from '../../shared/events/catalog';
import type { AggregateRef, EventEnvelope } from '../../shared/events/envelope';
import { newEventId } from '../../shared/events/event-id';

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
