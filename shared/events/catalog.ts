import type { z } from 'zod';
import { MAX_EVENT_BYTES, canonicalParsedEventJson, isWriterOf, parseEnvelope, type EventEnvelope } from './envelope';
import { upcasterFor } from './upcasters';
import { MENU_ITEM_AGGREGATE, MenuItemAvailabilitySetV1, MenuItemChangedV1, MenuItemDefinedV1, MenuItemDefinedV2, MenuItemRepricedV1, MenuItemRetiredV1, MenuItemTaxSetV1 } from '../domain/menu-events';
import { TABLE_AGGREGATE, TableDefinedV1, TableDefinedV2, TableRetiredV1 } from '../domain/table-events';
import { LOCATION_AGGREGATE, LocationDetailsSetV1 } from '../domain/location-events';
import {
  TICKET_AGGREGATE,
  TicketClosedV1,
  TicketDiscountSetV1,
  TicketItemAddedV1,
  TicketItemAddedV2,
  TicketItemAddedV3,
  TicketItemRemovedV1,
  TicketKitchenItemBumpedV1,
  TicketKitchenItemBumpedV2,
  TicketKitchenItemBumpedV3,
  TicketLineCompedV1,
  TicketLineHeldV1,
  TicketRefundedV1,
  TicketRefundedV2,
  TicketNoteSetV1,
  TicketOpenedV1,
  TicketPaymentRecordedV1,
  TicketPaymentRecordedV2,
  TicketPaymentRecordedV3,
  TicketQuantityChangedV1,
  TicketSentToKitchenV1,
  TicketTableAssignedV1,
  TicketTableAssignedV2,
  TicketCoversSetV1,
  TicketVoidedV1,
} from '../domain/ticket-events';
import { SaleRecordedV1, SaleRecordedV2 } from '../domain/sale-events';
import { ConflictResolvedV1, ConflictResolvedV2 } from '../domain/conflict-events';

/**
 * The event catalog: every (type, v) this build understands, with its zod schema and the
 * aggregate type it belongs to. Adding a version: add its schema here and the upcaster from
 * the previous version in upcasters.ts (the [EVT2] tests in tests/unit/event-catalog.test.ts check
 * that every non-current version has one). Nothing to bump: a new version or type changes the
 * projection checkpoints' fingerprint (foldFingerprint in location-projection.ts), so the
 * first open of the new build refolds the log, applying what older builds held as
 * needs_update. FOLD_SNAPSHOT_VERSION is bumped only when the fold's own logic changes.
 */
interface CatalogEntry {
  readonly aggregateType: string | '*';
  readonly versions: Readonly<Record<number, z.ZodType>>;
  /**
   * The oldest version a new event is written at when its payload fits it, where the later
   * versions only added optional fields or made fields optional: a build that knows only that version still folds
   * it (a v2 it would keep as needs_update, out of its fold: a payment it cannot see).
   */
  readonly writtenFrom?: number;
}

