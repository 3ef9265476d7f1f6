import { describe, expect, it } from 'vitest';
import { fieldOf } from '../helpers/validation';
import {
  CURRENT_VERSIONS,
  EVENT_CATALOG,
  EVENT_TYPES,
  EventValidationError,
  MANAGER_EVENT_TYPES,
  checkIncomingEvent,
  checkIncomingEventJson,
  decodeEvent,
  refusedToTerminal,
  validatePayload,
  type EventType,
} from '../../shared/events/catalog';
import { UPCASTERS } from '../../shared/events/upcasters';
import { MAX_EVENT_BYTES, canonicalEventJson, type EventEnvelope } from '../../shared/events/envelope';
import { newEventId } from '../../shared/events/event-id';

/** One valid payload per type at its current version: the whole catalog, checked by the type. */
const VALID: Record<EventType, Record<string, unknown>> = {
  'menu.item_defined': { menuItemId: 'm1', name: 'Burger', category: 'Mains', priceCents: 1250, station: 'grill' },
  'menu.item_changed': { menuItemId: 'm1', name: 'Cheeseburger', category: 'Mains', station: 'grill' },
  'menu.item_repriced': { menuItemId: 'm1', priceCents: 1300 },
  'menu.item_retired': { menuItemId: 'm1' },
  'menu.item_tax_set': { menuItemId: 'm1', taxBasisPoints: 2000 },
  'menu.item_availability_set': { menuItemId: 'm1', available: false },
  'table.defined': { tableId: 't1', label: 'T1', seats: 4 },
  'table.retired': { tableId: 't1' },
  'location.details_set': { name: 'Bistro', address: '1 Market St', taxNumber: 'GB123', receiptFooter: 'See you soon' },
  'ticket.opened': { number: 'A-001', tableId: 't1', covers: 2 },
  'ticket.item_added': { lineId: 'l1', menuItemId: 'm1', name: 'Burger', unitPriceCents: 1250, quantity: 2, note: 'no onions' },
  'ticket.item_removed': { lineId: 'l1' },
  'ticket.quantity_changed': { lineId: 'l1', quantity: 3 },
  'ticket.note_set': { note: 'birthday' },
  'ticket.table_assigned': { tableId: 't2' },
  'ticket.covers_set': { covers: 3 },
  'ticket.sent_to_kitchen': { lineIds: ['l1'] },
  'ticket.kitchen_item_bumped': { lineId: 'l1' },
  'ticket.line_held': { lineId: 'l1', held: true },
  'ticket.payment_recorded': { paymentId: 'p1', method: 'cash', amountCents: 2500, tenderedCents: 3000 },
  'ticket.closed': { totalCents: 2500 },
  'ticket.voided': { reason: 'guest left' },
  'ticket.line_comped': { lineId: 'l1', reason: 'cold, waited too long', quantity: 1 },
  'ticket.refunded': { refundId: 'r1', method: 'card', amountCents: 1250, reason: 'burger sent back' },
  'ticket.discount_set': { discount: { kind: 'percent', percent: 50, reason: 'staff meal' } },
  'sale.recorded': { ticketId: 'tk1', totalCents: 2500, paidCents: 2500, closedAt: 1000 },
  'conflict.resolved': { conflictId: 'cf-x', resolution: { kind: 'accept_total', totalCents: 100 }, note: 'ok' },
};

function envelope(over: Partial<EventEnvelope> = {}): EventEnvelope {
  return {
    id: newEventId(1_700_000_000_000),
    seq: 2,
    at: 1_700_000_000_000,
    type: 'ticket.item_added',
    v: 2,
    aggregate: { id: 'tk1', type: 'ticket' },
    origin: { terminal: 'till-1', n: 7 },
    payload: VALID['ticket.item_added'],
    ...over,
  };
}

