import { describe, expect, it } from 'vitest';
import { canonicalJson, type AggregateRef, type EventEnvelope } from '../../shared/events/envelope';
import { newEventId } from '../../shared/events/event-id';
import { saleKey } from '../../shared/domain/sale-events';
import { conflictIdFor } from '../../shared/projection/merge-policy';
import { projectAggregate } from '../../shared/projection/project-aggregate';
import { LocationProjection } from '../../shared/projection/location-projection';
import { isSettled, keptCents, owedCents, refundsOwedAgainCents } from '../../shared/projection/views';
import { TestWriter, foldedAs, ticketOf } from '../helpers/test-writer';

const T0 = 1_700_000_000_000;
let wall = T0;

/** A terminal at `wall` (plus its skew), stamping events as the real appender would. */
class Terminal extends TestWriter {
  constructor(id: string, skewMs = 0) {
    super(id, () => wall + skewMs);
  }
}

const TK: AggregateRef = { id: 'tk-1', type: 'ticket' };
const burger = (lineId: string, quantity = 1) => ({ lineId, menuItemId: 'm-burger', name: 'Burger', unitPriceCents: 1000, quantity });

/** A ticket opened by `a` with one 10.00 line, seen by `b`. */
function openedTicket(a: Terminal, b: Terminal): EventEnvelope[] {
  const evs = [a.write(TK, 'ticket.opened', { number: 'A-001' }), a.write(TK, 'ticket.item_added', burger('l1'))];
  b.see(...evs);
  return evs;
}

function resolve(by: Terminal, conflictId: string, resolution: unknown): EventEnvelope {
  return by.write(TK, 'conflict.resolved', { conflictId, resolution, note: 'manager' });
}