export const EVENT_CATALOG = {
  // v2 added the tax rate: an item without one is still written as v1.
  'menu.item_defined': { aggregateType: MENU_ITEM_AGGREGATE, versions: { 1: MenuItemDefinedV1, 2: MenuItemDefinedV2 }, writtenFrom: 1 },
  // Only the name, category or station changed (EVT19): a rename writes no price back.
  'menu.item_changed': { aggregateType: MENU_ITEM_AGGREGATE, versions: { 1: MenuItemChangedV1 } },
  'menu.item_repriced': { aggregateType: MENU_ITEM_AGGREGATE, versions: { 1: MenuItemRepricedV1 } },
  'menu.item_retired': { aggregateType: MENU_ITEM_AGGREGATE, versions: { 1: MenuItemRetiredV1 } },
  'menu.item_tax_set': { aggregateType: MENU_ITEM_AGGREGATE, versions: { 1: MenuItemTaxSetV1 } },
  'menu.item_availability_set': { aggregateType: MENU_ITEM_AGGREGATE, versions: { 1: MenuItemAvailabilitySetV1 } },
  // v2 lets a change carry one field: a full definition is still written as v1.
  'table.defined': { aggregateType: TABLE_AGGREGATE, versions: { 1: TableDefinedV1, 2: TableDefinedV2 }, writtenFrom: 1 },
  'table.retired': { aggregateType: TABLE_AGGREGATE, versions: { 1: TableRetiredV1 } },
  'location.details_set': { aggregateType: LOCATION_AGGREGATE, versions: { 1: LocationDetailsSetV1 } },
  'ticket.opened': { aggregateType: TICKET_AGGREGATE, versions: { 1: TicketOpenedV1 } },
  // v3 added the line's tax rate: a line without one is still written as v2 (v1 had no line id).
  'ticket.item_added': { aggregateType: TICKET_AGGREGATE, versions: { 1: TicketItemAddedV1, 2: TicketItemAddedV2, 3: TicketItemAddedV3 }, writtenFrom: 2 },
  'ticket.item_removed': { aggregateType: TICKET_AGGREGATE, versions: { 1: TicketItemRemovedV1 } },
  'ticket.quantity_changed': { aggregateType: TICKET_AGGREGATE, versions: { 1: TicketQuantityChangedV1 } },
  'ticket.note_set': { aggregateType: TICKET_AGGREGATE, versions: { 1: TicketNoteSetV1 } },
  'ticket.table_assigned': { aggregateType: TICKET_AGGREGATE, versions: { 1: TicketTableAssignedV1, 2: TicketTableAssignedV2 }, writtenFrom: 1 },
  'ticket.covers_set': { aggregateType: TICKET_AGGREGATE, versions: { 1: TicketCoversSetV1 } },
  'ticket.sent_to_kitchen': { aggregateType: TICKET_AGGREGATE, versions: { 1: TicketSentToKitchenV1 } },
  // v2 added how many the kitchen made, v3 whether its card showed the line stopped (voided, cancelled).
  'ticket.kitchen_item_bumped': { aggregateType: TICKET_AGGREGATE, versions: { 1: TicketKitchenItemBumpedV1, 2: TicketKitchenItemBumpedV2, 3: TicketKitchenItemBumpedV3 }, writtenFrom: 1 },
  // v2 added the card tip: a payment without one is still written as v1.
  'ticket.payment_recorded': { aggregateType: TICKET_AGGREGATE, versions: { 1: TicketPaymentRecordedV1, 2: TicketPaymentRecordedV2, 3: TicketPaymentRecordedV3 }, writtenFrom: 1 },
  'ticket.closed': { aggregateType: TICKET_AGGREGATE, versions: { 1: TicketClosedV1 } },
  'ticket.voided': { aggregateType: TICKET_AGGREGATE, versions: { 1: TicketVoidedV1 } },
  'ticket.line_comped': { aggregateType: TICKET_AGGREGATE, versions: { 1: TicketLineCompedV1 } },
  'ticket.line_held': { aggregateType: TICKET_AGGREGATE, versions: { 1: TicketLineHeldV1 } },
  // v2 added the line a refund is for: a refund for the whole ticket is still written as v1.
  'ticket.refunded': { aggregateType: TICKET_AGGREGATE, versions: { 1: TicketRefundedV1, 2: TicketRefundedV2 }, writtenFrom: 1 },
  'ticket.discount_set': { aggregateType: TICKET_AGGREGATE, versions: { 1: TicketDiscountSetV1 } },
  // v2 added the close a sale after a reopening records: a first sale is still written as v1.
  'sale.recorded': { aggregateType: TICKET_AGGREGATE, versions: { 1: SaleRecordedV1, 2: SaleRecordedV2 }, writtenFrom: 1 },
  // A resolution is written on the aggregate whose conflict it settles, whatever its type.
  // v2 lets a hand-back name the refunds its card carried: one without is still written as v1.
  'conflict.resolved': { aggregateType: '*', versions: { 1: ConflictResolvedV1, 2: ConflictResolvedV2 }, writtenFrom: 1 },
} as const satisfies Record<string, CatalogEntry>;

