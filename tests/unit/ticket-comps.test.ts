import { describe, expect, it } from 'vitest';
import { canonicalJson, type AggregateRef, type EventEnvelope } from '../../shared/events/envelope';
import { EventValidationError, MANAGER_EVENT_TYPES, validatePayload } from '../../shared/events/catalog';
import { TICKET_MERGE_POLICY, conflictIdFor } from '../../shared/projection/merge-policy';
import type { TicketView } from '../../shared/projection/views';
import { FixedClockTerminal, foldedAs, ticketOf } from '../helpers/test-writer';

const TK: AggregateRef = { id: 'tk-comp', type: 'ticket' };
const burger = { lineId: 'l-burger', menuItemId: 'm-burger', name: 'Burger', unitPriceCents: 1000, quantity: 1 };
const soup = { lineId: 'l-soup', menuItemId: 'm-soup', name: 'Soup', unitPriceCents: 500, quantity: 1 };

/** A ticket opened at a till with a 10.00 burger and a 5.00 soup, seen by the manager. */
function burgerAndSoup(till: FixedClockTerminal, manager: FixedClockTerminal): EventEnvelope[] {
  const evs = [till.write(TK, 'ticket.opened', { number: 'A-001' }), till.write(TK, 'ticket.item_added', burger), till.write(TK, 'ticket.item_added', soup)];
  manager.see(...evs);
  return evs;
}

const comp = (by: FixedClockTerminal, lineId: string, reason = 'cold, waited too long', quantity = 1) => by.write(TK, 'ticket.line_comped', { lineId, reason, quantity });

