import { describe, expect, it } from 'vitest';
import type { AggregateRef } from '../../shared/events/envelope';
import { TICKET_MERGE_POLICY } from '../../shared/projection/merge-policy';
import { isSettled, linesToFire } from '../../shared/projection/views';
import { FixedClockTerminal, foldedAs, ticketOf } from '../helpers/test-writer';

const TK: AggregateRef = { id: 'tk-courses', type: 'ticket' };
const steak = { lineId: 'l-steak', menuItemId: 'm-steak', name: 'Ribeye steak', unitPriceCents: 2650, quantity: 1 };
const soup = { lineId: 'l-soup', menuItemId: 'm-soup', name: 'Tomato soup', unitPriceCents: 650, quantity: 1 };

describe('a line held back from the kitchen (courses)', () => {
  it('[PRJ23][EVT14] holding is an LWW register per line: the later stamp holds, on a closed ticket too; a removed or unknown line is not held', () => {
    expect(TICKET_MERGE_POLICY['ticket.line_held']).toEqual({ merge: 'lww', fields: ['lines[].held'], whenClosed: 'apply', whenVoided: 'apply' });
    const till = new FixedClockTerminal('till-1');
    const slow = new FixedClockTerminal('till-2', -600_000);
    const base = [till.write(TK, 'ticket.opened', { number: 'A-001' }), till.write(TK, 'ticket.item_added', steak), till.write(TK, 'ticket.item_added', soup)];
    slow.see(...base);
    const hold = till.write(TK, 'ticket.line_held', { lineId: 'l-steak', held: true });
    expect(ticketOf([...base, hold]).lines.map((l) => [l.lineId, l.held])).toEqual([
      ['l-steak', true],
      ['l-soup', false],
    ]);
    // A till ten minutes slow that saw the hold fires the steak: its write is the later one.
    slow.see(hold);
    const fire = slow.write(TK, 'ticket.line_held', { lineId: 'l-steak', held: false });
    const v = ticketOf([fire, ...base, hold]);
    expect(v.lines.find((l) => l.lineId === 'l-steak')?.held).toBe(false);
    expect(foldedAs(v, fire).status).toBe('applied');
    const removed = till.write(TK, 'ticket.item_removed', { lineId: 'l-soup' });
    const late = till.write(TK, 'ticket.line_held', { lineId: 'l-soup', held: true });
    const unknown = till.write(TK, 'ticket.line_held', { lineId: 'l-none', held: true });
    const after = ticketOf([...base, hold, removed, late, unknown]);
    expect([foldedAs(after, late).status, foldedAs(after, unknown).status]).toEqual(['superseded', 'ignored']);
    // Closed (the guests paid before their mains): still the kitchen's timing.
    const closed = till.write(TK, 'ticket.closed', { totalCents: 3300 });
    const firedAfter = till.write(TK, 'ticket.line_held', { lineId: 'l-steak', held: false });
    expect(foldedAs(ticketOf([...base, hold, closed, firedAfter]), firedAfter).status).toBe('applied');
  });

  it('[PRJ23][PRJ13] a voided ticket has no lines to fire (a held main is not cooked) and, nothing else pending, is settled', () => {
    const till = new FixedClockTerminal('till-1');
    const held = [till.write(TK, 'ticket.opened', { number: 'A-001' }), till.write(TK, 'ticket.item_added', steak), till.write(TK, 'ticket.line_held', { lineId: 'l-steak', held: true })];
    expect(linesToFire(ticketOf(held)).map((l) => l.lineId)).toEqual(['l-steak']);
    const v = ticketOf([...held, till.write(TK, 'ticket.voided', { reason: 'walked out' })]);
    expect(v.status).toBe('voided');
    expect(linesToFire(v)).toEqual([]);
    expect(isSettled(v)).toBe(true);
  });
});

describe('lines sent to the kitchen', () => {
  it('[PRJ24] two tills sending the same line: the first send holds (its time, card and the quantity it sent), the second is superseded', () => {
    const till = new FixedClockTerminal('till-1');
    const other = new FixedClockTerminal('till-2', 5_000);
    const added = [till.write(TK, 'ticket.opened', { number: 'A-001' }), till.write(TK, 'ticket.item_added', steak)];
    other.see(...added);
    const first = till.write(TK, 'ticket.sent_to_kitchen', { lineIds: ['l-steak'] });
    const raised = till.write(TK, 'ticket.quantity_changed', { lineId: 'l-steak', quantity: 3 });
    const second = other.write(TK, 'ticket.sent_to_kitchen', { lineIds: ['l-steak'] });
    const v = ticketOf([...added, first, raised, second]);
    expect(foldedAs(v, second).status).toBe('superseded');
    expect(v.lines[0]).toMatchObject({ sentAt: first.at, sentQuantity: 1, quantity: 3, send: 1 });
  });
});
