import { describe, expect, it } from 'vitest';
import { IngestService, classifyBatch, type IngestedBatch } from '../../server/ingest/ingest-service';
import type { CanonicalLog, ValidEvent } from '../../server/store/canonical-log';
import { canonicalEventJson, type EventEnvelope } from '../../shared/events/envelope';
import { NEWER_THAN_SERVER } from '../../shared/protocol/rest-events';
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

  it('[SRV7][OUT14] a type or version newer than this server knows is rejected with code newer_than_server; an event without a usable id is named by its index', () => {
    const slots = classifyBatch([
      ticketOpenedEvent('till-1', 1, { v: 99 }),
      ticketOpenedEvent('till-1', 2, { type: 'ticket.teleported' }),
      ticketOpenedEvent('till-1', 3, { payload: { number: 'T-003', covers: 'four' } }),
      { ...ticketOpenedEvent('till-1', 4), id: '' },
      { ...ticketOpenedEvent('till-1', 5), id: 'x'.repeat(65) },
    ]);
    expect(slots.map((s) => ('code' in s ? [s.field, s.code] : null))).toEqual([['v', NEWER_THAN_SERVER], ['type', NEWER_THAN_SERVER], null, null, null]);
    expect(slots.slice(3).map((s) => ('id' in s ? s.id : null))).toEqual(['#3', '#4']);
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

/** A store holding `held` that takes every event given. */
function storeHolding(held: readonly EventEnvelope[] = []): CanonicalLog {
  const json = new Map(held.map((e) => [e.id, canonicalEventJson(e)]));
  const store: Pick<CanonicalLog, 'appendBatch' | 'storedJson'> = {
    appendBatch: async (_location: string, events: readonly ValidEvent[]) => ({
      outcomes: events.map(({ event }) => ({ id: event.id, status: 'accepted' as const })),
      watermarks: { 'till-1': events.length },
      storedAbove: {},
    }),
    storedJson: async (_location: string, ids: readonly string[]) => new Map(ids.flatMap((id) => (json.has(id) ? [[id, json.get(id)!] as const] : []))),
  };
  return store as CanonicalLog;
}

describe('IngestService: batches sent again', () => {
  it('[SRV6][SRV17] a resend is answered as if posted alone, also behind another connection\'s fresh batch in one relay window', async () => {
    const stored = ticketOpenedEvent('till-2', 1);
    // Stored by an older build whose schema this one no longer takes: only found stored, it is a duplicate.
    const older = { ...ticketOpenedEvent('till-2', 2), payload: { number: 'T-002', covers: 4, retiredField: true } } as EventEnvelope;
    const ingest = new IngestService(storeHolding([stored, older]), [], { error: () => {} });
    const uploader = { role: 'terminal' as const, terminal: 'till-2' };
    const alone = await ingest.ingest('loc', [stored, older], uploader);
    expect(alone.results).toEqual([{ id: stored.id, status: 'duplicate' }, { id: older.id, status: 'duplicate' }]);
    const [fresh, resent] = await ingest.ingestEach('loc', [
      { raws: [ticketOpenedEvent('till-1', 1)], uploader: { role: 'terminal', terminal: 'till-1' } },
      { raws: [stored, older], uploader },
    ]);
    expect(fresh!.results.map((r) => r.status)).toEqual(['accepted']);
    // Before, only the window's first event was looked up: this batch was checked in full, `older` rejected.
    expect(resent!.results).toEqual(alone.results);
  });
});

describe('IngestService: after-ingest hooks', () => {
  it('a hook that throws (the room bridge, a room failing to load) is logged: the committed batch is answered, and the hooks after it still run', async () => {
    const errors: object[] = [];
    const after: IngestedBatch[] = [];
    const hooks = [
      { name: 'room-bridge', afterIngest: () => Promise.reject(new Error('room failed to load')) },
      { name: 'after', afterIngest: (batch: IngestedBatch) => void after.push(batch) },
    ];
    const ingest = new IngestService(storeHolding(), hooks, { error: (obj) => void errors.push(obj) });
    const answer = await ingest.ingest('loc', [ticketOpenedEvent('till-1', 1)], { role: 'terminal', terminal: 'till-1' });
    expect([answer.results.map((r) => r.status), answer.watermarks]).toEqual([['accepted'], { 'till-1': 1 }]);
    expect(errors).toEqual([{ hook: 'room-bridge', location: 'loc', err: 'Error: room failed to load' }]);
    expect(after.map((b) => b.accepted.length)).toEqual([1]);
  });
});
