import { describe, expect, it } from 'vitest';
import { canonicalJson, type AggregateRef, type EventEnvelope } from '../../shared/events/envelope';
import { EventValidationError, MANAGER_EVENT_TYPES, validatePayload } from '../../shared/events/catalog';
import { CONFLICT_RESOLUTIONS, TICKET_MERGE_POLICY, conflictIdFor } from '../../shared/projection/merge-policy';
import { owedCents } from '../../shared/projection/views';
import { FixedClockTerminal, foldedAs, ticketOf } from '../helpers/test-writer';

const TK: AggregateRef = { id: 'tk-refund', type: 'ticket' };
const burger = { lineId: 'l-burger', menuItemId: 'm-burger', name: 'Burger', unitPriceCents: 1000, quantity: 1 };
const soup = { lineId: 'l-soup', menuItemId: 'm-soup', name: 'Soup', unitPriceCents: 500, quantity: 1 };

/** A 15.00 ticket (burger and soup) paid by card and closed at a till; the managers have seen it all. */
function paidAndClosed(till: FixedClockTerminal, ...managers: FixedClockTerminal[]): EventEnvelope[] {
  const evs = [
    till.write(TK, 'ticket.opened', { number: 'A-001' }),
    till.write(TK, 'ticket.item_added', burger),
    till.write(TK, 'ticket.item_added', soup),
    till.write(TK, 'ticket.payment_recorded', { paymentId: 'pay-1', method: 'card', amountCents: 1500 }),
    till.write(TK, 'ticket.closed', { totalCents: 1500 }),
  ];
  for (const m of managers) m.see(...evs);
  return evs;
}

const refund = (by: FixedClockTerminal, refundId: string, amountCents: number, method: 'cash' | 'card' = 'card', reason = 'burger sent back') =>
  by.write(TK, 'ticket.refunded', { refundId, method, amountCents, reason });

