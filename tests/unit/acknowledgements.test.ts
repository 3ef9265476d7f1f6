import { describe, expect, it } from 'vitest';
import { DEFAULT_RETENTION, retentionOf } from '../../shared/compaction/retention-policy';
import { acknowledges, addToRanges, dropThrough, lowestRanges, rangesFromFlat, storedAboveOf, type Acknowledgements } from '../../shared/log/acknowledgements';
import { MAX_RANGES_ABOVE } from '../../shared/protocol/rest-events';
import { LocationProjection } from '../../shared/projection/location-projection';
import { TestWriter } from '../helpers/test-writer';

const rangesOf = (ns: readonly number[]): [number, number][] => {
  const ranges: [number, number][] = [];
  for (const n of ns) addToRanges(ranges, n);
  return ranges;
};

describe('acknowledgements: watermarks and the ranges stored above them (shared/log/acknowledgements.ts)', () => {
  it('[OUT8] an n is acknowledged at or below its writer\'s mark, or inside a range stored above it; the gap and other writers are not', () => {
    const acks: Acknowledgements = { marks: { 'till-1': 56 }, above: { 'till-1': [[58, 60], [64, 64]] } };
    expect([1, 56, 58, 59, 60, 64].every((n) => acknowledges(acks, 'till-1', n))).toBe(true);
    expect([57, 61, 63, 65].some((n) => acknowledges(acks, 'till-1', n))).toBe(false);
    expect(acknowledges(acks, 'till-2', 1)).toBe(false);
    expect(acknowledges(acks, 'constructor', 1)).toBe(false);
  });

  it('[OUT8] ranges merge consecutive n, in any order; the mark rising drops what it passed; an answer carries the lowest MAX_RANGES_ABOVE', () => {
    expect(rangesOf([58, 59, 60, 62, 63, 70])).toEqual([[58, 60], [62, 63], [70, 70]]);
    expect(rangesOf([70, 62, 58, 60, 59, 63, 61, 61])).toEqual([[58, 63], [70, 70]]);
    expect(rangesOf([5, 3, 1, 2, 4])).toEqual([[1, 5]]);
    expect(rangesOf([5, 6, 7, 4])).toEqual([[4, 7]]);
    const ranges = rangesOf([58, 59, 60, 62, 70]);
    dropThrough(ranges, 62);
    expect(ranges).toEqual([[70, 70]]);
    const many = rangesOf(Array.from({ length: 100 }, (_, i) => 100 + 2 * i));
    expect(many).toHaveLength(100);
    expect(lowestRanges(many)).toHaveLength(MAX_RANGES_ABOVE);
    expect(lowestRanges(many)[0]).toEqual([100, 100]);
  });

  it('[OUT8] a room\'s ackRanges a hostile replica wrote (odd, reversed, not integers, too many, a bad writer id) count as no range', () => {
    expect(rangesFromFlat([58, 60, 64, 64])).toEqual([[58, 60], [64, 64]]);
    for (const bad of [[58], [60, 58], [0, 3], [1.5, 2], ['1', '2'], 'x', { 0: 1 }, new Array(2 * MAX_RANGES_ABOVE + 2).fill(1)]) {
      expect(rangesFromFlat(bad)).toBeUndefined();
    }
    const above = storedAboveOf([['till-1', [58, 60]], ['till-2', [3, 1]], ['till 4', [1, 2]], ['till-3', []], ['__proto__', [1, 9]]]);
    expect(Object.keys(above)).toEqual(['till-1', '__proto__']);
    // A writer id that is also a property of every object stays a plain key: it sets no prototype.
    expect(Object.getPrototypeOf(above)).toBe(Object.prototype);
    expect(acknowledges({ marks: {}, above }, '__proto__', 5)).toBe(true);
  });

  it('[CMP1][OUT8] retentionOf: a ticket whose events all lie in a range stored above a gap may leave; one with an event in the gap stays', () => {
    let wall = Date.parse('2026-11-01T12:00:00Z');
    const till = new TestWriter('till-1', () => wall);
    const ticket = (id: string, note: boolean) => {
      const ref = { type: 'ticket', id };
      return [
        till.write(ref, 'ticket.opened', { number: `A-${id}` }),
        till.write(ref, 'ticket.item_added', { lineId: 'l', menuItemId: 'm', name: 'Dish', unitPriceCents: 1000, quantity: 1 }),
        ...(note ? [till.write(ref, 'ticket.note_set', { note: 'x' })] : []),
        till.write(ref, 'ticket.payment_recorded', { paymentId: 'p', method: 'cash', amountCents: 1000 }),
        till.write(ref, 'ticket.closed', { totalCents: 1000 }),
      ];
    };
    const first = ticket('001', false); // n 1..4
    const refused = ticket('002', true); // n 5..9, the note (n 7) never stored
    wall += 60_000;
    const later = ticket('003', false); // n 10..13
    const projection = new LocationProjection();
    projection.apply([...first, ...refused, ...later]);
    const acks: Acknowledgements = { marks: { 'till-1': 6 }, above: { 'till-1': [[8, 13]] } };
    const now = wall + 7 * 24 * 60 * 60_000;
    const judged = (id: string) => retentionOf(projection.get(id)!, projection.eventsOf(id), acks, now, DEFAULT_RETENTION);
    expect(judged('001')).toEqual({ compactable: true });
    expect(judged('003')).toEqual({ compactable: true });
    expect(judged('002')).toEqual({ compactable: false, reason: `event ${refused[2]!.id} is not acknowledged yet` });
  });
});
