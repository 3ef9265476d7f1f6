import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fieldOf } from '../helpers/validation';
import type { AggregateRef, EventEnvelope } from '../../shared/events/envelope';
import { MANAGER_EVENT_TYPES, validatePayload } from '../../shared/events/catalog';
import { allocateCents, taxIncludedIn, taxesByRate } from '../../shared/domain/tax';
import { MENU_ITEM_MERGE_POLICY } from '../../shared/projection/merge-policy';
import { projectAggregate } from '../../shared/projection/project-aggregate';
import { LocationProjection } from '../../shared/projection/location-projection';
import { owedCents, refundShares, ticketTaxes, type MenuItemView, type TicketView } from '../../shared/projection/views';
import { dayTakings } from '../../shared/reports/day-takings';
import { FixedClockTerminal, foldedAs, ticketOf } from '../helpers/test-writer';

const TK: AggregateRef = { id: 'tk-tax', type: 'ticket' };
const MENU: AggregateRef = { id: 'm-wine', type: 'menu_item' };
/** 2 × 12.00 at 10 %, 7.50 at 20 %, 3.00 with no rate: 34.50. */
const burgers = { lineId: 'l-burger', menuItemId: 'm-burger', name: 'Burger', unitPriceCents: 1200, taxBasisPoints: 1000, quantity: 2 };
const wine = { lineId: 'l-wine', menuItemId: 'm-wine', name: 'Wine', unitPriceCents: 750, taxBasisPoints: 2000, quantity: 1 };
const water = { lineId: 'l-water', menuItemId: 'm-water', name: 'Water', unitPriceCents: 300, quantity: 1 };

function dinner(till: FixedClockTerminal): EventEnvelope[] {
  return [
    till.write(TK, 'ticket.opened', { number: 'A-001' }),
    till.write(TK, 'ticket.item_added', burgers),
    till.write(TK, 'ticket.item_added', wine),
    till.write(TK, 'ticket.item_added', water),
  ];
}

/** The dinner paid in full by card and closed; `watchers` have seen it all. */
function soldDinner(till: FixedClockTerminal, ...watchers: FixedClockTerminal[]): EventEnvelope[] {
  const events = [...dinner(till), till.write(TK, 'ticket.payment_recorded', { paymentId: 'p1', method: 'card', amountCents: 3450 }), till.write(TK, 'ticket.closed', { totalCents: 3450 })];
  for (const w of watchers) w.see(...events);
  return events;
}

/** The dinner charged in full on two tills, a manager keeping the double charge and closing at 34.50; `till2` and `manager` have seen the order, `manager` all of it. */
function keptDoubleCharge(till: FixedClockTerminal, till2: FixedClockTerminal, manager: FixedClockTerminal): EventEnvelope[] {
  const ordered = dinner(till);
  till2.see(...ordered);
  const charged = [
    ...ordered,
    till.write(TK, 'ticket.payment_recorded', { paymentId: 'p1', method: 'card', amountCents: 3450 }),
    till2.write(TK, 'ticket.payment_recorded', { paymentId: 'p2', method: 'card', amountCents: 3450 }),
  ];
  const conflict = ticketOf(charged).conflicts.find((c) => c.kind === 'over_payment')!;
  manager.see(...charged);
  return [
    ...charged,
    manager.write(TK, 'conflict.resolved', { conflictId: conflict.conflictId, resolution: { kind: 'accept_payment' } }),
    manager.write(TK, 'ticket.closed', { totalCents: 3450 }),
  ];
}

