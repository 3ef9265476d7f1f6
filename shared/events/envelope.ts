import { z } from 'zod';
import { EVENT_ID_PATTERN } from './event-id';

/**
 * The event envelope (docs/SPEC.md, EVT1–EVT4).
 * Events are facts: once written they are never edited. The payload is validated
 * separately by the schema of its (type, v) in the catalog, so that an event of a
 * version this build does not know is still a valid envelope: kept and synced untouched.
 */
const TERMINAL_PATTERN = /^[A-Za-z0-9._:-]+$/;
const TYPE_PATTERN = /^[a-z][a-z_]*(\.[a-z][a-z_]*)+$/;

/** The writer id the server uses for events it writes into rooms itself; never a terminal's. */
export const SERVER_WRITER = 'server';

/**
 * Whether events with this origin.terminal were written by `terminal`: its own id, or one of
 * its writers (`${terminal}.2` for a second tab, `${terminal}.r…` for a re-paired device).
 */
export function isWriterOf(writer: string, terminal: string): boolean {
  return writer === terminal || writer.startsWith(`${terminal}.`);
}

export const TerminalId = z
  .string()
  .min(1)
  .max(64)
  .regex(TERMINAL_PATTERN, 'terminal ids use letters, digits and . _ : -');

export const AggregateRef = z.object({
  id: z.string().min(1).max(128),
  type: z.string().min(1).max(64),
});
export type AggregateRef = z.infer<typeof AggregateRef>;

/** Who on the staff wrote an event (signed in on the terminal); the terminal is the device. */
export const StaffName = z.string().min(1).max(64);

/**
 * Upper bounds of the counters and the clock, far above any real value (2^31 events on one
 * aggregate, 2^40 of one writer, the year 6429) and far below 2^53: the next seq, n or stamp
 * (+1) is always an exact integer. At 2^53 a +1 is lost and the clock stops increasing.
 */
export const MAX_SEQ = 2 ** 31 - 1;
export const MAX_ORIGIN_N = 2 ** 40;
export const MAX_AT = 2 ** 47;

export const EventOrigin = z.object({
  terminal: TerminalId,
  n: z.number().int().positive().max(MAX_ORIGIN_N),
  staff: StaffName.optional(),
});
export type EventOrigin = z.infer<typeof EventOrigin>;

export const EventEnvelope = z.object({
  id: z.string().regex(EVENT_ID_PATTERN, 'id must be a UUIDv7'),
  seq: z.number().int().positive().max(MAX_SEQ),
  at: z.number().int().nonnegative().max(MAX_AT),
  type: z
    .string()
    .min(1)
    .max(64)
    .regex(TYPE_PATTERN, 'type is dotted lower_snake, e.g. ticket.opened'),
  v: z.number().int().positive(),
  aggregate: AggregateRef,
  origin: EventOrigin,
  key: z.string().min(1).max(200).optional(),
  payload: z.unknown(),
});
export type EventEnvelope = z.infer<typeof EventEnvelope>;

/**
 * Parses an envelope at an edge (REST body, stored entry, relayed entry). Same result as
 * `EventEnvelope.safeParse`, faster for the ordinary case: see plainValidEnvelope.
 */
export function parseEnvelope(raw: unknown): z.ZodSafeParseResult<EventEnvelope> {
  const plain = plainValidEnvelope(raw);
  return plain !== null ? { success: true, data: plain } : EventEnvelope.safeParse(raw);
}


type Plain = Record<string, unknown>;
const isPlain = (x: unknown): x is Plain => typeof x === 'object' && x !== null && !Array.isArray(x);
const isPositiveInt = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) > 0;
const isString = (x: unknown, min: number, max: number): x is string =>
  typeof x === 'string' && x.length >= min && x.length <= max;

/**
 * The envelope as EventEnvelope.parse would return it, when `raw` is plainly valid (the
 * case of every event a terminal writes); null for anything else, which then goes through
 * zod, so every rejection and its message stay zod's. It only ever accepts what the schema
 * accepts, and builds the same object (schema key order, unknown keys dropped, `key` /
 * `staff` only when given). zod's generic object parse was ~1.5 µs of the ~5 µs an event
 * took to check.
 */
