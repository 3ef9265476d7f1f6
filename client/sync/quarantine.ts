import { z } from 'zod';
import { decodeEvent, refusedToTerminal } from '../../shared/events/catalog';
import type { EventEnvelope } from '../../shared/events/envelope';
import { acknowledges, type Acknowledgements } from '../../shared/log/acknowledgements';
import { NEWER_THAN_SERVER, type EventResult } from '../../shared/protocol/rest-events';
import { deviceStorage, keepOnDevice } from '../store/device-storage';
import type { QuarantinedEvent } from './sync-status';

/**
 * Events the server rejected as invalid: kept in the log, listed for staff, never retried
 * on their own (a manager can release them), dropped once the server acknowledges them
 * (it stored them after all, e.g. from another terminal). Survives reloads in
 * localStorage; read back through its schema like any other stored input. Not those it
 * rejected as newer than it knows (refusedAsNewer): they wait for its update, owed.
 */
const Stored = z.array(
  z.object({
    eventId: z.string(),
    type: z.string(),
    aggregateId: z.string(),
    terminal: z.string(),
    n: z.number(),
    reason: z.string(),
    field: z.string().nullable(),
    at: z.number(),
  }),
);

export class Quarantine {
  private readonly entries = new Map<string, QuarantinedEvent>();
  private readonly storage = deviceStorage();

  constructor(private readonly key: string) {
    const parsed = Stored.safeParse(safeJson(this.storage?.getItem(key)));
    if (parsed.success) for (const e of parsed.data) this.entries.set(e.eventId, e);
  }

  get ids(): ReadonlySet<string> {
    return new Set(this.entries.keys());
  }

  list(): QuarantinedEvent[] {
    return [...this.entries.values()];
  }

  add(entry: QuarantinedEvent): void {
    this.entries.set(entry.eventId, entry);
    this.save();
  }

  /** Lets the events be uploaded again. */
  release(eventIds: Iterable<string>): void {
    for (const id of eventIds) this.entries.delete(id);
    this.save();
  }

  /** Drops the events the server acknowledges (its watermarks, or the ranges it stores above them). */
  dropCovered(acks: Acknowledgements): void {
    let dropped = false;
    for (const [id, e] of this.entries) {
      if (!acknowledges(acks, e.terminal, e.n)) continue;
      this.entries.delete(id);
      dropped = true;
    }
    if (dropped) this.save();
  }

  /** Held in memory when the device refuses the write: an upload's answer is still taken whole. */
  private save(): void {
    keepOnDevice(this.storage, this.key, JSON.stringify(this.list()));
  }
}

function safeJson(text: string | null | undefined): unknown {
  if (!text) return [];
  try {
    return JSON.parse(text);
  } catch {
    return [];
  }
}

/**
 * Whether the server rejected the event as of a type or version newer than it knows: this
 * build (or the event's writer) is ahead of the server, which must be updated; the event is not
 * at fault. The server says so by its code; one from before the code only by the field, `v` or
 * `type`, of an event this build knows and the uploader may write (else a manager's event a
 * till wrote, refused on `type`).
 */
export function refusedAsNewer(result: EventResult, event: EventEnvelope, uploader: { role: string; terminal: string }): boolean {
  if (result.code !== undefined) return result.code === NEWER_THAN_SERVER;
  if (result.field !== 'v' && result.field !== 'type') return false;
  return decodeEvent(event).status === 'ok' && !refusedToTerminal(uploader, event);
}