describe('a manager comps a line ("on the house", ticket.line_comped)', () => {
  it('[PRJ15][CMD2] is first-wins on lines[].comped, escalated after the end, and only a manager may write it', () => {
    expect(TICKET_MERGE_POLICY['ticket.line_comped']).toEqual({ merge: 'first-wins', fields: ['lines[].comped'], whenClosed: 'change_after_close', whenVoided: 'change_after_close' });
    expect(MANAGER_EVENT_TYPES.has('ticket.line_comped')).toBe(true);
  });

  it('[PRJ15] a comped line stays on the ticket with who comped it and why; the total no longer counts it', () => {
    const till = new FixedClockTerminal('till-1');
    const manager = new FixedClockTerminal('manager-1');
    const base = burgerAndSoup(till, manager);
    expect(ticketOf(base).totalCents).toBe(1500);
    const comped = comp(manager, soup.lineId);
    const v = ticketOf([...base, comped]);
    expect(v.totalCents).toBe(1000);
    expect(v.lines.map((l) => [l.name, l.comped === null])).toEqual([
      ['Burger', true],
      ['Soup', false],
    ]);
    expect(v.lines[1]!.comped).toEqual({ reason: 'cold, waited too long', at: comped.at, eventId: comped.id, terminal: 'manager-1', staff: null, quantity: 1 });
    expect(foldedAs(v, comped)).toMatchObject({ status: 'applied', reason: null });
  });

  it('[PRJ15] the kitchen still makes a comped line: it is sent and bumped like any other', () => {
    const till = new FixedClockTerminal('till-1');
    const manager = new FixedClockTerminal('manager-1');
    const base = burgerAndSoup(till, manager);
    const comped = comp(manager, burger.lineId);
    till.see(comped);
    const sent = till.write(TK, 'ticket.sent_to_kitchen', { lineIds: [burger.lineId, soup.lineId] });
    const waiting = ticketOf([...base, comped, sent]);
    // What the kitchen queue shows: lines sent and not bumped.
    expect(waiting.lines.filter((l) => l.sentAt !== null && l.bumpedAt === null).map((l) => l.name)).toEqual(['Burger', 'Soup']);
    expect(waiting.cancelledLines).toEqual([]);
    const bumped = new FixedClockTerminal('kitchen-1').see(...base, comped, sent).write(TK, 'ticket.kitchen_item_bumped', { lineId: burger.lineId });
    const done = ticketOf([...base, comped, sent, bumped]);
    expect(foldedAs(done, bumped).status).toBe('applied');
    expect(done.lines[0]).toMatchObject({ name: 'Burger', bumpedAt: bumped.at, comped: { eventId: comped.id } });
  });

  it('[PRJ15][PRJ6b] a comp after a full payment holds the payment that no longer fits, exactly as removing the line would', () => {
    const till = new FixedClockTerminal('till-1');
    const manager = new FixedClockTerminal('manager-1');
    const base = burgerAndSoup(till, manager);
    const paid = till.write(TK, 'ticket.payment_recorded', { paymentId: 'pay-1', method: 'card', amountCents: 1500 });
    manager.see(paid);
    const comped = comp(manager, soup.lineId);
    const removed = new FixedClockTerminal('manager-2').see(...base, paid).write(TK, 'ticket.item_removed', { lineId: soup.lineId });

    const afterComp = ticketOf([...base, paid, comped]);
    const afterRemoval = ticketOf([...base, paid, removed]);
    expect(afterComp).toMatchObject({ totalCents: 1000, paidCents: 0, openConflicts: 1 });
    const conflictId = conflictIdFor('over_payment', [paid.id, comped.id]);
    expect(afterComp.payments.map((p) => [p.paymentId, p.state, p.conflictId])).toEqual([['pay-1', 'held', conflictId]]);
    expect(afterComp.conflicts.map((c) => [c.conflictId, c.kind, c.eventIds])).toEqual([[conflictId, 'over_payment', [paid.id, comped.id].sort()]]);
    expect(foldedAs(afterComp, comped)).toMatchObject({ status: 'applied', reason: 'payments above the new total are held' });
    // The same money and the same conflict as a removal: only the events differ.
    const money = (v: TicketView) => ({ total: v.totalCents, paid: v.paidCents, payments: v.payments.map((p) => p.state), conflicts: v.conflicts.map((c) => [c.kind, c.detail]) });
    expect(money(afterComp)).toEqual(money(afterRemoval));
  });

  it('[PRJ15][PRJ6c] a comp after the ticket closed is escalated as change_after_close; reopening applies it', () => {
    const till = new FixedClockTerminal('till-1');
    const manager = new FixedClockTerminal('manager-1', -60_000);
    const base = burgerAndSoup(till, manager);
    const closed = till.write(TK, 'ticket.closed', { totalCents: 1500 });
    manager.see(closed);
    const comped = comp(manager, soup.lineId);
    const conflictId = conflictIdFor('change_after_close', [closed.id, comped.id]);
    const v = ticketOf([...base, closed, comped]);
    expect(v).toMatchObject({ status: 'closed', totalCents: 1500, openConflicts: 1 });
    expect(v.lines.every((l) => l.comped === null)).toBe(true);
    expect(v.history.find((h) => h.eventId === comped.id)).toMatchObject({ status: 'escalated', conflictId, reason: 'Soup comped after the ticket was closed' });

    const reopen = manager.write(TK, 'conflict.resolved', { conflictId, resolution: { kind: 'reopen' } });
    const reopened = ticketOf([...base, closed, comped, reopen]);
    expect(reopened).toMatchObject({ status: 'open', totalCents: 1000, openConflicts: 0 });
    expect(reopened.lines[1]!.comped).toMatchObject({ eventId: comped.id });
  });

  it('[PRJ15] a second comp of the same line is a duplicate: two managers comping it at once give one comp, in any order', () => {
    const till = new FixedClockTerminal('till-1');
    const a = new FixedClockTerminal('manager-1');
    const b = new FixedClockTerminal('manager-2', 5_000);
    const base = burgerAndSoup(till, a);
    b.see(...base);
    const fromA = comp(a, soup.lineId, 'cold');
    const fromB = comp(b, soup.lineId, 'waited too long');
    expect(fromA.seq).toBe(fromB.seq);
    const views = [ticketOf([...base, fromA, fromB]), ticketOf([fromB, ...base, fromA])];
    expect(canonicalJson(views[0])).toBe(canonicalJson(views[1]));
    const v = views[0]!;
    expect(v.totalCents).toBe(1000);
    // Fold order (seq, at, …): A's earlier stamp comes first and holds.
    expect(v.lines[1]!.comped).toMatchObject({ reason: 'cold', eventId: fromA.id });
    expect(foldedAs(v, fromB)).toMatchObject({ status: 'duplicate', reason: 'line already comped' });
  });

  it('[PRJ15] a comp of a removed line is superseded, of an unknown line ignored; a comp gives away the quantity it saw: more of the line afterwards is charged, fewer charges nothing', () => {
    const till = new FixedClockTerminal('till-1');
    const manager = new FixedClockTerminal('manager-1');
    const base = burgerAndSoup(till, manager);
    const removed = till.write(TK, 'ticket.item_removed', { lineId: soup.lineId });
    manager.see(removed);
    const ofRemoved = comp(manager, soup.lineId);
    const ofUnknown = comp(manager, 'l-nope');
    const ofBurger = comp(manager, burger.lineId);
    till.see(ofBurger);
    const more = till.write(TK, 'ticket.quantity_changed', { lineId: burger.lineId, quantity: 3 });
    const v = ticketOf([...base, removed, ofRemoved, ofUnknown, ofBurger, more]);
    expect(foldedAs(v, ofRemoved)).toMatchObject({ status: 'superseded', reason: 'line was removed' });
    expect(foldedAs(v, ofUnknown)).toMatchObject({ status: 'ignored', reason: 'no line l-nope' });
    expect(foldedAs(v, more).status).toBe('applied');
    expect(v.lines).toMatchObject([{ name: 'Burger', quantity: 3, comped: { eventId: ofBurger.id, quantity: 1 } }]);
    // One burger was given away; the two a till added afterwards are nobody's gift.
    expect(v.totalCents).toBe(2 * 1000);
    const fewer = till.write(TK, 'ticket.quantity_changed', { lineId: burger.lineId, quantity: 1 });
    expect(ticketOf([...base, removed, ofRemoved, ofUnknown, ofBurger, more, fewer]).totalCents).toBe(0);
  });

  it('[PRJ15] a comp gives away what the manager saw: a till raising the line offline at the same time stays charged, in any order', () => {
    const till = new FixedClockTerminal('till-1');
    const manager = new FixedClockTerminal('manager-1');
    const base = burgerAndSoup(till, manager);
    // Both have seen the burger at 1; the till makes it 3 offline while the manager comps the 1 on their screen.
    const raised = till.write(TK, 'ticket.quantity_changed', { lineId: burger.lineId, quantity: 3 });
    const comped = comp(manager, burger.lineId, 'birthday', 1);
    for (const events of [[...base, raised, comped], [...base, comped, raised]]) {
      const v = ticketOf(events);
      expect(v.lines.find((l) => l.lineId === burger.lineId)).toMatchObject({ quantity: 3, comped: { quantity: 1 } });
      // Two burgers charged, the soup too.
      expect(v.totalCents).toBe(2 * 1000 + 500);
    }
  });

  it('[PRJ15] a comped line lowered below its comped quantity charges nothing: never a negative amount off the other lines', () => {
    const till = new FixedClockTerminal('till-1');
    const manager = new FixedClockTerminal('manager-1');
    const base = burgerAndSoup(till, manager);
    const two = till.write(TK, 'ticket.quantity_changed', { lineId: burger.lineId, quantity: 2 });
    manager.see(two);
    const comped = comp(manager, burger.lineId, 'birthday', 2);
    till.see(comped);
    const lowered = till.write(TK, 'ticket.quantity_changed', { lineId: burger.lineId, quantity: 1 });
    const v = ticketOf([...base, two, comped, lowered]);
    expect(v.lines.find((l) => l.lineId === burger.lineId)).toMatchObject({ quantity: 1, comped: { quantity: 2 } });
    expect(v.subtotalCents).toBe(500);
    expect(v.totalCents).toBe(500);
  });

  it('[PRJ15] a comp gives away at most what the line held when it folded: comping 3 a till lowered to 1 meanwhile gives 1, and a raise afterwards is charged', () => {
    const till = new FixedClockTerminal('till-1');
    const manager = new FixedClockTerminal('manager-1', 5_000);
    const base = burgerAndSoup(till, manager);
    const three = till.write(TK, 'ticket.quantity_changed', { lineId: burger.lineId, quantity: 3 });
    manager.see(three);
    // The till lowers the burgers to 1 while the manager, offline, comps the 3 on their screen (folding after the lowering).
    const lowered = till.write(TK, 'ticket.quantity_changed', { lineId: burger.lineId, quantity: 1 });
    const comped = comp(manager, burger.lineId, 'birthday', 3);
    expect(lowered.seq).toBe(comped.seq);
    till.see(comped);
    const raised = till.write(TK, 'ticket.quantity_changed', { lineId: burger.lineId, quantity: 3 });
    const v = ticketOf([...base, three, lowered, comped, raised]);
    expect(v.lines.find((l) => l.lineId === burger.lineId)!.comped!.quantity).toBe(1);
    expect(v.totalCents).toBe(2 * 1000 + 500);
  });

  it('[EVT1] a comp without a reason, or with one longer than 120 characters, is refused naming payload.reason', () => {
    for (const payload of [{ lineId: 'l1', quantity: 1 }, { lineId: 'l1', reason: '', quantity: 1 }, { lineId: 'l1', reason: 'x'.repeat(121), quantity: 1 }]) {
      let error: unknown;
      try {
        validatePayload('ticket.line_comped', payload);
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(EventValidationError);
      expect((error as EventValidationError).field).toBe('payload.reason');
      expect((error as EventValidationError).message).toMatch(/^ticket\.line_comped v1: payload\.reason: /);
    }
    expect(validatePayload('ticket.line_comped', { lineId: 'l1', reason: 'cold', quantity: 2 })).toEqual({ v: 1, payload: { lineId: 'l1', reason: 'cold', quantity: 2 } });
  });
});
