import { describe, expect, it } from 'vitest';
import { canonicalJson, type AggregateRef, type EventEnvelope } from '../../shared/events/envelope';
import { EventValidationError, MANAGER_EVENT_TYPES, validatePayload } from '../../shared/events/catalog';
import { TICKET_MERGE_POLICY, conflictIdFor } from '../../shared/projection/merge-policy';
import { discountCents } from '../../shared/projection/views';
import { FixedClockTerminal, foldedAs, ticketOf } from '../helpers/test-writer';

const TK: AggregateRef = { id: 'tk-discount', type: 'ticket' };
const burger = { lineId: 'l-burger', menuItemId: 'm-burger', name: 'Burger', unitPriceCents: 1000, quantity: 1 };
const soup = { lineId: 'l-soup', menuItemId: 'm-soup', name: 'Soup', unitPriceCents: 500, quantity: 1 };

/** A 15.00 ticket (burger and soup) opened at a till; the managers have seen it. */
function burgerAndSoup(till: FixedClockTerminal, ...managers: FixedClockTerminal[]): EventEnvelope[] {
  const evs = [till.write(TK, 'ticket.opened', { number: 'A-001' }), till.write(TK, 'ticket.item_added', burger), till.write(TK, 'ticket.item_added', soup)];
  for (const m of managers) m.see(...evs);
  return evs;
}

const percentOff = (by: FixedClockTerminal, percent: number, reason = 'staff meal') => by.write(TK, 'ticket.discount_set', { discount: { kind: 'percent', percent, reason } });
const amountOff = (by: FixedClockTerminal, amountCents: number, reason = 'voucher') => by.write(TK, 'ticket.discount_set', { discount: { kind: 'amount', amountCents, reason } });

