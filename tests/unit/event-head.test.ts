import { afterEach, describe, expect, it, vi } from 'vitest';
import { MAX_ENTRY_LENGTH, aggregateIdOf, eventHeadOf, eventIdOf, parseEntry } from '../../shared/log/event-head';
import { canonicalJson } from '../../shared/events/envelope';
import { TestWriter } from '../helpers/test-writer';
import { parseStoredEvent } from '../../client/store/log-reading';
import { MAX_JSON_DEPTH } from '../../shared/json-depth';

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
  afterEach(() => vi.restoreAllMocks());

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
    const idTwice = [json.replace(/}$/, ',"id":"another"}'), json.replace(/^\{/, '{"id":"another",')];
    const cases = [json.replace('"origin":{', '"origin":{"terminal":"mgr-1","n":3},"origin":{'), json.replace(/}$/, ',"origin":{"terminal":"mgr-1","n":7}}'), ...idTwice, json.slice(0, -1)];
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
    for (const entry of idTwice) expect(eventIdOf(entry), entry.slice(0, 60)).toBe((JSON.parse(entry) as { id: string }).id);
  });

  it('an origin.n of 0 is no writer\'s event number: no origin, read fast or parsed', () => {
    // No origin in its payload: the fast path reads its head.
    const plain = new TestWriter('till-1', () => 1_700_000_000_000).write({ id: 'ticket-A-2', type: 'ticket' }, 'ticket.note_set', { note: 'window' });
    for (const json of [JSON.stringify(plain), canonicalJson(plain)]) {
      expect(eventHeadOf(json)).toEqual({ id: plain.id, terminal: 'till-1', n: 1 });
      expect(eventHeadOf(json.replace('"n":1', '"n":0'))).toEqual({ id: plain.id, terminal: null, n: 0 });
    }
  });

  it('[SRV31] an entry longer than any event holds none and is never parsed, whatever its head says', () => {
    // Deeply nested JSON is what makes a parse slow; its head is an event's, readable by the fast paths.
    const nested = '['.repeat(100_000) + ']'.repeat(100_000);
    const oversized = [
      JSON.stringify({ ...event, payload: '__P__' }).replace('"__P__"', nested),
      // The aggregate's keys swapped: no fast path reads it.
      JSON.stringify({ ...event, aggregate: { type: 'ticket', id: 'ticket-A-1' }, payload: '__P__' }).replace('"__P__"', nested),
    ];
    const parse = vi.spyOn(JSON, 'parse');
    for (const json of oversized) {
      expect(json.length).toBeGreaterThan(MAX_ENTRY_LENGTH);
      expect(eventHeadOf(json)).toBeNull();
      expect(eventIdOf(json)).toBeNull();
      expect(aggregateIdOf(json)).toBeNull();
      expect(parseEntry(json)).toBeUndefined();
    }
    expect(parse).not.toHaveBeenCalled();
    // Up to the limit (another writer's spaces), an event is still read.
    const spaced = JSON.stringify(event).replace(/}$/, ' '.repeat(MAX_ENTRY_LENGTH - JSON.stringify(event).length) + '}');
    expect(spaced.length).toBe(MAX_ENTRY_LENGTH);
    expect(eventHeadOf(spaced)).toEqual({ id: event.id, terminal: 'till-1', n: 1 });
    expect(aggregateIdOf(spaced)).toBe('ticket-A-1');
  });

  it('an entry nested deeper than MAX_JSON_DEPTH holds no event: its parse is refused, saying why (one stopped every upload of the tills that held it)', () => {
    const nestedPayload = (depth: number) => JSON.stringify({ ...event, payload: '__P__' }).replace('"__P__"', '['.repeat(depth) + ']'.repeat(depth));
    const deep = nestedPayload(5000);
    expect(deep.length).toBeLessThan(MAX_ENTRY_LENGTH);
    expect(parseEntry(deep)).toBeUndefined();
    expect(parseStoredEvent(deep)).toBe(`nested deeper than ${MAX_JSON_DEPTH} levels`);
    // The envelope and its payload object take two levels: a payload nested up to the rest is read.
    expect(parseEntry(nestedPayload(MAX_JSON_DEPTH - 1))).toMatchObject({ id: event.id });
    expect(parseEntry(nestedPayload(MAX_JSON_DEPTH))).toBeUndefined();
  });
});
