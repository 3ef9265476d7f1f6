import { describe, expect, it } from 'vitest';
import { canonicalJson, type AggregateRef, type EventEnvelope } from '../../shared/events/envelope';
import { saleKey } from '../../shared/domain/sale-events';
import { conflictIdFor } from '../../shared/projection/merge-policy';
import { TestWriter, foldedAs, ticketOf } from '../helpers/test-writer';

const wall = 1_700_000_000_000;
const TK: AggregateRef = { id: 'tk-sale', type: 'ticket' };
const burger = { lineId: 'l-burger', menuItemId: 'm-burger', name: 'Burger', unitPriceCents: 1000, quantity: 1 };
const soup = { lineId: 'l-soup', menuItemId: 'm-soup', name: 'Soup', unitPriceCents: 500, quantity: 1 };

const writer = (id: string, skewMs = 0) => new TestWriter(id, () => wall + skewMs);

/** The sale a terminal records right after its close: the first of the ticket, or one naming the close. */
function sale(by: TestWriter, close: EventEnvelope, totalCents: number, first: boolean): EventEnvelope {
  const payload = { ticketId: TK.id, totalCents, paidCents: totalCents, closedAt: close.at };
  return first
    ? by.write(TK, 'sale.recorded', payload, { key: saleKey(TK.id, close.id) })
    : by.write(TK, 'sale.recorded', { ...payload, closeEventId: close.id }, { key: saleKey(TK.id, close.id) });
}

