import { checkIncomingEventJson } from '../../shared/events/catalog';
import type { EventResult, Watermarks } from '../../shared/protocol/rest-events';
import type { EventStore, ValidEvent } from '../store/event-store';

/**
 * A side effect of a committed batch: the room bridge, the server projection. Hooks run in
 * order after the store transaction committed, with the events accepted by it (never
 * duplicates: those were handled the first time).
 */
export interface IngestHook {
  readonly name: string;
  afterIngest(batch: IngestedBatch): Promise<void> | void;
  /** Finishes deferred work (graceful shutdown). */
  flush?(): Promise<void>;
}

export interface IngestedBatch {
  location: string;
  accepted: readonly ValidEvent[];
  watermarks: Watermarks;
  /** The terminal whose token posted the batch (null for manager/admin tokens without one). */
  uploader: string | null;
}

export interface IngestResult {
  results: EventResult[];
  watermarks: Watermarks;
  accepted: number;
  duplicates: number;
  rejected: number;
}

export interface IngestLog {
  error(obj: object, msg: string): void;
}

/**
 * Splits a raw batch into valid events and per-event rejections. Pure.
 * Invariants: one result slot per input, in input order; a slot is either a valid event
 * (to be stored) or a rejection naming the event (id, or `#index` without one) and field.
 */
export function classifyBatch(raws: readonly unknown[]): Array<ValidEvent | EventResult> {
  return raws.map((raw, index) => {
    const checked = checkIncomingEventJson(raw);
    if (checked.ok) return { event: checked.event, canonical: checked.canonical };
    return {
      id: idOf(raw) ?? `#${index}`,
      status: 'rejected',
      reason: checked.error.message,
      field: checked.error.field,
    } satisfies EventResult;
  });
}

export class IngestService {
  constructor(
    private readonly store: EventStore,
    private readonly hooks: readonly IngestHook[],
    private readonly log: IngestLog,
    private readonly now: () => number = Date.now,
  ) {}

  /** Lets every hook finish deferred work (graceful shutdown). */
  async flush(): Promise<void> {
    for (const hook of this.hooks) await hook.flush?.();
  }

  async ingest(location: string, raws: readonly unknown[], uploader: string | null = null): Promise<IngestResult> {
    const slots = classifyBatch(raws);
    const valid = slots.filter(isValid);
    const appended = await this.store.appendBatch(location, valid, this.now());
    const accepted: ValidEvent[] = [];
    let next = 0;
    const results = slots.map((slot): EventResult => {
      if (!isValid(slot)) return slot;
      const outcome = appended.outcomes[next]!;
      const source = valid[next]!;
      next += 1;
      switch (outcome.status) {
        case 'accepted':
          accepted.push(source);
          return { id: outcome.id, status: 'accepted' };
        case 'duplicate':
          return { id: outcome.id, status: 'duplicate' };
        case 'rejected':
          return { id: outcome.id, status: 'rejected', reason: outcome.reason, field: outcome.field };
        default: {
          const never: never = outcome;
          throw new Error(`unexpected outcome ${JSON.stringify(never)}`);
        }
      }
    });
    for (const hook of this.hooks) {
      try {
        await hook.afterIngest({ location, accepted, watermarks: appended.watermarks, uploader });
      } catch (err) {
        // The batch is committed: the canonical store is the truth, a failed side effect is logged.
        this.log.error({ hook: hook.name, location, err: String(err) }, 'after-ingest hook failed');
      }
    }
    const count = (s: EventResult['status']): number => results.filter((r) => r.status === s).length;
    return {
      results,
      watermarks: appended.watermarks,
      accepted: accepted.length,
      duplicates: count('duplicate'),
      rejected: count('rejected'),
    };
  }
}

function isValid(slot: ValidEvent | EventResult): slot is ValidEvent {
  return 'canonical' in slot;
}

function idOf(raw: unknown): string | undefined {
  if (raw === null || typeof raw !== 'object') return undefined;
  const id = (raw as { id?: unknown }).id;
  return typeof id === 'string' && id.length > 0 && id.length <= 64 ? id : undefined;
}