describe('tax included in prices: the money rules (shared/domain/tax.ts)', () => {
  it('[PRJ19] the tax in a tax-inclusive amount is gross × rate / (1 + rate), to the nearest cent, halves up', () => {
    expect(taxIncludedIn(1200, 2000)).toBe(200);
    expect(taxIncludedIn(2400, 1000)).toBe(218); // 218.18
    expect(taxIncludedIn(675, 2000)).toBe(113); // 112.5
    expect(taxIncludedIn(3, 2000)).toBe(1); // 0.5
    expect(taxIncludedIn(2, 2000)).toBe(0);
    expect(taxIncludedIn(100_000_000, 10_000)).toBe(50_000_000);
    expect(taxIncludedIn(999, 0)).toBe(0);
  });

  it('[PRJ19] an amount is shared over weights to the cent: the parts sum to it, each within a cent of its exact share', () => {
    expect(allocateCents(100, [1, 1, 1])).toEqual([34, 33, 33]);
    expect(allocateCents(3105, [2400, 750, 300])).toEqual([2160, 675, 270]);
    expect(allocateCents(10, [0, 0])).toEqual([0, 10]);
    expect(allocateCents(0, [5, 5])).toEqual([0, 0]);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 100_000_000 }),
        fc.array(fc.integer({ min: 0, max: 100_000_000 }), { minLength: 1, maxLength: 6 }).filter((w) => w.some((x) => x > 0)),
        (cents, weights) => {
          const parts = allocateCents(cents, weights);
          expect(parts.reduce((a, b) => a + b, 0)).toBe(cents);
          const total = weights.reduce((a, b) => a + b, 0);
          parts.forEach((part, i) => expect(Math.abs(part - (cents * weights[i]!) / total)).toBeLessThan(1.000001));
        },
      ),
    );
  });

  it('[PRJ19] taxesByRate: one line per rate, lowest first and no rate last; each holds what was charged at its rate and never taxes more than it holds', () => {
    expect(taxesByRate(new Map<number | null, number>([[null, 270], [2000, 675], [1000, 2160]]))).toEqual([
      { basisPoints: 1000, grossCents: 2160, taxCents: 196, netCents: 1964 },
      { basisPoints: 2000, grossCents: 675, taxCents: 113, netCents: 562 },
      { basisPoints: null, grossCents: 270, taxCents: 0, netCents: 270 },
    ]);
    expect(taxesByRate(new Map())).toEqual([{ basisPoints: null, grossCents: 0, taxCents: 0, netCents: 0 }]);
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom('0', '550', '1000', '2000', '10000', 'none'), fc.integer({ min: 0, max: 1_000_000 })), (byRate) => {
        const grossByRate = new Map(Object.entries(byRate).map(([r, g]) => [r === 'none' ? null : Number(r), g] as const));
        const lines = taxesByRate(grossByRate);
        expect(lines.reduce((a, l) => a + l.grossCents, 0)).toBe([...grossByRate.values()].reduce((a, g) => a + g, 0));
        for (const l of lines) {
          expect(l.taxCents).toBeGreaterThanOrEqual(0);
          expect(l.taxCents + l.netCents).toBe(l.grossCents);
          expect(l.taxCents).toBeLessThanOrEqual(l.basisPoints === null ? 0 : l.grossCents);
        }
      }),
    );
  });
});