describe('the sale handed to the back office (sale.recorded), sold again after a reopening', () => {
  it('[PRJ18][PRJ6e] a sale of a close a void holds is kept with it: a manager keeping that close makes it the ticket\'s sale (the earlier close\'s stayed)', () => {
    const till = writer('till-1');
    const manager = writer('manager-1', 1);
    const base = [till.write(TK, 'ticket.opened', { number: 'A-001' }), till.write(TK, 'ticket.item_added', burger), till.write(TK, 'ticket.payment_recorded', { paymentId: 'p1', method: 'card', amountCents: 1000 })];
    const closed = till.write(TK, 'ticket.closed', { totalCents: 1000 });
    const firstSale = sale(till, closed, 1000, true);
    // A soup added after the close, reopened by the manager.
    const soupAdded = writer('till-2').see(...base).write(TK, 'ticket.item_added', soup);
    manager.see(...base, closed, firstSale, soupAdded);
    const reopen = manager.write(TK, 'conflict.resolved', { conflictId: conflictIdFor('change_after_close', [closed.id, soupAdded.id]), resolution: { kind: 'reopen' } });
    till.see(soupAdded, reopen);
    // Offline: the manager voids; the till takes the soup and closes again at 15.00, selling that close.
    const voided = manager.write(TK, 'ticket.voided', { reason: 'walked out' });
    const paidSoup = till.write(TK, 'ticket.payment_recorded', { paymentId: 'p2', method: 'card', amountCents: 500 });
    const closedAgain = till.write(TK, 'ticket.closed', { totalCents: 1500 });
    const resale = sale(till, closedAgain, 1500, false);
    const events = [...base, closed, firstSale, soupAdded, reopen, voided, paidSoup, closedAgain, resale];
    const merged = ticketOf(events);
    expect(merged.status).toBe('voided');
    // Voided, nothing is sold (the back office follows state.sale): before, the first close's sale stayed.
    expect(merged.sale).toBeNull();
    const both = merged.conflicts.find((c) => c.kind === 'closed_and_voided')!;
    manager.see(paidSoup, closedAgain, resale);
    const keepClosed = manager.write(TK, 'conflict.resolved', { conflictId: both.conflictId, resolution: { kind: 'keep_closed' } });
    const v = ticketOf([...events, keepClosed]);
    expect(v).toMatchObject({ status: 'closed', closedTotalCents: 1500 });
    expect(v.sale).toMatchObject({ eventId: resale.id, totalCents: 1500, closeEventId: closedAgain.id });
  });

  it('[PRJ18] a ticket closed and sold, then voided (closed on one till, voided on a tablet that had not seen it, and the void kept): no sale; all orders alike', () => {
    const till = writer('till-1');
    const manager = writer('manager-1', 1);
    const base = [till.write(TK, 'ticket.opened', { number: 'A-001' }), till.write(TK, 'ticket.item_added', burger)];
    manager.see(...base);
    const closed = till.write(TK, 'ticket.closed', { totalCents: 1000 });
    const firstSale = sale(till, closed, 1000, true);
    const voided = manager.write(TK, 'ticket.voided', { reason: 'never served' });
    const both = ticketOf([...base, closed, firstSale, voided]).conflicts.find((c) => c.kind === 'closed_and_voided')!;
    manager.see(closed, firstSale);
    const keepVoid = manager.write(TK, 'conflict.resolved', { conflictId: both.conflictId, resolution: { kind: 'keep_void' } });
    const events = [...base, closed, firstSale, voided, keepVoid];
    for (const order of [events, [...events].reverse()]) {
      const v = ticketOf(order);
      expect(v).toMatchObject({ status: 'voided', closedTotalCents: null });
      expect(v.sale).toBeNull();
    }
  });

  it('[PRJ18] a till that never saw the first close closes the ticket again after a manager reopened it: its first sale records the close that holds and replaces the first; two tills closing at once still sell once', () => {
    const a = writer('till-1');
    const b = writer('till-2');
    const manager = writer('manager-1');
    const base = [a.write(TK, 'ticket.opened', { number: 'A-001' }), a.write(TK, 'ticket.item_added', burger)];
    b.see(...base);
    const paid = a.write(TK, 'ticket.payment_recorded', { paymentId: 'p1', method: 'card', amountCents: 1000 });
    const closedByA = a.write(TK, 'ticket.closed', { totalCents: 1000 });
    const soldByA = sale(a, closedByA, 1000, true);
    // b, not having seen a's close, adds soup: held; the manager reopens for it.
    const early = ['table by the window', 'two more coming'].map((note) => b.write(TK, 'ticket.note_set', { note }));
const soupAdded = b.write(TK, 'ticket.item_added', soup);
    manager.see(...base, paid, closedByA, soldByA, ...early, soupAdded);
    const reopen = manager.write(TK, 'conflict.resolved', { conflictId: conflictIdFor('change_after_close', [closedByA.id, soupAdded.id]), resolution: { kind: 'reopen' } });
    // b, still offline, takes the whole 15.00 and closes: from where it stands, the ticket's first close and sale.
    const notes = ['window', 'birthday', 'no onions'].map((note) => b.write(TK, 'ticket.note_set', { note }));
    const paidByB = b.write(TK, 'ticket.payment_recorded', { paymentId: 'p2', method: 'cash', amountCents: 1500 });
    const closedByB = b.write(TK, 'ticket.closed', { totalCents: 1500 });
    const soldByB = sale(b, closedByB, 1500, true);
    const v = ticketOf([...base, paid, closedByA, soldByA, ...early, soupAdded, reopen, ...notes, paidByB, closedByB, soldByB]);
    expect(v).toMatchObject({ status: 'closed', closedTotalCents: 1500 });
    expect(v.sale).toMatchObject({ eventId: soldByB.id, totalCents: 1500 });
    expect(foldedAs(v, soldByA).status).toBe('superseded');

    // Two tills closing at once, each selling its own close: one sale.
    const c = writer('till-3');
    c.see(...base, paid);
    const closedByC = c.write(TK, 'ticket.closed', { totalCents: 1000 });
    const both = ticketOf([...base, paid, closedByA, soldByA, closedByC, sale(c, closedByC, 1000, true)]);
    expect(both.history.filter((h) => h.type === 'sale.recorded').map((h) => h.status).sort()).toEqual(['applied', 'duplicate']);
    // The second close at the same total is the same fact: the first holds, no conflict.
    expect(both).toMatchObject({ status: 'closed', closedTotalCents: 1000, closedAt: closedByA.at, openConflicts: 0 });
    expect(foldedAs(both, closedByC)).toEqual({ status: 'duplicate', reason: 'already closed with this total', conflictId: null });
  });

  it('[PRJ18] a sale naming the close that holds replaces the first; the first is marked superseded; any order gives the same view', () => {
    const till = writer('till-1');
    const manager = writer('manager-1');
    const base = [
      till.write(TK, 'ticket.opened', { number: 'A-001' }),
      till.write(TK, 'ticket.item_added', burger),
      till.write(TK, 'ticket.item_added', soup),
      till.write(TK, 'ticket.payment_recorded', { paymentId: 'p1', method: 'card', amountCents: 1500 }),
    ];
    const closed = till.write(TK, 'ticket.closed', { totalCents: 1500 });
    const first = sale(till, closed, 1500, true);
    const again = writer('till-2').see(...base, closed).write(TK, 'sale.recorded', { ticketId: TK.id, totalCents: 1500, paidCents: 1500, closedAt: closed.at }, { key: saleKey(TK.id) });
    manager.see(...base, closed, first);
    // A comp after the close, reopened by the manager; the payment that no longer fits goes back, 10.00 is taken, it closes again.
    const comped = manager.write(TK, 'ticket.line_comped', { lineId: soup.lineId, reason: 'cold', quantity: 1 });
    const reopen = manager.write(TK, 'conflict.resolved', { conflictId: conflictIdFor('change_after_close', [closed.id, comped.id]), resolution: { kind: 'reopen' } });
    const held = ticketOf([...base, closed, first, comped, reopen]).conflicts.find((c) => c.kind === 'over_payment')!;
    const handBack = manager.write(TK, 'conflict.resolved', { conflictId: held.conflictId, resolution: { kind: 'refund_payment' } });
    const paid = manager.write(TK, 'ticket.payment_recorded', { paymentId: 'p2', method: 'card', amountCents: 1000 });
    const closedAgain = manager.write(TK, 'ticket.closed', { totalCents: 1000 });
    const resold = sale(manager, closedAgain, 1000, false);
    const all = [...base, closed, first, again, comped, reopen, handBack, paid, closedAgain, resold];

    const v = ticketOf(all);
    expect(v).toMatchObject({ status: 'closed', closedTotalCents: 1000, sale: { eventId: resold.id, totalCents: 1000, closeEventId: closedAgain.id } });
    expect(foldedAs(v, again).status).toBe('duplicate');
    expect(foldedAs(v, first)).toMatchObject({ status: 'superseded', reason: `lost to concurrent ${resold.id}` });
    expect(canonicalJson(ticketOf([...all].reverse()))).toBe(canonicalJson(v));
    // A sale of that close at another total than it holds at counts nowhere (a manager's accept_total that lost its race).
    const wrongTotal = writer('manager-2').see(...all).write(TK, 'sale.recorded', { ticketId: TK.id, totalCents: 900, paidCents: 1000, closedAt: closedAgain.at, closeEventId: closedAgain.id }, { key: saleKey(TK.id, 'ev-some-resolution') });
    const withWrong = ticketOf([...all, wrongTotal]);
    expect(foldedAs(withWrong, wrongTotal)).toMatchObject({ status: 'superseded', reason: 'the close holds at 10.00' });
    expect(withWrong.sale).toMatchObject({ eventId: resold.id });
  });

  it('[PRJ18][PRJ6] a total accepted for a close that no longer holds (the ticket was reopened and closed again) leaves the new close\'s total', () => {
    const a = writer('till-a', -1_000);
    const b = writer('till-b');
    const manager = writer('manager-1', 1_000);
    const base = [a.write(TK, 'ticket.opened', { number: 'A-001' }), a.write(TK, 'ticket.item_added', burger)];
    b.see(...base);
    const closeA = a.write(TK, 'ticket.closed', { totalCents: 1000 });
    const closeB = b.write(TK, 'ticket.closed', { totalCents: 1500 });
    manager.see(...base, closeA, closeB);
    const added = manager.write(TK, 'ticket.item_added', soup);
    const reopen = manager.write(TK, 'conflict.resolved', { conflictId: conflictIdFor('change_after_close', [closeA.id, added.id]), resolution: { kind: 'reopen' } });
    const closeC = manager.write(TK, 'ticket.closed', { totalCents: 1500 });
    const stale = conflictIdFor('close_total_mismatch', [closeA.id, closeB.id]);
    const accept = manager.write(TK, 'conflict.resolved', { conflictId: stale, resolution: { kind: 'accept_total', totalCents: 1000 } });
    const v = ticketOf([...base, closeA, closeB, added, reopen, closeC, accept]);
    expect(v).toMatchObject({ status: 'closed', closedEventId: closeC.id, closedTotalCents: 1500 });
    expect(v.conflicts.find((c) => c.conflictId === stale)).toMatchObject({ status: 'resolved' });
  });

  it('[PRJ18] a sale whose close does not hold (a manager who reopened through a conflict that, synced, is another one) counts nowhere; the real reopening sells again', () => {
    // Two tills close the same 10.00 ticket offline; the manager has seen only B's close.
    const a = writer('till-a', -1_000);
    const b = writer('till-b');
    const manager = writer('manager-1', 1_000);
    const base = [a.write(TK, 'ticket.opened', { number: 'A-001' }), a.write(TK, 'ticket.item_added', burger), a.write(TK, 'ticket.payment_recorded', { paymentId: 'p1', method: 'cash', amountCents: 1000 })];
    b.see(...base);
    manager.see(...base);
    const closeA = a.write(TK, 'ticket.closed', { totalCents: 1000 });
    const saleA = sale(a, closeA, 1000, true);
    const closeB = b.write(TK, 'ticket.closed', { totalCents: 1000 });
    const saleB = sale(b, closeB, 1000, true);
    manager.see(closeB, saleB);
    // The manager adds soup (held), reopens what they see as (closeB, soup), takes 5.00 more and closes at 15.00.
    const added = manager.write(TK, 'ticket.item_added', soup);
    const wrongReopen = manager.write(TK, 'conflict.resolved', { conflictId: conflictIdFor('change_after_close', [closeB.id, added.id]), resolution: { kind: 'reopen' } });
    const more = manager.write(TK, 'ticket.payment_recorded', { paymentId: 'p2', method: 'cash', amountCents: 500 });
    const closeM = manager.write(TK, 'ticket.closed', { totalCents: 1500 });
    const saleM = sale(manager, closeM, 1500, false);
    const synced = [...base, closeA, saleA, closeB, saleB, added, wrongReopen, more, closeM, saleM];
    const v = ticketOf(synced);
    // Synced, closeA sorts first: the soup's conflict is (closeA, soup), the manager's reopen named another.
    expect(foldedAs(v, wrongReopen).status).toBe('ignored');
    expect(v).toMatchObject({ status: 'closed', closedTotalCents: 1000, sale: { eventId: saleA.id, totalCents: 1000, closeEventId: null } });
    expect(foldedAs(v, saleM)).toMatchObject({ status: 'superseded', reason: 'the close it records does not hold' });

    // The manager reopens the real conflict and closes at 15.00: that close's sale is the ticket's.
    manager.see(...synced);
    const conflicts = v.conflicts.filter((c) => c.status === 'open');
    const kindFor = { change_after_close: 'reopen', close_total_mismatch: 'reopen', over_payment: 'accept_payment' } as Record<string, string>;
    const resolutions = conflicts.map((c) => manager.write(TK, 'conflict.resolved', { conflictId: c.conflictId, resolution: { kind: kindFor[c.kind] } }));
    const reopened = ticketOf([...synced, ...resolutions]);
    expect(reopened.status).not.toBe('closed');
    const closeR = manager.write(TK, 'ticket.closed', { totalCents: reopened.totalCents });
    const saleR = sale(manager, closeR, reopened.totalCents, false);
    const after = ticketOf([...synced, ...resolutions, closeR, saleR]);
    expect(after).toMatchObject({ status: 'closed', sale: { eventId: saleR.id, totalCents: 1500, closeEventId: closeR.id } });
    expect(after.history.filter((h) => h.type === 'sale.recorded' && h.status === 'applied').map((h) => h.eventId)).toEqual([saleR.id]);
  });

  it('[PRJ18][PRJ8] an invalid event does not take its key: the valid sale after it under the same key counts, as on the server (which refused the invalid one)', () => {
    const till = new TestWriter('till-1', () => 1_700_000_000_000);
    const broken = new TestWriter('till-9', () => 1_700_000_000_000);
    const opened = till.write(TK, 'ticket.opened', { number: 'A-001' });
    // Written by a build with a bug, held by the room (the server refused it): a negative total.
    const bad = { ...broken.write(TK, 'ticket.note_set', { note: 'x' }), type: 'sale.recorded', payload: { ticketId: TK.id, totalCents: -5, paidCents: 0, closedAt: 1 }, key: saleKey(TK.id) } as EventEnvelope;
    const good = till.write(TK, 'sale.recorded', { ticketId: TK.id, totalCents: 1250, paidCents: 1250, closedAt: 1 }, { key: saleKey(TK.id) });
    const v = ticketOf([opened, bad, good]);
    expect([foldedAs(v, bad).status, foldedAs(v, good).status]).toEqual(['invalid', 'applied']);
    expect(v.sale?.totalCents).toBe(1250);
    expect(canonicalJson(ticketOf([opened, good]).sale)).toBe(canonicalJson(v.sale));
  });
});