describe('a manager refunds money on a ticket (ticket.refunded)', () => {
  it('[PRJ16][CMD2] adds to refunds, applies on a closed ticket, is escalated on a voided one, and only a manager may write it', () => {
    expect(TICKET_MERGE_POLICY['ticket.refunded']).toEqual({ merge: 'add', fields: ['refunds'], whenClosed: 'apply', whenVoided: 'change_after_close' });
    expect(CONFLICT_RESOLUTIONS.over_refund).toEqual(['accept_refund', 'discard_change']);
    expect(MANAGER_EVENT_TYPES.has('ticket.refunded')).toBe(true);
  });

  it('[PRJ16] a refund on a closed ticket is recorded with who gave it and why; the sale, its total and what was taken stay as they were', () => {
    const till = new FixedClockTerminal('till-1');
    const manager = new FixedClockTerminal('manager-1');
    const base = paidAndClosed(till, manager);
    const given = refund(manager, 'rf-1', 1000);
    const v = ticketOf([...base, given]);
    expect(v).toMatchObject({ status: 'closed', totalCents: 1500, paidCents: 1500, closedTotalCents: 1500, refundedCents: 1000, openConflicts: 0 });
    expect(v.refunds).toEqual([
      { refundId: 'rf-1', eventId: given.id, method: 'card', amountCents: 1000, reason: 'burger sent back', line: null, aboveSaleCents: 0, at: given.at, terminal: 'manager-1', staff: null, state: 'applied', conflictId: null },
    ]);
    expect(foldedAs(v, given)).toEqual({ status: 'applied', reason: null, conflictId: null });
  });

  it('[PRJ16] the same refund id again is a duplicate, counted once', () => {
    const till = new FixedClockTerminal('till-1');
    const manager = new FixedClockTerminal('manager-1');
    const base = paidAndClosed(till, manager);
    const first = refund(manager, 'rf-1', 500);
    const again = new FixedClockTerminal('manager-2').see(...base).write(TK, 'ticket.refunded', { refundId: 'rf-1', method: 'card', amountCents: 500, reason: 'burger sent back' });
    const v = ticketOf([...base, first, again]);
    expect(v.refundedCents).toBe(500);
    expect(v.refunds).toHaveLength(1);
    // Whichever folds second is the duplicate.
    expect([foldedAs(v, first).status, foldedAs(v, again).status].sort()).toEqual(['applied', 'duplicate']);
    expect(v.history.find((h) => h.status === 'duplicate')?.reason).toBe('refund rf-1 already recorded');
  });

  it('[PRJ16] two managers each refunding the whole bill offline: one counts, the other is held as over_refund, the same in any order', () => {
    const till = new FixedClockTerminal('till-1');
    const a = new FixedClockTerminal('manager-1');
    const b = new FixedClockTerminal('manager-2', 5_000);
    const base = paidAndClosed(till, a, b);
    const fromA = refund(a, 'rf-a', 1500, 'card');
    const fromB = refund(b, 'rf-b', 1500, 'cash');
    expect(fromA.seq).toBe(fromB.seq);
    const views = [ticketOf([...base, fromA, fromB]), ticketOf([fromB, ...base, fromA]), ticketOf([fromA, fromB, ...base].reverse())];
    expect(canonicalJson(views[1])).toBe(canonicalJson(views[0]));
    expect(canonicalJson(views[2])).toBe(canonicalJson(views[0]));
    const v = views[0]!;
    // Fold order (seq, at, …): A's earlier stamp comes first and counts.
    const conflictId = conflictIdFor('over_refund', [fromA.id, fromB.id]);
    expect(v).toMatchObject({ refundedCents: 1500, openConflicts: 1, status: 'closed' });
    expect(v.refunds.map((r) => [r.refundId, r.state, r.conflictId])).toEqual([
      ['rf-a', 'applied', null],
      ['rf-b', 'held', conflictId],
    ]);
    expect(v.conflicts).toMatchObject([{ conflictId, kind: 'over_refund', status: 'open', detail: 'refunds 30.00 exceed the 15.00 taken' }]);
    expect(foldedAs(v, fromB)).toEqual({ status: 'escalated', reason: 'refunds 30.00 exceed the 15.00 taken', conflictId });

    // The manager finds the drawer 15.00 short: the cash was handed back too.
    const accept = a.see(fromB).write(TK, 'conflict.resolved', { conflictId, resolution: { kind: 'accept_refund' } });
    expect(ticketOf([...base, fromA, fromB, accept])).toMatchObject({ refundedCents: 3000, openConflicts: 0 });
    // Or it was never handed over.
    const discard = a.write(TK, 'conflict.resolved', { conflictId, resolution: { kind: 'discard_change' } });
    const discarded = ticketOf([...base, fromA, fromB, discard]);
    expect(discarded).toMatchObject({ refundedCents: 1500, openConflicts: 0 });
    expect(discarded.refunds.map((r) => r.state)).toEqual(['applied', 'discarded']);
  });

  it('[PRJ16] refunds add up: partial refunds pass until what was taken, the next one is held', () => {
    const till = new FixedClockTerminal('till-1');
    const manager = new FixedClockTerminal('manager-1');
    const base = paidAndClosed(till, manager);
    const one = refund(manager, 'rf-1', 1000, 'card');
    const two = refund(manager, 'rf-2', 500, 'card');
    const three = refund(manager, 'rf-3', 1, 'card');
    const v = ticketOf([...base, one, two, three]);
    expect(v.refundedCents).toBe(1500);
    expect(v.refunds.map((r) => r.state)).toEqual(['applied', 'applied', 'held']);
    expect(foldedAs(v, three)).toMatchObject({ status: 'escalated', reason: 'refunds 15.01 exceed the 15.00 taken' });
  });

  it('[PRJ16] each way at most what it took: two managers refunding the cash part offline, the second is held, whatever the card took', () => {
    const till = new FixedClockTerminal('till-1');
    const a = new FixedClockTerminal('manager-1');
    const b = new FixedClockTerminal('manager-2', 5_000);
    const base = [
      till.write(TK, 'ticket.opened', { number: 'A-001' }),
      till.write(TK, 'ticket.item_added', { ...burger, quantity: 3 }),
      till.write(TK, 'ticket.payment_recorded', { paymentId: 'pay-cash', method: 'cash', amountCents: 1000 }),
      till.write(TK, 'ticket.payment_recorded', { paymentId: 'pay-card', method: 'card', amountCents: 2000 }),
      till.write(TK, 'ticket.closed', { totalCents: 3000 }),
    ];
    a.see(...base);
    b.see(...base);
    const fromA = refund(a, 'rf-a', 1000, 'cash');
    const fromB = refund(b, 'rf-b', 1000, 'cash');
    const v = ticketOf([fromB, ...base, fromA]);
    expect(canonicalJson(v)).toBe(canonicalJson(ticketOf([...base, fromA, fromB])));
    expect(v.refunds.map((r) => [r.refundId, r.state])).toEqual([
      ['rf-a', 'applied'],
      ['rf-b', 'held'],
    ]);
    expect(foldedAs(v, fromB)).toMatchObject({ status: 'escalated', reason: 'cash refunds 20.00 exceed the 10.00 taken by cash' });
    // Onto the card there is still 20.00 to give back.
    expect(ticketOf([...base, fromA, refund(a, 'rf-c', 2000, 'card')]).refundedCents).toBe(3000);
  });

  it('[PRJ16] a refund with nothing taken is held (there is no money to hand back)', () => {
    const till = new FixedClockTerminal('till-1');
    const manager = new FixedClockTerminal('manager-1');
    const opened = [till.write(TK, 'ticket.opened', { number: 'A-001' }), till.write(TK, 'ticket.item_added', burger)];
    manager.see(...opened);
    const given = refund(manager, 'rf-1', 100);
    const v = ticketOf([...opened, given]);
    expect(v).toMatchObject({ refundedCents: 0, openConflicts: 1 });
    expect(foldedAs(v, given)).toMatchObject({ status: 'escalated', reason: 'refunds 1.00 exceed the 0.00 taken' });
  });

  it('[PRJ16][PRJ6c] a refund on a voided ticket is held as change_after_close: the void already holds its money for refund_payment', () => {
    const till = new FixedClockTerminal('till-1');
    const manager = new FixedClockTerminal('manager-1');
    const base = paidAndClosed(till, manager).slice(0, 4); // paid, not closed
    const voided = manager.write(TK, 'ticket.voided', { reason: 'wrong table' });
    const given = refund(manager, 'rf-1', 1500);
    const v = ticketOf([...base, voided, given]);
    const conflictId = conflictIdFor('change_after_close', [voided.id, given.id]);
    expect(v).toMatchObject({ status: 'voided', refundedCents: 0 });
    expect(v.refunds).toMatchObject([{ refundId: 'rf-1', state: 'held', conflictId }]);
    expect(foldedAs(v, given)).toEqual({ status: 'escalated', reason: 'a card refund of 15.00 given after the ticket was voided', conflictId });

    const discard = manager.write(TK, 'conflict.resolved', { conflictId, resolution: { kind: 'discard_change' } });
    expect(ticketOf([...base, voided, given, discard]).refunds).toMatchObject([{ refundId: 'rf-1', state: 'discarded' }]);
    // Reopened, the refund is checked again against the money taken: the payment the void held counts again first, and the refund fits it.
    const reopen = manager.write(TK, 'conflict.resolved', { conflictId, resolution: { kind: 'reopen' } });
    const reopened = ticketOf([...base, voided, given, reopen]);
    expect(reopened.payments).toMatchObject([{ paymentId: 'pay-1', state: 'applied' }]);
    expect(reopened.refunds).toMatchObject([{ refundId: 'rf-1', state: 'applied', conflictId: null }]);
    expect(reopened).toMatchObject({ refundedCents: 1500, openConflicts: 0 });
  });

  it('[PRJ16][PRJ6] a refund given before the ticket is voided is part of the money the void holds: handed back whole, it is settled in it, never handed back twice', () => {
    const till = new FixedClockTerminal('till-1');
    const manager = new FixedClockTerminal('manager-1');
    const base = paidAndClosed(till, manager);
    const given = refund(manager, 'rf-1', 1000, 'card');
    const voided = manager.write(TK, 'ticket.voided', { reason: 'wrong table' });
    const clash = ticketOf([...base, given, voided]).conflicts.find((c) => c.kind === 'closed_and_voided')!;
    const keepVoid = manager.write(TK, 'conflict.resolved', { conflictId: clash.conflictId, resolution: { kind: 'keep_void' } });
    const v = ticketOf([...base, given, voided, keepVoid]);
    const held = v.conflicts.find((c) => c.kind === 'payment_after_void')!;
    expect(held).toMatchObject({ status: 'open', detail: 'voided with a card payment of 15.00 taken, 10.00 of it refunded already' });
    expect(v.refunds).toMatchObject([{ refundId: 'rf-1', state: 'held', conflictId: held.conflictId }]);
    expect(v).toMatchObject({ status: 'voided', paidCents: 0, refundedCents: 0 });

    const handBack = manager.write(TK, 'conflict.resolved', { conflictId: held.conflictId, resolution: { kind: 'refund_payment' } });
    const settled = ticketOf([...base, given, voided, keepVoid, handBack]);
    expect(settled.payments.map((p) => p.state)).toEqual(['refunded']);
    expect(settled.refunds.map((r) => r.state)).toEqual(['settled']);
    expect(settled).toMatchObject({ paidCents: 0, refundedCents: 0, openConflicts: 0 });

    const reopen = manager.write(TK, 'conflict.resolved', { conflictId: held.conflictId, resolution: { kind: 'reopen' } });
    const kept = ticketOf([...base, given, voided, keepVoid, reopen]);
    expect(kept).toMatchObject({ paidCents: 1500, refundedCents: 1000, openConflicts: 0 });
    expect(kept.refunds.map((r) => r.state)).toEqual(['applied']);
  });

  it('[PRJ16][PRJ6b] the total is checked against what the ticket keeps: a refund for a dish, then its comp applied on reopening, holds no payment', () => {
    const till = new FixedClockTerminal('till-1');
    const manager = new FixedClockTerminal('manager-1');
    const base = paidAndClosed(till, manager);
    const given = refund(manager, 'rf-1', 500, 'card', 'soup cold');
    const comped = manager.write(TK, 'ticket.line_comped', { lineId: soup.lineId, reason: 'soup cold', quantity: 1 });
    const conflictId = ticketOf([...base, given, comped]).conflicts.find((c) => c.kind === 'change_after_close')!.conflictId;
    const reopen = manager.write(TK, 'conflict.resolved', { conflictId, resolution: { kind: 'reopen' } });
    const v = ticketOf([...base, given, comped, reopen]);
    // 15.00 taken, 5.00 back: the 10.00 kept is the new total. Nothing is held, nothing owed.
    expect(v).toMatchObject({ totalCents: 1000, paidCents: 1500, refundedCents: 500, openConflicts: 0, status: 'paid' });
    expect(v.payments.map((p) => p.state)).toEqual(['applied']);
    expect(owedCents(v)).toBe(0);

    // Without the refund the same comp holds the payment that no longer fits (PRJ15).
    const without = ticketOf([...base, comped, manager.write(TK, 'conflict.resolved', { conflictId: conflictIdFor('change_after_close', [base[4]!.id, comped.id]), resolution: { kind: 'reopen' } })]);
    expect(without.payments.map((p) => p.state)).toEqual(['held']);
  });

  it('[PRJ16] a refund held because a void came first applies when the close is kept (keep_closed), without reopening the sale', () => {
    const till = new FixedClockTerminal('till-1');
    const voider = new FixedClockTerminal('manager-1', -60_000);
    const refunder = new FixedClockTerminal('manager-2');
    const [opened, burgerAdded, soupAdded, paid, closed] = paidAndClosed(till);
    const open = [opened!, burgerAdded!, soupAdded!, paid!];
    voider.see(...open);
    const voided = voider.write(TK, 'ticket.voided', { reason: 'walked out' });
    expect(voided.seq).toBe(closed!.seq);
    refunder.see(...open, closed!, voided);
    const given = refund(refunder, 'rf-1', 500, 'card');
    const before = ticketOf([...open, closed!, voided, given]);
    // The void folds first (its stamp is earlier): the close and then the refund are held.
    expect(foldedAs(before, closed!).status).toBe('escalated');
    expect(foldedAs(before, given)).toMatchObject({ status: 'escalated', reason: 'a card refund of 5.00 given after the ticket was voided' });
    const clash = conflictIdFor('closed_and_voided', [voided.id, closed!.id]);
    const keepClosed = refunder.write(TK, 'conflict.resolved', { conflictId: clash, resolution: { kind: 'keep_closed' } });
    const v = ticketOf([...open, closed!, voided, given, keepClosed]);
    expect(v).toMatchObject({ status: 'closed', closedTotalCents: 1500, paidCents: 1500, refundedCents: 500, openConflicts: 0 });
    expect(v.refunds.map((r) => r.state)).toEqual(['applied']);
    expect(v.conflicts.filter((c) => c.kind === 'change_after_close')).toMatchObject([{ status: 'resolved', resolution: { note: 'the close was kept: the refund applies' } }]);
  });

  it('[PRJ16] money handed back on a ticket that is not closed is not owed again: a refund is its own money movement', () => {
    const till = new FixedClockTerminal('till-1');
    const manager = new FixedClockTerminal('manager-1');
    const open = paidAndClosed(till, manager).slice(0, 4);
    expect(ticketOf(open).status).toBe('paid');
    const v = ticketOf([...open, refund(manager, 'rf-1', 500)]);
    expect(v).toMatchObject({ paidCents: 1500, refundedCents: 500, status: 'paid' });
    expect(owedCents(v)).toBe(0);
  });

  it('[PRJ16] a refund for a dish a till took off after it was sent (the kitchen sees it cancelled) keeps the dish\'s name', () => {
    const till = new FixedClockTerminal('till-1');
    const manager = new FixedClockTerminal('manager-1', 5_000);
    const paid = [
      till.write(TK, 'ticket.opened', { number: 'A-001' }),
      till.write(TK, 'ticket.item_added', burger),
      till.write(TK, 'ticket.item_added', soup),
      till.write(TK, 'ticket.sent_to_kitchen', { lineIds: [burger.lineId, soup.lineId] }),
      till.write(TK, 'ticket.payment_recorded', { paymentId: 'pay-1', method: 'card', amountCents: 1500 }),
    ];
    manager.see(...paid);
    // The manager refunds the soup, unaware a till took it off meanwhile.
    const removed = till.write(TK, 'ticket.item_removed', { lineId: soup.lineId });
    const soupBack = manager.write(TK, 'ticket.refunded', { refundId: 'rf-soup', method: 'card', amountCents: 500, reason: 'cold', lineId: soup.lineId });
    const v = ticketOf([...paid, removed, soupBack]);
    expect(v.cancelledLines.map((l) => l.lineId)).toEqual([soup.lineId]);
    expect(v.refunds.find((r) => r.refundId === 'rf-soup')!.line).toMatchObject({ lineId: soup.lineId, name: 'Soup' });
  });

  it('[PRJ16] bad refunds are refused naming the field', () => {
    const field = (payload: unknown): string => {
      try {
        validatePayload('ticket.refunded', payload);
      } catch (err) {
        expect(err).toBeInstanceOf(EventValidationError);
        return (err as EventValidationError).field;
      }
      throw new Error('accepted');
    };
    const ok = { refundId: 'rf-1', method: 'cash', amountCents: 100, reason: 'cold' };
    expect(() => validatePayload('ticket.refunded', ok)).not.toThrow();
    expect(field({ ...ok, amountCents: 0 })).toBe('payload.amountCents');
    expect(field({ ...ok, amountCents: 1.5 })).toBe('payload.amountCents');
    expect(field({ ...ok, method: 'cheque' })).toBe('payload.method');
    expect(field({ ...ok, reason: '' })).toBe('payload.reason');
    expect(field({ ...ok, tipCents: 1 })).toBe('payload.tipCents');
  });
});