describe('tax rates on the menu and on the lines (EVT10, PRJ19)', () => {
  it('[EVT10][EVT11] a rate is basis points 0–10000, written at v2 of an item / v3 of a line only when there is one; a wrong one is refused naming the field', () => {
    expect(validatePayload('ticket.item_added', burgers).v).toBe(3);
    expect(validatePayload('ticket.item_added', water).v).toBe(2);
    const item = { menuItemId: 'm-wine', name: 'Wine', category: 'Drinks', priceCents: 750 };
    expect(validatePayload('menu.item_defined', { ...item, taxBasisPoints: 2000 }).v).toBe(2);
    expect(validatePayload('menu.item_defined', item).v).toBe(1);
    for (const bad of [10_001, -1, 12.5, '20']) {
      expect(fieldOf(() => validatePayload('ticket.item_added', { ...burgers, taxBasisPoints: bad }))).toBe('payload.taxBasisPoints');
      expect(fieldOf(() => validatePayload('menu.item_defined', { ...item, taxBasisPoints: bad }))).toBe('payload.taxBasisPoints');
      expect(fieldOf(() => validatePayload('menu.item_tax_set', { menuItemId: 'm-wine', taxBasisPoints: bad }))).toBe('payload.taxBasisPoints');
    }
    expect(MANAGER_EVENT_TYPES.has('menu.item_tax_set')).toBe(true);
    // A rate set by mistake is taken off with null.
    expect(validatePayload('menu.item_tax_set', { menuItemId: 'm-wine', taxBasisPoints: null }).v).toBe(1);
    // [EVT11] a refund names the line it is for at v2; one for the whole ticket is written as v1.
    const refund = { refundId: 'r1', method: 'cash', amountCents: 500, reason: 'cold' };
    expect(validatePayload('ticket.refunded', refund).v).toBe(1);
    expect(validatePayload('ticket.refunded', { ...refund, lineId: 'l-burger' }).v).toBe(2);
    expect(fieldOf(() => validatePayload('ticket.refunded', { ...refund, lineId: '' }))).toBe('payload.lineId');
    expect(MENU_ITEM_MERGE_POLICY['menu.item_tax_set']).toMatchObject({ merge: 'lww', fields: ['taxBasisPoints'] });
  });

  it('[PRJ19] a line keeps the rate it was added with; a line written before rates existed (v2) has none', () => {
    const till = new FixedClockTerminal('till-1');
    const opened = till.write(TK, 'ticket.opened', { number: 'A-001' });
    const old = till.write(TK, 'ticket.item_added', { ...water, lineId: 'l-old' }, { v: 2 });
    const taxed = till.write(TK, 'ticket.item_added', burgers);
    const v = ticketOf([opened, old, taxed]);
    expect(v.lines.map((l) => [l.lineId, l.taxBasisPoints])).toEqual([
      ['l-old', null],
      ['l-burger', 1000],
    ]);
  });

  it('[PRJ19][PRJ4] a menu item\'s rate is an LWW register: set when defined or by menu.item_tax_set, the later stamp holding; a redefinition without a rate leaves it', () => {
    const a = new FixedClockTerminal('manager-1');
    const b = new FixedClockTerminal('manager-2', -60_000);
    const defined = a.write(MENU, 'menu.item_defined', { menuItemId: 'm-wine', name: 'Wine', category: 'Drinks', priceCents: 750, taxBasisPoints: 1000 });
    const toTwenty = a.write(MENU, 'menu.item_tax_set', { menuItemId: 'm-wine', taxBasisPoints: 2000 });
    // Written on a tablet whose clock is a minute slow, that had seen nothing of it: the older stamp.
    const concurrent = b.write(MENU, 'menu.item_tax_set', { menuItemId: 'm-wine', taxBasisPoints: 550 });
    const renamed = a.write(MENU, 'menu.item_defined', { menuItemId: 'm-wine', name: 'House wine', category: 'Drinks', priceCents: 750 }, { v: 1 });
    for (const order of [
      [defined, toTwenty, concurrent, renamed],
      [renamed, concurrent, defined, toTwenty],
    ]) {
      expect(projectAggregate(order)).toMatchObject({ name: 'House wine', taxBasisPoints: 2000 });
    }
    const v = projectAggregate([defined, toTwenty, concurrent]);
    expect((v as MenuItemView).taxBasisPoints).toBe(2000);
    expect(v.history.find((h) => h.eventId === concurrent.id)?.status).toBe('superseded');
    // Taken off (a rate set by mistake): none again.
    const none = a.write(MENU, 'menu.item_tax_set', { menuItemId: 'm-wine', taxBasisPoints: null });
    expect(projectAggregate([defined, toTwenty, concurrent, none])).toMatchObject({ taxBasisPoints: null });
  });

  it('[PRJ19] the tax in a ticket: its total shared over its rates by what the lines charge (a discount off every rate alike, comped parts not charged)', () => {
    const till = new FixedClockTerminal('till-1');
    const manager = new FixedClockTerminal('manager-1');
    const base = dinner(till);
    manager.see(...base);
    expect(ticketTaxes(ticketOf(base))).toEqual([
      { basisPoints: 1000, grossCents: 2400, taxCents: 218, netCents: 2182 },
      { basisPoints: 2000, grossCents: 750, taxCents: 125, netCents: 625 },
      { basisPoints: null, grossCents: 300, taxCents: 0, netCents: 300 },
    ]);
    const discount = manager.write(TK, 'ticket.discount_set', { discount: { kind: 'percent', percent: 10, reason: 'regulars' } });
    const discounted = ticketOf([...base, discount]);
    expect(discounted.totalCents).toBe(3105);
    expect(ticketTaxes(discounted)).toEqual([
      { basisPoints: 1000, grossCents: 2160, taxCents: 196, netCents: 1964 },
      { basisPoints: 2000, grossCents: 675, taxCents: 113, netCents: 562 },
      { basisPoints: null, grossCents: 270, taxCents: 0, netCents: 270 },
    ]);
    const comp = manager.write(TK, 'ticket.line_comped', { lineId: 'l-wine', reason: 'corked', quantity: 1 });
    const comped = ticketOf([...base, comp]);
    expect(foldedAs(comped, comp).status).toBe('applied');
    expect(ticketTaxes(comped).map((t) => t.basisPoints)).toEqual([1000, null]);
  });

  it('[PRJ19][SRV25] the takings: the tax in the totals of the tickets closed, and in the refunds given (at the rate of the line one is for, else shared like the total), rate by rate', () => {
    const till = new FixedClockTerminal('till-1');
    const manager = new FixedClockTerminal('manager-1');
    const base = dinner(till);
    manager.see(...base);
    const discount = manager.write(TK, 'ticket.discount_set', { discount: { kind: 'percent', percent: 10, reason: 'regulars' } });
    till.see(discount);
    const paid = till.write(TK, 'ticket.payment_recorded', { paymentId: 'p1', method: 'card', amountCents: 3105 });
    const closed = till.write(TK, 'ticket.closed', { totalCents: 3105 });
    manager.see(paid, closed);
    const burgerBack = manager.write(TK, 'ticket.refunded', { refundId: 'r1', method: 'card', amountCents: 1035, reason: 'a burger sent back', lineId: 'l-burger' });
    const goodwill = manager.write(TK, 'ticket.refunded', { refundId: 'r2', method: 'card', amountCents: 345, reason: 'slow service' });
    expect([burgerBack.v, goodwill.v]).toEqual([2, 2]); // (a test writer writes the current version; the app writes v1 without a line)
    const projection = new LocationProjection();
    projection.apply([...base, discount, paid, closed, burgerBack, goodwill]);
    expect((projection.get(TK.id) as TicketView).refunds.map((r) => r.line)).toEqual([{ lineId: 'l-burger', name: 'Burger', taxBasisPoints: 1000, drawnCents: 1035 }, null]);
    const window = { from: 0, to: 2_000_000_000_000 };
    const report = dayTakings(projection.all(), window);
    expect(report.taxes).toEqual({
      sales: [
        { basisPoints: 1000, grossCents: 2160, taxCents: 196, netCents: 1964 },
        { basisPoints: 2000, grossCents: 675, taxCents: 113, netCents: 562 },
        { basisPoints: null, grossCents: 270, taxCents: 0, netCents: 270 },
      ],
      // 10.35 for a burger, at 10 % (tax 0.94), from the burgers' 21.60; 3.45 for the ticket, over what the
      // lines had left then (11.25, 6.75, 2.70): 1.88 (tax 0.17), 1.12 (0.19), 0.45.
      refunds: [
        { basisPoints: 1000, grossCents: 1223, taxCents: 111, netCents: 1112 },
        { basisPoints: 2000, grossCents: 112, taxCents: 19, netCents: 93 },
        { basisPoints: null, grossCents: 45, taxCents: 0, netCents: 45 },
      ],
    });
  });

  it('[PRJ19][SRV25] a ticket a manager closed at another total than its lines (accept_total): the receipt\'s and the takings\' tax is in that total', () => {
    const till = new FixedClockTerminal('till-1');
    const manager = new FixedClockTerminal('manager-1');
    const base = dinner(till);
    // The guest and the till agreed on 30.00 for the 34.50 of lines: the close is held until a manager says.
    const close = till.write(TK, 'ticket.closed', { totalCents: 3000 });
    manager.see(...base, close);
    const held = ticketOf([...base, close]);
    expect(held.conflicts.map((c) => c.kind)).toEqual(['close_total_mismatch']);
    const accept = manager.write(TK, 'conflict.resolved', { conflictId: held.conflicts[0]!.conflictId, resolution: { kind: 'accept_total', totalCents: 3000 } });
    const sold = ticketOf([...base, close, accept]);
    expect(sold).toMatchObject({ status: 'closed', closedTotalCents: 3000, totalCents: 3450 });
    // What is owed is what it was closed at, not what the lines come to.
    expect(owedCents(sold)).toBe(3000);
    expect(ticketTaxes(sold).map((t) => t.grossCents)).toEqual([2087, 652, 261]);
    const projection = new LocationProjection();
    projection.apply([...base, close, accept]);
    expect(dayTakings(projection.all(), { from: 0, to: 2_000_000_000_000 }).taxes.sales).toEqual(ticketTaxes(sold));
  });
});

