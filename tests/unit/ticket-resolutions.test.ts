import { describe, expect, it } from 'vitest';
import type { AggregateRef, EventEnvelope } from '../../shared/events/envelope';
import { owedCents, waitsInKitchen, type TicketView } from '../../shared/projection/views';
import { dayTakings } from '../../shared/reports/day-takings';
import { FixedClockTerminal, foldedAs, ticketOf } from '../helpers/test-writer';

/*
 * Money a manager's resolution brings back (or a close applies) meets the checks any payment,
 * refund or close meets when it is folded: a void holds it, what exceeds the total is an
 * over-payment, a refund is covered by its own method. Each case is a sequence two offline tills
 * and a manager can write.
 */
const TK: AggregateRef = { id: 'tk-res', type: 'ticket' };
const main = { lineId: 'l-main', menuItemId: 'm-main', name: 'Main', unitPriceCents: 2000, quantity: 1 };
const dessert = { lineId: 'l-dessert', menuItemId: 'm-d', name: 'Dessert', unitPriceCents: 1000, quantity: 1 };
const day = { from: 0, to: 2_000_000_000_000 };

function resolve(by: FixedClockTerminal, v: TicketView, kind: string, resolution: object): EventEnvelope {
  const conflict = v.conflicts.find((c) => c.kind === kind && c.status === 'open');
  if (conflict === undefined) throw new Error(`no open ${kind}`);
  return by.write(TK, 'conflict.resolved', { conflictId: conflict.conflictId, resolution });
}