describe('projection: last-write-wins', () => {
  it('[PRJ4] a write made after observing another wins, even from a terminal 10 minutes behind', () => {
    const a = new Terminal('till-a');
    const b = new Terminal('till-b', -10 * 60_000);
    const base = openedTicket(a, b);
    const first = a.write(TK, 'ticket.note_set', { note: 'from A' });
    b.see(first);
    const second = b.write(TK, 'ticket.note_set', { note: 'from B, after seeing A' });
    expect(second.at).toBeGreaterThan(first.at);
    expect(ticketOf([...base, second, first]).note).toBe('from B, after seeing A');
  });

  it('[PRJ4][PRJ5] concurrent writes with the same seq: highest stamp wins, loser kept as superseded, group recorded', () => {
    const a = new Terminal('till-a', 5_000);
    const b = new Terminal('till-b');
    const base = openedTicket(a, b);
    wall += 1000;
    const fromA = a.write(TK, 'ticket.quantity_changed', { lineId: 'l1', quantity: 3 });
    const fromB = b.write(TK, 'ticket.quantity_changed', { lineId: 'l1', quantity: 2 });
    expect(fromA.seq).toBe(fromB.seq);
    const v = ticketOf([...base, fromB, fromA]);
    expect(v.lines[0]!.quantity).toBe(3); // A's clock is ahead: its stamp is higher, though B folds first (lower at)
    expect(v.concurrent).toEqual([{ seq: fromA.seq, eventIds: [fromB.id, fromA.id], terminals: ['till-a', 'till-b'] }]);
    const statuses = Object.fromEntries(v.history.map((h) => [h.eventId, h.status]));
    expect(statuses[fromA.id]).toBe('applied');
    expect(statuses[fromB.id]).toBe('superseded');
  });

  it('[PRJ4] equal stamps: the higher terminal id holds the register, in either order', () => {
    const a = new Terminal('till-a');
    const b = new Terminal('till-b');
    const base = openedTicket(a, b);
    const fromA = a.write(TK, 'ticket.note_set', { note: 'from A' });
    const fromB = b.write(TK, 'ticket.note_set', { note: 'from B' });
    expect(fromA.at).toBe(fromB.at);
    expect(ticketOf([...base, fromA, fromB]).note).toBe('from B');
    expect(ticketOf([...base, fromB, fromA]).note).toBe('from B');
  });

  it('[PRJ4] equal stamps from one terminal (its tabs): the higher event id holds the register, in either order', () => {
    const a = new Terminal('till-a');
    const base = openedTicket(a, new Terminal('x'));
    const at = wall + 10;
    const [low, high] = [newEventId(at), newEventId(at)].sort();
    const note = (id: string, seq: number, text: string): EventEnvelope => ({ id, seq, at, type: 'ticket.note_set', v: 1, aggregate: TK, origin: { terminal: 'till-b', n: seq }, payload: { note: text } });
    expect(ticketOf([...base, note(low!, 3, 'low'), note(high!, 3, 'high')]).note).toBe('high');
    expect(ticketOf([...base, note(high!, 3, 'high'), note(low!, 4, 'low')]).note).toBe('high');
  });

  it('[PRJ5] three terminals writing one seq are one concurrent group of three', () => {
    const [a, b, c] = [new Terminal('till-a'), new Terminal('till-b'), new Terminal('till-c')];
    const base = openedTicket(a, b);
    c.see(...base);
    const notes = [a, b, c].map((t) => t.write(TK, 'ticket.note_set', { note: t.id }));
    const v = ticketOf([...base, ...notes]);
    // Stamped alike, they fold in their terminals' order.
    expect(v.concurrent).toEqual([{ seq: notes[0]!.seq, eventIds: notes.map((e) => e.id), terminals: ['till-a', 'till-b', 'till-c'] }]);
  });

  it('[PRJ4] a quantity change from a till that had not seen the send applies, and the line keeps what the kitchen was sent', () => {
    const a = new Terminal('till-a');
    const b = new Terminal('till-b');
    const base = openedTicket(a, b);
    const sent = a.write(TK, 'ticket.sent_to_kitchen', { lineIds: ['l1'] });
    const more = b.write(TK, 'ticket.quantity_changed', { lineId: 'l1', quantity: 3 });
    expect(sent.seq).toBe(more.seq); // concurrent: neither saw the other
    expect(ticketOf([...base, more, sent]).lines[0]).toMatchObject({ quantity: 3, sentQuantity: 1 });
  });

  it('[PRJ24] a quantity raised by a till that had not seen the send puts the line back in the kitchen for the rest, whichever of the raise and the send folds first', () => {
    for (const raiseFirst of [true, false]) {
      const a = new Terminal('till-a', raiseFirst ? 1_000 : 0);
      const b = new Terminal('till-b', raiseFirst ? 0 : 1_000);
      const base = openedTicket(a, b);
      const sent = a.write(TK, 'ticket.sent_to_kitchen', { lineIds: ['l1'] });
      wall += 10;
      const made = a.write(TK, 'ticket.kitchen_item_bumped', { lineId: 'l1', quantity: 1 }, { v: 2 }); // the card showed 1×
      const raised = b.write(TK, 'ticket.quantity_changed', { lineId: 'l1', quantity: 3 }); // B saw neither
      expect(raised.seq).toBe(sent.seq);
      const line = ticketOf([...base, sent, made, raised]).lines[0]!;
      expect(line, `raise first: ${raiseFirst}`).toMatchObject({ quantity: 3, bumpedQuantity: 1, bumpedAt: null });
      a.see(raised);
      const rest = a.write(TK, 'ticket.kitchen_item_bumped', { lineId: 'l1', quantity: 3 }, { v: 2 });
      expect(ticketOf([...base, sent, made, raised, rest]).lines[0]).toMatchObject({ bumpedQuantity: 3, bumpedAt: rest.at });
      // The same bump again changes nothing.
      const again = a.write(TK, 'ticket.kitchen_item_bumped', { lineId: 'l1', quantity: 3 }, { v: 2 });
      expect(foldedAs(ticketOf([...base, sent, made, raised, rest, again]), again).status).toBe('superseded');
    }
  });

  it('[PRJ24] a line removed by a till that had not seen its send, the removal folding first: the kitchen that got it sees it cancelled, it does not vanish', () => {
    for (const removalFirst of [true, false]) {
      const a = new Terminal('till-b'); // sorts after till-a at the same stamp
      const b = new Terminal('till-a', removalFirst ? -1_000 : 1_000);
      const base = openedTicket(a, b);
      const sent = a.write(TK, 'ticket.sent_to_kitchen', { lineIds: ['l1'] });
      const removed = b.write(TK, 'ticket.item_removed', { lineId: 'l1' }); // B saw no send
      expect(removed.seq).toBe(sent.seq);
      const v = ticketOf([...base, sent, removed]);
      expect(v.lines, `removal first: ${removalFirst}`).toEqual([]);
      expect(v.cancelledLines).toMatchObject([{ lineId: 'l1', sentAt: sent.at, sentQuantity: 1, send: 1, bumpedAt: null }]);
    }
  });

  it('[PRJ24] a bump without a quantity (v1) made the whole line; a line lowered to what was made is done', () => {
    const a = new Terminal('till-a');
    const base = [...openedTicket(a, new Terminal('x')), a.write(TK, 'ticket.quantity_changed', { lineId: 'l1', quantity: 2 })];
    const sent = a.write(TK, 'ticket.sent_to_kitchen', { lineIds: ['l1'] });
    const v1 = a.write(TK, 'ticket.kitchen_item_bumped', { lineId: 'l1' });
    expect(ticketOf([...base, sent, v1]).lines[0]).toMatchObject({ bumpedQuantity: 2, bumpedAt: v1.at });
    const part = a.write(TK, 'ticket.kitchen_item_bumped', { lineId: 'l1', quantity: 1 }, { v: 2 });
    expect(ticketOf([...base, sent, part]).lines[0]).toMatchObject({ bumpedQuantity: 1, bumpedAt: null });
    const lowered = a.write(TK, 'ticket.quantity_changed', { lineId: 'l1', quantity: 1 });
    expect(ticketOf([...base, sent, part, lowered]).lines[0]).toMatchObject({ quantity: 1, bumpedAt: lowered.at });
  });

  it('[PRJ24] a bump says what its card showed: the VOIDED card of a void a manager undid at once stops nothing, the line is still to make', () => {
    const a = new Terminal('till-a');
    const mgr = new Terminal('mgr');
    const kds = new Terminal('kds');
    const base = [...openedTicket(a, mgr), a.write(TK, 'ticket.sent_to_kitchen', { lineIds: ['l1'] }), a.write(TK, 'ticket.payment_recorded', { paymentId: 'p1', method: 'card', amountCents: 1000 })];
    mgr.see(...base);
    const voided = mgr.write(TK, 'ticket.voided', { reason: 'wrong ticket' });
    const held = ticketOf([...base, voided]).conflicts[0]!;
    const reopened = mgr.write(TK, 'conflict.resolved', { conflictId: held.conflictId, resolution: { kind: 'reopen' } });
    // The kitchen, a moment behind, still shows the VOIDED card and clears it.
    kds.see(...base, voided);
    wall += 10;
    const cleared = kds.write(TK, 'ticket.kitchen_item_bumped', { lineId: 'l1', stopped: true });
    const v = ticketOf([...base, voided, reopened, cleared]);
    expect(v.status).not.toBe('voided');
    expect(v.lines[0]).toMatchObject({ bumpedAt: null, bumpedQuantity: 0, voidSeenAt: null });
    expect(foldedAs(v, cleared).status).toBe('superseded');
    // Where the void still holds, the same bump is the kitchen seeing it.
    expect(ticketOf([...base, voided, cleared]).lines[0]).toMatchObject({ voidSeenAt: cleared.at, bumpedQuantity: 0 });
  });

  it('[PRJ24] a bump of a dish made before the kitchen knew of a void that sorts before it counts as made: reopened, the dish is not cooked again', () => {
    const a = new Terminal('till-a');
    const mgr = new Terminal('mgr');
    const kds = new Terminal('kds');
    const base = [...openedTicket(a, mgr), a.write(TK, 'ticket.item_added', { ...burger('l2'), name: 'Fries' }), a.write(TK, 'ticket.sent_to_kitchen', { lineIds: ['l1', 'l2'] }), a.write(TK, 'ticket.payment_recorded', { paymentId: 'p1', method: 'card', amountCents: 2000 })];
    kds.see(...base);
    const first = kds.write(TK, 'ticket.kitchen_item_bumped', { lineId: 'l1', quantity: 1, stopped: false });
    mgr.see(...base, first);
    const voided = mgr.write(TK, 'ticket.voided', { reason: 'wrong ticket' });
    wall += 10;
    const second = kds.write(TK, 'ticket.kitchen_item_bumped', { lineId: 'l2', quantity: 1, stopped: false }); // same seq as the void, later
    expect(second.seq).toBe(voided.seq);
    const events = [...base, first, voided, second];
    expect(ticketOf(events).lines.map((l) => [l.lineId, l.bumpedQuantity, l.voidSeenAt])).toEqual([['l1', 1, null], ['l2', 1, null]]);
    const held = ticketOf(events).conflicts.find((c) => c.kind === 'payment_after_void')!;
    const reopened = ticketOf([...events, mgr.write(TK, 'conflict.resolved', { conflictId: held.conflictId, resolution: { kind: 'reopen' } })]);
    expect(reopened.lines.every((l) => l.bumpedAt !== null)).toBe(true);
  });

  it('[PRJ25] a line added and sent by a till that had not seen the close: reopened by a manager, it is in the kitchen as sent, not unsent (it was sent and cooked again)', () => {
    const a = new Terminal('till-a');
    const b = new Terminal('till-b');
    const mgr = new Terminal('mgr');
    const base = [...openedTicket(a, b), a.write(TK, 'ticket.payment_recorded', { paymentId: 'p1', method: 'card', amountCents: 1000 })];
    const closed = a.write(TK, 'ticket.closed', { totalCents: 1000 });
    b.see(...base);
    const cake = b.write(TK, 'ticket.item_added', { ...burger('l2'), name: 'Cake', unitPriceCents: 500 });
    const sent = b.write(TK, 'ticket.sent_to_kitchen', { lineIds: ['l2'] });
    const events = [...base, closed, cake, sent];
    const v0 = ticketOf(events);
    expect(v0.lines.map((l) => l.lineId)).toEqual(['l1']);
    expect(foldedAs(v0, sent).status).toBe('superseded');
    const held = v0.conflicts.find((c) => c.kind === 'change_after_close')!;
    mgr.see(...events);
    const reopened = ticketOf([...events, mgr.write(TK, 'conflict.resolved', { conflictId: held.conflictId, resolution: { kind: 'reopen' } })]);
    expect(reopened.lines.find((l) => l.lineId === 'l2')).toMatchObject({ sentAt: sent.at, sentQuantity: 1, send: 1, bumpedAt: null });
    // Discarded, it stays off the ticket.
    const discarded = ticketOf([...events, mgr.write(TK, 'conflict.resolved', { conflictId: held.conflictId, resolution: { kind: 'discard_change' } })]);
    expect(discarded.lines.map((l) => l.lineId)).toEqual(['l1']);
  });

  it('[PRJ25] the kitchen made a line whose addition a close held back: reopened by a manager, it is made, not to cook again', () => {
    const a = new Terminal('till-a');
    const b = new Terminal('till-b');
    const kds = new Terminal('kds');
    const mgr = new Terminal('mgr');
    const base = [...openedTicket(a, b), a.write(TK, 'ticket.payment_recorded', { paymentId: 'p1', method: 'card', amountCents: 1000 })];
    const closed = a.write(TK, 'ticket.closed', { totalCents: 1000 });
    b.see(...base);
    const cake = b.write(TK, 'ticket.item_added', { ...burger('l2'), name: 'Cake', unitPriceCents: 500 });
    const sent = b.write(TK, 'ticket.sent_to_kitchen', { lineIds: ['l2'] });
    kds.see(...base, cake, sent);
    const made = kds.write(TK, 'ticket.kitchen_item_bumped', { lineId: 'l2', quantity: 1, stopped: false });
    const events = [...base, closed, cake, sent, made];
    const v0 = ticketOf(events);
    expect(foldedAs(v0, made).status).toBe('superseded');
    const held = v0.conflicts.find((c) => c.kind === 'change_after_close')!;
    mgr.see(...events);
    const reopened = ticketOf([...events, mgr.write(TK, 'conflict.resolved', { conflictId: held.conflictId, resolution: { kind: 'reopen' } })]);
    expect(reopened.lines.find((l) => l.lineId === 'l2')).toMatchObject({ sentAt: sent.at, bumpedQuantity: 1, bumpedAt: made.at });
  });

  it('[PRJ25] changes held after a close, reopened in any order: those made before the one reopened apply first, so none is lost (a quantity for an item added after the close)', () => {
    for (const second of ['quantity', 'remove'] as const) {
      for (const newestFirst of [true, false]) {
        const a = new Terminal('till-a');
        const b = new Terminal('till-b');
        const mgr = new Terminal('mgr');
        const base = openedTicket(a, b); // one 10.00 burger
        const closed = [a.write(TK, 'ticket.payment_recorded', { paymentId: 'pa', method: 'card', amountCents: 1000 }), a.write(TK, 'ticket.closed', { totalCents: 1000 })];
        // B saw the payment, not the close: a note, then a dessert, then 3 of it (or removes it).
        b.see(closed[0]!);
        const note = b.write(TK, 'ticket.note_set', { note: 'birthday' });
        const add = b.write(TK, 'ticket.item_added', { lineId: 'l-dessert', menuItemId: 'm-d', name: 'Dessert', unitPriceCents: 500, quantity: 1 });
        const change = second === 'quantity' ? b.write(TK, 'ticket.quantity_changed', { lineId: 'l-dessert', quantity: 3 }) : b.write(TK, 'ticket.item_removed', { lineId: 'l-dessert' });
        let events = [...base, ...closed, note, add, change];
        mgr.see(...events);
        const open = ticketOf(events).conflicts.filter((c) => c.status === 'open' && c.kind === 'change_after_close');
        expect(open).toHaveLength(2);
        const order = newestFirst ? [...open].sort((x, y) => y.detectedAt - x.detectedAt) : open;
        for (const c of order) {
          const v = ticketOf(events);
          if (v.conflicts.find((x) => x.conflictId === c.conflictId)!.status === 'resolved') continue; // applied with the later one
          events = [...events, mgr.write(TK, 'conflict.resolved', { conflictId: c.conflictId, resolution: { kind: 'reopen' } })];
        }
        const v = ticketOf(events);
        const label = `${second}, ${newestFirst ? 'newest first' : 'oldest first'}`;
        expect(v.lines.map((l) => [l.name, l.quantity]), label).toEqual(second === 'quantity' ? [['Burger', 1], ['Dessert', 3]] : [['Burger', 1]]);
        expect(v.conflicts.filter((c) => c.kind === 'change_after_close').map((c) => c.status), label).toEqual(['resolved', 'resolved']);
      }
    }
  });

  it('[PRJ25] reopening one change held after a close applies no other (a dessert the manager then discards stays off)', () => {
    const a = new Terminal('till-a');
    const b = new Terminal('till-b');
    const mgr = new Terminal('mgr');
    const base = openedTicket(a, b);
    const closed = [a.write(TK, 'ticket.payment_recorded', { paymentId: 'pa', method: 'card', amountCents: 1000 }), a.write(TK, 'ticket.closed', { totalCents: 1000 })];
    b.see(closed[0]!);
    const note = b.write(TK, 'ticket.note_set', { note: 'birthday' });
    const dessert = b.write(TK, 'ticket.item_added', { lineId: 'l-dessert', menuItemId: 'm-d', name: 'Dessert', unitPriceCents: 500, quantity: 1 });
    const coffee = b.write(TK, 'ticket.item_added', { lineId: 'l-coffee', menuItemId: 'm-c', name: 'Coffee', unitPriceCents: 300, quantity: 1 });
    const events = [...base, ...closed, note, dessert, coffee];
    mgr.see(...events);
    const held = (id: string) => ticketOf(events).conflicts.find((c) => c.eventIds.includes(id))!.conflictId;
    const v = ticketOf([
      ...events,
      mgr.write(TK, 'conflict.resolved', { conflictId: held(coffee.id), resolution: { kind: 'reopen' } }),
      mgr.write(TK, 'conflict.resolved', { conflictId: held(dessert.id), resolution: { kind: 'discard_change' } }),
    ]);
    expect(v.lines.map((l) => l.name)).toEqual(['Burger', 'Coffee']);
    expect(v.openConflicts).toBe(0);
  });

  it('[PRJ26] each payment a void holds is a conflict of its own: one from an offline till folding in later opens its own, and the one a manager settled stays settled', () => {
    const a = new Terminal('till-a');
    const b = new Terminal('till-b');
    const mgr = new Terminal('mgr');
    const base = [...openedTicket(a, b), a.write(TK, 'ticket.item_added', burger('l2')), a.write(TK, 'ticket.item_added', burger('l3'))]; // 30.00
    b.see(base[2]!, base[3]!);
    const card = a.write(TK, 'ticket.payment_recorded', { paymentId: 'pa', method: 'card', amountCents: 2000 });
    const cash = b.write(TK, 'ticket.payment_recorded', { paymentId: 'pb', method: 'cash', amountCents: 1000 }); // offline
    mgr.see(...base, card);
    const voided = mgr.write(TK, 'ticket.voided', { reason: 'wrong table' });
    const seen = ticketOf([...base, card, voided]).conflicts.find((c) => c.kind === 'payment_after_void')!;
    const handedBack = mgr.write(TK, 'conflict.resolved', { conflictId: seen.conflictId, resolution: { kind: 'refund_payment' } });
    const v = ticketOf([...base, card, voided, handedBack, cash]); // B syncs at last
    expect(v.payments.map((p) => [p.paymentId, p.state])).toEqual(expect.arrayContaining([['pa', 'refunded'], ['pb', 'held']]));
    const conflicts = v.conflicts.filter((c) => c.kind === 'payment_after_void');
    expect(conflicts.map((c) => c.status).sort()).toEqual(['open', 'resolved']);
    expect(conflicts.find((c) => c.status === 'open')!.detail).toBe('voided with a cash payment of 10.00 taken');
    expect(foldedAs(v, handedBack).status).toBe('applied');

    // Reopened from the cash payment's card: the void is gone, and so is every payment it held.
    const open = conflicts.find((c) => c.status === 'open')!;
    const reopened = ticketOf([...base, card, voided, cash, mgr.write(TK, 'conflict.resolved', { conflictId: open.conflictId, resolution: { kind: 'reopen' } })]);
    expect(reopened.status).not.toBe('voided');
    expect(reopened.conflicts.filter((c) => c.kind === 'payment_after_void').every((c) => c.status === 'resolved')).toBe(true);
    expect(reopened.payments.filter((p) => p.state === 'applied' || p.state === 'held').map((p) => p.paymentId).sort()).toEqual(['pa', 'pb']);
  });

  it('[PRJ6] a conflict\'s id is made of its kind and its events\' ids, whatever their order', () => {
    expect(conflictIdFor('over_payment', ['e-2', 'e-1'])).toBe(conflictIdFor('over_payment', ['e-1', 'e-2']));
    expect(conflictIdFor('over_payment', ['e-1', 'e-2'])).not.toBe(conflictIdFor('payment_after_void', ['e-1', 'e-2']));
  });

  it('[PRJ26] a refund of a whole payment is held with it by a void: its card carries all of it', () => {
    const a = new Terminal('till-a');
    const base = openedTicket(a, new Terminal('x'));
    const pay = a.write(TK, 'ticket.payment_recorded', { paymentId: 'p1', method: 'cash', amountCents: 1000 });
    const refund = a.write(TK, 'ticket.refunded', { refundId: 'r1', method: 'cash', amountCents: 1000, reason: 'cold' });
    const voided = a.write(TK, 'ticket.voided', { reason: 'mistake' });
    const v = ticketOf([...base, pay, refund, voided]);
    const conflictId = v.payments[0]!.conflictId!;
    expect(v.payments).toMatchObject([{ state: 'held', conflictId }]);
    expect(v.refunds).toMatchObject([{ state: 'held', conflictId }]);
    expect(v.conflicts.find((c) => c.conflictId === conflictId)!.detail).toBe('voided with a cash payment of 10.00 taken, 10.00 of it refunded already');
    // Handed back, the card still says what had been refunded already (that was not handed back again).
    const mgr = new Terminal('manager-1');
    mgr.see(...base, pay, refund, voided);
    const back = mgr.write(TK, 'conflict.resolved', { conflictId, resolution: { kind: 'refund_payment' }, refundIds: ['r1'] });
    const after = ticketOf([...base, pay, refund, voided, back]);
    expect(after.refunds).toMatchObject([{ refundId: 'r1', state: 'settled' }]);
    expect(after.conflicts.find((c) => c.conflictId === conflictId)).toMatchObject({ status: 'resolved', detail: 'voided with a cash payment of 10.00 taken, 10.00 of it refunded already' });
  });

  it('[PRJ26] a refund equal to one of two card payments a void holds goes with that one: the one it fits in exactly', () => {
    const a = new Terminal('till-a');
    const base = [...openedTicket(a, new Terminal('x')), a.write(TK, 'ticket.item_added', { ...burger('l2'), unitPriceCents: 4000 })]; // 50.00
    const pays = [
      a.write(TK, 'ticket.payment_recorded', { paymentId: 'p1', method: 'card', amountCents: 2000 }),
      a.write(TK, 'ticket.payment_recorded', { paymentId: 'p2', method: 'card', amountCents: 3000 }),
    ];
    const refund = a.write(TK, 'ticket.refunded', { refundId: 'r1', method: 'card', amountCents: 3000, reason: 'cold' });
    const v = ticketOf([...base, ...pays, refund, a.write(TK, 'ticket.voided', { reason: 'mistake' })]);
    expect(v.conflicts.filter((c) => c.kind === 'payment_after_void')).toHaveLength(2);
    expect(v.refunds).toMatchObject([{ state: 'held', conflictId: v.payments.find((p) => p.paymentId === 'p2')!.conflictId }]);
  });

  it('[PRJ26] refunds that each fit a payment a void holds go one to each, the largest placed first: 5.00 and 3.00 back of 5.00 and 3.00 taken', () => {
    const a = new Terminal('till-a');
    const base = openedTicket(a, new Terminal('x'));
    const pays = [
      a.write(TK, 'ticket.payment_recorded', { paymentId: 'p5', method: 'cash', amountCents: 500 }),
      a.write(TK, 'ticket.payment_recorded', { paymentId: 'p3', method: 'cash', amountCents: 300 }),
    ];
    const refunds = [
      a.write(TK, 'ticket.refunded', { refundId: 'r3', method: 'cash', amountCents: 300, reason: 'cold' }),
      a.write(TK, 'ticket.refunded', { refundId: 'r5', method: 'cash', amountCents: 500, reason: 'cold' }),
    ];
    const v = ticketOf([...base, ...pays, ...refunds, a.write(TK, 'ticket.voided', { reason: 'mistake' })]);
    expect(v.conflicts.filter((c) => c.kind === 'payment_after_void')).toHaveLength(2);
    const cardOf = (paymentId: string) => v.payments.find((p) => p.paymentId === paymentId)!.conflictId;
    expect(v.refunds.map((r) => [r.refundId, r.conflictId])).toEqual([
      ['r3', cardOf('p3')],
      ['r5', cardOf('p5')],
    ]);
  });

  it('[PRJ26] a refund the payments still counted cover exactly stays applied when a lowered total holds the others', () => {
    const a = new Terminal('till-a');
    const base = [...openedTicket(a, new Terminal('x')), a.write(TK, 'ticket.item_added', burger('l2')), a.write(TK, 'ticket.item_added', burger('l3'))]; // 30.00
    const pays = ['p1', 'p2', 'p3'].map((paymentId) => a.write(TK, 'ticket.payment_recorded', { paymentId, method: 'cash', amountCents: 1000 }));
    const refund = a.write(TK, 'ticket.refunded', { refundId: 'r1', method: 'cash', amountCents: 1000, reason: 'cold' });
    const removed = ['l1', 'l2', 'l3'].map((lineId) => a.write(TK, 'ticket.item_removed', { lineId }));
    // Nothing left to pay: 20.00 kept is held (p3, p2), p1 covers the 10.00 given back.
    const v = ticketOf([...base, ...pays, refund, ...removed]);
    expect(v.payments.map((p) => [p.paymentId, p.state])).toEqual([['p1', 'applied'], ['p2', 'held'], ['p3', 'held']]);
    expect(v.refunds).toMatchObject([{ refundId: 'r1', state: 'applied' }]);
  });

  it('[PRJ26] a refund held with payments goes with a payment of its own method: handing back the card keeps the cash refund', () => {
    const a = new Terminal('till-a');
    const base = [...openedTicket(a, new Terminal('x')), a.write(TK, 'ticket.item_added', { ...burger('l2'), unitPriceCents: 2000 })]; // 30.00
    const pays = [a.write(TK, 'ticket.payment_recorded', { paymentId: 'pcard', method: 'card', amountCents: 2000 }), a.write(TK, 'ticket.payment_recorded', { paymentId: 'pcash', method: 'cash', amountCents: 1000 })];
    const refund = a.write(TK, 'ticket.refunded', { refundId: 'r1', method: 'cash', amountCents: 500, reason: 'cold' });
    const removed = a.write(TK, 'ticket.item_removed', { lineId: 'l2' }); // total 10.00: both payments held
    const events = [...base, ...pays, refund, removed];
    const v0 = ticketOf(events);
    const conflictOf = (id: string) => v0.payments.find((p) => p.paymentId === id)!.conflictId!;
    expect(v0.refunds).toMatchObject([{ refundId: 'r1', state: 'held', conflictId: conflictOf('pcash') }]);
    expect(v0.conflicts.find((c) => c.conflictId === conflictOf('pcash'))!.detail).toMatch(/5\.00 of it refunded already/);
    const mgr = new Terminal('mgr').see(...events);
    const v = ticketOf([
      ...events,
      mgr.write(TK, 'conflict.resolved', { conflictId: conflictOf('pcard'), resolution: { kind: 'refund_payment' } }),
      mgr.write(TK, 'conflict.resolved', { conflictId: conflictOf('pcash'), resolution: { kind: 'accept_payment' } }),
    ]);
    expect(v.refunds).toMatchObject([{ refundId: 'r1', state: 'applied' }]);
    expect([v.paidCents, v.refundedCents]).toEqual([1000, 500]);
  });

  it('[PRJ26] a held refund goes with a payment of its method it fits in: handing back another gives back only that one', () => {
    const a = new Terminal('till-a');
    const base = [...openedTicket(a, new Terminal('x')), a.write(TK, 'ticket.item_added', { ...burger('l2'), unitPriceCents: 500 })]; // 15.00
    const first = a.write(TK, 'ticket.payment_recorded', { paymentId: 'p1', method: 'cash', amountCents: 1000 });
    const refund = a.write(TK, 'ticket.refunded', { refundId: 'r1', method: 'cash', amountCents: 600, reason: 'cold' });
    const second = a.write(TK, 'ticket.payment_recorded', { paymentId: 'p2', method: 'cash', amountCents: 500 });
    const events = [...base, first, refund, second, a.write(TK, 'ticket.voided', { reason: 'walked out' })];
    const v0 = ticketOf(events);
    const conflictOf = (id: string) => v0.payments.find((p) => p.paymentId === id)!.conflictId!;
    // 6.00 of the 10.00 went back: not of the 5.00 (the newest cash payment, which it does not fit in).
    expect(v0.refunds).toMatchObject([{ refundId: 'r1', state: 'held', conflictId: conflictOf('p1') }]);
    const mgr = new Terminal('mgr').see(...events);
    const v = ticketOf([
      ...events,
      mgr.write(TK, 'conflict.resolved', { conflictId: conflictOf('p2'), resolution: { kind: 'refund_payment' } }),
      mgr.write(TK, 'conflict.resolved', { conflictId: conflictOf('p1'), resolution: { kind: 'reopen' } }),
    ]);
    // The guest paid 15.00 and got 6.00 and 5.00 back: the ticket keeps 4.00 (it kept -1.00 when the refund went with the 5.00).
    expect([v.paidCents, v.refundedCents]).toEqual([1000, 600]);
  });

  it('[PRJ26] a held refund larger than any one payment of its method holds them together: handed back, only what was not refunded goes back', () => {
    const a = new Terminal('till-a');
    const base = [...openedTicket(a, new Terminal('x')), a.write(TK, 'ticket.item_added', { ...burger('l2'), unitPriceCents: 501 })]; // 15.01
    const pays = [
      a.write(TK, 'ticket.payment_recorded', { paymentId: 'p1', method: 'cash', amountCents: 1000 }),
      a.write(TK, 'ticket.payment_recorded', { paymentId: 'p2', method: 'cash', amountCents: 500 }),
      a.write(TK, 'ticket.payment_recorded', { paymentId: 'p3', method: 'card', amountCents: 1 }),
    ];
    const refund = a.write(TK, 'ticket.refunded', { refundId: 'r1', method: 'cash', amountCents: 1200, reason: 'cold' });
    const events = [...base, ...pays, refund, a.write(TK, 'ticket.voided', { reason: 'walked out' })];
    const v0 = ticketOf(events);
    const cashConflict = v0.payments.find((p) => p.paymentId === 'p1')!.conflictId!;
    expect(v0.payments.find((p) => p.paymentId === 'p2')!.conflictId).toBe(cashConflict);
    expect(v0.payments.find((p) => p.paymentId === 'p3')!.conflictId).not.toBe(cashConflict);
    expect(v0.refunds).toMatchObject([{ refundId: 'r1', state: 'held', conflictId: cashConflict }]);
    expect(v0.conflicts.find((c) => c.conflictId === cashConflict)!.detail).toBe('voided with cash payments of 10.00 and 5.00 taken, 12.00 of it refunded already');
    const mgr = new Terminal('mgr').see(...events);
    const handedBack = ticketOf([...events, mgr.write(TK, 'conflict.resolved', { conflictId: cashConflict, resolution: { kind: 'refund_payment' } })]);
    expect(handedBack.payments.filter((p) => p.method === 'cash').map((p) => p.state)).toEqual(['refunded', 'refunded']);
    expect(handedBack.refunds.map((r) => r.state)).toEqual(['settled']);
    const reopened = ticketOf([...events, mgr.write(TK, 'conflict.resolved', { conflictId: cashConflict, resolution: { kind: 'reopen' } })]);
    expect([reopened.paidCents, reopened.refundedCents]).toEqual([1501, 1200]);
  });

  it('[PRJ26] payments above a lowered total hold older ones of their method along when a refund is larger than those held', () => {
    const a = new Terminal('till-a');
    const base = [...openedTicket(a, new Terminal('x')), a.write(TK, 'ticket.item_added', { ...burger('l2'), unitPriceCents: 300 })]; // 13.00
    const pays = [
      a.write(TK, 'ticket.payment_recorded', { paymentId: 'p1', method: 'cash', amountCents: 1000 }),
      a.write(TK, 'ticket.payment_recorded', { paymentId: 'p2', method: 'cash', amountCents: 300 }),
    ];
    const refund = a.write(TK, 'ticket.refunded', { refundId: 'r1', method: 'cash', amountCents: 1200, reason: 'cold' });
    // Kept 1.00 against a total of 0.00: the 3.00 alone would go back whole though 12.00 went back already.
    const events = [...base, ...pays, refund, a.write(TK, 'ticket.item_removed', { lineId: 'l2' }), a.write(TK, 'ticket.item_removed', { lineId: 'l1' })];
    const v0 = ticketOf(events);
    const conflictId = v0.payments[1]!.conflictId!;
    expect(v0.payments.map((p) => [p.state, p.conflictId])).toEqual([['held', conflictId], ['held', conflictId]]);
    expect(v0.refunds).toMatchObject([{ refundId: 'r1', state: 'held', conflictId }]);
    // Named in the order they were taken, though the newest was held first.
    expect(v0.conflicts.find((c) => c.conflictId === conflictId)!.detail).toBe('cash payments of 10.00 and 3.00: payments 1.00 exceed the total 0.00 after a change, 12.00 of it refunded already');
    const mgr = new Terminal('mgr').see(...events);
    const v = ticketOf([...events, mgr.write(TK, 'conflict.resolved', { conflictId, resolution: { kind: 'refund_payment' } })]);
    // 13.00 paid, 12.00 refunded, 1.00 handed back: nothing kept, nothing owed.
    expect([v.paidCents, v.refundedCents, v.totalCents]).toEqual([0, 0, 0]);
  });

  it('[PRJ6b][PRJ26] payments held together with a refund hand back less than they took: what still counts above the total is held too, on a card of its own', () => {
    const a = new Terminal('till-a');
    const base = [a.write(TK, 'ticket.opened', { number: 'A-001' }), a.write(TK, 'ticket.item_added', { ...burger('l1'), unitPriceCents: 963 })];
    const pays = [
      a.write(TK, 'ticket.payment_recorded', { paymentId: 'p0', method: 'cash', amountCents: 100 }),
      a.write(TK, 'ticket.payment_recorded', { paymentId: 'p1', method: 'cash', amountCents: 265 }),
      a.write(TK, 'ticket.payment_recorded', { paymentId: 'p2', method: 'cash', amountCents: 598 }),
    ];
    // The dish sent back: 8.63 of the 9.63 handed back in cash; then another manager comps it.
    const refund = a.write(TK, 'ticket.refunded', { refundId: 'r1', method: 'cash', amountCents: 863, reason: 'sent back', lineId: 'l1' });
    const events = [...base, ...pays, refund, a.write(TK, 'ticket.line_comped', { lineId: 'l1', quantity: 1, reason: 'sent back' })];
    const v0 = ticketOf(events);
    // 5.98 alone would go back whole: 2.65 is held with it, carrying the refund (0.00 to hand back); the 1.00 left is over too.
    expect(v0.totalCents).toBe(0);
    expect(keptCents(v0)).toBe(0);
    const together = v0.payments.find((p) => p.paymentId === 'p2')!.conflictId!;
    const alone = v0.payments.find((p) => p.paymentId === 'p0')!.conflictId!;
    expect(v0.payments.map((p) => [p.paymentId, p.state])).toEqual([['p0', 'held'], ['p1', 'held'], ['p2', 'held']]);
    expect(v0.refunds).toMatchObject([{ refundId: 'r1', state: 'held', conflictId: together }]);
    expect(v0.conflicts.filter((c) => c.status === 'open').map((c) => [c.conflictId, c.detail])).toEqual([
      [together, 'cash payments of 2.65 and 5.98: payments 1.00 exceed the total 0.00 after a change, 8.63 of it refunded already'],
      [alone, 'a cash payment of 1.00: payments 1.00 exceed the total 0.00 after a change'],
    ]);
    const mgr = new Terminal('mgr').see(...events);
    const handedBack = [...events, ...[together, alone].map((conflictId) => mgr.write(TK, 'conflict.resolved', { conflictId, resolution: { kind: 'refund_payment' }, refundIds: conflictId === together ? ['r1'] : [] }))];
    // The guest paid 9.63 and got 8.63 back: the last 1.00 goes back too.
    expect(keptCents(ticketOf(handedBack))).toBe(0);
  });

  it('[PRJ6b][PRJ26] a payment a manager kept beyond the total is not held again to cover a refund a later change leaves uncovered', () => {
    const a = new Terminal('till-a');
    const mgr = new Terminal('mgr', 10_000);
    const base = [a.write(TK, 'ticket.opened', { number: 'A-001' }), a.write(TK, 'ticket.item_added', { ...burger('l1'), unitPriceCents: 2000 })];
    mgr.see(...base);
    const pays = ['pa1', 'pa2', 'pb'].map((paymentId) => a.write(TK, 'ticket.payment_recorded', { paymentId, method: 'cash', amountCents: paymentId === 'pb' ? 500 : 1000 }));
    mgr.see(...pays);
    const over = ticketOf([...base, ...pays]).conflicts.find((c) => c.kind === 'over_payment')!;
    const kept = [...base, ...pays, resolve(mgr, over.conflictId, { kind: 'accept_payment' })];
    expect(ticketOf(kept).payments.map((p) => p.state)).toEqual(['applied', 'applied', 'applied']);
    const v = ticketOf([...kept, mgr.write(TK, 'ticket.refunded', { refundId: 'r1', method: 'cash', amountCents: 1600, reason: 'cold' }), mgr.write(TK, 'ticket.line_comped', { lineId: 'l1', quantity: 1, reason: 'cold' })]);
    // pa2 is held, and pa1 with it to cover the 16.00 refund; pb, which the manager kept, is not asked about again.
    expect(v.payments.map((p) => [p.paymentId, p.state])).toEqual([['pa1', 'held'], ['pa2', 'held'], ['pb', 'applied']]);
  });

  it('[PRJ26] a refund a manager accepted beyond the money taken is never carried by payments it exceeds: handed back, the drawer still counts it', () => {
    const a = new Terminal('till-a');
    const mgr = new Terminal('mgr');
    const base = [...openedTicket(a, mgr)]; // 10.00
    const pays = [a.write(TK, 'ticket.payment_recorded', { paymentId: 'pcard', method: 'card', amountCents: 800 }), a.write(TK, 'ticket.payment_recorded', { paymentId: 'pcash', method: 'cash', amountCents: 200 })];
    mgr.see(...pays);
    const refund = mgr.write(TK, 'ticket.refunded', { refundId: 'r1', method: 'cash', amountCents: 300, reason: 'goodwill' });
    const over = ticketOf([...base, ...pays, refund]).conflicts.find((c) => c.kind === 'over_refund')!;
    const events = [...base, ...pays, refund, resolve(mgr, over.conflictId, { kind: 'accept_refund' }), mgr.write(TK, 'ticket.voided', { reason: 'walked out' })];
    const v0 = ticketOf(events);
    const cashConflict = v0.payments.find((p) => p.paymentId === 'pcash')!.conflictId!;
    expect(v0.refunds).toMatchObject([{ refundId: 'r1', state: 'applied' }]);
    expect(v0.conflicts.find((c) => c.conflictId === cashConflict)!.detail).not.toMatch(/refunded already/);
    const v = ticketOf([...events, resolve(mgr, cashConflict, { kind: 'refund_payment' })]);
    // The guest paid 2.00 cash and got 3.00 back, then the 2.00: the drawer is 3.00 down.
    expect(v.payments.find((p) => p.paymentId === 'pcash')!.state).toBe('refunded');
    expect(v.refunds).toMatchObject([{ refundId: 'r1', state: 'applied' }]);
  });

  it('[PRJ26] a payment an offline till took before the void, folding in after a manager settled another, takes no refund that card carried', () => {
    const a = new Terminal('till-a');
    const b = new Terminal('till-b');
    const mgr = new Terminal('mgr');
    const base = [...openedTicket(a, b), a.write(TK, 'ticket.item_added', { ...burger('l2'), unitPriceCents: 300 })]; // 13.00
    b.see(base[2]!);
    const first = a.write(TK, 'ticket.payment_recorded', { paymentId: 'p1', method: 'cash', amountCents: 598 });
    wall += 10;
    const late = b.write(TK, 'ticket.payment_recorded', { paymentId: 'p2', method: 'cash', amountCents: 265 }); // offline, same seq
    wall += 10;
    mgr.see(...base, first);
    const refund = mgr.write(TK, 'ticket.refunded', { refundId: 'r1', method: 'cash', amountCents: 200, reason: 'cold' });
    const voided = mgr.write(TK, 'ticket.voided', { reason: 'walked out' });
    const seen = ticketOf([...base, first, refund, voided]);
    const firstConflict = seen.payments[0]!.conflictId!;
    expect(seen.refunds).toMatchObject([{ refundId: 'r1', state: 'held', conflictId: firstConflict }]);
    const handedBack = resolve(mgr, firstConflict, { kind: 'refund_payment' });
    const v = ticketOf([...base, first, late, refund, voided, handedBack]);
    expect(late.seq).toBe(first.seq);
    expect(v.refunds).toMatchObject([{ refundId: 'r1', state: 'settled', conflictId: firstConflict }]);
    expect(v.conflicts.find((c) => c.conflictId === firstConflict)!.detail).toMatch(/2\.00 of it refunded already/);
  });

  it('[PRJ26] a hand-back names the refunds its card carried: a refund given offline meanwhile, folding in before it, still counts as given', () => {
    const till = new Terminal('till-a');
    const mgr1 = new Terminal('mgr-1');
    const mgr2 = new Terminal('mgr-2');
    const paid = [...openedTicket(till, mgr1), till.write(TK, 'ticket.payment_recorded', { paymentId: 'p1', method: 'cash', amountCents: 1000 })];
    mgr1.see(...paid);
    mgr2.see(...paid);
    const refund = mgr1.write(TK, 'ticket.refunded', { refundId: 'r1', method: 'cash', amountCents: 300, reason: 'cold' }); // offline
    wall += 10;
    const voided = mgr2.write(TK, 'ticket.voided', { reason: 'walked out' });
    const conflictId = ticketOf([...paid, voided]).conflicts[0]!.conflictId;
    // mgr-2's card: "a cash payment of 10.00 taken", no refund on it: the whole 10.00 goes back.
    const handedBack = mgr2.write(TK, 'conflict.resolved', { conflictId, resolution: { kind: 'refund_payment' }, refundIds: [] });
    const v = ticketOf([...paid, refund, voided, handedBack]);
    expect(refund.seq).toBe(voided.seq);
    expect(v.payments).toMatchObject([{ paymentId: 'p1', state: 'refunded' }]);
    // The guest got 3.00 and then 10.00: the 3.00 counts as given (it was settled in the hand-back, and the drawer was 3.00 short).
    expect(v.refunds).toMatchObject([{ refundId: 'r1', state: 'applied', conflictId: null }]);
    // An earlier build's hand-back names none: the refunds held with it now are part of it, as before.
    const earlier = mgr2.write(TK, 'conflict.resolved', { conflictId, resolution: { kind: 'refund_payment' } }, { v: 1 });
    expect(ticketOf([...paid, refund, voided, earlier]).refunds).toMatchObject([{ refundId: 'r1', state: 'settled' }]);
  });

  it('[PRJ26] a hand-back settles the refunds its card carried even where a payment an offline till took earlier has taken them onto its own card since', () => {
    const a = new Terminal('till-a');
    const b = new Terminal('till-b');
    const mgr = new Terminal('mgr');
    const base = [...openedTicket(a, b), a.write(TK, 'ticket.item_added', { ...burger('l2'), unitPriceCents: 300 })]; // 13.00
    b.see(base[2]!);
    const late = b.write(TK, 'ticket.payment_recorded', { paymentId: 'p2', method: 'cash', amountCents: 265 }); // offline, taken earlier
    wall += 10;
    const first = a.write(TK, 'ticket.payment_recorded', { paymentId: 'p1', method: 'cash', amountCents: 598 });
    mgr.see(...base, first);
    const refund = mgr.write(TK, 'ticket.refunded', { refundId: 'r1', method: 'cash', amountCents: 200, reason: 'cold' });
    const voided = mgr.write(TK, 'ticket.voided', { reason: 'walked out' });
    const seen = ticketOf([...base, first, refund, voided]);
    const firstConflict = seen.payments[0]!.conflictId!;
    expect(seen.refunds).toMatchObject([{ refundId: 'r1', state: 'held', conflictId: firstConflict }]);
    const handedBack = mgr.write(TK, 'conflict.resolved', { conflictId: firstConflict, resolution: { kind: 'refund_payment' }, refundIds: ['r1'] });
    const v = ticketOf([...base, first, late, refund, voided, handedBack]);
    expect(late.seq).toBe(first.seq);
    expect(v.payments.map((p) => p.paymentId)).toEqual(['p2', 'p1']);
    expect(v.refunds).toMatchObject([{ refundId: 'r1', state: 'settled', conflictId: firstConflict }]);
    // The late payment's card carries no refund any more: handed back, all of its 2.65 goes.
    const lateConflict = v.payments[0]!.conflictId!;
    expect(v.conflicts.find((c) => c.conflictId === lateConflict)!.detail).toBe('voided with a cash payment of 2.65 taken');
  });

  it('[PRJ26] a card payment a void holds says its tip: it was charged with it, and a hand-back gives it back too', () => {
    const a = new Terminal('till-a');
    const events = [...openedTicket(a, new Terminal('x')), a.write(TK, 'ticket.payment_recorded', { paymentId: 'p1', method: 'card', amountCents: 1000, tipCents: 200 }), a.write(TK, 'ticket.voided', { reason: 'walked out' })];
    expect(ticketOf(events).conflicts.map((c) => c.detail)).toEqual(['voided with a card payment of 10.00 + 2.00 tip taken']);
  });

  it('[PRJ26] a refund a hand-back named, held since on a card of its own (its line removed by a till offline), is settled with it and that card with it', () => {
    const a = new Terminal('till-a');
    const b = new Terminal('till-b');
    const mgr = new Terminal('mgr');
    const base = [...openedTicket(a, b), a.write(TK, 'ticket.item_added', { ...burger('l2'), unitPriceCents: 500 }), a.write(TK, 'ticket.payment_recorded', { paymentId: 'p1', method: 'cash', amountCents: 800 })];
    b.see(...base.slice(2));
    mgr.see(...base);
    const removed = b.write(TK, 'ticket.item_removed', { lineId: 'l2' }); // offline
    wall += 10;
    const refund = mgr.write(TK, 'ticket.refunded', { refundId: 'r1', method: 'cash', amountCents: 300, reason: 'cold', lineId: 'l2' });
    const voided = mgr.write(TK, 'ticket.voided', { reason: 'walked out' });
    const card = ticketOf([...base, refund, voided]).conflicts[0]!;
    expect(card.detail).toBe('voided with a cash payment of 8.00 taken, 3.00 of it refunded already');
    const handedBack = mgr.write(TK, 'conflict.resolved', { conflictId: card.conflictId, resolution: { kind: 'refund_payment' }, refundIds: ['r1'] });
    const v = ticketOf([...base, removed, refund, voided, handedBack]);
    expect(v.refunds).toMatchObject([{ refundId: 'r1', state: 'settled', conflictId: card.conflictId }]);
    // Its own card (beyond what the removed line had left) asks nothing more: accepting it would count it twice.
    expect(v.conflicts.find((c) => c.kind === 'over_refund')).toMatchObject({ status: 'resolved', resolution: { note: 'the refund was part of a hand-back' } });
    expect(v.openConflicts).toBe(0);
  });

  it('[PRJ26] a tipped card payment is named with its tip on every card: taken after the void, or beyond the total', () => {
    const a = new Terminal('till-a');
    const b = new Terminal('till-b');
    const base = openedTicket(a, b);
    const voided = a.write(TK, 'ticket.voided', { reason: 'walked out' });
    const late = b.write(TK, 'ticket.payment_recorded', { paymentId: 'p1', method: 'card', amountCents: 1000, tipCents: 200 });
    expect(ticketOf([...base, voided, late]).conflicts.map((c) => c.detail)).toEqual(['a card payment of 10.00 + 2.00 tip taken after the ticket was voided']);
    const twice = [a.write(TK, 'ticket.payment_recorded', { paymentId: 'p2', method: 'card', amountCents: 1000 }), b.write(TK, 'ticket.payment_recorded', { paymentId: 'p3', method: 'card', amountCents: 1000, tipCents: 150 })];
    expect(ticketOf([...base, ...twice]).conflicts.map((c) => c.detail)).toEqual(['a card payment of 10.00 + 1.50 tip: payments 20.00 exceed the total 10.00']);
  });

  it('[PRJ26][PRJ27] an earlier build\'s resolution naming every payment of a void, after one was settled: kept as overruled, not applied', () => {
    const a = new Terminal('till-a');
    const base = [...openedTicket(a, new Terminal('x')), a.write(TK, 'ticket.item_added', { ...burger('l2'), unitPriceCents: 2000 })];
    const card = a.write(TK, 'ticket.payment_recorded', { paymentId: 'pcard', method: 'card', amountCents: 2000 });
    const cash = a.write(TK, 'ticket.payment_recorded', { paymentId: 'pcash', method: 'cash', amountCents: 1000 });
    const voided = a.write(TK, 'ticket.voided', { reason: 'walked out' });
    const events = [...base, card, cash, voided];
    const group = conflictIdFor('payment_after_void', [card.id, cash.id, voided.id]);
    const cardConflict = ticketOf(events).payments.find((p) => p.paymentId === 'pcard')!.conflictId!;
    const reopen = new Terminal('mgr-new').see(...events).write(TK, 'conflict.resolved', { conflictId: cardConflict, resolution: { kind: 'reopen' } });
    const old = new Terminal('mgr-old').see(...events).write(TK, 'conflict.resolved', { conflictId: group, resolution: { kind: 'refund_payment' } });
    const v = ticketOf([...events, reopen, old]);
    expect(foldedAs(v, old).status).toBe('superseded');
    expect(v.conflicts.filter((c) => c.kind === 'payment_after_void').flatMap((c) => c.overruled.map((o) => o.eventId))).toEqual([old.id, old.id]);
  });

  it('[PRJ27] two managers settling one conflict at once: the second is kept as overruled, for the screen to say (its money was not applied)', () => {
    const a = new Terminal('till-a');
    const b = new Terminal('till-b');
    const base = openedTicket(a, b);
    const pay = a.write(TK, 'ticket.payment_recorded', { paymentId: 'pa', method: 'cash', amountCents: 1000 });
    b.see(pay);
    const voided = b.write(TK, 'ticket.voided', { reason: 'walked out' });
    const id = ticketOf([...base, pay, voided]).conflicts[0]!.conflictId;
    const m1 = new Terminal('mgr-1');
    const m2 = new Terminal('mgr-2');
    m1.see(...base, pay, voided);
    m2.see(...base, pay, voided);
    const keep = m1.write(TK, 'conflict.resolved', { conflictId: id, resolution: { kind: 'reopen' } });
    const back = m2.write(TK, 'conflict.resolved', { conflictId: id, resolution: { kind: 'refund_payment' } });
    const v = ticketOf([...base, pay, voided, keep, back]);
    const c = v.conflicts[0]!;
    const [won, lost] = [keep, back].sort((x, y) => (foldedAs(v, x).status === 'applied' ? -1 : 1));
    expect(c.resolution).toMatchObject({ eventId: won!.id });
    expect(c.overruled).toMatchObject([{ eventId: lost!.id, terminal: lost!.origin.terminal }]);
    expect(foldedAs(v, lost!).status).toBe('superseded');
  });

  it('[PRJ4] a line removed after it was sent is kept as cancelled for the kitchen until bumped; one removed before the send or after the bump is not', () => {
    const a = new Terminal('till-a');
    const base = [...openedTicket(a, new Terminal('x')), a.write(TK, 'ticket.item_added', burger('l2')), a.write(TK, 'ticket.item_added', burger('l3'))];
    const sent = a.write(TK, 'ticket.sent_to_kitchen', { lineIds: ['l1', 'l2'] });
    const bumped = a.write(TK, 'ticket.kitchen_item_bumped', { lineId: 'l2' });
    const removed = ['l1', 'l2', 'l3'].map((lineId) => a.write(TK, 'ticket.item_removed', { lineId }));
    const v = ticketOf([...base, sent, bumped, ...removed]);
    expect(v.lines).toEqual([]);
    expect(v.cancelledLines.map((l) => l.lineId)).toEqual(['l1']);
    const seen = a.write(TK, 'ticket.kitchen_item_bumped', { lineId: 'l1' });
    expect(ticketOf([...base, sent, bumped, ...removed, seen]).cancelledLines[0]!.bumpedAt).toBe(seen.at);
  });

  it('[PRJ4] a removed line stays removed whatever quantity edits race with it', () => {
    const a = new Terminal('till-a');
    const b = new Terminal('till-b');
    const base = openedTicket(a, b);
    const rm = a.write(TK, 'ticket.item_removed', { lineId: 'l1' });
    const q = b.write(TK, 'ticket.quantity_changed', { lineId: 'l1', quantity: 5 });
    expect(ticketOf([...base, rm, q]).lines).toEqual([]);
    expect(ticketOf([...base, q, rm]).totalCents).toBe(0);
  });
});

