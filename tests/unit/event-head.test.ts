import { describe, expect, it } from 'vitest';
import { aggregateIdOf, eventHeadOf } from '../../shared/log/event-head';
import { canonicalJson } from '../../shared/events/envelope';
import { TestWriter } from '../helpers/test-writer';

// A payload that holds an `aggregate` and an `origin` of its own: never to be read as the envelope's.
const event = new TestWriter('till-1', () => 1_700_000_000_000).write({ id: 'ticket-A-1', type: 'ticket' }, 'ticket.item_added', {
  lineId: 'l1',
  aggregate: { id: 'not-this-one' },
  origin: { terminal: 'not-this-one', n: 99 },
  menuItemId: 'burger',
  name: 'Burger',
  unitPriceCents: 1250,
  quantity: 1,
});

describe('event heads read without parsing (shared/log/event-head.ts)', () => {
  it("reads the id, origin and aggregate of both layouts, the envelope's and not a payload's", () => {
    for (const json of [JSON.stringify(event), canonicalJson(event)]) {
      expect(eventHeadOf(json)).toEqual({ id: event.id, terminal: 'till-1', n: 1 });
      expect(aggregateIdOf(json)).toBe('ticket-A-1');
    }
  });

  it('falls back to parsing what the fast path cannot read unambiguously, and gives null for what holds no event', () => {
    // Another writer's key order puts the payload's `aggregate` first.
    const { id, payload, ...rest } = event;
    const foreign = JSON.stringify({ id, payload, ...rest, aggregate: { type: 'ticket', id: 'odd"id' } });
    expect(aggregateIdOf(foreign)).toBe('odd"id');
    expect(eventHeadOf(foreign)).toEqual({ id, terminal: 'till-1', n: 1 });
    expect(aggregateIdOf('not json')).toBeNull();
    expect(aggregateIdOf('{"id":"x"}')).toBeNull();
  });

  it('reads what JSON.parse reads: an entry with a key twice (read last by a parse) or cut off is parsed, never read by the fast path', () => {
    const json = JSON.stringify(event);
    const cases = [
      json.replace('"origin":{', '"origin":{"terminal":"mgr-1","n":3},"origin":{'),
      json.replace(/}$/, ',"origin":{"terminal":"mgr-1","n":7}}'),
      json.replace(/}$/, ',"id":"another"}'),
      json.slice(0, -1),
    ];
    for (const entry of cases) {
      let parsed: unknown = null;
      try {
        const p = JSON.parse(entry) as { id: string; origin: { terminal: string; n: number } };
        parsed = { id: p.id, terminal: p.origin.terminal, n: p.origin.n };
      } catch {
        parsed = null;
      }
      expect(eventHeadOf(entry), entry.slice(-60)).toEqual(parsed);
    }
  });
});