describe('event catalog', () => {
  it('[EVT1] every valid sample passes at the current version (written at the oldest that fits where the catalog says so: EVT8)', () => {
    for (const type of EVENT_TYPES) {
      const entry = EVENT_CATALOG[type];
      expect(validatePayload(type, VALID[type]).v).toBe('writtenFrom' in entry ? entry.writtenFrom : CURRENT_VERSIONS[type]);
      expect(checkIncomingEvent({ ...envelope({ type, aggregate: { id: 'x', type: EVENT_CATALOG[type].aggregateType === '*' ? 'ticket' : EVENT_CATALOG[type].aggregateType }, v: CURRENT_VERSIONS[type] }), payload: VALID[type] }).ok).toBe(true);
    }
  });

  it('[EVT1] every field of every event type, given a wrong value, is rejected naming that field', () => {
    let cases = 0;
    for (const type of EVENT_TYPES) {
      for (const key of Object.keys(VALID[type])) {
        const bad = { ...VALID[type], [key]: { wrong: true } };
        const field = fieldOf(() => validatePayload(type, bad));
        expect(field.startsWith(`payload.${key}`), `${type} ${key} → ${field}`).toBe(true);
        cases++;
      }
    }
    expect(cases).toBeGreaterThan(35);
  });

  it('[EVT1] a missing required field, or an unknown extra one, is named', () => {
    for (const type of EVENT_TYPES) {
      const [first] = Object.keys(VALID[type]);
      const { [first!]: _dropped, ...rest } = VALID[type];
      // The receipt details carry only the fields changed: none is required (EVT12); a move
      // without a table leaves the table (EVT18).
      if (type !== 'location.details_set' && type !== 'ticket.table_assigned') expect(fieldOf(() => validatePayload(type, rest))).toBe(`payload.${first}`);
      expect(fieldOf(() => validatePayload(type, { ...VALID[type], extra: 1 }))).toBe('payload.extra');
    }
  });

  it('[EVT1] messages read "type vN: field: problem"', () => {
    const err = (() => {
      try {
        validatePayload('ticket.item_added', { ...VALID['ticket.item_added'], quantity: 0 });
      } catch (e) {
        return e as EventValidationError;
      }
    })();
    expect(err?.message).toBe('ticket.item_added v3: payload.quantity: Too small: expected number to be >0');
    expect(err?.issues[0]).toEqual({ path: 'payload.quantity', message: 'Too small: expected number to be >0' });
  });

  it('[EVT1] money is integer cents, and cross-field rules name their field', () => {
    expect(fieldOf(() => validatePayload('menu.item_repriced', { menuItemId: 'm', priceCents: 12.5 }))).toBe('payload.priceCents');
    expect(
      fieldOf(() => validatePayload('ticket.payment_recorded', { paymentId: 'p', method: 'cash', amountCents: 500, tenderedCents: 100 })),
    ).toBe('payload.tenderedCents');
    expect(
      fieldOf(() => validatePayload('ticket.payment_recorded', { paymentId: 'p', method: 'card', amountCents: 500, tenderedCents: 600 })),
    ).toBe('payload.tenderedCents');
    expect(fieldOf(() => validatePayload('conflict.resolved', { conflictId: 'c', resolution: { kind: 'shrug' } }))).toBe(
      'payload.resolution.kind',
    );
  });

  it('[EVT17] a hand-back names the refunds its card carried (conflict.resolved v2); one that names none is written as v1', () => {
    const handBack = { conflictId: 'c', resolution: { kind: 'refund_payment' } };
    expect(validatePayload('conflict.resolved', { ...handBack, refundIds: ['rf-1'] })).toEqual({ v: 2, payload: { ...handBack, refundIds: ['rf-1'] } });
    expect(validatePayload('conflict.resolved', handBack)).toEqual({ v: 1, payload: handBack });
    expect(fieldOf(() => validatePayload('conflict.resolved', { ...handBack, refundIds: 'rf-1' }))).toBe('payload.refundIds');
    const v1 = decodeEvent(envelope({ type: 'conflict.resolved', v: 1, payload: handBack }));
    expect(v1).toMatchObject({ status: 'ok', event: { v: 2, payload: handBack } });
  });

  it('[EVT8] a card payment carries a tip (v2); a tip on cash, or one that is not integer cents, names payload.tipCents', () => {
    expect(validatePayload('ticket.payment_recorded', { paymentId: 'p', method: 'card', amountCents: 1450, tipCents: 200 })).toEqual({
      v: 2,
      payload: { paymentId: 'p', method: 'card', amountCents: 1450, tipCents: 200 },
    });
    // Without a tip it is written as v1, which a build that knows only v1 still folds (a v2 it would leave out: a payment it cannot see).
    expect(validatePayload('ticket.payment_recorded', { paymentId: 'p', method: 'card', amountCents: 1450 }).v).toBe(1);
    expect(validatePayload('ticket.payment_recorded', { paymentId: 'p', method: 'cash', amountCents: 850, tenderedCents: 1000 }).v).toBe(1);
    expect(fieldOf(() => validatePayload('ticket.payment_recorded', { paymentId: 'p', method: 'cash', amountCents: 500, tipCents: 100 }))).toBe('payload.tipCents');
    expect(fieldOf(() => validatePayload('ticket.payment_recorded', { paymentId: 'p', method: 'card', amountCents: 500, tipCents: 1.5 }))).toBe('payload.tipCents');
  });

  it('[EVT8][EVT13] ticket.payment_recorded v1 and v2 decode to the current version unchanged (no tip, no lines); a tip at v1 or lines at v2 are refused (those versions never had them)', () => {
    const v1 = { paymentId: 'p1', method: 'cash', amountCents: 850, tenderedCents: 1000 };
    const r = decodeEvent(envelope({ type: 'ticket.payment_recorded', v: 1, payload: v1 }));
    expect(r.status).toBe('ok');
    expect(r.event).toMatchObject({ v: CURRENT_VERSIONS['ticket.payment_recorded'], payload: v1 });
    const v2 = { paymentId: 'p1', method: 'card', amountCents: 850, tipCents: 100 };
    expect(decodeEvent(envelope({ type: 'ticket.payment_recorded', v: 2, payload: v2 })).event).toMatchObject({ v: 3, payload: v2 });
    const tipAtV1 = checkIncomingEvent(envelope({ type: 'ticket.payment_recorded', v: 1, payload: { paymentId: 'p2', method: 'card', amountCents: 850, tipCents: 100 } }));
    expect(tipAtV1).toMatchObject({ ok: false, error: { field: 'payload.tipCents' } });
    const linesAtV2 = checkIncomingEvent(envelope({ type: 'ticket.payment_recorded', v: 2, payload: { ...v2, lineIds: ['l1'] } }));
    expect(linesAtV2).toMatchObject({ ok: false, error: { field: 'payload.lineIds' } });
  });

  it('[EVT9] a sale names its close (v2) only when it is not the ticket\'s first: a first sale is written as v1, and v1 decodes unchanged', () => {
    const sale = { ticketId: 'tk1', totalCents: 2500, paidCents: 2500, closedAt: 1000 };
    expect(validatePayload('sale.recorded', sale).v).toBe(1);
    expect(validatePayload('sale.recorded', { ...sale, closeEventId: 'ev-close' })).toEqual({ v: 2, payload: { ...sale, closeEventId: 'ev-close' } });
    expect(fieldOf(() => validatePayload('sale.recorded', { ...sale, closeEventId: '' }))).toBe('payload.closeEventId');
    const r = decodeEvent(envelope({ type: 'sale.recorded', v: 1, payload: sale }));
    expect(r.event).toMatchObject({ v: 2, payload: sale });
    expect(checkIncomingEvent(envelope({ type: 'sale.recorded', v: 1, payload: { ...sale, closeEventId: 'ev-close' } }))).toMatchObject({ ok: false, error: { field: 'payload.closeEventId' } });
  });

  it('[EVT14] ticket.line_held names a line and whether it is held (v1): holding and letting go validate; a held that is not a boolean, or no line, is named', () => {
    expect(validatePayload('ticket.line_held', { lineId: 'l1', held: true })).toEqual({ v: 1, payload: { lineId: 'l1', held: true } });
    expect(validatePayload('ticket.line_held', { lineId: 'l1', held: false })).toEqual({ v: 1, payload: { lineId: 'l1', held: false } });
    expect(fieldOf(() => validatePayload('ticket.line_held', { lineId: 'l1', held: 'yes' }))).toBe('payload.held');
    expect(fieldOf(() => validatePayload('ticket.line_held', { held: true }))).toBe('payload.lineId');
  });

  it('[EVT15] a kitchen bump with how many were made is written as v2, one without as v1; v1 decodes unchanged (the whole line); a quantity that is not 1–999 whole is named', () => {
    expect(validatePayload('ticket.kitchen_item_bumped', { lineId: 'l1' })).toEqual({ v: 1, payload: { lineId: 'l1' } });
    expect(validatePayload('ticket.kitchen_item_bumped', { lineId: 'l1', quantity: 2 })).toEqual({ v: 2, payload: { lineId: 'l1', quantity: 2 } });
    for (const quantity of [0, 1000, 1.5]) expect(fieldOf(() => validatePayload('ticket.kitchen_item_bumped', { lineId: 'l1', quantity })), String(quantity)).toBe('payload.quantity');
    expect(validatePayload('ticket.kitchen_item_bumped', { lineId: 'l1', stopped: true })).toEqual({ v: 3, payload: { lineId: 'l1', stopped: true } });
    expect(fieldOf(() => validatePayload('ticket.kitchen_item_bumped', { lineId: 'l1', stopped: 'yes' }))).toBe('payload.stopped');
    const r = decodeEvent(envelope({ type: 'ticket.kitchen_item_bumped', v: 1, payload: { lineId: 'l1' } }));
    expect(r).toMatchObject({ status: 'ok', event: { v: CURRENT_VERSIONS['ticket.kitchen_item_bumped'], payload: { lineId: 'l1' } } });
    expect(r.event.payload).not.toHaveProperty('quantity');
    expect(decodeEvent(envelope({ type: 'ticket.kitchen_item_bumped', v: 2, payload: { lineId: 'l1', quantity: 2 } })).event.payload).toEqual({ lineId: 'l1', quantity: 2 });
    // v1 never had it: a quantity under v1 is refused, not dropped.
    expect(checkIncomingEvent(envelope({ type: 'ticket.kitchen_item_bumped', v: 1, payload: { lineId: 'l1', quantity: 2 } }))).toMatchObject({ ok: false, error: { field: 'payload.quantity' } });
  });

  it('[EVT18] a move off the table (no tableId) is written as ticket.table_assigned v2, a move to a table as v1; v1 decodes unchanged; an empty or extra field is named', () => {
    expect(validatePayload('ticket.table_assigned', { tableId: 't2' })).toEqual({ v: 1, payload: { tableId: 't2' } });
    expect(validatePayload('ticket.table_assigned', {})).toEqual({ v: 2, payload: {} });
    expect(decodeEvent(envelope({ type: 'ticket.table_assigned', v: 1, payload: { tableId: 't2' } }))).toMatchObject({ status: 'ok', event: { v: 2, payload: { tableId: 't2' } } });
    expect(decodeEvent(envelope({ type: 'ticket.table_assigned', v: 2, payload: {} }))).toMatchObject({ status: 'ok', event: { v: 2, payload: {} } });
    // v1 always named a table.
    expect(checkIncomingEvent(envelope({ type: 'ticket.table_assigned', v: 1, payload: {} }))).toMatchObject({ ok: false, error: { field: 'payload.tableId' } });
    expect(fieldOf(() => validatePayload('ticket.table_assigned', { tableId: '' }))).toBe('payload.tableId');
    expect(fieldOf(() => validatePayload('ticket.table_assigned', { table: 't2' }))).toBe('payload.table');
  });

  it('[EVT1] a name staff find a thing by is never blank: spaces only are refused naming the field (an item, its category and station, a table, the restaurant)', () => {
    const item = { menuItemId: 'm1', name: 'Soup', category: 'Starters', priceCents: 650, station: 'kitchen' };
    for (const field of ['name', 'category', 'station'] as const) expect(fieldOf(() => validatePayload('menu.item_defined', { ...item, [field]: '   ' })), field).toBe(`payload.${field}`);
    expect(fieldOf(() => validatePayload('table.defined', { tableId: 't1', label: ' \t', seats: 2 }))).toBe('payload.label');
    expect(fieldOf(() => validatePayload('table.defined', { tableId: 't1', label: '  ' }))).toBe('payload.label');
    expect(fieldOf(() => validatePayload('location.details_set', { name: '   ' }))).toBe('payload.name');
    expect(checkIncomingEvent(envelope({ type: 'menu.item_defined', v: 1, aggregate: { id: 'm1', type: 'menu_item' }, payload: { ...item, name: ' ' } }))).toMatchObject({ ok: false, error: { field: 'payload.name' } });
    // A name with spaces around it is a name.
    expect(validatePayload('menu.item_defined', { ...item, name: ' Soup ' }).payload).toMatchObject({ name: ' Soup ' });
  });

  it('[EVT19][CMD2] a menu item change names its name, category or station (a change naming none is refused at `payload`); a null station takes the item off any, a blank name is refused; a manager\'s event', () => {
    const field = (payload: unknown) => fieldOf(() => validatePayload('menu.item_changed', payload));
    expect(field({ menuItemId: 'm1' })).toBe('payload');
    expect(() => validatePayload('menu.item_changed', { menuItemId: 'm1' })).toThrow(/names its name, category or station/);
    // A key holding undefined is absent (JSON drops it).
    expect(field({ menuItemId: 'm1', name: undefined })).toBe('payload');
    expect(validatePayload('menu.item_changed', { menuItemId: 'm1', station: null })).toEqual({ v: 1, payload: { menuItemId: 'm1', station: null } });
    expect(validatePayload('menu.item_changed', { menuItemId: 'm1', name: 'Fried calamari' }).payload).toEqual({ menuItemId: 'm1', name: 'Fried calamari' });
    for (const key of ['name', 'category', 'station'] as const) {
      expect(field({ menuItemId: 'm1', [key]: '  ' }), key).toBe(`payload.${key}`);
      expect(field({ menuItemId: 'm1', [key]: '' }), key).toBe(`payload.${key}`);
    }
    expect(field({ menuItemId: 'm1', name: null })).toBe('payload.name');
    expect(field({ menuItemId: 'm1', category: null })).toBe('payload.category');
    // It never carries a price: a rename writes none back (APP26).
    expect(field({ menuItemId: 'm1', name: 'Soup', priceCents: 650 })).toBe('payload.priceCents');
    expect(checkIncomingEvent(envelope({ type: 'menu.item_changed', v: 1, aggregate: { id: 'm1', type: 'menu_item' }, payload: { menuItemId: 'm1' } }))).toMatchObject({ ok: false, error: { field: 'payload' } });
    expect(checkIncomingEvent(envelope({ type: 'menu.item_changed', v: 1, aggregate: { id: 'm1', type: 'ticket' }, payload: { menuItemId: 'm1', name: 'Soup' } }))).toMatchObject({ ok: false, error: { field: 'aggregate.type' } });
    expect(MANAGER_EVENT_TYPES.has('menu.item_changed')).toBe(true);
    const change = { type: 'menu.item_changed', origin: { terminal: 'till-1' } };
    expect(refusedToTerminal({ role: 'terminal', terminal: 'till-1' }, change)).toBe(true);
    expect(refusedToTerminal({ role: 'manager', terminal: 'manager-1' }, { ...change, origin: { terminal: 'manager-1' } })).toBe(false);
  });

  it('[EVT1] an unknown type is rejected on field "type"', () => {
    expect(fieldOf(() => validatePayload('ticket.teleported', {}))).toBe('type');
  });

  it('[EVT2] from the version a type is written from (writtenFrom) up, the upcasters change nothing: the fast path folds such payloads as written', () => {
    for (const type of EVENT_TYPES) {
      const entry = EVENT_CATALOG[type];
      if (!('writtenFrom' in entry)) continue;
      const { v, payload } = validatePayload(type, VALID[type]);
      for (let from: number = entry.writtenFrom; from < CURRENT_VERSIONS[type]; from++) {
        expect(UPCASTERS[type]![from]!(payload, envelope({ type, v })), `${type} v${from}`).toEqual(payload);
      }
      expect(v).toBe(entry.writtenFrom);
    }
  });

  it('[EVT2] from writtenFrom on, each version only adds optional fields to the one before (what lets a payload be written at the oldest it fits)', () => {
    for (const type of EVENT_TYPES) {
      const entry = EVENT_CATALOG[type];
      if (!('writtenFrom' in entry)) continue;
      const versions = entry.versions as Record<number, { shape: Record<string, { isOptional(): boolean }> }>;
      for (let v: number = entry.writtenFrom; v < CURRENT_VERSIONS[type]; v++) {
        const before = versions[v]!.shape;
        const after = versions[v + 1]!.shape;
        expect(Object.keys(after), `${type} v${v + 1}`).toEqual(expect.arrayContaining(Object.keys(before)));
        for (const key of Object.keys(after)) if (!(key in before)) expect(after[key]!.isOptional(), `${type} v${v + 1} ${key}`).toBe(true);
      }
    }
  });

  it('[EVT2] every non-current version has an upcaster to the next', () => {
    for (const type of EVENT_TYPES) {
      const versions = Object.keys(EVENT_CATALOG[type].versions).map(Number);
      for (const v of versions) if (v < CURRENT_VERSIONS[type]) expect(UPCASTERS[type]?.[v], `${type} v${v}`).toBeTypeOf('function');
    }
  });

  it('[EVT2] ticket.item_added v1 (decimal price, qty) decodes to the current version (cents, quantity, line id from the event id; no tax rate)', () => {
    const e = envelope({ v: 1, payload: { menuItemId: 'm1', name: 'Soup', price: 12.5, qty: 3 } });
    const r = decodeEvent(e);
    expect(r.status).toBe('ok');
    expect(r.event.v).toBe(CURRENT_VERSIONS['ticket.item_added']);
    expect(r.event.payload).toEqual({ lineId: e.id, menuItemId: 'm1', name: 'Soup', unitPriceCents: 1250, quantity: 3 });
    // Floating point: 0.1 + 0.2 style prices round to the nearest cent.
    expect((decodeEvent(envelope({ v: 1, payload: { menuItemId: 'm', name: 'x', price: 4.35, qty: 1 } })).event.payload as { unitPriceCents: number }).unitPriceCents).toBe(435);
    // Deterministic: every replica derives the same line id.
    expect(decodeEvent(e)).toEqual(r);
    // The kitchen's note goes with the line.
    const noted = decodeEvent(envelope({ v: 1, payload: { menuItemId: 'm1', name: 'Soup', price: 12.5, qty: 3, note: 'no onions' } }));
    expect(noted.event.payload).toMatchObject({ unitPriceCents: 1250, note: 'no onions' });
  });

  it('[EVT2] an invalid v1 payload is reported invalid, naming the v1 field', () => {
    const r = decodeEvent(envelope({ v: 1, payload: { menuItemId: 'm1', name: 'Soup', price: -1, qty: 1 } }));
    expect(r.status).toBe('invalid');
    if (r.status === 'invalid') expect(r.error.field).toBe('payload.price');
  });

  it('[EVT7] a payload this build just validated is folded without a second check; any other object is checked', () => {
    const { v, payload } = validatePayload('ticket.item_added', { ...VALID['ticket.item_added'], taxBasisPoints: 1000 });
    expect(v).toBe(CURRENT_VERSIONS['ticket.item_added']);
    const own = envelope({ v, payload });
    expect(decodeEvent(own)).toEqual({ status: 'ok', event: own });
    expect(decodeEvent(own).event).toBe(own);
    // Written at an older version it fits (writtenFrom): the same payload, at the current version.
    const older = validatePayload('ticket.item_added', { ...VALID['ticket.item_added'] });
    expect(older.v).toBeLessThan(CURRENT_VERSIONS['ticket.item_added']);
    const ownOlder = envelope({ v: older.v, payload: older.payload });
    expect(decodeEvent(ownOlder)).toEqual({ status: 'ok', event: { ...ownOlder, v: CURRENT_VERSIONS['ticket.item_added'] } });
    expect(decodeEvent(ownOlder).event.payload).toBe(older.payload);
    // Only at the version it was written at: the current version's payload under an older v is checked, and refused.
    const misversioned = envelope({ v: older.v, payload });
    expect(decodeEvent(misversioned)).toMatchObject({ status: 'invalid', error: { field: 'payload.taxBasisPoints' } });
    // Same shape, another object (e.g. parsed from the relay): validated as usual.
    const copy = envelope({ v, payload: structuredClone(payload) });
    expect(decodeEvent(copy).event).not.toBe(copy);
    // A validated payload under another type is not trusted.
    const misfiled = envelope({ type: 'ticket.note_set', v: CURRENT_VERSIONS['ticket.note_set'], payload });
    expect(decodeEvent(misfiled).status).toBe('invalid');
  });

  it('[EVT3] a future version is needs_update on read, untouched; an unknown type is unknown_type', () => {
    const future = envelope({ v: 9, payload: { anything: ['new'] } });
    const r = decodeEvent(future);
    expect(r.status).toBe('needs_update');
    expect(r.event).toBe(future);
    expect(decodeEvent(envelope({ v: CURRENT_VERSIONS['ticket.item_added'] + 1, payload: { anything: ['new'] } })).status).toBe('needs_update');
    expect(decodeEvent(envelope({ type: 'ticket.split', payload: {} })).status).toBe('unknown_type');
  });

  it('[EVT4] checkIncomingEvent accepts valid events at their own version, old versions included', () => {
    expect(checkIncomingEvent(envelope()).ok).toBe(true);
    expect(checkIncomingEvent(envelope({ v: 1, payload: { menuItemId: 'm', name: 'x', price: 1, qty: 1 } })).ok).toBe(true);
  });

  it('[EVT4] the canonical JSON checkIncomingEventJson builds for the store is canonicalEventJson\'s, its idempotency key and staff included', () => {
    const keyed = envelope({ key: 'k-1', origin: { terminal: 'till-1', n: 7, staff: 'Ann' } });
    const r = checkIncomingEventJson(keyed);
    if (!r.ok) throw r.error;
    expect(r.canonical).toBe(canonicalEventJson(keyed));
    expect(JSON.parse(r.canonical)).toMatchObject({ key: 'k-1', origin: { staff: 'Ann' } });
  });

  it('[EVT4] checkIncomingEvent names the failing field: envelope, type, v, aggregate.type, payload', () => {
    const field = (raw: unknown): string => {
      const r = checkIncomingEvent(raw);
      expect(r.ok).toBe(false);
      return r.ok ? '' : r.error.field;
    };
    expect(field(envelope({ aggregate: { id: '', type: 'ticket' } }))).toBe('aggregate.id');
    expect(field({ ...envelope(), id: 'nope' })).toBe('id');
    expect(field({ ...envelope(), origin: { terminal: 'till 1', n: 1 } })).toBe('origin.terminal');
    expect(field(envelope({ type: 'ticket.split' }))).toBe('type');
    // Counters and stamps stay far below 2^53, so the next one (+1) is exact (HLC1).
    expect(field(envelope({ at: Number.MAX_SAFE_INTEGER }))).toBe('at');
    expect(field(envelope({ seq: Number.MAX_SAFE_INTEGER }))).toBe('seq');
    expect(field({ ...envelope(), origin: { terminal: 'till-1', n: Number.MAX_SAFE_INTEGER } })).toBe('origin.n');
    expect(field(envelope({ v: CURRENT_VERSIONS['ticket.item_added'] + 1 }))).toBe('v');
    expect(field(envelope({ aggregate: { id: 'tk', type: 'table' } }))).toBe('aggregate.type');
    expect(field(envelope({ payload: { ...VALID['ticket.item_added'], quantity: 0 } }))).toBe('payload.quantity');
    expect(field(envelope({ payload: { ...VALID['ticket.item_added'], note: 'x'.repeat(20_000) } }))).toBe('payload.note');
    // The bound is on UTF-8 bytes: '€' is 3 of them, so this is under 8 K characters and over 16 KiB.
    const refundIds = Array.from({ length: 28 }, (_, i) => `rf-${i}`.padEnd(200, '€'));
    const wide = envelope({ type: 'conflict.resolved', v: CURRENT_VERSIONS['conflict.resolved'], payload: { conflictId: 'cf-x', resolution: { kind: 'refund_payment' }, refundIds } });
    expect(JSON.stringify(wide).length).toBeLessThan(MAX_EVENT_BYTES / 2);
    expect(field(wide)).toBe('payload');
    expect(field(null)).toBe('event');
    const notAnObject = checkIncomingEvent('nope');
    expect(notAnObject.ok ? '' : notAnObject.error.message).not.toMatch(/^event: event:/); // the context said once
  });
});
