import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventEnvelope } from '../../shared/events/envelope';
import type { TakingsResponse } from '../../shared/protocol/rest-reports';
import { LocationProjection } from '../../shared/projection/location-projection';
import type { TicketView } from '../../shared/projection/views';
import { dayTakings } from '../../shared/reports/day-takings';
import { startTestServer, type InProcessServer } from '../helpers/server-in-process';
import { api, mint, postEvents } from '../helpers/server-clients';
import { TestWriter } from '../helpers/test-writer';
import { TakingsResponseBeforeReopened } from '../helpers/takings-of-older-builds';

/** The business day of Nov 20 for a location on UTC: 04:00 to 04:00. */
const DAY = { from: Date.parse('2026-11-20T04:00:00Z'), to: Date.parse('2026-11-21T04:00:00Z') };

/** One till's sales, stamped at `iso` times: `sale(ticket, price, payment?, close?)`. */
function till(terminal: string) {
  let wall = 0;
  const writer = new TestWriter(terminal, () => wall);
  const events: EventEnvelope[] = [];
  const write = (iso: string, ticket: string, type: string, payload: unknown): void => {
    wall = Date.parse(iso);
    events.push(writer.write({ type: 'ticket', id: ticket }, type, payload));
  };
  return {
    events,
    sale(iso: string, ticket: string, number: string, priceCents: number, payment?: { method: 'cash' | 'card'; amountCents: number; tenderedCents?: number; tipCents?: number }, close = true, taxBasisPoints?: number): void {
      write(iso, ticket, 'ticket.opened', { number });
      const tax = taxBasisPoints === undefined ? {} : { taxBasisPoints };
      write(iso, ticket, 'ticket.item_added', { lineId: `${ticket}-l1`, menuItemId: 'm-1', name: 'Dish', unitPriceCents: priceCents, ...tax, quantity: 1 });
      if (payment) write(iso, ticket, 'ticket.payment_recorded', { paymentId: `${ticket}-p1`, ...payment });
      if (close) write(iso, ticket, 'ticket.closed', { totalCents: priceCents });
    },
  };
}

