import { CURRENT_VERSIONS, checkIncomingEventJson, isKnownType, refusedToTerminal } from '../../shared/events/catalog';
import { SERVER_WRITER, canonicalJson, isWriterOf, parseEnvelope, type EventEnvelope } from '../../shared/events/envelope';
import type { Role } from '../../shared/protocol/token-claims';
import { NEWER_THAN_SERVER, type EventResult, type StoredAbove, type Watermarks } from '../../shared/protocol/rest-events';
import type { CanonicalLog, ValidEvent } from '../store/canonical-log';

/**
 * A side effect of a committed batch (the room bridge). Hooks run in
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
  storedAbove: StoredAbove;
  /** The terminal whose token posted the batch (null for manager/admin tokens without one). */
  uploader: string | null;
}

export interface IngestResult {
  results: EventResult[];
  watermarks: Watermarks;
  storedAbove: StoredAbove;
  accepted: number;
  duplicates: number;
  rejected: number;
}

/** Who posted a batch: the token's terminal (null for manager/admin tokens without one) and role. */
export interface Uploader {
  terminal: string | null;
  role: Role;
}

/** Raw events and who sent them (null: the server itself, e.g. the demo seed). */
export interface UploadBatch {
  raws: readonly unknown[];
  uploader: Uploader | null;
}

export interface IngestLog {
  error(obj: object, msg: string): void;
}

/**
 * Splits a raw batch into valid events and per-event answers. Pure.
 * Invariants: one result slot per input, in input order; a slot is either a valid event
 * (to be stored) or an answer naming the event (id, or `#index` without one): a rejection
 * with its field, or `duplicate` for an event identical to the one stored under its id
 * (`stored`: canonical JSON by id). That one is answered as it stands, unchecked: it was
 * checked when it was stored, and an outbox retries by re-sending whole batches.
 */
export function classifyBatch(raws: readonly unknown[], stored: ReadonlyMap<string, string> = new Map()): Array<ValidEvent | EventResult> {
  return raws.map((raw, index) => {
    const id = idOf(raw);
    if (id !== undefined && sameAsStored(raw, stored.get(id))) return { id, status: 'duplicate' } satisfies EventResult;
    const checked = checkIncomingEventJson(raw);
    if (checked.ok) return { event: checked.event, canonical: checked.canonical };
    return {
      id: id ?? `#${index}`,
      status: 'rejected',
      reason: checked.error.message,
      field: checked.error.field,
      ...(newerThanServer(raw, checked.error.field) ? { code: NEWER_THAN_SERVER } : {}),
    } satisfies EventResult;
  });
}

/** A well-formed event refused for its type or version, newer than this build knows (see NEWER_THAN_SERVER). */
function newerThanServer(raw: unknown, field: string): boolean {
  if (field !== 'type' && field !== 'v') return false;
  const env = parseEnvelope(raw);
  if (!env.success) return false;
  return !isKnownType(env.data.type) || env.data.v > CURRENT_VERSIONS[env.data.type];
}

function sameAsStored(raw: unknown, stored: string | undefined): boolean {
  if (stored === undefined) return false;
  try {
    return canonicalJson(raw) === stored;
  } catch {
    // Nested too deep to sort: not what was stored; the full check answers it.
    return false;
  }
}

export class IngestService {
  constructor(
    private readonly store: CanonicalLog,
    private readonly hooks: readonly IngestHook[],
    private readonly log: IngestLog,
    private readonly now: () => number = Date.now,
  ) {}

  /** Lets every hook finish deferred work (graceful shutdown). */
  async flush(): Promise<void> {
    for (const hook of this.hooks) await hook.flush?.();
  }

  /**
   * The stored JSON of the events of the batches being sent again (their first one is stored): a
   * first upload pays one lookup per batch, not one per event. Each batch on its own: a window may
   * hold one connection's resend behind another's fresh batch.
   */
  private async storedIfResent(location: string, batches: readonly UploadBatch[]): Promise<Map<string, string>> {
    const idsOf = batches.map(({ raws }) => raws.flatMap((raw) => idOf(raw) ?? []));
    const firsts = await this.store.storedJson(location, idsOf.flatMap((ids) => ids.slice(0, 1)));
    const resent = idsOf.filter(([first]) => first !== undefined && firsts.has(first)).flat();
    return resent.length === 0 ? firsts : this.store.storedJson(location, resent);
  }

