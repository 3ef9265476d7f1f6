import { describe, expect, it } from 'vitest';
import type { AggregateRef } from '../../shared/events/envelope';
import { decodeEvent, validatePayload } from '../../shared/events/catalog';
import { linesShareCents, paidLineIds } from '../../shared/projection/views';
import { FixedClockTerminal, foldedAs, ticketOf } from '../helpers/test-writer';
import { fieldOf } from '../helpers/validation';

const TK: AggregateRef = { id: 'tk-checks', type: 'ticket' };
const card = { paymentId: 'p1', method: 'card', amountCents: 1000 } as const;

/** A ticket of three lines: 2× Burger 12.50, 1× Cola 3.50, 1× Soup 6.00 (38.50). */
function threeLines(till: FixedClockTerminal) {
  return [
    till.write(TK, 'ticket.opened', { number: 'A-001' }),
    till.write(TK, 'ticket.item_added', { lineId: 'burger', menuItemId: 'm1', name: 'Burger', unitPriceCents: 1250, quantity: 2 }),
    till.write(TK, 'ticket.item_added', { lineId: 'cola', menuItemId: 'm2', name: 'Cola', unitPriceCents: 350, quantity: 1 }),
    till.write(TK, 'ticket.item_added', { lineId: 'soup', menuItemId: 'm3', name: 'Soup', unitPriceCents: 600, quantity: 1 }),
  ];
}

describe('separate checks: a payment for lines', () => {
  it('[EVT13] a payment names the lines it was for only in v3; without lines it is written as before (v1, v2 with a tip); bad lineIds are refused by field', () => {
    expect(validatePayload('ticket.payment_recorded', { ...card, lineIds: ['burger', 'cola'] }).v).toBe(3);
    expect(validatePayload('ticket.payment_recorded', { ...card, tipCents: 100 }).v).toBe(2);
    expect(validatePayload('ticket.payment_recorded', card).v).toBe(1);
    for (const bad of [[], ['cola', 'cola'], [''], [7], 'cola', Array.from({ length: 201 }, (_, i) => `l${i}`)]) {
      expect(fieldOf(() => validatePayload('ticket.payment_recorded', { ...card, lineIds: bad })), JSON.stringify(bad)).toMatch(/^payload\.lineIds/);
    }
  });

  it('[PRJ22] the fold keeps the lines a payment was for; what they come to is their share of the total, a discount and a comp included', () => {
    const till = new FixedClockTerminal('till-1');
    const lines = threeLines(till);
    const discount = till.write(TK, 'ticket.discount_set', { discount: { kind: 'percent', percent: 10, reason: 'Regulars' } });
    const comp = till.write(TK, 'ticket.line_comped', { lineId: 'soup', reason: 'Cold', quantity: 1 });
    const before = ticketOf([...lines, discount, comp]);
    // The soup comped, 28.50 of lines less 10 % (2.85): 25.65, shared 25.00 : 3.50 over the burgers and the cola.
    expect(before.totalCents).toBe(2565);
    expect(linesShareCents(before, ['burger'])).toBe(2250);
    expect(linesShareCents(before, ['cola'])).toBe(315);
    expect(linesShareCents(before, ['burger', 'cola'])).toBe(2565);
    // A comped line and a line the ticket never had come to nothing.
    expect(linesShareCents(before, ['soup', 'gone'])).toBe(0);

    const forBurgers = till.write(TK, 'ticket.payment_recorded', { paymentId: 'p1', method: 'card', amountCents: 2250, lineIds: ['burger'] });
    const forAmount = till.write(TK, 'ticket.payment_recorded', { paymentId: 'p2', method: 'cash', amountCents: 300 });
    const v = ticketOf([...lines, discount, comp, forBurgers, forAmount]);
    expect(v.payments.map((p) => [p.paymentId, p.lineIds])).toEqual([
      ['p1', ['burger']],
      ['p2', []],
    ]);
    expect([...paidLineIds(v)]).toEqual(['burger']);
    expect(v.paidCents).toBe(2550);
    // The fast path and the full decode read a v3 payload alike.
    const decoded = decodeEvent(JSON.parse(JSON.stringify(forBurgers)));
    expect(decoded.status === 'ok' && decoded.event.payload).toEqual(forBurgers.payload);
  });

  it('[PRJ22] a payment held for a manager pays for no line until it is kept; a line taken off keeps the payment that was for it', () => {
    const till = new FixedClockTerminal('till-1');
    const other = new FixedClockTerminal('till-2');
    const lines = threeLines(till);
    // Two tills, offline, each take the burgers' 25.00 for them: the second would exceed the 38.50 total.
    const first = till.write(TK, 'ticket.payment_recorded', { paymentId: 'p1', method: 'card', amountCents: 2500, lineIds: ['burger'] });
    const second = other.write(TK, 'ticket.payment_recorded', { paymentId: 'p2', method: 'card', amountCents: 2500, lineIds: ['burger', 'cola'] });
    const v = ticketOf([...lines, first, second]);
    expect(foldedAs(v, second).status).toBe('escalated');
    expect(v.payments.find((p) => p.paymentId === 'p2')).toMatchObject({ state: 'held', lineIds: ['burger', 'cola'] });
    expect([...paidLineIds(v)]).toEqual(['burger']);
    // The cola paid for, then taken off the ticket: the money stays taken, the payment names it still.
    const colaPaid = till.write(TK, 'ticket.payment_recorded', { paymentId: 'p3', method: 'cash', amountCents: 350, lineIds: ['cola'] });
    const removed = till.write(TK, 'ticket.item_removed', { lineId: 'cola' });
    const after = ticketOf([...lines, first, colaPaid, removed]);
    expect(after.paidCents).toBe(2850);
    expect(after.payments.find((p) => p.paymentId === 'p3')?.lineIds).toEqual(['cola']);
    expect(linesShareCents(after, ['cola'])).toBe(0);
  });
});