describe('a manager discounts a ticket (ticket.discount_set)', () => {
  it('[PRJ17][CMD2] is an LWW register on discount, escalated after the end, and only a manager may write it', () => {
    expect(TICKET_MERGE_POLICY['ticket.discount_set']).toEqual({ merge: 'lww', fields: ['discount'], whenClosed: 'change_after_close', whenVoided: 'change_after_close' });
    expect(MANAGER_EVENT_TYPES.has('ticket.discount_set')).toBe(true);
  });

  it('[PRJ17] a percentage comes off what the lines charge, follows the lines, and rounds to the nearest cent', () => {
    const till = new FixedClockTerminal('till-1');
    const manager = new FixedClockTerminal('manager-1');
    const base = burgerAndSoup(till, manager);
    const set = percentOff(manager, 10);
    const v = ticketOf([...base, set]);
    expect(v).toMatchObject({ subtotalCents: 1500, totalCents: 1350 });
    expect(v.discount).toEqual({ kind: 'percent', percent: 10, amountCents: null, reason: 'staff meal', cents: 150, at: set.at, eventId: set.id, terminal: 'manager-1', staff: null });
    // Another burger later: 10 % of 25.00.
    till.see(set);
    const more = till.write(TK, 'ticket.quantity_changed', { lineId: burger.lineId, quantity: 2 });
    expect(ticketOf([...base, set, more])).toMatchObject({ subtotalCents: 2500, totalCents: 2250, discount: { cents: 250 } });
    // Halves of a cent go up.
    expect(discountCents({ kind: 'percent', percent: 10, amountCents: null }, 5)).toBe(1);
    expect(discountCents({ kind: 'percent', percent: 15, amountCents: null }, 333)).toBe(50);
  });

  it('[PRJ17] an amount off never takes the ticket below zero; null takes the discount off', () => {
    const till = new FixedClockTerminal('till-1');
    const manager = new FixedClockTerminal('manager-1');
    const base = burgerAndSoup(till, manager);
    const voucher = amountOff(manager, 2000);
    expect(ticketOf([...base, voucher])).toMatchObject({ subtotalCents: 1500, totalCents: 0, discount: { kind: 'amount', amountCents: 2000, percent: null, cents: 1500 } });
    const off = manager.write(TK, 'ticket.discount_set', { discount: null });
    expect(ticketOf([...base, voucher, off])).toMatchObject({ totalCents: 1500, discount: null });
  });

  it('[PRJ17][PRJ4] two managers discounting at once: the later stamp holds in any order, the other is superseded', () => {
    const till = new FixedClockTerminal('till-1');
    const a = new FixedClockTerminal('manager-1');
    const b = new FixedClockTerminal('manager-2', 5_000);
    const base = burgerAndSoup(till, a, b);
    const fromA = percentOff(a, 50, 'staff meal');
    const fromB = amountOff(b, 300, 'voucher');
    expect(fromA.seq).toBe(fromB.seq);
    const views = [ticketOf([...base, fromA, fromB]), ticketOf([fromB, ...base, fromA])];
    expect(canonicalJson(views[1])).toBe(canonicalJson(views[0]));
    expect(views[0]).toMatchObject({ totalCents: 1200, discount: { reason: 'voucher', eventId: fromB.id } });
    expect(foldedAs(views[0]!, fromA).status).toBe('superseded');
  });

  it('[PRJ17][PRJ6b] a discount after a full payment holds the payment that no longer fits, as a removed line would', () => {
    const till = new FixedClockTerminal('till-1');
    const manager = new FixedClockTerminal('manager-1');
    const base = burgerAndSoup(till, manager);
    const paid = till.write(TK, 'ticket.payment_recorded', { paymentId: 'pay-1', method: 'card', amountCents: 1500 });
    manager.see(paid);
    const set = percentOff(manager, 20);
    const v = ticketOf([...base, paid, set]);
    const conflictId = conflictIdFor('over_payment', [paid.id, set.id]);
    expect(v).toMatchObject({ totalCents: 1200, paidCents: 0, openConflicts: 1 });
    expect(v.payments.map((p) => [p.state, p.conflictId])).toEqual([['held', conflictId]]);
    expect(foldedAs(v, set)).toEqual({ status: 'applied', reason: 'payments above the new total are held', conflictId });
  });

  it('[PRJ17][PRJ6c] the ticket closes at its discounted total; a discount after the close is escalated, and applies if reopened', () => {
    const till = new FixedClockTerminal('till-1');
    const manager = new FixedClockTerminal('manager-1');
    const base = burgerAndSoup(till, manager);
    const set = percentOff(manager, 10);
    till.see(set);
    const paid = till.write(TK, 'ticket.payment_recorded', { paymentId: 'pay-1', method: 'cash', amountCents: 1350 });
    const closed = till.write(TK, 'ticket.closed', { totalCents: 1350 });
    const v = ticketOf([...base, set, paid, closed]);
    expect(v).toMatchObject({ status: 'closed', closedTotalCents: 1350, closedDiscountCents: 150, openConflicts: 0 });
    expect(foldedAs(v, closed)).toMatchObject({ status: 'applied', reason: null });

    manager.see(paid, closed);
    const after = amountOff(manager, 500);
    const conflictId = conflictIdFor('change_after_close', [closed.id, after.id]);
    const held = ticketOf([...base, set, paid, closed, after]);
    expect(held).toMatchObject({ totalCents: 1350, closedDiscountCents: 150, discount: { kind: 'percent' }, openConflicts: 1 });
    expect(foldedAs(held, after)).toEqual({ status: 'escalated', reason: 'a discount changed after the ticket was closed', conflictId });
    const reopen = manager.write(TK, 'conflict.resolved', { conflictId, resolution: { kind: 'reopen' } });
    expect(ticketOf([...base, set, paid, closed, after, reopen])).toMatchObject({ status: 'open', totalCents: 1000, discount: { kind: 'amount', cents: 500 } });
  });

  it('[PRJ17] bad discounts are refused naming the field', () => {
    const field = (payload: unknown): string => {
      try {
        validatePayload('ticket.discount_set', payload);
      } catch (err) {
        expect(err).toBeInstanceOf(EventValidationError);
        return (err as EventValidationError).field;
      }
      throw new Error('accepted');
    };
    expect(() => validatePayload('ticket.discount_set', { discount: null })).not.toThrow();
    expect(field({ discount: { kind: 'percent', percent: 0, reason: 'x' } })).toBe('payload.discount.percent');
    expect(field({ discount: { kind: 'percent', percent: 101, reason: 'x' } })).toBe('payload.discount.percent');
    expect(field({ discount: { kind: 'percent', percent: 12.5, reason: 'x' } })).toBe('payload.discount.percent');
    expect(field({ discount: { kind: 'amount', amountCents: 0, reason: 'x' } })).toBe('payload.discount.amountCents');
    expect(field({ discount: { kind: 'amount', amountCents: 100, reason: '' } })).toBe('payload.discount.reason');
    expect(field({ discount: { kind: 'free', reason: 'x' } })).toBe('payload.discount.kind');
    expect(field({})).toBe('payload.discount');
  });
});
