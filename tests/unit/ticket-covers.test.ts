import { describe, expect, it } from 'vitest';
import type { AggregateRef } from '../../shared/events/envelope';
import { TICKET_MERGE_POLICY } from '../../shared/projection/merge-policy';
import { FixedClockTerminal, foldedAs, ticketOf } from '../helpers/test-writer';
import { LocationProjection } from '../../shared/projection/location-projection';
import { dayTakings } from '../../shared/reports/day-takings';

const TK: AggregateRef = { id: 'tk-covers', type: 'ticket' };

describe('the guests at a ticket (covers)', () => {
  it('[PRJ21] the covers given at opening and ticket.covers_set are one LWW register: the later stamp holds, applied after the close too', () => {
    expect(TICKET_MERGE_POLICY['ticket.covers_set']).toEqual({ merge: 'lww', fields: ['covers'], whenClosed: 'apply', whenVoided: 'apply' });
    const till = new FixedClockTerminal('till-1');
    const other = new FixedClockTerminal('till-2', -60_000);
    const opened = till.write(TK, 'ticket.opened', { number: 'A-001', tableId: 't5', covers: 4 });
    expect(ticketOf([opened]).covers).toBe(4);
    // A till a minute slow that had not seen the opening counts 2; the opening's till, later, 3.
    const stale = other.write(TK, 'ticket.covers_set', { covers: 2 });
    const closed = till.write(TK, 'ticket.closed', { totalCents: 0 });
    const counted = till.write(TK, 'ticket.covers_set', { covers: 3 });
    const v = ticketOf([opened, stale, closed, counted]);
    expect(v).toMatchObject({ status: 'closed', covers: 3 });
    expect(foldedAs(v, counted).status).toBe('applied');
    expect(foldedAs(v, stale).status).toBe('superseded');
    // Folded one event at a time, in another order: the same.
    const projection = new LocationProjection();
    for (const e of [counted, closed, stale, opened]) projection.apply([e]);
    expect(projection.get(TK.id)).toMatchObject({ covers: 3 });
  });

  it('[PRJ21][SRV25] the takings count the guests the ticket had when it closed: a count changed since leaves the day as it was', () => {
    const till = new FixedClockTerminal('till-1');
    const opened = till.write(TK, 'ticket.opened', { number: 'A-001', covers: 4 });
    const added = till.write(TK, 'ticket.item_added', { lineId: 'l1', menuItemId: 'm1', name: 'Set menu', unitPriceCents: 2000, quantity: 4 });
    const closed = till.write(TK, 'ticket.closed', { totalCents: 8000 });
    const later = till.write(TK, 'ticket.covers_set', { covers: 3 });
    const v = ticketOf([opened, added, closed, later]);
    expect(v).toMatchObject({ covers: 3, closedCovers: 4 });
    const projection = new LocationProjection();
    projection.apply([opened, added, closed, later]);
    expect(dayTakings(projection.all(), { from: 0, to: 2_000_000_000_000 }).guests).toEqual({ count: 4, amountCents: 8000 });
  });
});