describe('what a resolution brings back is checked again', () => {
  it('[PRJ16] refunds held with a payment are matched by method: the cash payment handed back whole settles the cash refund in it (no cash handed back twice)', () => {
    const till = new FixedClockTerminal('till-1');
    const manager = new FixedClockTerminal('manager-1');
    const waiter = new FixedClockTerminal('till-2', 5_000);
    const base = [
      till.write(TK, 'ticket.opened', { number: 'A-001' }),
      till.write(TK, 'ticket.item_added', { ...main, lineId: 'l-burger', name: 'Burger' }),
      till.write(TK, 'ticket.item_added', { ...dessert, lineId: 'l-soup', name: 'Soup' }),
      till.write(TK, 'ticket.item_added', { ...dessert, lineId: 'l-salad', name: 'Salad' }),
    ];
    waiter.see(...base);
    const paid = [
      till.write(TK, 'ticket.payment_recorded', { paymentId: 'p-card', method: 'card', amountCents: 2000 }),
      till.write(TK, 'ticket.payment_recorded', { paymentId: 'p-cash', method: 'cash', amountCents: 2000 }),
      till.write(TK, 'ticket.closed', { totalCents: 4000 }),
    ];
    manager.see(...base, ...paid);
    waiter.see(paid[0]!, paid[1]!);
    const soupBack = manager.write(TK, 'ticket.refunded', { refundId: 'rf-1', method: 'cash', amountCents: 1000, reason: 'soup sent back' });
    // A waiter who had not seen the close takes the burger off: held; the manager reopens to apply it.
    const removed = waiter.write(TK, 'ticket.item_removed', { lineId: 'l-burger' });
    let all = [...base, ...paid, soupBack, removed];
    manager.see(removed);
    all = [...all, resolve(manager, ticketOf(all), 'change_after_close', { kind: 'reopen' })];
    const held = ticketOf(all);
    // 40.00 kept on a 20.00 total: the newest payment (the cash) is held, and the cash refund with it.
    expect(held.payments.map((p) => [p.paymentId, p.state])).toEqual([
      ['p-card', 'applied'],
      ['p-cash', 'held'],
    ]);
    expect(held.refunds.map((r) => r.state)).toEqual(['held']);
    all = [...all, resolve(manager, held, 'over_payment', { kind: 'refund_payment' })];
    const v = ticketOf(all);
    expect(v.refunds.map((r) => r.state)).toEqual(['settled']);
    const takings = dayTakings([v], day);
    expect(takings.refunded.byMethod.cash.amountCents).toBe(0);
    expect(takings.cashExpectedCents).toBe(0); // the cash payment went back whole: none in the drawer, the refund in it not taken off again
  });

  /** Till 1 took the whole bill by card, a manager voided the ticket, till 2 (offline, 5 s slow) set a note unaware. */
  function paidThenVoided() {
    const a = new FixedClockTerminal('till-1');
    const b = new FixedClockTerminal('till-2', 5_000);
    const manager = new FixedClockTerminal('manager-1');
    const base = [a.write(TK, 'ticket.opened', { number: 'A-003' }), a.write(TK, 'ticket.item_added', main)];
    b.see(...base);
    manager.see(...base);
    const payA = a.write(TK, 'ticket.payment_recorded', { paymentId: 'p-a', method: 'card', amountCents: 2000 });
    manager.see(payA);
    const voided = manager.write(TK, 'ticket.voided', { reason: 'wrong table' });
    const note = b.write(TK, 'ticket.note_set', { note: 'window seat' });
    return { b, manager, base, payA, voided, note };
  }

  it('[PRJ6a] two tills each took the whole bill around a void: reopened, the second payment is an over-payment again', () => {
    const { b, manager, base, payA, voided, note } = paidThenVoided();
    const payB = b.write(TK, 'ticket.payment_recorded', { paymentId: 'p-b', method: 'cash', amountCents: 2000 });
    // Without the void, the second is an over-payment.
    expect(ticketOf([...base, payA, note, payB]).payments.map((p) => p.state)).toEqual(['applied', 'held']);
    const all = [...base, payA, voided, note, payB];
    manager.see(note, payB);
    for (const c of ticketOf(all).conflicts.filter((x) => x.kind === 'payment_after_void')) {
      all.push(manager.write(TK, 'conflict.resolved', { conflictId: c.conflictId, resolution: { kind: 'reopen' } }));
    }
    const v = ticketOf(all);
    expect([v.status, v.paidCents, v.totalCents]).toEqual(['paid', 2000, 2000]);
    expect(v.conflicts.filter((c) => c.status === 'open').map((c) => c.kind)).toEqual(['over_payment']);
    expect(dayTakings([v], day).taken.amountCents).toBe(2000);
  });

  it('[PRJ6f] two tills each took the whole bill around a void, one also added a dessert: reopened from the dessert\'s card, the payment beyond the new total is an over-payment', () => {
    const { b, manager, base, payA, voided, note } = paidThenVoided();
    const later = [b.write(TK, 'ticket.payment_recorded', { paymentId: 'p-b', method: 'cash', amountCents: 2000 }), b.write(TK, 'ticket.item_added', dessert)];
    const all = [...base, payA, voided, note, ...later];
    manager.see(note, ...later);
    expect(ticketOf(all).conflicts.map((c) => c.kind).sort()).toEqual(['change_after_close', 'payment_after_void', 'payment_after_void']);
    all.push(resolve(manager, ticketOf(all), 'change_after_close', { kind: 'reopen' }));
    const v = ticketOf(all);
    // 40.00 taken on 30.00: the newest payment is held, not kept silently.
    expect(v.totalCents).toBe(3000);
    expect(v.payments.map((p) => [p.paymentId, p.state])).toEqual([['p-a', 'applied'], ['p-b', 'held']]);
    expect(v.conflicts.filter((c) => c.status === 'open').map((c) => c.kind)).toEqual(['over_payment']);
  });

  it('[PRJ6f] a payment held beyond the close\'s total counts again when a reopening adds the dessert it paid for; a decision without a note has none', () => {
    const a = new FixedClockTerminal('till-1');
    const b = new FixedClockTerminal('till-2', 5_000);
    const manager = new FixedClockTerminal('manager-1', 10_000);
    const all = [a.write(TK, 'ticket.opened', { number: 'A-004' }), a.write(TK, 'ticket.item_added', main), a.write(TK, 'ticket.payment_recorded', { paymentId: 'p-a', method: 'card', amountCents: 2000 }), a.write(TK, 'ticket.closed', { totalCents: 2000 })];
    b.see(...all);
    all.push(b.write(TK, 'ticket.payment_recorded', { paymentId: 'p-b', method: 'cash', amountCents: 1000 }), b.write(TK, 'ticket.item_added', dessert));
    manager.see(...all);
    expect(ticketOf(all).conflicts.map((c) => c.kind).sort()).toEqual(['change_after_close', 'over_payment']);
    all.push(resolve(manager, ticketOf(all), 'change_after_close', { kind: 'reopen' }));
    const v = ticketOf(all);
    expect([v.totalCents, owedCents(v), v.openConflicts]).toEqual([3000, 0, 0]);
    expect(v.payments.map((p) => p.state)).toEqual(['applied', 'applied']);
    expect(v.conflicts.find((c) => c.kind === 'change_after_close')!.resolution!.note).toBeNull();
  });

  it('[PRJ6b] a payment a manager accepts on a ticket voided meanwhile is held for the void, never counted as taken', () => {
    const a = new FixedClockTerminal('till-1');
    const b = new FixedClockTerminal('till-2', 1_000);
    const manager = new FixedClockTerminal('manager-1', 2_000);
    const base = [a.write(TK, 'ticket.opened', { number: 'A-007' }), a.write(TK, 'ticket.item_added', main)];
    b.see(...base);
    const p1 = a.write(TK, 'ticket.payment_recorded', { paymentId: 'p-1', method: 'card', amountCents: 2000 });
    const p2 = b.write(TK, 'ticket.payment_recorded', { paymentId: 'p-2', method: 'card', amountCents: 2000 });
    manager.see(...base, p1, p2);
    const all = [...base, p1, p2, manager.write(TK, 'ticket.voided', { reason: 'nothing charged' })];
    all.push(resolve(manager, ticketOf(all), 'over_payment', { kind: 'accept_payment' }));
    const v = ticketOf(all);
    expect([v.status, v.paidCents]).toEqual(['voided', 0]);
    expect(v.payments.map((p) => p.state)).toEqual(['held', 'held']);
    expect(v.conflicts.filter((c) => c.status === 'open').map((c) => c.kind)).toEqual(['payment_after_void', 'payment_after_void']);
  });

  it('[PRJ6b] a payment on a closed ticket must fit the total it was closed (and accepted) at, not its lines\'', () => {
    const a = new FixedClockTerminal('till-1');
    const b = new FixedClockTerminal('till-2', 5_000);
    const manager = new FixedClockTerminal('manager-1', 10_000);
    const base = [a.write(TK, 'ticket.opened', { number: 'A-002' }), a.write(TK, 'ticket.item_added', main)];
    b.see(...base);
    const withDessert = b.write(TK, 'ticket.item_added', dessert);
    // Till 1, which never saw the dessert, takes 20.00 and closes at 20.00; a manager accepts that total.
    const pay1 = a.write(TK, 'ticket.payment_recorded', { paymentId: 'p-1', method: 'card', amountCents: 2000 });
    const all = [...base, withDessert, pay1, a.write(TK, 'ticket.closed', { totalCents: 2000 })];
    manager.see(...all);
    all.push(resolve(manager, ticketOf(all), 'close_total_mismatch', { kind: 'accept_total', totalCents: 2000 }));
    // Till 2 saw the 20.00 paid, not the close: it takes the 10.00 it thinks is left.
    b.see(pay1);
    all.push(b.write(TK, 'ticket.payment_recorded', { paymentId: 'p-2', method: 'cash', amountCents: 1000 }));
    const v = ticketOf(all);
    expect([v.closedTotalCents, v.paidCents]).toEqual([2000, 2000]);
    expect(v.payments.find((p) => p.paymentId === 'p-2')?.state).toBe('held');
    expect(v.conflicts.filter((c) => c.status === 'open').map((c) => c.kind)).toEqual(['over_payment']);
  });

  it('[PRJ6d] a total a manager accepts holds the money kept above it as an over-payment', () => {
    const a = new FixedClockTerminal('till-1');
    const b = new FixedClockTerminal('till-2', 5_000);
    const manager = new FixedClockTerminal('manager-1', 10_000);
    const base = [a.write(TK, 'ticket.opened', { number: 'A-004' }), a.write(TK, 'ticket.item_added', main)];
    b.see(...base);
    // Till 1 adds a dessert, takes 30.00 and closes at 30.00; till 2, offline, works the ticket and closes it at 20.00.
    const all = [
      ...base,
      a.write(TK, 'ticket.item_added', dessert),
      a.write(TK, 'ticket.payment_recorded', { paymentId: 'p-1', method: 'card', amountCents: 3000 }),
      a.write(TK, 'ticket.closed', { totalCents: 3000 }),
      b.write(TK, 'ticket.note_set', { note: 'birthday' }),
      b.write(TK, 'ticket.covers_set', { covers: 3 }),
      b.write(TK, 'ticket.table_assigned', { tableId: 't5' }),
      b.write(TK, 'ticket.closed', { totalCents: 2000 }),
    ];
    manager.see(...all);
    const before = ticketOf(all);
    expect([before.closedTotalCents, before.paidCents]).toEqual([3000, 3000]);
    // The dessert was never served: the manager accepts 20.00, and the 30.00 taken no longer fits it.
    all.push(resolve(manager, before, 'close_total_mismatch', { kind: 'accept_total', totalCents: 2000 }));
    const v = ticketOf(all);
    expect([v.closedTotalCents, v.paidCents]).toEqual([2000, 0]);
    expect(v.conflicts.filter((c) => c.status === 'open').map((c) => c.kind)).toEqual(['over_payment']);
  });

  it('[PRJ6e] a close kept over a void applies as it would have before it: its total checked against the lines then, the guests it was made with', () => {
    const outcomes = [false, true].map((voidFirst) => {
      const a = new FixedClockTerminal('till-1', voidFirst ? 5_000 : 0);
      const b = new FixedClockTerminal('till-2');
      const manager = new FixedClockTerminal('manager-1', voidFirst ? 0 : 5_000);
      const base = [a.write(TK, 'ticket.opened', { number: 'A-005', covers: 4 }), a.write(TK, 'ticket.item_added', main)];
      b.see(...base);
      manager.see(...base);
      const withDessert = b.write(TK, 'ticket.item_added', dessert);
      manager.see(withDessert);
      // Till 1 never saw the dessert: it closes 10.00 short, as the manager voids.
      const all = [...base, withDessert, a.write(TK, 'ticket.payment_recorded', { paymentId: 'p-1', method: 'card', amountCents: 2000 }), a.write(TK, 'ticket.closed', { totalCents: 2000 }), manager.write(TK, 'ticket.voided', { reason: 'walked out' })];
      manager.see(...all);
      all.push(manager.write(TK, 'ticket.covers_set', { covers: 2 }));
      all.push(resolve(manager, ticketOf(all), 'closed_and_voided', { kind: 'keep_closed' }));
      const v = ticketOf(all);
      const order = v.history.filter((h) => h.type === 'ticket.closed' || h.type === 'ticket.voided').map((h) => h.type);
      expect(order[0]).toBe(voidFirst ? 'ticket.voided' : 'ticket.closed');
      return { status: v.status, closedTotalCents: v.closedTotalCents, owed: owedCents(v), closedCovers: v.closedCovers, open: v.conflicts.filter((c) => c.status === 'open').map((c) => c.kind) };
    });
    expect(outcomes[0]).toEqual({ status: 'closed', closedTotalCents: 2000, owed: 0, closedCovers: 4, open: ['close_total_mismatch'] });
    expect(outcomes[1]).toEqual(outcomes[0]);
  });

  it('[PRJ6e] a close kept over a void checks the payments the void held as they were taken, against the lines: the same in either order', () => {
    const outcomes = [false, true].map((voidFirst) => {
      const a = new FixedClockTerminal('till-1');
      const b = new FixedClockTerminal('till-2');
      const manager = new FixedClockTerminal('manager-1');
      const base = [a.write(TK, 'ticket.opened', { number: 'A-008' }), a.write(TK, 'ticket.item_added', main), a.write(TK, 'ticket.item_added', dessert), a.write(TK, 'ticket.payment_recorded', { paymentId: 'p1', method: 'card', amountCents: 3000 })];
      // Till 2 never saw the dessert (nor the payment): it closes at 20.00 as the manager voids.
      const close = b.write(TK, 'ticket.closed', { totalCents: 2000 });
      const voided = manager.write(TK, 'ticket.voided', { reason: 'x' });
      const ordered = voidFirst ? [...base, voided, close] : [...base, close, voided];
      ordered.forEach((e, i) => (e.seq = i + 1));
      manager.see(...ordered);
      const all = [...ordered, resolve(manager, ticketOf(ordered), 'closed_and_voided', { kind: 'keep_closed' })];
      const v = ticketOf(all);
      return { status: v.status, paid: v.paidCents, payments: v.payments.map((p) => p.state), open: v.conflicts.filter((c) => c.status === 'open').map((c) => c.kind) };
    });
    expect(outcomes[0]).toEqual({ status: 'closed', paid: 3000, payments: ['applied'], open: ['close_total_mismatch'] });
    expect(outcomes[1]).toEqual(outcomes[0]);
  });

  it('[PRJ6e] a close kept over a void counts again a payment taken after the void: beyond the total, it is an over-payment', () => {
    const a = new FixedClockTerminal('till-1');
    const b = new FixedClockTerminal('till-2');
    const manager = new FixedClockTerminal('manager-1');
    const base = [a.write(TK, 'ticket.opened', { number: 'A-010' }), a.write(TK, 'ticket.item_added', main)];
    const p1 = a.write(TK, 'ticket.payment_recorded', { paymentId: 'p-1', method: 'cash', amountCents: 2000 });
    manager.see(...base, p1);
    const voided = manager.write(TK, 'ticket.voided', { reason: 'wrong table' });
    // Till 2 takes the bill again after the void; till 1, seeing it all, closes at the lines' total.
    b.see(...base, p1, voided);
    const p2 = b.write(TK, 'ticket.payment_recorded', { paymentId: 'p-2', method: 'card', amountCents: 2000 });
    a.see(voided, p2);
    const all = [...base, p1, voided, p2, a.write(TK, 'ticket.closed', { totalCents: 2000 })];
    manager.see(...all);
    all.push(resolve(manager, ticketOf(all), 'closed_and_voided', { kind: 'keep_closed' }));
    const v = ticketOf(all);
    expect(v.payments.map((p) => [p.paymentId, p.state])).toEqual([['p-1', 'applied'], ['p-2', 'held']]);
    expect(v).toMatchObject({ status: 'closed', paidCents: 2000 });
    expect(v.conflicts.filter((c) => c.status === 'open').map((c) => c.kind)).toEqual(['over_payment']);
  });

  it('[PRJ6f][PRJ16] a refund given after the void, reopened from its card, is checked against the payments the void held, counted again first: it applies, nothing is left held', () => {
    const till = new FixedClockTerminal('till-1');
    const manager = new FixedClockTerminal('manager-1');
    const late = new FixedClockTerminal('till-2', 5_000);
    const base = [till.write(TK, 'ticket.opened', { number: 'A-011' }), till.write(TK, 'ticket.item_added', main), till.write(TK, 'ticket.payment_recorded', { paymentId: 'p-1', method: 'card', amountCents: 2000 })];
    manager.see(...base);
    late.see(...base);
    const voided = manager.write(TK, 'ticket.voided', { reason: 'wrong table' });
    // A till that had not seen the void gives 5.00 back for a cold main: held as a change after the void.
    const refund = late.write(TK, 'ticket.refunded', { refundId: 'rf-1', method: 'card', amountCents: 500, reason: 'cold' });
    const all = [...base, voided, refund];
    manager.see(refund);
    all.push(resolve(manager, ticketOf(all), 'change_after_close', { kind: 'reopen' }));
    const v = ticketOf(all);
    expect(v.payments.map((p) => [p.paymentId, p.state])).toEqual([['p-1', 'applied']]);
    expect(v.refunds.map((r) => [r.refundId, r.state])).toEqual([['rf-1', 'applied']]);
    expect(v).toMatchObject({ status: 'paid', paidCents: 2000, refundedCents: 500, openConflicts: 0 });
  });

  it('[PRJ6e][PRJ16] a close kept over a void counts every payment the void held again before the refunds it held apply: a refund is checked against them all, whichever sorted first', () => {
    const a = new FixedClockTerminal('till-1');
    const b = new FixedClockTerminal('till-2');
    const c = new FixedClockTerminal('till-3');
    const manager = new FixedClockTerminal('manager-1');
    const base = [a.write(TK, 'ticket.opened', { number: 'A-012' }), a.write(TK, 'ticket.item_added', main), a.write(TK, 'ticket.payment_recorded', { paymentId: 'p-1', method: 'card', amountCents: 1000 })];
    for (const t of [b, c, manager]) t.see(...base);
    // Four tills at once, none seeing the others: a void, a close, a 15.00 refund, and the rest of the bill paid.
    const concurrent = [
      manager.write(TK, 'ticket.voided', { reason: 'wrong table' }),
      a.write(TK, 'ticket.closed', { totalCents: 2000 }),
      b.write(TK, 'ticket.refunded', { refundId: 'rf-1', method: 'card', amountCents: 1500, reason: 'cold' }),
      c.write(TK, 'ticket.payment_recorded', { paymentId: 'p-2', method: 'card', amountCents: 1000 }),
    ];
    const all = [...base, ...concurrent];
    manager.see(...concurrent);
    // The refund sorts before the second payment: folded as it came, it would exceed the 10.00 counted then.
    expect(ticketOf(all).history.filter((h) => h.type === 'ticket.refunded' || h.type === 'ticket.payment_recorded').map((h) => h.type)).toEqual(['ticket.payment_recorded', 'ticket.refunded', 'ticket.payment_recorded']);
    all.push(resolve(manager, ticketOf(all), 'closed_and_voided', { kind: 'keep_closed' }));
    const v = ticketOf(all);
    expect(v.payments.map((p) => [p.paymentId, p.state])).toEqual([['p-1', 'applied'], ['p-2', 'applied']]);
    expect(v.refunds.map((r) => [r.refundId, r.state])).toEqual([['rf-1', 'applied']]);
    expect(v).toMatchObject({ status: 'closed', paidCents: 2000, refundedCents: 1500, openConflicts: 0 });
  });

  it('[PRJ6b] an over-payment a manager accepted is not asked about again when a void around it is reopened', () => {
    const a = new FixedClockTerminal('till-1');
    const b = new FixedClockTerminal('till-2', 1_000);
    const manager = new FixedClockTerminal('manager-1', 2_000);
    const base = [a.write(TK, 'ticket.opened', { number: 'A-009' }), a.write(TK, 'ticket.item_added', main)];
    b.see(...base);
    const p1 = a.write(TK, 'ticket.payment_recorded', { paymentId: 'p-1', method: 'card', amountCents: 2000 });
    const p2 = b.write(TK, 'ticket.payment_recorded', { paymentId: 'p-2', method: 'card', amountCents: 2000 });
    manager.see(...base, p1, p2);
    const all = [...base, p1, p2, manager.write(TK, 'ticket.voided', { reason: 'wrong table' })];
    all.push(resolve(manager, ticketOf(all), 'over_payment', { kind: 'accept_payment' }));
    for (const c of ticketOf(all).conflicts.filter((x) => x.kind === 'payment_after_void' && x.status === 'open')) {
      all.push(manager.write(TK, 'conflict.resolved', { conflictId: c.conflictId, resolution: { kind: 'reopen' } }));
    }
    const v = ticketOf(all);
    expect([v.status, v.paidCents, v.openConflicts]).toEqual(['paid', 4000, 0]);
  });

  it.each([
    ['over_payment', 'reopen'],
    ['payment_after_void', 'accept_payment'],
    ['closed_and_voided', 'reopen'],
  ])('[PRJ6] %s is not settled by %s: the resolution is invalid and changes nothing', (kind, resolution) => {
    const a = new FixedClockTerminal('till-1');
    const b = new FixedClockTerminal('till-2', 5_000);
    const manager = new FixedClockTerminal('manager-1', 10_000);
    const base = [a.write(TK, 'ticket.opened', { number: 'A-010' }), a.write(TK, 'ticket.item_added', main)];
    b.see(...base);
    const payA = () => a.write(TK, 'ticket.payment_recorded', { paymentId: 'p-a', method: 'card', amountCents: 2000 });
    const ending = {
      over_payment: () => [payA(), b.write(TK, 'ticket.payment_recorded', { paymentId: 'p-b', method: 'cash', amountCents: 2000 })],
      payment_after_void: () => [payA(), a.write(TK, 'ticket.voided', { reason: 'wrong table' })],
      closed_and_voided: () => [a.write(TK, 'ticket.closed', { totalCents: 2000 }), b.write(TK, 'ticket.voided', { reason: 'wrong table' })],
    }[kind]!;
    const all = [...base, ...ending()];
    const before = ticketOf(all);
    manager.see(...all);
    const misfit = resolve(manager, before, kind, { kind: resolution });
    const after = ticketOf([...all, misfit]);
    expect(foldedAs(after, misfit).status).toBe('invalid');
    expect(after.conflicts.find((c) => c.kind === kind)!.status).toBe('open');
    expect([after.status, after.payments]).toEqual([before.status, before.payments]);
  });

  it('[PRJ24] a reopening clears the kitchen\'s sight of the void: voided again, the line is on the kitchen\'s screen to stop again', () => {
    const till = new FixedClockTerminal('till-1');
    const kitchen = new FixedClockTerminal('kitchen-1');
    const manager = new FixedClockTerminal('manager-1');
    const all = [till.write(TK, 'ticket.opened', { number: 'A-006' }), till.write(TK, 'ticket.item_added', main), till.write(TK, 'ticket.sent_to_kitchen', { lineIds: [main.lineId] }), till.write(TK, 'ticket.payment_recorded', { paymentId: 'p-a', method: 'card', amountCents: 2000 }), till.write(TK, 'ticket.voided', { reason: 'left' })];
    kitchen.see(...all);
    all.push(kitchen.write(TK, 'ticket.kitchen_item_bumped', { lineId: main.lineId, stopped: true }));
    manager.see(...all);
    all.push(resolve(manager, ticketOf(all), 'payment_after_void', { kind: 'reopen' }));
    const reopened = ticketOf(all);
    expect(reopened.status).not.toBe('voided');
    expect(waitsInKitchen(reopened, reopened.lines[0]!)).toBe(true);
    all.push(manager.write(TK, 'ticket.voided', { reason: 'left again' }));
    const again = ticketOf(all);
    expect(again.status).toBe('voided');
    expect(waitsInKitchen(again, again.lines[0]!)).toBe(true);
  });
});
