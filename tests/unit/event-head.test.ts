import { describe, expect, it } from 'vitest';
import { aggregateIdOf, eventHeadOf } from '../../shared/log/event-head';
import { canonicalJson } from '../../shared/events/envelope';

const envelope = {
  id: '0190a1b2-0000-7000-8000-000000000001',
  seq: 1,
  at: 1_700_000_000_000,
  type: 'ticket.item_added',
  v: 2,
  aggregate: { id: 'ticket-A-1', type: 'ticket' },
  origin: { terminal: 'till-1', n: 7 },
  payload: { lineId: 'l1', aggregate: { id: 'not-this-one' }, menuItemId: 'burger', name: 'Burger', unitPriceCents: 1250, quantity: 1 },
};

describe('event heads read without parsing (shared/log/event-head.ts)', () => {
  it('reads the id, origin and aggregate of both layouts, the envelope\'s and not a payload\'s', () => {
    for (const json of [JSON.stringify(envelope), canonicalJson(envelope)]) {
      expect(eventHeadOf(json)).toEqual({ id: envelope.id, terminal: 'till-1', n: 7 });
      expect(aggregateIdOf(json)).toBe('ticket-A-1');
    }
  });

  it('falls back to parsing what the fast path cannot read unambiguously, and gives null for what holds no event', () => {
    const escaped = { ...envelope, aggregate: { type: 'ticket', id: 'odd"id' } };
    expect(aggregateIdOf(JSON.stringify(escaped))).toBe('odd"id');
    expect(aggregateIdOf('not json')).toBeNull();
    expect(aggregateIdOf('{"id":"x"}')).toBeNull();
  });
});