describe('projection: idempotency, history, versions', () => {
  it('[PRJ3] sale.recorded by two offline terminals counts once; the second is shown as duplicate', () => {
    const a = new Terminal('till-a');
    const b = new Terminal('till-b');
    const base = openedTicket(a, b);
    const sale = { ticketId: TK.id, totalCents: 1000, paidCents: 1000, closedAt: T0 };
    const s1 = a.write(TK, 'sale.recorded', sale, { key: saleKey(TK.id) });
    const s2 = b.write(TK, 'sale.recorded', { ...sale, closedAt: T0 + 1 }, { key: saleKey(TK.id) });
    const v = ticketOf([...base, s2, s1, s2]);
    const winner = [s1, s2].sort((x, y) => (x.origin.terminal < y.origin.terminal ? -1 : 1))[0]!;
    expect(v.sale?.eventId).toBe(winner.id);
    expect(v.history.filter((h) => h.status === 'duplicate').map((h) => h.type)).toEqual(['sale.recorded']);
    expect(v.history).toHaveLength(4);
  });

  it('[PRJ3] a keyed note written twice: the second is a duplicate, the first holds', () => {
    const a = new Terminal('till-a');
    const base = openedTicket(a, new Terminal('till-b'));
    const first = a.write(TK, 'ticket.note_set', { note: 'first' }, { key: 'note-1' });
    const again = a.write(TK, 'ticket.note_set', { note: 'again' }, { key: 'note-1' });
    const v = ticketOf([...base, first, again]);
    expect(v.note).toBe('first');
    expect(foldedAs(v, again).status).toBe('duplicate');
  });

  it('[PRJ2][PRJ7] two tills voiding offline: the first void in fold order holds (its reason, and its time the takings count it on), the second is a duplicate', () => {
    const a = new Terminal('till-a');
    const b = new Terminal('till-b', 24 * 60 * 60_000); // a day ahead by its clock
    const base = openedTicket(a, b);
    const first = a.write(TK, 'ticket.voided', { reason: 'walked out' });
    const second = b.write(TK, 'ticket.voided', { reason: 'entered twice' });
    const v = ticketOf([...base, second, first]);
    expect(v).toMatchObject({ status: 'voided', voidReason: 'walked out', voidedAt: first.at });
    expect(foldedAs(v, second)).toMatchObject({ status: 'duplicate', reason: 'already voided' });
  });

  it('[PRJ8] a future version is kept as needs_update, an unknown type too, an invalid payload as invalid', () => {
    const a = new Terminal('till-a');
    const b = new Terminal('till-b');
    const base = openedTicket(a, b);
    const future = a.write(TK, 'ticket.item_added', { lineId: 'l9', price: { amount: 5, currency: 'EUR' } }, { v: 7 });
    const unknown = a.write(TK, 'ticket.split', { into: 2 });
    const bad = a.write(TK, 'ticket.item_added', { ...burger('l2'), quantity: -1 });
    const v = ticketOf([...base, future, unknown, bad]);
    expect(v.lines.map((l) => l.lineId)).toEqual(['l1']);
    expect(v.history.map((h) => h.status)).toEqual(['applied', 'applied', 'needs_update', 'needs_update', 'invalid']);
    expect(v.needsUpdate).toBe(2);
    expect(v.history[4]!.reason).toContain('payload.quantity');
    const p = new LocationProjection();
    p.apply([...base, future, unknown, bad]);
    expect(p.eventsOf(TK.id)).toHaveLength(5); // never dropped
  });

  it('[PRJ8] v1 item_added events are upcast and folded as v2 lines', () => {
    const a = new Terminal('till-a');
    const opened = a.write(TK, 'ticket.opened', { number: 'A-002' });
    const old = a.write(TK, 'ticket.item_added', { menuItemId: 'm', name: 'Tea', price: 2.5, qty: 2 }, { v: 1 });
    const v = ticketOf([opened, old]);
    expect(v.lines).toMatchObject([{ lineId: old.id, unitPriceCents: 250, quantity: 2 }]);
    expect(v.totalCents).toBe(500);
  });

  it('[PRJ10] a ticket with nothing to pay is not paid: no lines yet, or every line comped', () => {
    const a = new Terminal('till-a');
    const manager = new Terminal('manager-1');
    const base = openedTicket(a, manager);
    expect(ticketOf([base[0]!]).status).toBe('open');
    const comped = manager.write(TK, 'ticket.line_comped', { lineId: 'l1', reason: 'birthday', quantity: 1 });
    expect(ticketOf([...base, comped])).toMatchObject({ status: 'open', totalCents: 0, paidCents: 0 });
  });

  it('[PRJ7][PRJ10] history lists every event; status follows open → sent → paid → closed', () => {
    const a = new Terminal('till-a');
    const evs: EventEnvelope[] = [a.write(TK, 'ticket.opened', { number: 'A-003', tableId: 't1', covers: 2 })];
    evs.push(a.write(TK, 'ticket.item_added', burger('l1', 2)));
    expect(ticketOf(evs).status).toBe('open');
    evs.push(a.write(TK, 'ticket.sent_to_kitchen', { lineIds: ['l1'] }));
    expect(ticketOf(evs).status).toBe('sent');
    evs.push(a.write(TK, 'ticket.kitchen_item_bumped', { lineId: 'l1' }));
    evs.push(a.write(TK, 'ticket.payment_recorded', { paymentId: 'p1', method: 'cash', amountCents: 2000, tenderedCents: 2500 }));
    const paid = ticketOf(evs);
    expect(paid.status).toBe('paid');
    expect(paid.changeDueCents).toBe(500);
    evs.push(a.write(TK, 'ticket.closed', { totalCents: 2000 }));
    const closed = ticketOf(evs);
    expect(closed).toMatchObject({ status: 'closed', closedTotalCents: 2000, paidCents: 2000, tableId: 't1', covers: 2, number: 'A-003', openConflicts: 0 });
    expect(closed.lines[0]!.sentAt).not.toBeNull();
    expect(closed.lines[0]!.bumpedAt).not.toBeNull();
    expect(closed.history.map((h) => h.status)).toEqual(Array(6).fill('applied'));
    expect(closed.openedBy).toEqual({ terminal: 'till-a', staff: null });
  });
});