describe('the same fact written twice by two tills offline', () => {
  it('[PRJ7] a second opening of the ticket is superseded: its number, opener and time stay the first\'s', () => {
    const a = writer('till-1');
    const b = writer('till-2', 5_000);
    const first = a.write(TK, 'ticket.opened', { number: 'A-001' });
    b.see(first);
    const second = b.write(TK, 'ticket.opened', { number: 'B-007' });
    const v = ticketOf([first, second]);
    expect(v).toMatchObject({ number: 'A-001', openedAt: first.at, openedBy: { terminal: 'till-1', staff: null } });
    expect(foldedAs(v, second).status).toBe('superseded');
  });

  it('[PRJ4] a second removal of a line is a duplicate and a quantity change of a removed line superseded, the history saying why (not "no such line")', () => {
    const a = writer('till-1');
    const b = writer('till-2', 5_000);
    const base = [a.write(TK, 'ticket.opened', { number: 'A-001' }), a.write(TK, 'ticket.item_added', burger)];
    b.see(...base);
    const removed = a.write(TK, 'ticket.item_removed', { lineId: burger.lineId });
    const removedToo = b.write(TK, 'ticket.item_removed', { lineId: burger.lineId });
    const changed = b.write(TK, 'ticket.quantity_changed', { lineId: burger.lineId, quantity: 2 });
    const v = ticketOf([...base, removed, removedToo, changed]);
    expect(foldedAs(v, removedToo)).toEqual({ status: 'duplicate', reason: 'line already removed', conflictId: null });
    expect(foldedAs(v, changed)).toEqual({ status: 'superseded', reason: 'line was removed', conflictId: null });
  });

  it('[PRJ6] an addition of a line id already taken off (the same fact written again) is a duplicate: the dish does not come back', () => {
    const a = writer('till-1');
    const evs = [a.write(TK, 'ticket.opened', { number: 'A-001' }), a.write(TK, 'ticket.item_added', burger), a.write(TK, 'ticket.item_removed', { lineId: burger.lineId })];
    const again = a.write(TK, 'ticket.item_added', burger);
    const v = ticketOf([...evs, again]);
    expect(v.lines).toEqual([]);
    expect(v.totalCents).toBe(0);
    expect(foldedAs(v, again).status).toBe('duplicate');
  });

  it('[PRJ6b][APP21] the change due (shown and printed) is the change on payments that count: a cash payment held as an over-payment adds none', () => {
    const a = writer('till-1');
    const b = writer('till-2', 5_000);
    const base = [a.write(TK, 'ticket.opened', { number: 'A-001' }), a.write(TK, 'ticket.item_added', burger)];
    b.see(...base);
    const paidByA = a.write(TK, 'ticket.payment_recorded', { paymentId: 'p1', method: 'cash', amountCents: 1000, tenderedCents: 2000 });
    const paidByB = b.write(TK, 'ticket.payment_recorded', { paymentId: 'p2', method: 'cash', amountCents: 1000, tenderedCents: 5000 });
    const v = ticketOf([...base, paidByA, paidByB]);
    expect(v.payments.map((p) => [p.paymentId, p.state, p.changeCents])).toEqual([
      ['p1', 'applied', 1000],
      ['p2', 'held', 4000],
    ]);
    expect(v.changeDueCents).toBe(1000);
  });
});