export type EventType = keyof typeof EVENT_CATALOG;

/**
 * What only a manager (or admin) may write (CMD2): voids, comps, refunds, discounts, conflict resolutions, the
 * menu itself (items, their names, categories and stations, prices, tax rates, retirement), the tables and the location's receipt details. Marking an item sold out
 * is anyone's: the kitchen does.
 */
export const MANAGER_EVENT_TYPES: ReadonlySet<string> = new Set<EventType>([
  'ticket.voided',
  'ticket.line_comped',
  'ticket.refunded',
  'ticket.discount_set',
  'conflict.resolved',
  'menu.item_defined',
  'menu.item_changed',
  'menu.item_repriced',
  'menu.item_retired',
  'menu.item_tax_set',
  'location.details_set',
  'table.defined',
  'table.retired',
]);

/**
 * CMD2 at the server: a terminal token may not write a manager's event of its own writer (the
 * app offers those to managers only; this is the server saying so). Other writers' events it
 * carries on their behalf (SYN5: a manager's void synced through a till) are theirs, and pass.
 */
export function refusedToTerminal(writer: { role: string; terminal: string | null }, event: { type: string; origin: { terminal: string } }): boolean {
  return writer.role === 'terminal' && writer.terminal !== null && MANAGER_EVENT_TYPES.has(event.type) && isWriterOf(event.origin.terminal, writer.terminal);
}

export const EVENT_TYPES = Object.keys(EVENT_CATALOG).sort() as EventType[];

/** The version this build writes, per type: the highest it knows. */
export const CURRENT_VERSIONS: Readonly<Record<EventType, number>> = Object.fromEntries(
  EVENT_TYPES.map((t) => [t, Math.max(...Object.keys(EVENT_CATALOG[t].versions).map(Number))]),
) as Record<EventType, number>;

/** Payloads at the current version, for reducers that trust decodeEvent's output. */
export interface EventPayloads {
  'menu.item_defined': z.infer<typeof MenuItemDefinedV2>;
  'menu.item_changed': z.infer<typeof MenuItemChangedV1>;
  'menu.item_repriced': z.infer<typeof MenuItemRepricedV1>;
  'menu.item_retired': z.infer<typeof MenuItemRetiredV1>;
  'menu.item_tax_set': z.infer<typeof MenuItemTaxSetV1>;
  'menu.item_availability_set': z.infer<typeof MenuItemAvailabilitySetV1>;
  'table.defined': z.infer<typeof TableDefinedV2>;
  'table.retired': z.infer<typeof TableRetiredV1>;
  'location.details_set': z.infer<typeof LocationDetailsSetV1>;
  'ticket.opened': z.infer<typeof TicketOpenedV1>;
  'ticket.item_added': z.infer<typeof TicketItemAddedV3>;
  'ticket.item_removed': z.infer<typeof TicketItemRemovedV1>;
  'ticket.quantity_changed': z.infer<typeof TicketQuantityChangedV1>;
  'ticket.note_set': z.infer<typeof TicketNoteSetV1>;
  'ticket.table_assigned': z.infer<typeof TicketTableAssignedV2>;
  'ticket.covers_set': z.infer<typeof TicketCoversSetV1>;
  'ticket.sent_to_kitchen': z.infer<typeof TicketSentToKitchenV1>;
  'ticket.kitchen_item_bumped': z.infer<typeof TicketKitchenItemBumpedV3>;
  'ticket.payment_recorded': z.infer<typeof TicketPaymentRecordedV3>;
  'ticket.closed': z.infer<typeof TicketClosedV1>;
  'ticket.voided': z.infer<typeof TicketVoidedV1>;
  'ticket.line_comped': z.infer<typeof TicketLineCompedV1>;
  'ticket.line_held': z.infer<typeof TicketLineHeldV1>;
  'ticket.refunded': z.infer<typeof TicketRefundedV2>;
  'ticket.discount_set': z.infer<typeof TicketDiscountSetV1>;
  'sale.recorded': z.infer<typeof SaleRecordedV2>;
  'conflict.resolved': z.infer<typeof ConflictResolvedV2>;
}

