import { compareEvents, type EventEnvelope } from '../../shared/events/envelope';

/**
 * The events this replica holds, indexed as append and the outbox read them (the projection
 * keeps its own, by aggregate): per writer (origin.terminal) sorted by origin.n, which is
 * the outbox's input (OutboxInput.byWriter); by idempotency key; and when other writers'
 * events were first held here (OutboxInput.firstHeldAt: their grace period).
 */
export class HeldEvents {
  private readonly perWriter = new Map<string, EventEnvelope[]>();
  private readonly byKey = new Map<string, EventEnvelope>();
  /** Other writers' events only: own events are "held" since they were written. */
  private readonly heldSince = new Map<string, number>();

  /** `ownWriter`: this tab's writer id (origin.terminal of the events it writes). */
  constructor(private readonly ownWriter: string) {}

  /** A new event, held since `heldAt` (wall clock). */
  add(e: EventEnvelope, heldAt: number): void {
    this.addToWriter(e);
    if (e.origin.terminal !== this.ownWriter) this.heldSince.set(e.id, heldAt);
    if (e.key !== undefined) {
      const first = this.byKey.get(e.key);
      // The one the fold keeps: the first in fold order (the others of the key are duplicates).
      if (!first || compareEvents(e, first) < 0) this.byKey.set(e.key, e);
    }
  }

  /** An event deleted from the log (compaction). */
  remove(e: EventEnvelope): void {
    this.heldSince.delete(e.id);
    if (e.key !== undefined && this.byKey.get(e.key)?.id === e.id) this.byKey.delete(e.key);
    const list = this.perWriter.get(e.origin.terminal);
    if (!list) return;
    const i = list.findIndex((x) => x.id === e.id);
    if (i >= 0) list.splice(i, 1);
  }

  /** Events per writer (origin.terminal), each list sorted by origin.n. */
  byWriter(): ReadonlyMap<string, readonly EventEnvelope[]> {
    return this.perWriter;
  }

  /** When this replica first held an event (0 for its own: held since written). */
  firstHeldAt(eventId: string): number {
    return this.heldSince.get(eventId) ?? 0;
  }

  /** The event of this idempotency key that the fold keeps, if one is held. */
  firstWithKey(key: string): EventEnvelope | undefined {
    return this.byKey.get(key);
  }

  /** The highest origin.n held of this writer (0 if none). */
  lastN(writer: string): number {
    const list = this.perWriter.get(writer);
    return list?.[list.length - 1]?.origin.n ?? 0;
  }

  private addToWriter(e: EventEnvelope): void {
    let list = this.perWriter.get(e.origin.terminal);
    if (!list) this.perWriter.set(e.origin.terminal, (list = []));
    const last = list[list.length - 1];
    if (!last || last.origin.n < e.origin.n) {
      list.push(e);
      return;
    }
    // Out of order (another writer's events may arrive in any order): insert sorted.
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (list[mid]!.origin.n < e.origin.n) lo = mid + 1;
      else hi = mid;
    }
    list.splice(lo, 0, e);
  }
}