describe('projection: escalated business conflicts', () => {
  it('[PRJ6a] a payment on a voided ticket is held as a conflict; refund_payment settles it', () => {
    const a = new Terminal('till-a');
    const b = new Terminal('till-b');
    const base = openedTicket(a, b);
    const voided = a.write(TK, 'ticket.voided', { reason: 'walked out' });
    const pay = b.write(TK, 'ticket.payment_recorded', { paymentId: 'p1', method: 'card', amountCents: 1000 });
    a.see(pay);
    const v = ticketOf([...base, voided, pay]);
    const id = conflictIdFor('payment_after_void', [voided.id, pay.id]);
    expect(v.conflicts).toMatchObject([{ conflictId: id, kind: 'payment_after_void', status: 'open', eventIds: [voided.id, pay.id].sort() }]);
    expect(v.paidCents).toBe(0);
    expect(v.payments[0]!.state).toBe('held');
    const settled = ticketOf([...base, voided, pay, resolve(a, id, { kind: 'refund_payment' })]);
    expect(settled).toMatchObject({ status: 'voided', paidCents: 0, openConflicts: 0 });
    expect(settled.payments[0]!.state).toBe('refunded');
    expect(settled.conflicts[0]!.resolution).toMatchObject({ kind: 'refund_payment', terminal: 'till-a', note: 'manager' });
  });

  it('[PRJ6a] reopen instead un-voids the ticket and counts the payment', () => {
    const a = new Terminal('till-a');
    const b = new Terminal('till-b');
    const base = openedTicket(a, b);
    const voided = a.write(TK, 'ticket.voided', { reason: 'mistake' });
    const pay = b.write(TK, 'ticket.payment_recorded', { paymentId: 'p1', method: 'card', amountCents: 1000 });
    a.see(pay);
    const id = conflictIdFor('payment_after_void', [voided.id, pay.id]);
    expect(ticketOf([...base, voided, pay, resolve(a, id, { kind: 'reopen' })])).toMatchObject({ status: 'paid', paidCents: 1000 });
  });

  it('[PRJ6a] the same conflict when the payment sorts first: the void holds the payment taken before it', () => {
    const a = new Terminal('till-a');
    const b = new Terminal('till-b');
    const base = openedTicket(a, b);
    // till-a sorts before till-b at the same seq: the payment is folded first, then the void.
    const pay = a.write(TK, 'ticket.payment_recorded', { paymentId: 'p1', method: 'card', amountCents: 1000 });
    const voided = b.write(TK, 'ticket.voided', { reason: 'walked out' });
    a.see(voided);
    const v = ticketOf([...base, pay, voided]);
    expect(v.history.map((h) => h.eventId).slice(-2)).toEqual([pay.id, voided.id]);
    const id = conflictIdFor('payment_after_void', [pay.id, voided.id]);
    expect(v).toMatchObject({ status: 'voided', paidCents: 0, openConflicts: 1 });
    expect(v.conflicts).toMatchObject([{ conflictId: id, kind: 'payment_after_void', status: 'open', eventIds: [pay.id, voided.id].sort() }]);
    expect(v.payments[0]).toMatchObject({ state: 'held', conflictId: id });
    expect(ticketOf([...base, pay, voided, resolve(a, id, { kind: 'refund_payment' })])).toMatchObject({ status: 'voided', paidCents: 0, openConflicts: 0 });
    expect(ticketOf([...base, pay, voided, resolve(a, id, { kind: 'reopen' })])).toMatchObject({ status: 'paid', paidCents: 1000, openConflicts: 0 });
  });

  it('[PRJ6a] voiding a ticket known to be paid also holds its payments for a refund decision', () => {
    const a = new Terminal('till-a');
    const b = new Terminal('till-b');
    const base = openedTicket(a, b);
    const pay = a.write(TK, 'ticket.payment_recorded', { paymentId: 'p1', method: 'cash', amountCents: 1000, tenderedCents: 2000 });
    b.see(pay);
    const voided = b.write(TK, 'ticket.voided', { reason: 'guest complaint' });
    const v = ticketOf([...base, pay, voided]);
    expect(v).toMatchObject({ status: 'voided', paidCents: 0, openConflicts: 1 });
    expect(v.conflicts[0]!.detail).toBe('voided with a cash payment of 10.00 taken');
  });

  it('[PRJ6b] two tills each taking the full amount offline is an over-payment; accept or refund', () => {
    const a = new Terminal('till-a');
    const b = new Terminal('till-b');
    const base = openedTicket(a, b);
    const p1 = a.write(TK, 'ticket.payment_recorded', { paymentId: 'pa', method: 'card', amountCents: 1000 });
    const p2 = b.write(TK, 'ticket.payment_recorded', { paymentId: 'pb', method: 'cash', amountCents: 1000 });
    a.see(p2);
    const v = ticketOf([...base, p2, p1]);
    expect(v.paidCents).toBe(1000);
    expect(v.conflicts).toHaveLength(1);
    const c = v.conflicts[0]!;
    expect(c.kind).toBe('over_payment');
    // Named by the payment held alone (a payment folding in before it renames nothing); an earlier build named both.
    const held = v.payments.find((p) => p.state === 'held')!;
    expect(c.conflictId).toBe(conflictIdFor('over_payment', [held.eventId]));
    expect(c.aliases).toEqual([conflictIdFor('over_payment', [p1.id, p2.id])]);
    expect(ticketOf([...base, p1, p2, resolve(a, c.conflictId, { kind: 'refund_payment' })]).paidCents).toBe(1000);
    expect(ticketOf([...base, p1, p2, resolve(a, c.conflictId, { kind: 'accept_payment' })]).paidCents).toBe(2000);
    // A resolution an earlier build wrote, naming both, still settles it.
    expect(ticketOf([...base, p1, p2, resolve(a, c.aliases[0]!, { kind: 'accept_payment' })])).toMatchObject({ paidCents: 2000, openConflicts: 0 });
  });

  it('[PRJ6c] items added after close are held; discard_change keeps the ticket, reopen applies them', () => {
    const a = new Terminal('till-a');
    const b = new Terminal('till-b');
    const base = openedTicket(a, b);
    const close = a.write(TK, 'ticket.closed', { totalCents: 1000 });
    b.see(close);
    const late = b.write(TK, 'ticket.item_added', burger('l2', 2));
    a.see(late); // a manager resolves what they have seen
    const v = ticketOf([...base, close, late]);
    expect(v).toMatchObject({ status: 'closed', totalCents: 1000, openConflicts: 1 });
    expect(v.conflicts[0]!.detail).toBe('2× Burger (20.00) added after the ticket was closed'); // staff words, and which change (what it adds to the total)
    expect(v.history.at(-1)).toMatchObject({ status: 'escalated', conflictId: v.conflicts[0]!.conflictId });
    const id = conflictIdFor('change_after_close', [close.id, late.id]);
    expect(v.conflicts[0]!.conflictId).toBe(id);
    expect(ticketOf([...base, close, late, resolve(a, id, { kind: 'discard_change' })])).toMatchObject({ status: 'closed', totalCents: 1000, openConflicts: 0 });
    expect(ticketOf([...base, close, late, resolve(a, id, { kind: 'reopen' })])).toMatchObject({ status: 'open', totalCents: 3000, openConflicts: 0 });
  });

  it('[PRJ6c] a quantity changed on a voided ticket is held as a change after its end', () => {
    const a = new Terminal('till-a');
    const b = new Terminal('till-b', 5_000);
    const base = openedTicket(a, b);
    const voided = a.write(TK, 'ticket.voided', { reason: 'wrong table' });
    const raised = b.write(TK, 'ticket.quantity_changed', { lineId: 'l1', quantity: 3 });
    const v = ticketOf([...base, voided, raised]);
    expect(foldedAs(v, raised).status).toBe('escalated');
    expect(v.lines[0]!.quantity).toBe(1);
    expect(v.conflicts.map((c) => [c.kind, c.status])).toEqual([['change_after_close', 'open']]);
  });

  it('[PRJ6a] a payment recorded again (its id) after the void is a duplicate: one payment, one card', () => {
    const a = new Terminal('till-a');
    const b = new Terminal('till-b');
    const base = openedTicket(a, b);
    const pay = a.write(TK, 'ticket.payment_recorded', { paymentId: 'p1', method: 'cash', amountCents: 1000 });
    const voided = a.write(TK, 'ticket.voided', { reason: 'mistake' });
    b.see(pay, voided);
    const again = b.write(TK, 'ticket.payment_recorded', { paymentId: 'p1', method: 'cash', amountCents: 1000 });
    const v = ticketOf([...base, pay, voided, again]);
    expect(foldedAs(v, again)).toMatchObject({ status: 'duplicate', reason: 'payment p1 already recorded' });
    expect(v.payments).toMatchObject([{ paymentId: 'p1', state: 'held' }]);
    expect(v.conflicts.map((c) => c.kind)).toEqual(['payment_after_void']);
  });

  it('[PRJ16][PRJ6c] a refund given again (its id) after the void is a duplicate: no card of its own', () => {
    const a = new Terminal('till-a');
    const manager = new Terminal('manager-1');
    const base = openedTicket(a, manager);
    const pay = a.write(TK, 'ticket.payment_recorded', { paymentId: 'p1', method: 'cash', amountCents: 1000 });
    const refunded = a.write(TK, 'ticket.refunded', { refundId: 'rf-1', method: 'cash', amountCents: 400, reason: 'cold' });
    const voided = a.write(TK, 'ticket.voided', { reason: 'mistake' });
    manager.see(pay, refunded, voided);
    const again = manager.write(TK, 'ticket.refunded', { refundId: 'rf-1', method: 'cash', amountCents: 400, reason: 'cold' });
    const v = ticketOf([...base, pay, refunded, voided, again]);
    expect(foldedAs(v, again)).toMatchObject({ status: 'duplicate', reason: 'refund rf-1 already recorded' });
    expect(v.refunds).toHaveLength(1);
    expect(v.conflicts.map((c) => c.kind)).toEqual(['payment_after_void']);
  });

  it('[PRJ6c] a line added again (its id) after the close is a duplicate, not a change after the close', () => {
    const a = new Terminal('till-a');
    const b = new Terminal('till-b');
    const base = openedTicket(a, b);
    const pay = a.write(TK, 'ticket.payment_recorded', { paymentId: 'p1', method: 'card', amountCents: 1000 });
    const close = a.write(TK, 'ticket.closed', { totalCents: 1000 });
    b.see(pay, close);
    const again = b.write(TK, 'ticket.item_added', burger('l1'));
    const v = ticketOf([...base, pay, close, again]);
    expect(foldedAs(v, again)).toMatchObject({ status: 'duplicate', reason: 'line l1 already added' });
    expect(v).toMatchObject({ status: 'closed', totalCents: 1000, openConflicts: 0 });
    expect(v.conflicts).toEqual([]);
  });

  it('[PRJ6c] a line added again (its id) while the close holds its addition back is a duplicate: one card, and reopened, one line', () => {
    const a = new Terminal('till-a');
    const b = new Terminal('till-b');
    const base = openedTicket(a, b);
    const close = a.write(TK, 'ticket.closed', { totalCents: 1000 });
    // A till that had not seen the close adds fries, and the same line reaches the log again under another event id.
    const fries = b.write(TK, 'ticket.item_added', { lineId: 'l2', menuItemId: 'm-fries', name: 'Fries', unitPriceCents: 450, quantity: 1 });
    const again = { ...fries, id: b.write(TK, 'ticket.note_set', { note: 'no salt' }).id };
    const held = ticketOf([...base, close, fries, again]);
    expect(foldedAs(held, again)).toMatchObject({ status: 'duplicate', reason: 'line l2 already added' });
    expect(held.conflicts.map((c) => [c.kind, c.status])).toEqual([['change_after_close', 'open']]);
    const v = ticketOf([...base, close, fries, again, resolve(a, held.conflicts[0]!.conflictId, { kind: 'reopen' })]);
    expect(v.lines.map((l) => l.lineId)).toEqual(['l1', 'l2']);
    expect(v).toMatchObject({ status: 'open', totalCents: 1450, openConflicts: 0 });
  });

  it('[PRJ16][PRJ6c] a ticket reopened after a refund owes only what its payments do not cover: the refund is not charged again', () => {
    const a = new Terminal('till-a');
    const manager = new Terminal('manager-1');
    const base = [...openedTicket(a, manager), a.write(TK, 'ticket.item_added', burger('l2', 2))];
    const paid = a.write(TK, 'ticket.payment_recorded', { paymentId: 'p1', method: 'card', amountCents: 3000 });
    const close = a.write(TK, 'ticket.closed', { totalCents: 3000 });
    manager.see(...base, paid, close);
    // 10.00 back for a cold dish, then a 3.00 coffee added after the close, and the ticket reopened for it.
    const refunded = manager.write(TK, 'ticket.refunded', { refundId: 'rf-1', method: 'card', amountCents: 1000, reason: 'cold', lineId: 'l1' });
    a.see(refunded);
    const coffee = a.write(TK, 'ticket.item_added', { lineId: 'l3', menuItemId: 'm-coffee', name: 'Coffee', unitPriceCents: 300, quantity: 1 });
    manager.see(coffee);
    const reopen = resolve(manager, conflictIdFor('change_after_close', [close.id, coffee.id]), { kind: 'reopen' });
    const reopened = [...base, paid, close, refunded, coffee, reopen];
    const v = ticketOf(reopened);
    expect(v).toMatchObject({ status: 'open', totalCents: 3300, paidCents: 3000, refundedCents: 1000, openConflicts: 0 });
    expect(owedCents(v)).toBe(300);
    // The coffee paid, nothing is owed: the ticket closes, the 10.00 compensation still given.
    a.see(reopen);
    const settled = ticketOf([...reopened, a.write(TK, 'ticket.payment_recorded', { paymentId: 'p2', method: 'cash', amountCents: 300 })]);
    expect(settled).toMatchObject({ status: 'paid', paidCents: 3300, refundedCents: 1000, openConflicts: 0 });
    expect(owedCents(settled)).toBe(0);
    // Two tills offline each take the 3.00 owed: the second is an over-payment, as on any ticket (not hidden by the refund).
    const b = new Terminal('till-b');
    b.see(...reopened);
    const twice = ticketOf([...reopened, a.write(TK, 'ticket.payment_recorded', { paymentId: 'p3', method: 'cash', amountCents: 300 }), b.write(TK, 'ticket.payment_recorded', { paymentId: 'p4', method: 'cash', amountCents: 300 })]);
    expect(twice).toMatchObject({ paidCents: 3300, openConflicts: 1 });
    expect(twice.conflicts.filter((c) => c.status === 'open').map((c) => c.kind)).toEqual(['over_payment']);
  });

  it('[PRJ16] a refund for a line taken off the ticket afterwards is owed again: the line\'s worth does not come off twice', () => {
    const a = new Terminal('till-a');
    const manager = new Terminal('manager-1');
    const line = (lineId: string, name: string, unitPriceCents: number) => ({ lineId, menuItemId: `m-${name}`, name, unitPriceCents, quantity: 1 });
    const base = [a.write(TK, 'ticket.opened', { number: 'A-001' }), a.write(TK, 'ticket.item_added', line('l1', 'burger', 1000)), a.write(TK, 'ticket.item_added', line('l2', 'steak', 2000))];
    const paid = a.write(TK, 'ticket.payment_recorded', { paymentId: 'p1', method: 'card', amountCents: 3000 });
    const close = a.write(TK, 'ticket.closed', { totalCents: 3000 });
    manager.see(...base, paid, close);
    const refunded = manager.write(TK, 'ticket.refunded', { refundId: 'rf-1', method: 'card', amountCents: 1000, reason: 'cold', lineId: 'l1' });
    a.see(refunded);
    const removed = a.write(TK, 'ticket.item_removed', { lineId: 'l1' });
    manager.see(removed);
    const reopen = resolve(manager, conflictIdFor('change_after_close', [close.id, removed.id]), { kind: 'reopen' });
    a.see(reopen);
    const coffee = a.write(TK, 'ticket.item_added', line('l3', 'coffee', 500));
    const events = [...base, paid, close, refunded, removed, reopen, coffee];
    // 25.00 of lines, 30.00 paid, the burger's 10.00 handed back and the burger gone: 5.00 is owed.
    const v = ticketOf(events);
    expect(v).toMatchObject({ status: 'open', totalCents: 2500, paidCents: 3000, refundedCents: 1000 });
    expect(owedCents(v)).toBe(500);
    const coffeePaid = ticketOf([...events, a.write(TK, 'ticket.payment_recorded', { paymentId: 'p2', method: 'cash', amountCents: 500 })]);
    expect(coffeePaid).toMatchObject({ status: 'paid', paidCents: 3500, openConflicts: 0 });
    expect(owedCents(coffeePaid)).toBe(0);
  });

  it('[PRJ16] what a line refund drew from its line is owed again only for the part the line is no longer sold at (fewer of it), at most the line\'s worth (an accepted refund beyond it), never against a close total a manager accepted', () => {
    const line = (lineId: string, name: string, unitPriceCents: number, quantity = 1) => ({ lineId, menuItemId: `m-${name}`, name, unitPriceCents, quantity });
    const closedAndRefunded = (burgers: number, refunds: number[]) => {
      const a = new Terminal('till-a');
      const managers = refunds.map((_, i) => new Terminal(`manager-${i + 1}`));
      const total = burgers * 1000 + 2000;
      const base = [a.write(TK, 'ticket.opened', { number: 'A-001' }), a.write(TK, 'ticket.item_added', line('l1', 'burger', 1000, burgers)), a.write(TK, 'ticket.item_added', line('l2', 'steak', 2000))];
      const paid = a.write(TK, 'ticket.payment_recorded', { paymentId: 'p1', method: 'card', amountCents: total });
      const close = a.write(TK, 'ticket.closed', { totalCents: total });
      for (const m of managers) m.see(...base, paid, close);
      const given = managers.map((m, i) => m.write(TK, 'ticket.refunded', { refundId: `rf-${i}`, method: 'card', amountCents: refunds[i]!, reason: 'cold', lineId: 'l1' }));
      a.see(...given);
      const coffee = a.write(TK, 'ticket.item_added', line('l3', 'coffee', 500));
      managers[0]!.see(coffee);
      const events = [...base, paid, close, ...given, coffee];
      const reopen = resolve(managers[0]!, conflictIdFor('change_after_close', [close.id, coffee.id]), { kind: 'reopen' });
      a.see(reopen);
      return { a, managers, events: [...events, reopen] };
    };
    // Both burgers (20.00) handed back, then one of them taken off the bill: the 10.00 it is no longer sold at is owed again, and the coffee.
    const fewer = closedAndRefunded(2, [2000]);
    const lowered = ticketOf([...fewer.events, fewer.a.write(TK, 'ticket.quantity_changed', { lineId: 'l1', quantity: 1 })]);
    expect(lowered).toMatchObject({ totalCents: 3500, paidCents: 4000, refundedCents: 2000 });
    expect(owedCents(lowered)).toBe(500);
    // Two managers each gave 10.00 back for the one burger (the second accepted beyond it), then it was taken off: only its 10.00 is owed again.
    const twice = closedAndRefunded(1, [1000, 1000]);
    const over = ticketOf(twice.events).conflicts.find((c) => c.kind === 'over_refund')!;
    const accepted = resolve(twice.managers[0]!, over.conflictId, { kind: 'accept_refund' });
    twice.a.see(accepted);
    const removed = ticketOf([...twice.events, accepted, twice.a.write(TK, 'ticket.item_removed', { lineId: 'l1' })]);
    expect(removed).toMatchObject({ totalCents: 2500, paidCents: 3000, refundedCents: 2000 });
    expect(owedCents(removed)).toBe(500);
    // Closed at a total a manager accepted with the burger in it (35.00): that is what was sold, the refund given for good.
    expect(refundsOwedAgainCents({ ...removed, closedTotalCents: 3500 })).toBe(0);
    expect(refundsOwedAgainCents(removed)).toBe(1000);
  });

  it('[PRJ16] a line refund held for its money (cash for a card sale) and accepted later takes of its line what the line has left then: nothing is owed again, whichever manager\'s refund folds first', () => {
    const line = (lineId: string, name: string) => ({ lineId, menuItemId: `m-${name}`, name, unitPriceCents: 1000, quantity: 1 });
    for (const [cashBy, cardBy] of [['manager-1', 'manager-2'], ['manager-2', 'manager-1']]) {
      const a = new Terminal('till-a');
      const base = [a.write(TK, 'ticket.opened', { number: 'A-001' }), a.write(TK, 'ticket.item_added', line('l1', 'burger')), a.write(TK, 'ticket.item_added', line('l2', 'steak'))];
      const paid = a.write(TK, 'ticket.payment_recorded', { paymentId: 'p1', method: 'card', amountCents: 2000 });
      const cashier = new Terminal(cashBy!);
      const carder = new Terminal(cardBy!);
      cashier.see(...base, paid);
      carder.see(...base, paid);
      // Both hand the cold burger back offline: one from the drawer, one to the card.
      const cash = cashier.write(TK, 'ticket.refunded', { refundId: 'rf-cash', method: 'cash', amountCents: 1000, reason: 'cold', lineId: 'l1' });
      const card = carder.write(TK, 'ticket.refunded', { refundId: 'rf-card', method: 'card', amountCents: 1000, reason: 'cold', lineId: 'l1' });
      const over = ticketOf([...base, paid, cash, card]).conflicts.find((c) => c.kind === 'over_refund')!;
      cashier.see(card);
      const v = ticketOf([...base, paid, cash, card, resolve(cashier, over.conflictId, { kind: 'accept_refund' })]);
      expect(v).toMatchObject({ totalCents: 2000, paidCents: 2000, refundedCents: 2000, status: 'paid' });
      expect(v.refunds.reduce((n, r) => n + (r.line?.drawnCents ?? 0), 0)).toBe(1000);
      expect(owedCents(v)).toBe(0);
    }
  });

  it('[PRJ6f] a reopening settles the cards about the ends it undid: which of a close and a void holds, and a close\'s total (left open, keeping the close closed the ticket at its old total)', () => {
    const a = new Terminal('till-a');
    const manager = new Terminal('manager-1');
    const base = openedTicket(a, manager);
    // Offline: the manager voids; the till takes the bill and closes.
    const voided = manager.write(TK, 'ticket.voided', { reason: 'walked out' });
    const paid = a.write(TK, 'ticket.payment_recorded', { paymentId: 'p1', method: 'card', amountCents: 1000 });
    const closed = a.write(TK, 'ticket.closed', { totalCents: 1000 });
    const merged = ticketOf([...base, voided, paid, closed]);
    expect(merged.conflicts.filter((c) => c.status === 'open').map((c) => c.kind).sort()).toEqual(['closed_and_voided', 'payment_after_void']);
    const paymentCard = merged.conflicts.find((c) => c.kind === 'payment_after_void')!;
    manager.see(paid, closed);
    const reopen = resolve(manager, paymentCard.conflictId, { kind: 'reopen' });
    const v = ticketOf([...base, voided, paid, closed, reopen]);
    expect(v).toMatchObject({ status: 'paid', paidCents: 1000, openConflicts: 0 });
    expect(v.conflicts.find((c) => c.kind === 'closed_and_voided')?.resolution?.kind).toBe('reopen');
  });

  it('[PRJ16] a line refund held along with the payments by a void keeps what it drew when a reopening counts it again: its line taken off meanwhile, it is owed again, whichever card is resolved first', () => {
    const line = (lineId: string, name: string, unitPriceCents: number) => ({ lineId, menuItemId: `m-${name}`, name, unitPriceCents, quantity: 1 });
    const a = new Terminal('till-a');
    const c = new Terminal('till-c');
    const m = new Terminal('manager-1');
    const events: EventEnvelope[] = [];
    const push = (e: EventEnvelope) => (events.push(e), e);
    push(a.write(TK, 'ticket.opened', { number: 'A-001' }));
    push(a.write(TK, 'ticket.item_added', line('l1', 'burger', 1000)));
    push(a.write(TK, 'ticket.item_added', line('l2', 'steak', 2000)));
    push(a.write(TK, 'ticket.payment_recorded', { paymentId: 'p1', method: 'card', amountCents: 3000 }));
    const closed = push(a.write(TK, 'ticket.closed', { totalCents: 3000 }));
    m.see(...events);
    c.see(...events);
    push(m.write(TK, 'ticket.refunded', { refundId: 'r1', method: 'card', amountCents: 1000, reason: 'cold burger', lineId: 'l1' }));
    const drink = push(c.write(TK, 'ticket.item_added', line('l3', 'drink', 500)));
    m.see(...events);
    push(m.write(TK, 'conflict.resolved', { conflictId: conflictIdFor('change_after_close', [closed.id, drink.id]), resolution: { kind: 'reopen' } }));
    a.see(...events);
    c.see(...events);
    // The manager voids by mistake; a till that has not seen it takes the burger off.
    const voided = push(m.write(TK, 'ticket.voided', { reason: 'wrong ticket' }));
    const removed = push(c.write(TK, 'ticket.item_removed', { lineId: 'l1' }));
    m.see(removed);
    const reopenRemoval = resolve(m, conflictIdFor('change_after_close', [voided.id, removed.id]), { kind: 'reopen' });
    const paymentCard = ticketOf(events).conflicts.find((x) => x.kind === 'payment_after_void' && x.status === 'open')!;
    const reopenPayment = resolve(m, paymentCard.conflictId, { kind: 'reopen' });
    // 25.00 of lines, 30.00 paid, the burger's 10.00 handed back and the burger gone: 5.00 owed.
    for (const resolutions of [[reopenRemoval], [reopenPayment, reopenRemoval]]) {
      const v = ticketOf([...events, ...resolutions]);
      expect(v).toMatchObject({ totalCents: 2500, paidCents: 3000, refundedCents: 1000 });
      expect(v.refunds[0]!.line?.drawnCents).toBe(1000);
      expect(owedCents(v)).toBe(500);
    }
  });

  it('[PRJ6e][PRJ6f] keeping the void settles the close total\'s card too (its reopen counted the void\'s money as taken on a ticket still voided)', () => {
    const a = new Terminal('till-a');
    // Its clock a second later: its void folds after the till's close.
    const manager = new Terminal('manager-1', 1000);
    const base = openedTicket(a, manager);
    // Offline: the manager adds a soda and voids; the till takes 10.00 and closes at what it sees.
    const soda = manager.write(TK, 'ticket.item_added', { lineId: 'l2', menuItemId: 'm-soda', name: 'Soda', unitPriceCents: 299, quantity: 1 });
    const paid = a.write(TK, 'ticket.payment_recorded', { paymentId: 'p1', method: 'cash', amountCents: 1000 });
    const closed = a.write(TK, 'ticket.closed', { totalCents: 1000 });
    const voided = manager.write(TK, 'ticket.voided', { reason: 'walked out' });
    const events = [...base, soda, paid, closed, voided];
    const both = ticketOf(events).conflicts.find((c) => c.kind === 'closed_and_voided')!;
    manager.see(paid, closed);
    const keepVoid = resolve(manager, both.conflictId, { kind: 'keep_void' });
    expect(ticketOf(events).conflicts.filter((c) => c.status === 'open').map((c) => c.kind).sort()).toEqual(['close_total_mismatch', 'closed_and_voided']);
    const v = ticketOf([...events, keepVoid]);
    expect(v.status).toBe('voided');
    expect(v.conflicts.filter((c) => c.status === 'open').map((c) => c.kind)).toEqual(['payment_after_void']);
    expect(v.payments.map((p) => p.state)).toEqual(['held']);
  });

  it('[PRJ6f] a voided ticket reopened from a change\'s card counts the payments the void held again: nothing is left held on the live ticket, nor offered back', () => {
    const a = new Terminal('till-a');
    const manager = new Terminal('manager-1');
    const base = openedTicket(a, manager);
    const paid = a.write(TK, 'ticket.payment_recorded', { paymentId: 'p1', method: 'card', amountCents: 1000 });
    manager.see(paid);
    const voided = manager.write(TK, 'ticket.voided', { reason: 'walked out' });
    // A till that had not seen the void adds fries: held as a change after the end.
    const fries = a.write(TK, 'ticket.item_added', { lineId: 'l2', menuItemId: 'm-fries', name: 'Fries', unitPriceCents: 450, quantity: 1 });
    manager.see(fries);
    const held = ticketOf([...base, paid, voided, fries]);
    expect(held.conflicts.filter((c) => c.status === 'open').map((c) => c.kind).sort()).toEqual(['change_after_close', 'payment_after_void']);
    const reopen = resolve(manager, conflictIdFor('change_after_close', [voided.id, fries.id]), { kind: 'reopen' });
    const v = ticketOf([...base, paid, voided, fries, reopen]);
    expect(v).toMatchObject({ status: 'open', totalCents: 1450, paidCents: 1000, openConflicts: 0 });
    expect(v.payments.map((p) => p.state)).toEqual(['applied']);
    expect(owedCents(v)).toBe(450);
  });

  it('[PRJ6f] a ticket reopened from a close-total card checks the payments held beyond that close against its lines: those that fit count again', () => {
    const a = new Terminal('till-a');
    const b = new Terminal('till-b');
    const base = openedTicket(a, b);
    // b had not seen the burger: it closes at 0.00; the guest then pays the burger on a.
    const close = b.write(TK, 'ticket.closed', { totalCents: 0 });
    a.see(close);
    const paid = a.write(TK, 'ticket.payment_recorded', { paymentId: 'p1', method: 'cash', amountCents: 1000 });
    const before = ticketOf([...base, close, paid]);
    expect(before.conflicts.filter((c) => c.status === 'open').map((c) => c.kind).sort()).toEqual(['close_total_mismatch', 'over_payment']);
    const mismatch = before.conflicts.find((c) => c.kind === 'close_total_mismatch')!;
    const v = ticketOf([...base, close, paid, resolve(a, mismatch.conflictId, { kind: 'reopen' })]);
    expect(v).toMatchObject({ status: 'paid', paidCents: 1000, openConflicts: 0 });
    expect(owedCents(v)).toBe(0);
    // Two tills each took the whole bill before that close: the second is still held, against the lines.
    const twice = a.write(TK, 'ticket.payment_recorded', { paymentId: 'p2', method: 'card', amountCents: 1000 });
    const w = ticketOf([...base, close, paid, twice, resolve(a, mismatch.conflictId, { kind: 'reopen' })]);
    expect(w.payments.map((p) => p.state)).toEqual(['applied', 'held']);
    expect(w.conflicts.filter((c) => c.status === 'open').map((c) => c.kind)).toEqual(['over_payment']);
  });

  it('[PRJ6f] a payment held before the close that still does not fit stays held under its own conflict: a manager handing it back on another tablet applies, whichever decision sorts first', () => {
    const a = new Terminal('till-a');
    const b = new Terminal('till-b');
    const base = openedTicket(a, b);
    const p1 = a.write(TK, 'ticket.payment_recorded', { paymentId: 'p1', method: 'card', amountCents: 1000 });
    const p2 = b.write(TK, 'ticket.payment_recorded', { paymentId: 'p2', method: 'card', amountCents: 1000 });
    a.see(p2);
    const close = a.write(TK, 'ticket.closed', { totalCents: 1000 });
    // A till that had not seen the close adds a coffee: a manager reopens for it while another hands p2 back.
    const c = new Terminal('till-c');
    c.see(...base, p1, p2);
    const coffee = c.write(TK, 'ticket.item_added', { lineId: 'l3', menuItemId: 'm-coffee', name: 'Coffee', unitPriceCents: 500, quantity: 1 });
    const events = [...base, p1, p2, close, coffee];
    const held = ticketOf(events).conflicts.find((x) => x.kind === 'over_payment')!;
    // Made at the same moment, the decisions fold in the order of their tablets' ids: both orders.
    for (const [reopener, refunder] of [['manager-1', 'manager-2'], ['manager-2', 'manager-1']]) {
      const m1 = new Terminal(refunder!);
      const m2 = new Terminal(reopener!);
      m1.see(...events);
      m2.see(...events);
      const reopen = resolve(m2, conflictIdFor('change_after_close', [close.id, coffee.id]), { kind: 'reopen' });
      const handBack = resolve(m1, held.conflictId, { kind: 'refund_payment' });
      const v = ticketOf([...events, reopen, handBack]);
      expect(v.payments.map((p) => `${p.paymentId}:${p.state}`)).toEqual(['p1:applied', 'p2:refunded']);
      expect(v).toMatchObject({ status: 'open', totalCents: 1500, openConflicts: 0 });
      expect(owedCents(v)).toBe(500);
    }
  });

  it('[PRJ6d] concurrent closes with different totals escalate; accept_total settles the total', () => {
    const a = new Terminal('till-a');
    const b = new Terminal('till-b');
    const base = openedTicket(a, b);
    const added = b.write(TK, 'ticket.item_added', burger('l2'));
    const closeA = a.write(TK, 'ticket.closed', { totalCents: 1000 });
    const closeB = b.write(TK, 'ticket.closed', { totalCents: 2000 });
    const all = [...base, added, closeA, closeB];
    const v = ticketOf(all);
    expect(v.conflicts.map((c) => c.kind)).toContain('close_total_mismatch');
    const c = v.conflicts.find((x) => x.kind === 'close_total_mismatch')!;
    a.see(added, closeB);
    const settled = ticketOf([...all, ...v.conflicts.map((x) => resolve(a, x.conflictId, x.kind === 'close_total_mismatch' ? { kind: 'accept_total', totalCents: 2000 } : { kind: 'reopen' }))]);
    expect(settled.conflicts.find((x) => x.conflictId === c.conflictId)!.status).toBe('resolved');
    expect(settled.openConflicts).toBe(0);
  });

  it('[PRJ6d] a close whose total differs from the lines stands, flagged', () => {
    const a = new Terminal('till-a');
    const base = openedTicket(a, new Terminal('x'));
    const close = a.write(TK, 'ticket.closed', { totalCents: 999 }); // a cent off is off
    const v = ticketOf([...base, close]);
    expect(v).toMatchObject({ status: 'closed', closedTotalCents: 999, openConflicts: 1 });
    expect(v.conflicts[0]!.conflictId).toBe(conflictIdFor('close_total_mismatch', [close.id]));
    const settled = ticketOf([...base, close, resolve(a, v.conflicts[0]!.conflictId, { kind: 'accept_total', totalCents: 1000 })]);
    expect(settled).toMatchObject({ status: 'closed', closedTotalCents: 1000, openConflicts: 0 });
  });

  it('[PRJ6e] one till closes while another voids: escalated; keep_void or keep_closed', () => {
    const a = new Terminal('till-a');
    const b = new Terminal('till-b');
    const base = openedTicket(a, b);
    const close = a.write(TK, 'ticket.closed', { totalCents: 1000 });
    const voided = b.write(TK, 'ticket.voided', { reason: 'comped' });
    const v = ticketOf([...base, voided, close]);
    expect(v.conflicts).toMatchObject([{ kind: 'closed_and_voided', status: 'open' }]);
    const id = v.conflicts[0]!.conflictId;
    a.see(voided);
    expect(ticketOf([...base, close, voided, resolve(a, id, { kind: 'keep_void' })]).status).toBe('voided');
    expect(ticketOf([...base, close, voided, resolve(a, id, { kind: 'keep_closed' })]).status).toBe('closed');
  });

  it('[PRJ6b] a line removed or reduced after payment: the payment that no longer fits is held as an over-payment', () => {
    const a = new Terminal('till-a');
    const b = new Terminal('till-b');
    const base = [...openedTicket(a, b), a.write(TK, 'ticket.item_added', burger('l2'))];
    const pay = a.write(TK, 'ticket.payment_recorded', { paymentId: 'p1', method: 'card', amountCents: 2000 });
    const removed = a.write(TK, 'ticket.item_removed', { lineId: 'l2' });
    const v = ticketOf([...base, pay, removed]);
    // Not "paid 20.00 on 10.00, ready to close": the card payment waits for a manager.
    expect(v).toMatchObject({ status: 'open', totalCents: 1000, paidCents: 0, openConflicts: 1 });
    expect(v.conflicts[0]).toMatchObject({ kind: 'over_payment', detail: 'a card payment of 20.00: payments 20.00 exceed the total 10.00 after a change' });
    expect(v.history.at(-1)).toMatchObject({ status: 'applied', conflictId: v.conflicts[0]!.conflictId });
    expect(ticketOf([...base, pay, removed, resolve(a, v.conflicts[0]!.conflictId, { kind: 'refund_payment' })])).toMatchObject({ paidCents: 0, openConflicts: 0 });
    expect(ticketOf([...base, pay, removed, resolve(a, v.conflicts[0]!.conflictId, { kind: 'accept_payment' })])).toMatchObject({ paidCents: 2000, openConflicts: 0 });
    const three = [...openedTicket(a, b), a.write(TK, 'ticket.quantity_changed', { lineId: 'l1', quantity: 3 })];
    const paid = a.write(TK, 'ticket.payment_recorded', { paymentId: 'p2', method: 'cash', amountCents: 3000 });
    const reduced = a.write(TK, 'ticket.quantity_changed', { lineId: 'l1', quantity: 1 });
    expect(ticketOf([...three, paid, reduced])).toMatchObject({ totalCents: 1000, paidCents: 0, openConflicts: 1 });
  });

  it('[PRJ6e] keep_void on a closed, paid ticket holds its payments for a refund decision; keep_closed settles a payment the void held', () => {
    const a = new Terminal('till-a');
    const b = new Terminal('till-b');
    const base = openedTicket(a, b);
    const pay = a.write(TK, 'ticket.payment_recorded', { paymentId: 'p1', method: 'card', amountCents: 1000 });
    const close = a.write(TK, 'ticket.closed', { totalCents: 1000 });
    b.see(pay, close);
    const voided = b.write(TK, 'ticket.voided', { reason: 'wrong table' });
    const v = ticketOf([...base, pay, close, voided]);
    const id = v.conflicts[0]!.conflictId;
    const kept = ticketOf([...base, pay, close, voided, resolve(b, id, { kind: 'keep_void' })]);
    // Not a void that keeps the money: the payment waits for refund or reopen.
    expect(kept).toMatchObject({ status: 'voided', paidCents: 0, openConflicts: 1 });
    expect(kept.conflicts.find((c) => c.status === 'open')!.kind).toBe('payment_after_void');

    // The void sorted first (it held the payment), the close was held: keeping the close counts the payment again.
    const c2 = new Terminal('till-c');
    const d = new Terminal('till-d');
    const base2 = openedTicket(c2, d);
    const void2 = d.write(TK, 'ticket.voided', { reason: 'walked out' });
    const pay2 = c2.write(TK, 'ticket.payment_recorded', { paymentId: 'p2', method: 'card', amountCents: 1000 });
    const close2 = c2.write(TK, 'ticket.closed', { totalCents: 1000 });
    const both = ticketOf([...base2, void2, pay2, close2]);
    expect(both.conflicts.map((c) => c.kind).sort()).toEqual(['closed_and_voided', 'payment_after_void']);
    d.see(pay2, close2);
    const closedKept = ticketOf([...base2, void2, pay2, close2, resolve(d, both.conflicts.find((c) => c.kind === 'closed_and_voided')!.conflictId, { kind: 'keep_closed' })]);
    expect(closedKept).toMatchObject({ status: 'closed', paidCents: 1000, openConflicts: 0 });
  });

  it('[PRJ6] a resolution that does not fit the conflict kind is invalid; a second one is superseded; unknown ids are ignored', () => {
    const a = new Terminal('till-a');
    const b = new Terminal('till-b');
    const base = openedTicket(a, b);
    const voided = a.write(TK, 'ticket.voided', { reason: 'x' });
    const pay = b.write(TK, 'ticket.payment_recorded', { paymentId: 'p1', method: 'card', amountCents: 1000 });
    a.see(pay);
    const id = conflictIdFor('payment_after_void', [voided.id, pay.id]);
    const wrong = resolve(a, id, { kind: 'accept_total', totalCents: 5 });
    const right = resolve(a, id, { kind: 'refund_payment' });
    const again = resolve(a, id, { kind: 'reopen' });
    const nowhere = resolve(a, 'cf-nope', { kind: 'reopen' });
    const v = ticketOf([...base, voided, pay, wrong, right, again, nowhere]);
    expect(v.history.slice(-4).map((h) => h.status)).toEqual(['invalid', 'applied', 'superseded', 'ignored']);
    expect(v.status).toBe('voided');
  });
});