describe('REST: GET /api/reports/takings (the day\'s takings from the canonical log)', () => {
  let server: InProcessServer;
  let manager: string;
  const query = (from: number | string, to: number | string) => `/api/reports/takings?from=${from}&to=${to}`;

  beforeAll(async () => {
    server = await startTestServer();
    manager = await mint('loc-takings', 'manager', 'manager-1');
    const a = till('till-1');
    // Just before the day starts (03:59): the previous business day's.
    a.sale('2026-11-20T03:59:00Z', 'tk-0', 'A-001', 800, { method: 'cash', amountCents: 800 });
    a.sale('2026-11-20T12:00:00Z', 'tk-1', 'A-002', 2000, { method: 'cash', amountCents: 2000, tenderedCents: 2500 });
    // Taxed at 20 % (a line written at ticket.item_added v3): 2.50 of its 15.00 is tax.
    a.sale('2026-11-20T13:00:00Z', 'tk-2', 'A-003', 1500, { method: 'card', amountCents: 1500, tipCents: 250 }, true, 2000);
    a.sale('2026-11-20T14:00:00Z', 'tk-3', 'A-004', 1000, undefined, false);
    const stored = await postEvents(server.url, await mint('loc-takings', 'terminal', 'till-1'), a.events);
    expect(stored.body.results.map((r) => r.status)).toEqual(a.events.map(() => 'accepted'));
    // 3.00 of tk-1's cash handed back by a manager at 18:00.
    const back = new TestWriter('manager-1', () => Date.parse('2026-11-20T18:00:00Z')).see(...a.events);
    const refund = back.write({ type: 'ticket', id: 'tk-1' }, 'ticket.refunded', { refundId: 'rf-1', method: 'cash', amountCents: 300, reason: 'cold' });
    expect((await postEvents(server.url, manager, [refund])).body.results.map((r) => r.status)).toEqual(['accepted']);

    // Another location sells at the same times, with the same ids.
    const other = till('till-1');
    other.sale('2026-11-20T12:00:00Z', 'tk-1', 'A-001', 9900, { method: 'cash', amountCents: 9900 });
    other.sale('2026-11-20T15:00:00Z', 'tk-9', 'A-009', 4400, undefined, false);
    expect((await postEvents(server.url, await mint('loc-elsewhere', 'terminal', 'till-1'), other.events)).status).toBe(200);
  });
  afterAll(async () => {
    await server.dispose();
  });

  it('[SRV25] a manager gets the business day\'s takings from the server projection: cash and card, change, card tips, refunds, cash expected, open tickets; nothing of another location', async () => {
    const res = await api<TakingsResponse>(server.url, query(DAY.from, DAY.to), manager);
    expect(res.status).toBe(200);
    expect(res.body.takings).toEqual({
      from: DAY.from,
      to: DAY.to,
      closed: { count: 2, amountCents: 3500 },
      discounted: { count: 0, amountCents: 0 },
      // No ticket counted its guests.
      guests: { count: 0, amountCents: 0 },
      taken: { count: 2, amountCents: 3500, byMethod: { cash: { count: 1, amountCents: 2000 }, card: { count: 1, amountCents: 1500 } } },
      changeGivenCents: 500,
      tips: { count: 1, amountCents: 250 },
      refunded: { count: 1, amountCents: 300, byMethod: { cash: { count: 1, amountCents: 300 }, card: { count: 0, amountCents: 0 } } },
      cashExpectedCents: 1700,
      held: { count: 0, amountCents: 0, byMethod: { cash: { count: 0, amountCents: 0 }, card: { count: 0, amountCents: 0 } } },
      handedBack: { count: 0, amountCents: 0, byMethod: { cash: { count: 0, amountCents: 0 }, card: { count: 0, amountCents: 0 } } },
      voided: { count: 0, amountCents: 0 },
      comped: { count: 0, amountCents: 0 },
      open: { count: 1, amountCents: 1000 },
      ticketsWithOpenConflicts: 0,
      // tk-2's 15.00 at 20 %; tk-1 and its refund at no rate.
      taxes: {
        sales: [
          { basisPoints: 2000, grossCents: 1500, taxCents: 250, netCents: 1250 },
          { basisPoints: null, grossCents: 2000, taxCents: 0, netCents: 2000 },
        ],
        refunds: [{ basisPoints: null, grossCents: 300, taxCents: 0, netCents: 300 }],
      },
      itemsSold: [{ menuItemId: 'm-1', name: 'Dish', quantity: 2, compedQuantity: 0, amountCents: 3500 }],
      reopened: { count: 0, amountCents: 0, discounted: { count: 0, amountCents: 0 }, guests: { count: 0, amountCents: 0 }, taxes: [], itemsSold: [] },
    });
    expect(res.body.serverTime).toBeTypeOf('number');

    const admin = await mint('loc-takings', 'admin', 'office');
    const before = await api<TakingsResponse>(server.url, query(DAY.from - 24 * 3600_000, DAY.from), admin);
    expect(before.body.takings).toMatchObject({ closed: { count: 1, amountCents: 800 }, cashExpectedCents: 800, open: { count: 0 } });

    // Asking for the other location with this location's token is refused, not answered.
    const elsewhere = await api(server.url, `${query(DAY.from, DAY.to)}&location=loc-elsewhere`, manager);
    expect(elsewhere.status).toBe(403);
  });

  it('[SRV25] a sale posted after a report is in the next one (the projection follows the canonical log)', async () => {
    const late = till('till-2');
    late.sale('2026-11-20T20:00:00Z', 'tk-late', 'B-001', 700, { method: 'card', amountCents: 700 });
    expect((await postEvents(server.url, manager, late.events)).status).toBe(200);
    const res = await api<TakingsResponse>(server.url, query(DAY.from, DAY.to), manager);
    expect(res.body.takings).toMatchObject({ closed: { count: 3, amountCents: 4200 }, taken: { byMethod: { card: { count: 2, amountCents: 2200 } } } });
  });

  it('[SRV25][SRV28] a ticket closed on one day, reopened on the next and closed again on the third is read for each: its close stays on its day, the reopening takes it off in `reopened` on its own, as a device counts it; a build from before `reopened` reads every day', async () => {
    const location = 'loc-reopen';
    const boss = await mint(location, 'manager', 'manager-1');
    const a = till('till-1');
    a.sale('2026-11-20T12:00:00Z', 'tk-r', 'A-001', 1200, { method: 'card', amountCents: 1200 }, true, 1000);
    expect((await postEvents(server.url, await mint(location, 'terminal', 'till-1'), a.events)).status).toBe(200);
    const before = await api<TakingsResponse>(server.url, query(DAY.from, DAY.to), boss);
    // The next morning a dessert is added to the closed ticket (held) and the manager reopens it to apply it; the day after, 3.00 is paid and it is closed at 15.00.
    let wall = Date.parse('2026-11-21T09:00:00Z');
    const m = new TestWriter('manager-1', () => wall).see(...a.events);
    const added = m.write({ type: 'ticket', id: 'tk-r' }, 'ticket.item_added', { lineId: 'tk-r-l2', menuItemId: 'm-2', name: 'Dessert', unitPriceCents: 300, quantity: 1 });
    const folded = new LocationProjection();
    folded.apply([...a.events, added]);
    const held = (folded.get('tk-r') as TicketView).conflicts.find((c) => c.eventIds.includes(added.id))!;
    wall += 60_000;
    const reopen = m.write({ type: 'ticket', id: 'tk-r' }, 'conflict.resolved', { conflictId: held.conflictId, resolution: { kind: 'reopen' } });
    wall = Date.parse('2026-11-22T12:00:00Z');
    const paid = m.write({ type: 'ticket', id: 'tk-r' }, 'ticket.payment_recorded', { paymentId: 'tk-r-p2', method: 'card', amountCents: 300 });
    wall += 60_000;
    const closed = m.write({ type: 'ticket', id: 'tk-r' }, 'ticket.closed', { totalCents: 1500 });
    expect((await postEvents(server.url, boss, [added, reopen, paid, closed])).body.results.map((r) => r.status)).toEqual(['accepted', 'accepted', 'accepted', 'accepted']);

    const local = new LocationProjection();
    local.apply([...a.events, added, reopen, paid, closed]);
    const day = (n: number) => ({ from: DAY.from + n * 24 * 60 * 60_000, to: DAY.to + n * 24 * 60 * 60_000 });
    const answers = await Promise.all([0, 1, 2].map((n) => api<TakingsResponse>(server.url, query(day(n).from, day(n).to), boss)));
    const [day1, day2, day3] = answers.map((res) => res.body.takings);
    expect(day1).toEqual(before.body.takings);
    expect(day1!.closed).toEqual({ count: 1, amountCents: 1200 });
    expect(day2).toMatchObject({
      closed: { count: 0, amountCents: 0 },
      itemsSold: [],
      reopened: { count: 1, amountCents: 1200, taxes: [{ basisPoints: 1000, grossCents: 1200, taxCents: 109, netCents: 1091 }], itemsSold: [{ menuItemId: 'm-1', quantity: 1, amountCents: 1200 }] },
    });
    expect(day3).toMatchObject({ closed: { count: 1, amountCents: 1500 }, taken: { amountCents: 300 }, reopened: { count: 0 } });
    [day2, day3].forEach((takings, i) => expect(takings).toEqual(dayTakings(local.all(), day(i + 1))));
    // An older build reads each answer as it did (the reopening apart): nothing below zero.
    for (const res of answers) expect(TakingsResponseBeforeReopened.safeParse(res.body).error).toBeUndefined();
    expect(TakingsResponseBeforeReopened.parse(answers[1]!.body).takings).toMatchObject({ closed: { count: 0, amountCents: 0 }, itemsSold: [] });
  });

  it('[SRV25][SRV4] a terminal token gets 403 saying who may read the takings; no token gets 401', async () => {
    const terminal = await mint('loc-takings', 'terminal', 'till-1');
    const res = await api<{ error: string; message: string }>(server.url, query(DAY.from, DAY.to), terminal);
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({ error: 'forbidden' });
    expect(res.body.message).toMatch(/role terminal .*needs manager or admin/);
    expect((await api(server.url, query(DAY.from, DAY.to), null)).status).toBe(401);
  });

  it('[SRV25] a missing, malformed, reversed or wider than 31 days window is a 400 naming the parameter', async () => {
    const cases: [string, string][] = [
      [`/api/reports/takings?to=${DAY.to}`, 'from'],
      [`/api/reports/takings?from=${DAY.from}`, 'to'],
      [query('yesterday', DAY.to), 'from'],
      [query(DAY.from, '1.5'), 'to'],
      [query(DAY.to, DAY.from), 'to'],
      [query(DAY.from, DAY.from), 'to'],
      [query(DAY.from, DAY.from + 32 * 24 * 3600_000), 'to'],
    ];
    for (const [path, field] of cases) {
      const res = await api<{ error: string; field: string; message: string }>(server.url, path, manager);
      expect({ path, status: res.status, error: res.body.error, field: res.body.field }).toEqual({ path, status: 400, error: 'badRequest', field });
      expect(res.body.message.startsWith(`${field}: `)).toBe(true);
    }
    // A whole month of days is fine, also one with the 25-hour day of an autumn clock change.
    expect((await api(server.url, query(DAY.from, DAY.from + 31 * 24 * 3600_000), manager)).status).toBe(200);
    expect((await api(server.url, query(DAY.from, DAY.from + (31 * 24 + 1) * 3600_000), manager)).status).toBe(200);
  });
});