/** An event whose payload decodeEvent has upcast and validated at the current version. */
export type DecodedEvent<T extends EventType = EventType> = {
  [K in T]: Omit<EventEnvelope, 'type' | 'payload'> & { type: K; payload: EventPayloads[K] };
}[T];

export function isKnownType(type: string): type is EventType {
  return Object.prototype.hasOwnProperty.call(EVENT_CATALOG, type);
}

/** The aggregate type an event type belongs to ('*' = any). */
export function aggregateTypeOf(type: EventType): string {
  return EVENT_CATALOG[type].aggregateType;
}

export interface ValidationIssue {
  path: string;
  message: string;
}

/**
 * A rejected event or payload. `field` names the first offending field as a dotted path
 * from the event ('payload.quantity', 'v', 'type', 'aggregate.id'), so a UI or a server
 * answer can point at it; the message repeats it for logs.
 */
export class EventValidationError extends Error {
  override readonly name = 'EventValidationError';
  readonly field: string;
  readonly issues: { path: string; message: string }[];

  constructor(context: string, issues: ValidationIssue[]) {
    const first = issues[0] ?? { path: 'event', message: 'invalid' };
    // 'event: event: …' when the whole event is at fault: say the context once.
    super(first.path === context ? `${context}: ${first.message}` : `${context}: ${first.path}: ${first.message}`);
    this.field = first.path;
    this.issues = issues;
  }
}

/** zod issues → dotted field paths under `prefix` (unrecognised keys name the key itself). */
function toIssues(error: z.ZodError, prefix: string): ValidationIssue[] {
  const out: ValidationIssue[] = [];
  for (const issue of error.issues) {
    const segments = issue.path.map(String);
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) out.push({ path: join(prefix, [...segments, key]), message: 'Unrecognized key' });
    } else {
      out.push({ path: join(prefix, segments), message: issue.message });
    }
  }
  return out;
}

function join(prefix: string, segments: string[]): string {
  return [prefix, ...segments].filter((s) => s !== '').join('.') || 'event';
}

/**
 * Payload objects that passed validation at their type's current version, by type. The
 * parsed payload is a fresh object that nothing mutates (events are immutable), so folding
 * an event that carries one needs no second check: a terminal's own appends, and the
 * server's accepted uploads, are validated once instead of again by the projection.
 */
const validCurrent = new WeakMap<object, EventType>();

/**
 * Of those, the ones validatePayload wrote at an older version they fit (writtenFrom), with
 * that version: an event carrying one is folded without a second check only at that version.
 */
const writtenAt = new WeakMap<object, number>();

function validateAt(type: EventType, v: number, payload: unknown): unknown {
  // Callers have checked `type` is known, so the catalog entry exists.
  const schema = (EVENT_CATALOG[type].versions as Readonly<Record<number, z.ZodType>>)[v];
  if (!schema) throw new EventValidationError(`${type} v${v}`, [{ path: 'v', message: `unknown version ${v}` }]);
  const r = schema.safeParse(payload);
  if (!r.success) throw new EventValidationError(`${type} v${v}`, toIssues(r.error, 'payload'));
  if (v === CURRENT_VERSIONS[type] && typeof r.data === 'object' && r.data !== null) validCurrent.set(r.data, type);
  return r.data;
}

/**
 * For WRITING a new event: validates the payload at the current version of `type` and
 * returns the version to write (the current one, or the oldest that fits: `writtenFrom`)
 * with the parsed payload. Throws EventValidationError.
 */
