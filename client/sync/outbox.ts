import type { EventEnvelope } from '../../shared/events/envelope';
import { acknowledges, type Acknowledgements } from '../../shared/log/acknowledgements';
import type { DeliveryState } from './sync-status';

/**
 * The outbox: every event this terminal holds that the server has not acknowledged.
 * It is not stored anywhere: it is derived from the log and the acknowledgement
 * watermarks, so it survives reloads with the log and cannot drift from it.
 *
 * Invariants:
 *  - an event is acknowledged iff origin.n ≤ watermark[origin.terminal] (the highest
 *    contiguous n the canonical store holds), or in a range the server stores above it
 *    (storedAbove: above a refused event the watermark can never pass, OUT8), or the server
 *    answered it accepted or duplicate (`answered`, until the ranges say so);
 *  - owed = held − acknowledged − quarantined;
 *  - this writer's own events come first; other writers' only once they have been held
 *    here for OTHER_WRITERS_GRACE_MS (their own terminal is likelier to upload them, and
 *    the server's idempotency makes a second upload harmless) — so no event is stranded
 *    when the terminal that wrote it breaks.
 */
export const OTHER_WRITERS_GRACE_MS = 10_000;

export interface OutboxInput {
  /** Events held, per writer (origin.terminal), sorted by origin.n. */
  byWriter: ReadonlyMap<string, readonly EventEnvelope[]>;
  acknowledged: Acknowledgements;
  quarantined: ReadonlySet<string>;
  /** Ids the server answered accepted or duplicate, above their writer's watermark and not in its ranges yet. */
  answered?: { has(id: string): boolean };
  ownWriter: string;
  /** When this replica first held another writer's event (ms, wall clock). */
  firstHeldAt: (eventId: string) => number;
  /**
   * When an own event was written, on the same wall clock (default its stamp `at`, which is
   * server-corrected: on a tablet running slow it lies ahead of the wall clock).
   */
  ownWrittenAt?: (e: EventEnvelope) => number;
  now: number;
  graceMs?: number;
}

export interface Outbox {
  /** In upload order: own events by n, then others' past their grace, by writer and n. */
  owed: EventEnvelope[];
  /** Others' unacknowledged events still inside their grace period. */
  waiting: number;
  /** When the first of the `waiting` events comes out of its grace period. */
  waitingUntil: number | null;
  oldestOwedAt: number | null;
}

export function computeOutbox(input: OutboxInput): Outbox {
  const grace = input.graceMs ?? OTHER_WRITERS_GRACE_MS;
  const own: EventEnvelope[] = [];
  const others: EventEnvelope[] = [];
  let waiting = 0;
  let waitingUntil: number | null = null;
  let oldest: number | null = null;
  const writers = [...input.byWriter.keys()].sort();
  for (const writer of writers) {
    const events = input.byWriter.get(writer)!;
    const isOwn = writer === input.ownWriter;
    for (let i = firstAbove(events, input.acknowledged.marks[writer] ?? 0); i < events.length; i++) {
      const e = events[i]!;
      if (input.quarantined.has(e.id) || input.answered?.has(e.id)) continue;
      if (acknowledges(input.acknowledged, writer, e.origin.n)) continue;
      // Own events were held from when they were written; firstHeldAt knows only others'.
      const heldAt = isOwn ? (input.ownWrittenAt?.(e) ?? e.at) : input.firstHeldAt(e.id);
      if (!isOwn && input.now - heldAt < grace) {
        waiting++;
        if (waitingUntil === null || heldAt + grace < waitingUntil) waitingUntil = heldAt + grace;
        continue;
      }
      (isOwn ? own : others).push(e);
      if (oldest === null || heldAt < oldest) oldest = heldAt;
    }
  }
  return { owed: own.concat(others), waiting, waitingUntil, oldestOwedAt: oldest };
}

/** Index of the first event with origin.n above the watermark (events sorted by n). */
function firstAbove(events: readonly EventEnvelope[], watermark: number): number {
  let lo = 0;
  let hi = events.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (events[mid]!.origin.n <= watermark) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export interface BatchLimits {
  maxEvents: number;
  maxBytes: number;
}

/** Normal and slow-link batch limits, both well inside the server's (1000 events, 2 MB). */
export const BATCH_LIMITS: BatchLimits = { maxEvents: 250, maxBytes: 512 * 1024 };
export const SLOW_BATCH_LIMITS: BatchLimits = { maxEvents: 50, maxBytes: 64 * 1024 };

/** The next batch: a prefix of the owed events within the limits (always at least one). */
export function takeBatch(owed: readonly EventEnvelope[], limits: BatchLimits): { events: EventEnvelope[]; body: string } {
  const parts: string[] = [];
  const events: EventEnvelope[] = [];
  let bytes = 12; // {"events":[]}
  for (const e of owed) {
    if (events.length >= limits.maxEvents) break;
    const json = JSON.stringify(e);
    if (events.length > 0 && bytes + json.length + 1 > limits.maxBytes) break;
    events.push(e);
    parts.push(json);
    bytes += json.length + 1;
  }
  return { events, body: `{"events":[${parts.join(',')}]}` };
}

/** Where an event is: acknowledged by the canonical store, held by the relay, or only here. */
export function deliveryStateOf(
  event: EventEnvelope,
  acknowledged: Acknowledgements,
  relayed: Readonly<Record<string, number>>,
): DeliveryState {
  const { terminal, n } = event.origin;
  if (acknowledges(acknowledged, terminal, n)) return 'acknowledged';
  if (n <= (relayed[terminal] ?? 0)) return 'relayed';
  return 'local';
}