describe('projection: LocationProjection', () => {
  it('[PRJ9] apply returns changed aggregates; has/size/eventsOf/all/remove', () => {
    const a = new Terminal('till-a');
    const TB: AggregateRef = { id: 't-1', type: 'table' };
    const M: AggregateRef = { id: 'm-1', type: 'menu_item' };
    const evs = [
      ...openedTicket(a, new Terminal('x')),
      a.write(TB, 'table.defined', { tableId: 't-1', label: 'T1', seats: 4 }),
      a.write(M, 'menu.item_defined', { menuItemId: 'm-1', name: 'Soup', category: 'Starters', priceCents: 600 }),
      a.write(M, 'menu.item_repriced', { menuItemId: 'm-1', priceCents: 650 }),
    ];
    const p = new LocationProjection();
    expect(p.apply(evs)).toEqual(new Set([TK.id, TB.id, M.id]));
    expect(p.apply(evs)).toEqual(new Set());
    expect(p.size).toBe(5);
    expect(p.has(evs[0]!.id)).toBe(true);
    expect(p.get(M.id)).toMatchObject({ kind: 'menu_item', name: 'Soup', priceCents: 650, retired: false });
    expect(p.get(TB.id)).toMatchObject({ kind: 'table', label: 'T1', seats: 4 });
    expect(p.all('ticket').map((v) => v.id)).toEqual([TK.id]);
    expect(p.all().map((v) => v.id)).toEqual([M.id, TB.id, TK.id]);
    p.remove([TK.id]);
    expect(p.size).toBe(3);
    expect(p.has(evs[0]!.id)).toBe(false);
    expect(p.get(TK.id)).toBeUndefined();
    expect(p.eventsOf(TK.id)).toEqual([]);
  });

  it('[PRJ9] an out-of-order event refolds its aggregate to the same view as a full fold', () => {
    const a = new Terminal('till-a');
    const b = new Terminal('till-b');
    const base = openedTicket(a, b);
    const qa = a.write(TK, 'ticket.quantity_changed', { lineId: 'l1', quantity: 4 });
    const qb = b.write(TK, 'ticket.quantity_changed', { lineId: 'l1', quantity: 2 });
    const p = new LocationProjection();
    p.apply([...base, qb]);
    p.apply([qa]);
    expect(canonicalJson({ ...p.get(TK.id), history: p.historyOf(TK.id) })).toBe(canonicalJson(projectAggregate([...base, qa, qb])));
    expect(p.eventsOf(TK.id).map((e) => e.id)).toEqual([...base, qa, qb].map((e) => e.id));
  });

  it('[PRJ12] a restored fold given other events than it folded refolds; aggregates no event backs are dropped', () => {
    const a = new Terminal('till-a');
    const b = new Terminal('till-b');
    const base = openedTicket(a, b);
    const late = b.write(TK, 'ticket.note_set', { note: 'window seat' });
    const gone: AggregateRef = { id: 't-gone', type: 'table' };
    const p = new LocationProjection();
    p.trackChanges();
    p.apply([...base, a.write(gone, 'table.defined', { tableId: 't-gone', label: 'T9', seats: 2 })]);
    const checkpoint = p.takeChanges().put;
    const restored = new LocationProjection();
    restored.restore(checkpoint);
    expect(restored.get(gone.id)).toMatchObject({ label: 'T9' });
    expect(() => restored.eventsOf(TK.id)).toThrow(/not attached/);
    // The ticket got one more event than its snapshot folded; the table's events are gone.
    expect(restored.attach(new Map([[TK.id, [late, ...base]]]))).toEqual(new Set([TK.id]));
    expect(restored.dropDetached()).toEqual(new Set([gone.id]));
    expect(canonicalJson({ ...restored.get(TK.id), history: restored.historyOf(TK.id) })).toBe(canonicalJson(projectAggregate([...base, late])));
    expect(restored.get(gone.id)).toBeUndefined();
    expect(restored.size).toBe(base.length + 1);
    // As many events as the snapshot folded, but not the same ones (their ids' digest differs): refolded too.
    const swapped = new LocationProjection();
    swapped.restore(checkpoint);
    expect(swapped.attach(new Map([[TK.id, [base[0]!, late]]]))).toEqual(new Set([TK.id]));
    expect(swapped.get(TK.id)).toMatchObject({ note: 'window seat', lines: [] });
  });

  it('[PRJ2] events of the wrong aggregate type are invalid, not folded', () => {
    const a = new Terminal('till-a');
    const opened = a.write(TK, 'ticket.opened', { number: 'A-009' });
    const stray = a.write({ id: TK.id, type: 'table' }, 'table.defined', { tableId: 'x', label: 'X', seats: 1 });
    const wrongType = a.write(TK, 'menu.item_retired', { menuItemId: 'm' });
    // A ticket's own event type, but naming another aggregate type on the ticket's id.
    const misnamed = a.write({ id: TK.id, type: 'menu_item' }, 'ticket.note_set', { note: 'x' });
    const v = ticketOf([opened, stray, wrongType, misnamed]);
    expect(v.history.map((h) => h.status)).toEqual(['applied', 'invalid', 'invalid', 'invalid']);
    expect(v.note).toBeNull();
  });
});