export function validatePayload(type: string, payload: unknown): { v: number; payload: unknown } {
  if (!isKnownType(type)) {
    throw new EventValidationError(type, [{ path: 'type', message: `unknown event type "${type}"` }]);
  }
  const current = CURRENT_VERSIONS[type];
  const valid = validateAt(type, current, payload);
  const entry: CatalogEntry = EVENT_CATALOG[type];
  const versions = entry.versions;
  for (let v = entry.writtenFrom ?? current; v < current; v++) {
    const older = versions[v];
    if (older !== undefined && fitsOlder(older, valid)) {
      if (typeof valid === 'object' && valid !== null) writtenAt.set(valid, v);
      return { v, payload: valid };
    }
  }
  return { v: current, payload: valid };
}

/** The keys each older version's object schema has, and those of them it requires (see fitsOlder). */
const olderKeys = new WeakMap<z.ZodType, { keys: ReadonlySet<string>; required: readonly string[] } | null>();

/**
 * Whether a payload valid at the current version fits an older one from `writtenFrom` on. The
 * later versions only added optional fields or made fields optional, so it does exactly when
 * it has no key the older one lacks and every key the older one requires: a key check, not a
 * second zod parse on every append (a schema that is not an object is parsed).
 */
function fitsOlder(schema: z.ZodType, payload: unknown): boolean {
  let known = olderKeys.get(schema);
  if (known === undefined) {
    const shape = (schema as { shape?: Record<string, z.ZodType> }).shape;
    known = shape === undefined ? null : { keys: new Set(Object.keys(shape)), required: Object.keys(shape).filter((k) => !shape[k]!.safeParse(undefined).success) };
    olderKeys.set(schema, known);
  }
  if (known === null || typeof payload !== 'object' || payload === null) return schema.safeParse(payload).success;
  // A key holding undefined is absent: JSON drops it.
  const fields = payload as Record<string, unknown>;
  for (const key of Object.keys(payload)) if (fields[key] !== undefined && !known.keys.has(key)) return false;
  for (const key of known.required) if (fields[key] === undefined) return false;
  return true;
}

export type DecodeResult =
  | { status: 'ok'; event: EventEnvelope /* payload upcast to current version, v = current */ }
  | { status: 'needs_update'; event: EventEnvelope; reason: string /* v newer than this build knows */ }
  | { status: 'unknown_type'; event: EventEnvelope }
  | { status: 'invalid'; event: EventEnvelope; error: EventValidationError };

/**
 * For READING: validates the payload at its own version, upcasts it step by step to the
 * current version and validates again. A version newer than this build, or a type it
 * does not know, is reported (not thrown): terminals keep and sync such events untouched.
 */
export function decodeEvent(e: EventEnvelope): DecodeResult {
  if (!isKnownType(e.type)) return { status: 'unknown_type', event: e };
  const current = CURRENT_VERSIONS[e.type];
  if (e.v > current) {
    return { status: 'needs_update', event: e, reason: `${e.type} v${e.v} is newer than this build (v${current})` };
  }
  if (typeof e.payload === 'object' && e.payload !== null && validCurrent.get(e.payload) === e.type) {
    if (e.v === current) return { status: 'ok', event: e };
    // Written at the older version it fits (writtenFrom: the later ones only added optional
    // fields, their upcasters change nothing, tested): the same payload, valid at the current one.
    if (writtenAt.get(e.payload) === e.v) return { status: 'ok', event: { ...e, v: current } };
  }
  try {
    let payload = validateAt(e.type, e.v, e.payload);
    for (let v = e.v; v < current; v++) {
      const up = upcasterFor(e.type, v);
      if (!up) throw new EventValidationError(`${e.type} v${v}`, [{ path: 'v', message: `no upcaster from v${v}` }]);
      payload = validateAt(e.type, v + 1, up(payload, e));
    }
    return { status: 'ok', event: { ...e, v: current, payload } };
  } catch (err) {
    if (err instanceof EventValidationError) return { status: 'invalid', event: e, error: err };
    throw err;
  }
}

/**
 * For the server's REST edge: the whole event must be valid as written. Unlike
 * decodeEvent, an unknown type or a future version is rejected: the server refuses what
 * it cannot validate (the terminal that wrote it keeps it and retries after an upgrade).
 */
