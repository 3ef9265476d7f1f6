import { describe, expect, it } from 'vitest';
import { IngestService, classifyBatch, type IngestedBatch } from '../../server/ingest/ingest-service';
import type { CanonicalLog, ValidEvent } from '../../server/store/canonical-log';
import { canonicalEventJson, type EventEnvelope } from '../../shared/events/envelope';
import { ticketOpenedEvent } from '../helpers/server-clients';

describe('classifyBatch: what the server checks before storing a batch', () => {
  it('[SRV6] an event identical to the one stored under its id is a duplicate unchecked; anything else under that id is checked in full', () => {
    const stored = ticketOpenedEvent('till-1', 1);
    // Stored by an older build, say, whose schema this one no longer takes: identical, it is still the same fact.
    const older = { ...ticketOpenedEvent('till-1', 2), payload: { number: 'T-002', covers: 4, retiredField: true } } as EventEnvelope;
    const held = new Map([stored, older].map((e) => [e.id, canonicalEventJson(e)]));
    const slots = classifyBatch([stored, older, { ...older, payload: { ...(older.payload as object), covers: 5 } }, ticketOpenedEvent('till-1', 3)], held);
    expect(slots[0]).toEqual({ id: stored.id, status: 'duplicate' });
    expect(slots[1]).toEqual({ id: older.id, status: 'duplicate' });
    // Changed: checked like any new event (here refused by the schema; the store refuses a valid one by its id).
    expect(slots[2]).toMatchObject({ id: older.id, status: 'rejected', field: 'payload.retiredField' });
    expect(slots[3]).toMatchObject({ canonical: expect.any(String) });
    // Nothing held: every event is checked.
    expect(classifyBatch([older])[0]).toMatchObject({ id: older.id, status: 'rejected' });
  });
});

describe('classifyBatch: prototype keys', () => {
  it('[SRV7] a "__proto__" or "constructor" member anywhere in an event rejects that event alone, naming the field', () => {
    const [good, top, aggregate, payload] = [1, 2, 3, 4].map((n) => ticketOpenedEvent('till-1', n));
    // As JSON.parse reads a body: the key is an own member, which an object literal cannot write.
    const withMember = (e: EventEnvelope, at: string, member: string): unknown =>
      JSON.parse(at === '' ? JSON.stringify(e).replace('{', `{${member},`) : JSON.stringify(e).replace(`"${at}":{`, `"${at}":{${member},`));
    const slots = classifyBatch([
      good,
      withMember(top!, '', '"__proto__":{"id":"x"}'),
      withMember(aggregate!, 'aggregate', '"constructor":{"prototype":{"polluted":true}}'),
      withMember(payload!, 'payload', '"__proto__":{"polluted":true}'),
    ]);
    expect(slots[0]).toMatchObject({ canonical: expect.any(String) });
    expect(slots.slice(1)).toEqual([
      expect.objectContaining({ id: top!.id, status: 'rejected', field: '__proto__' }),
      expect.objectContaining({ id: aggregate!.id, status: 'rejected', field: 'aggregate.constructor' }),
      expect.objectContaining({ id: payload!.id, status: 'rejected', field: 'payload.__proto__' }),
    ]);
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
  });
});

describe('IngestService: after-ingest hooks', () => {
  it('a hook that throws (the room bridge, a room failing to load) is logged: the committed batch is answered, and the hooks after it still run', async () => {
    // A store that takes every event given.
    const store: Pick<CanonicalLog, 'appendBatch' | 'storedJson'> = {
      appendBatch: async (_location: string, events: readonly ValidEvent[]) => ({
        outcomes: events.map(({ event }) => ({ id: event.id, status: 'accepted' as const })),
        watermarks: { 'till-1': events.length },
        storedAbove: {},
      }),
      storedJson: async () => new Map(),
    };
    const errors: object[] = [];
    const after: IngestedBatch[] = [];
    const hooks = [
      { name: 'room-bridge', afterIngest: () => Promise.reject(new Error('room failed to load')) },
      { name: 'after', afterIngest: (batch: IngestedBatch) => void after.push(batch) },
    ];
    const ingest = new IngestService(store as CanonicalLog, hooks, { error: (obj) => void errors.push(obj) });
    const answer = await ingest.ingest('loc', [ticketOpenedEvent('till-1', 1)], { role: 'terminal', terminal: 'till-1' });
    expect([answer.results.map((r) => r.status), answer.watermarks]).toEqual([['accepted'], { 'till-1': 1 }]);
    expect(errors).toEqual([{ hook: 'room-bridge', location: 'loc', err: 'Error: room failed to load' }]);
    expect(after.map((b) => b.accepted.length)).toEqual([1]);
  });
});