describe('projection: settled aggregates', () => {
  it('[PRJ13] a ticket is settled once closed or voided, with no open conflict and nothing waiting in the kitchen', () => {
    const a = new Terminal('till-a');
    const b = new Terminal('till-b');
    const evs = openedTicket(a, b);
    evs.push(a.write(TK, 'ticket.sent_to_kitchen', { lineIds: ['l1'] }));
    evs.push(a.write(TK, 'ticket.payment_recorded', { paymentId: 'p1', method: 'card', amountCents: 1000 }));
    evs.push(a.write(TK, 'ticket.closed', { totalCents: 1000 }));
    // Paid and closed, but the kitchen has not bumped the burger yet.
    expect(isSettled(ticketOf(evs))).toBe(false);
    evs.push(a.write(TK, 'ticket.kitchen_item_bumped', { lineId: 'l1' }));
    expect(isSettled(ticketOf(evs))).toBe(true);
    // An item after close is escalated: open conflict, not settled any more.
    evs.push(b.write(TK, 'ticket.item_added', burger('l2')));
    expect(ticketOf(evs).openConflicts).toBe(1);
    expect(isSettled(ticketOf(evs))).toBe(false);
    expect(isSettled(ticketOf(openedTicket(new Terminal('till-c'), new Terminal('till-d'))))).toBe(false);
  });
});