export function checkIncomingEvent(
  raw: unknown,
): { ok: true; event: EventEnvelope } | { ok: false; error: EventValidationError } {
  const checked = checkIncomingEventJson(raw);
  return checked.ok ? { ok: true, event: checked.event } : checked;
}

/**
 * checkIncomingEvent, also returning the event's canonical JSON (canonicalEventJson), which
 * the size check needs anyway: the server stores exactly that string, so it is built once.
 */
export function checkIncomingEventJson(
  raw: unknown,
): { ok: true; event: EventEnvelope; canonical: string } | { ok: false; error: EventValidationError } {
  const env = parseEnvelope(raw);
  if (!env.success) return { ok: false, error: new EventValidationError('event', toIssues(env.error, '')) };
  const e = env.data;
  try {
    const prototypeKey = envelopePrototypeKey(raw as Record<string, unknown>);
    if (prototypeKey !== null) {
      throw new EventValidationError(`event ${e.id}`, [{ path: prototypeKey, message: 'a prototype key is not an event field' }]);
    }
    if (!isKnownType(e.type)) {
      throw new EventValidationError(`event ${e.id}`, [{ path: 'type', message: `unknown event type "${e.type}"` }]);
    }
    const current = CURRENT_VERSIONS[e.type];
    if (e.v > current) {
      throw new EventValidationError(`${e.type} v${e.v}`, [{ path: 'v', message: `newer than this server knows (v${current})` }]);
    }
    const aggType = aggregateTypeOf(e.type);
    if (aggType !== '*' && e.aggregate.type !== aggType) {
      throw new EventValidationError(`${e.type} v${e.v}`, [
        { path: 'aggregate.type', message: `expected "${aggType}", got "${e.aggregate.type}"` },
      ]);
    }
    validateAt(e.type, e.v, e.payload);
    // The canonical JSON has the same members as JSON.stringify(e), only sorted: same length.
    // (`e` is the envelope schema's output, which canonicalParsedEventJson requires.)
    const canonical = canonicalParsedEventJson(e);
    if (utf8LengthExceeds(canonical, MAX_EVENT_BYTES)) {
      throw new EventValidationError(`${e.type} v${e.v}`, [{ path: 'payload', message: `event exceeds ${MAX_EVENT_BYTES} bytes` }]);
    }
    // The payload is returned as written (not the parsed copy): a fact's bytes never change.
    return { ok: true, event: e, canonical };
  } catch (err) {
    if (err instanceof EventValidationError) return { ok: false, error: err };
    throw err;
  }
}

/**
 * Members that, copied by assignment (`out[key] = …`, as sortKeys and object merges do), set a
 * prototype instead of a field. JSON.parse makes them plain own keys; an event carrying one is
 * refused, not stored stripped of it. The envelope's unknown keys would be dropped silently, so
 * its objects are looked at here; the payload's schemas are strict and refuse them as unknown.
 */
const PROTOTYPE_KEYS = ['__proto__', 'constructor'] as const;

/** The dotted field of the first prototype key on the envelope, its aggregate or its origin; null if none. */
function envelopePrototypeKey(raw: Record<string, unknown>): string | null {
  for (const [prefix, obj] of [['', raw], ['aggregate.', raw.aggregate], ['origin.', raw.origin]] as const) {
    for (const key of PROTOTYPE_KEYS) if (Object.hasOwn(obj as object, key)) return `${prefix}${key}`;
  }
  return null;
}

const utf8 = new TextEncoder();

/**
 * Whether `text` takes more than `max` bytes as UTF-8, without encoding it in the common
 * cases (encoding every event was ~4 µs, more than validating it): each UTF-16 unit is
 * 1 to 3 bytes (a surrogate pair, 2 units, is 4), so length > max means too long and
 * 3 × length <= max means short enough; only in between is it encoded.
 */
function utf8LengthExceeds(text: string, max: number): boolean {
  if (text.length > max) return true;
  if (text.length * 3 <= max) return false;
  return utf8.encode(text).length > max;
}