  async ingest(location: string, raws: readonly unknown[], uploader: Uploader | null = null): Promise<IngestResult> {
    const [result] = await this.ingestEach(location, [{ raws, uploader }]);
    return result!;
  }

  /**
   * Several uploaders' batches stored in one transaction, each checked and answered as if
   * posted alone (one result per batch, in order; hooks run per batch). The relay ingest's
   * window holds one batch per connection: one commit per window instead of one per
   * terminal, which at 10 terminals × 100 updates/s was a third of the relay's CPU.
   */
  async ingestEach(location: string, batches: readonly UploadBatch[]): Promise<IngestResult[]> {
    const stored = await this.storedIfResent(location, batches);
    const slotsOf = batches.map(({ raws, uploader }) =>
      classifyBatch(raws, stored).map((slot, i) => (uploader === null ? slot : refuseUnauthorized(slot, raws[i], uploader))),
    );
    const appended = await this.store.appendBatch(location, slotsOf.flatMap((slots) => slots.filter(isValid)), this.now());
    let next = 0;
    const out: IngestResult[] = [];
    for (const [b, slots] of slotsOf.entries()) {
      const accepted: ValidEvent[] = [];
      const results = slots.map((slot): EventResult => {
        if (!isValid(slot)) return slot;
        const outcome = appended.outcomes[next]!;
        next += 1;
        switch (outcome.status) {
          case 'accepted':
            accepted.push(slot);
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
      const uploader = batches[b]!.uploader?.terminal ?? null;
      for (const hook of this.hooks) {
        try {
          await hook.afterIngest({ location, accepted, watermarks: appended.watermarks, storedAbove: appended.storedAbove, uploader });
        } catch (err) {
          // The batch is committed: the canonical store is the truth, a failed side effect is logged.
          this.log.error({ hook: hook.name, location, err: String(err) }, 'after-ingest hook failed');
        }
      }
      const count = (s: EventResult['status']): number => results.filter((r) => r.status === s).length;
      out.push({
        results,
        watermarks: appended.watermarks,
        storedAbove: appended.storedAbove,
        accepted: accepted.length,
        duplicates: count('duplicate'),
        rejected: count('rejected'),
      });
    }
    return out;
  }
}

/**
 * A manager's event of a terminal token's own writer is refused (refusedToTerminal, CMD2),
 * stored already or not. A duplicate's raw event is the stored one, so it has an envelope.
 * A new event of the server's own writer (the demo seed's) is refused from every token: no
 * device writes as the server (a till posted voids as "server", which no rule then refused).
 */
function refuseUnauthorized(slot: ValidEvent | EventResult, raw: unknown, uploader: Uploader): ValidEvent | EventResult {
  if (isValid(slot) && isWriterOf(slot.event.origin.terminal, SERVER_WRITER)) {
    return { id: slot.event.id, status: 'rejected', reason: `"${SERVER_WRITER}" is the server's own writer id: no device writes as it`, field: 'origin.terminal' };
  }
  const event = isValid(slot) ? slot.event : slot.status === 'duplicate' ? (raw as EventEnvelope) : null;
  if (event === null || !refusedToTerminal(uploader, event)) return slot;
  return { id: event.id, status: 'rejected', reason: `only a manager may write ${event.type}`, field: 'type' };
}

function isValid(slot: ValidEvent | EventResult): slot is ValidEvent {
  return 'canonical' in slot;
}

function idOf(raw: unknown): string | undefined {
  if (raw === null || typeof raw !== 'object') return undefined;
  const id = (raw as { id?: unknown }).id;
  return typeof id === 'string' && id.length > 0 && id.length <= 64 ? id : undefined;
}