describe('refunds share out over the lines (refundShares)', () => {
  it('[PRJ16][PRJ19] two managers offline each refund the same line in full: the second is held (the line has nothing left); accepted, its excess is shared over the other lines, so the tax handed back at its rate stays what was sold at it', () => {
    const till = new FixedClockTerminal('till-1');
    const a = new FixedClockTerminal('manager-1');
    const b = new FixedClockTerminal('manager-2');
    const sold = soldDinner(till, a, b);
    const fromA = a.write(TK, 'ticket.refunded', { refundId: 'ra', method: 'card', amountCents: 750, reason: 'corked', lineId: 'l-wine' });
    const fromB = b.write(TK, 'ticket.refunded', { refundId: 'rb', method: 'card', amountCents: 750, reason: 'corked', lineId: 'l-wine' });
    const held = ticketOf([...sold, fromA, fromB]);
    expect(held.refunds.map((r) => r.state)).toEqual(['applied', 'held']);
    const conflict = held.conflicts.find((c) => c.kind === 'over_refund')!;
    expect(conflict.detail).toBe('a refund of 7.50 for the Wine exceeds the 0.00 it has left');
    expect(refundShares(held).leftByLine.get('l-wine')).toBe(0);
    // The guest did get both back: a manager accepts it.
    a.see(fromB);
    const accepted = a.write(TK, 'conflict.resolved', { conflictId: conflict.conflictId, resolution: { kind: 'accept_refund' } });
    const v = ticketOf([...sold, fromA, fromB, accepted]);
    expect(v.refunds.map((r) => r.state)).toEqual(['applied', 'applied']);
    const shares = refundShares(v);
    const atTwenty = [...shares.taxes.values()].flat().filter((t) => t.basisPoints === 2000).reduce((n, t) => n + t.grossCents, 0);
    expect(atTwenty).toBe(750);
    expect(shares.leftByLine.get('l-wine')).toBe(0);
    // The second 7.50 came off the burgers and the water in proportion (24.00 : 3.00).
    expect(shares.taxes.get(v.refunds[1]!.refundId)).toEqual([
      { basisPoints: 1000, grossCents: 667, taxCents: 61, netCents: 606 },
      { basisPoints: null, grossCents: 83, taxCents: 0, netCents: 83 },
    ]);
  });

  it('[PRJ19] refunds beyond what the lines have left (accepted beyond the money taken) give no line more than it has: the rest goes at no rate', () => {
    const till = new FixedClockTerminal('till-1');
    const manager = new FixedClockTerminal('manager-1');
    const sold = soldDinner(till, manager);
    const refunds = [
      manager.write(TK, 'ticket.refunded', { refundId: 'r-burgers', method: 'card', amountCents: 2300, reason: 'cold', lineId: 'l-burger' }),
      manager.write(TK, 'ticket.refunded', { refundId: 'r-wine', method: 'card', amountCents: 750, reason: 'corked', lineId: 'l-wine' }),
      manager.write(TK, 'ticket.refunded', { refundId: 'r-wine-2', method: 'card', amountCents: 750, reason: 'corked', lineId: 'l-wine' }),
    ];
    const held = ticketOf([...sold, ...refunds]);
    const conflict = held.conflicts.find((c) => c.kind === 'over_refund' && c.status === 'open')!;
    const accepted = manager.write(TK, 'conflict.resolved', { conflictId: conflict.conflictId, resolution: { kind: 'accept_refund' } });
    const v = ticketOf([...sold, ...refunds, accepted]);
    expect(v.refunds.map((r) => r.state)).toEqual(['applied', 'applied', 'applied']);
    // The burgers had 1.00 left and the water 3.00: the second wine's 7.50 takes those, and 3.50 at no rate.
    expect(refundShares(v).taxes.get('r-wine-2')).toEqual([
      { basisPoints: 1000, grossCents: 100, taxCents: 9, netCents: 91 },
      { basisPoints: null, grossCents: 650, taxCents: 0, netCents: 650 },
    ]);
    const back = new Map<number | null, number>();
    for (const lines of refundShares(v).taxes.values()) for (const t of lines) back.set(t.basisPoints, (back.get(t.basisPoints) ?? 0) + t.grossCents);
    expect(back.get(1000)).toBe(2400); // what was sold at 10 %, not above
    expect(back.get(2000)).toBe(750);
  });

  it('[PRJ19][PRJ16] a double charge a manager kept and handed back as a refund is money kept above the sale: no tax comes off the sale, the dishes keep what they can get back, and a dish added on reopening is owed', () => {
    const till = new FixedClockTerminal('till-1');
    const other = new FixedClockTerminal('till-2');
    const manager = new FixedClockTerminal('manager-1');
    const kept = keptDoubleCharge(till, other, manager);
    const settled = [...kept, manager.write(TK, 'ticket.refunded', { refundId: 'r-twice', method: 'card', amountCents: 3450, reason: 'charged twice' })];
    const v = ticketOf(settled);
    expect(v.refunds[0]).toMatchObject({ state: 'applied', aboveSaleCents: 3450 });
    expect(refundShares(v).taxes.get('r-twice')).toEqual([{ basisPoints: null, grossCents: 3450, taxCents: 0, netCents: 3450 }]);
    expect(refundShares(v).leftByLine.get('l-wine')).toBe(750);
    expect(owedCents(v)).toBe(0);
    // A dessert added after the close, and the ticket reopened for it: the guest owes it (the double charge went back).
    other.see(...settled);
    const dessert = other.write(TK, 'ticket.item_added', { lineId: 'l-cake', menuItemId: 'm-cake', name: 'Cake', unitPriceCents: 800, quantity: 1 });
    const change = ticketOf([...settled, dessert]).conflicts.find((c) => c.kind === 'change_after_close' && c.status === 'open')!;
    manager.see(dessert);
    const reopen = manager.write(TK, 'conflict.resolved', { conflictId: change.conflictId, resolution: { kind: 'reopen' } });
    expect(owedCents(ticketOf([...settled, dessert, reopen]))).toBe(800);
  });

  it('[PRJ19][PRJ16] on a kept double charge, a refund for a line draws on its line first (taxed at its rate); refunds without one take what is above the sale once, the rest off the sale', () => {
    const till = new FixedClockTerminal('till-1');
    const manager = new FixedClockTerminal('manager-1');
    const kept = keptDoubleCharge(till, new FixedClockTerminal('till-2'), manager);
    const wineBack = manager.write(TK, 'ticket.refunded', { refundId: 'r-wine', method: 'card', amountCents: 750, reason: 'corked', lineId: 'l-wine' });
    const forWine = ticketOf([...kept, wineBack]);
    expect(forWine.refunds[0]).toMatchObject({ state: 'applied', aboveSaleCents: 0, line: { lineId: 'l-wine', drawnCents: 750 } });
    expect(refundShares(forWine).taxes.get('r-wine')).toEqual([{ basisPoints: 2000, grossCents: 750, taxCents: 125, netCents: 625 }]);

    const first = manager.write(TK, 'ticket.refunded', { refundId: 'r1', method: 'card', amountCents: 1000, reason: 'charged twice, part 1' });
    const second = manager.write(TK, 'ticket.refunded', { refundId: 'r2', method: 'card', amountCents: 3000, reason: 'charged twice, rest' });
    const v = ticketOf([...kept, first, second]);
    expect(v.refunds.map((r) => [r.refundId, r.state, r.aboveSaleCents])).toEqual([
      ['r1', 'applied', 1000],
      ['r2', 'applied', 2450],
    ]);
    // The 24.50 left above the sale goes at no rate; the 5.50 beyond it comes off the sale, water's 3.00/34.50 of it at no rate too.
    const r2 = refundShares(v).taxes.get('r2')!;
    expect(r2.find((t) => t.basisPoints === null)!.grossCents).toBe(2450 + 48);
    expect(r2.reduce((n, t) => n + t.grossCents, 0)).toBe(3000);
  });

  it('[PRJ19] a refund for a line whose share then shrinks (a discount set after it) hands back at its rate no more than the line now sells; the rest at no rate', () => {
    const till = new FixedClockTerminal('till-1');
    const manager = new FixedClockTerminal('manager-1');
    const paid = [...dinner(till), till.write(TK, 'ticket.payment_recorded', { paymentId: 'p1', method: 'card', amountCents: 3450 })];
    manager.see(...paid);
    const wineBack = manager.write(TK, 'ticket.refunded', { refundId: 'r-wine', method: 'card', amountCents: 750, reason: 'corked', lineId: 'l-wine' });
    const discount = manager.write(TK, 'ticket.discount_set', { discount: { kind: 'percent', percent: 10, reason: 'Regulars' } });
    const v = ticketOf([...paid, wineBack, discount]);
    expect(v.totalCents).toBe(3105);
    const taxes = refundShares(v).taxes.get('r-wine')!;
    expect(taxes.find((t) => t.basisPoints === 2000)!.grossCents).toBe(675);
    expect(taxes.find((t) => t.basisPoints === null)!.grossCents).toBe(75);
    expect(refundShares(v).leftByLine.get('l-wine')).toBe(0);
  });

  it('[PRJ19] the difference over a lowered total, kept and refunded as the over-payment card advises, takes no tax off the sale', () => {
    const till = new FixedClockTerminal('till-1');
    const manager = new FixedClockTerminal('manager-1');
    const paid = [...dinner(till), till.write(TK, 'ticket.payment_recorded', { paymentId: 'p1', method: 'card', amountCents: 3450 })];
    const removed = [...paid, till.write(TK, 'ticket.item_removed', { lineId: 'l-water' })];
    const conflict = ticketOf(removed).conflicts.find((c) => c.kind === 'over_payment' && c.status === 'open')!;
    manager.see(...removed);
    const v = ticketOf([
      ...removed,
      manager.write(TK, 'conflict.resolved', { conflictId: conflict.conflictId, resolution: { kind: 'accept_payment' } }),
      manager.write(TK, 'ticket.closed', { totalCents: 3150 }),
      manager.write(TK, 'ticket.refunded', { refundId: 'r-diff', method: 'card', amountCents: 300, reason: 'water taken off' }),
    ]);
    expect(v.status).toBe('closed');
    expect(refundShares(v).taxes.get('r-diff')).toEqual([{ basisPoints: null, grossCents: 300, taxCents: 0, netCents: 300 }]);
    expect(owedCents(v)).toBe(0);
  });

  it('[PRJ19] a refund keeps the name and rate of its line when the line later leaves the ticket (removed after a reopening); what it drew, now owed again, takes no tax off the sale that is left', () => {
    const till = new FixedClockTerminal('till-1');
    const manager = new FixedClockTerminal('manager-1');
    const sold = soldDinner(till, manager);
    const wineBack = manager.write(TK, 'ticket.refunded', { refundId: 'rw', method: 'card', amountCents: 750, reason: 'corked', lineId: 'l-wine' });
    // A till that had not seen the close removes the wine: held, and a manager reopens to apply it.
    const removed = till.write(TK, 'ticket.item_removed', { lineId: 'l-wine' });
    const held = ticketOf([...sold, wineBack, removed]);
    const conflict = held.conflicts.find((c) => c.kind === 'change_after_close')!;
    manager.see(removed);
    const reopen = manager.write(TK, 'conflict.resolved', { conflictId: conflict.conflictId, resolution: { kind: 'reopen' } });
    const v = ticketOf([...sold, wineBack, removed, reopen]);
    expect(v.lines.map((l) => l.lineId)).toEqual(['l-burger', 'l-water']);
    expect(v.refunds[0]!.line).toEqual({ lineId: 'l-wine', name: 'Wine', taxBasisPoints: 2000, drawnCents: 750 });
    // The sale no longer has the wine: the 7.50 it drew is owed again (the payment covers it), at no rate.
    expect(refundShares(v).taxes.get('rw')).toEqual([{ basisPoints: null, grossCents: 750, taxCents: 0, netCents: 750 }]);
    expect(owedCents(v)).toBe(0);
    // The 7.50 the ticket now keeps above its lines went back with the wine: a refund after it is of the sale, taxed.
    const later = manager.write(TK, 'ticket.refunded', { refundId: 'r-late', method: 'card', amountCents: 300, reason: 'slow service' });
    const after = ticketOf([...sold, wineBack, removed, reopen, later]);
    expect(after.refunds[1]).toMatchObject({ state: 'applied', aboveSaleCents: 0 });
    expect(refundShares(after).taxes.get('r-late')!.some((t) => t.basisPoints === 1000)).toBe(true);
  });

  it('[PRJ19] refunds within what a ticket was sold at never hand back more at a rate than was sold at it, whatever their order and lines', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ line: fc.constantFrom('l-burger', 'l-wine', 'l-water', null), share: fc.integer({ min: 1, max: 40 }) }), { minLength: 1, maxLength: 6 }),
        (refunds) => {
          const till = new FixedClockTerminal('till-1');
          const manager = new FixedClockTerminal('manager-1');
          const sold = soldDinner(till, manager);
          let budget = 3450;
          const written = refunds.map((r, i) => {
            const amountCents = Math.max(1, Math.min(budget, Math.floor((3450 * r.share) / 100)));
            budget -= amountCents;
            return manager.write(TK, 'ticket.refunded', { refundId: `r${i}`, method: 'card', amountCents, reason: 'x', ...(r.line ? { lineId: r.line } : {}) });
          });
          const v = ticketOf([...sold, ...written]);
          const soldAt = new Map(ticketTaxes(v).map((t) => [t.basisPoints, t.grossCents]));
          const back = new Map<number | null, number>();
          for (const lines of refundShares(v).taxes.values()) for (const t of lines) back.set(t.basisPoints, (back.get(t.basisPoints) ?? 0) + t.grossCents);
          for (const [rate, gross] of back) expect(gross, `rate ${rate}`).toBeLessThanOrEqual(soldAt.get(rate) ?? 0);
        },
      ),
    );
  });
});