function plainValidEnvelope(raw: unknown): EventEnvelope | null {
  if (!isPlain(raw)) return null;
  const { id, seq, at, type, v, aggregate, origin, key, payload } = raw;
  if (typeof id !== 'string' || !EVENT_ID_PATTERN.test(id)) return null;
  if (!isPositiveInt(seq) || seq > MAX_SEQ || !Number.isSafeInteger(at) || (at as number) < 0 || (at as number) > MAX_AT || !isPositiveInt(v)) return null;
  if (!isString(type, 1, 64) || !TYPE_PATTERN.test(type)) return null;
  if (!isPlain(aggregate) || !isString(aggregate.id, 1, 128) || !isString(aggregate.type, 1, 64)) return null;
  if (!isPlain(origin) || !isString(origin.terminal, 1, 64) || !TERMINAL_PATTERN.test(origin.terminal)) return null;
  if (!isPositiveInt(origin.n) || origin.n > MAX_ORIGIN_N) return null;
  // Present-but-undefined members and a missing payload are left to zod (never from JSON).
  if ('staff' in origin && !isString(origin.staff, 1, 64)) return null;
  if ('key' in raw && !isString(key, 1, 200)) return null;
  if (payload === undefined) return null;
  const ref = { id: aggregate.id, type: aggregate.type };
  const from = 'staff' in origin ? { terminal: origin.terminal, n: origin.n, staff: origin.staff as string } : { terminal: origin.terminal, n: origin.n };
  // Schema key order (id … origin, key, payload): JSON.stringify of the result is what zod's gives.
  return 'key' in raw
    ? { id, seq, at: at as number, type, v, aggregate: ref, origin: from, key: key as string, payload }
    : { id, seq, at: at as number, type, v, aggregate: ref, origin: from, payload };
}

/** Largest serialized event the system accepts anywhere (bytes of JSON). */
export const MAX_EVENT_BYTES = 16 * 1024;

/**
 * The one total order every replica uses inside an aggregate: (seq, at, origin.terminal, id).
 * Same events in, same order out, whatever order the CRDT delivered them in.
 */
export function compareEvents(a: EventEnvelope, b: EventEnvelope): number {
  return (
    a.seq - b.seq ||
    a.at - b.at ||
    (a.origin.terminal < b.origin.terminal ? -1 : a.origin.terminal > b.origin.terminal ? 1 : 0) ||
    (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
  );
}

/**
 * Canonical JSON of an event: object keys sorted, undefined fields dropped, so equal
 * events have equal bytes. The server compares these bytes to tell a duplicate from a
 * conflicting reuse of an id.
 */
export function canonicalEventJson(e: EventEnvelope): string {
  return canonicalJson(e);
}

/**
 * canonicalEventJson of an envelope as EventEnvelope.parse returns it (the schema's keys
 * only, unknown ones stripped): the same bytes, built without sorting the fixed envelope
 * and its aggregate and origin (their keys are written here in sorted order; undefined
 * `key` / `staff` are dropped by JSON.stringify as canonicalJson drops them). Only the
 * payload, whose keys are the event type's, is sorted generically. About half the cost.
 */
export function canonicalParsedEventJson(e: EventEnvelope): string {
  return JSON.stringify({
    aggregate: { id: e.aggregate.id, type: e.aggregate.type },
    at: e.at,
    id: e.id,
    key: e.key,
    origin: { n: e.origin.n, staff: e.origin.staff, terminal: e.origin.terminal },
    payload: sortKeys(e.payload),
    seq: e.seq,
    type: e.type,
    v: e.v,
  });
}

/** JSON with object keys sorted recursively (arrays keep their order). */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[k];
      if (v !== undefined) out[k] = sortKeys(v);
    }
    return out;
  }
  return value;
}
