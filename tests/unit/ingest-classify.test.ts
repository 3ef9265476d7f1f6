import { describe, expect, it } from 'vitest';
import { classifyBatch } from '../../server/ingest/ingest-service';
import { canonicalEventJson, type EventEnvelope } from '../../shared/events/envelope';
import { tableEvent } from '../helpers/server-clients';

describe('classifyBatch: what the server checks before storing a batch', () => {
  it('[SRV6] an event identical to the one stored under its id is a duplicate unchecked; anything else under that id is checked in full', () => {
    const stored = tableEvent('till-1', 1);
    // Stored by an older build, say, whose schema this one no longer takes: identical, it is still the same fact.
    const older = { ...tableEvent('till-1', 2), payload: { tableId: 't', label: 'T2', seats: 4, retiredField: true } } as EventEnvelope;
    const held = new Map([stored, older].map((e) => [e.id, canonicalEventJson(e)]));
    const slots = classifyBatch([stored, older, { ...older, payload: { ...(older.payload as object), seats: 5 } }, tableEvent('till-1', 3)], held);
    expect(slots[0]).toEqual({ id: stored.id, status: 'duplicate' });
    expect(slots[1]).toEqual({ id: older.id, status: 'duplicate' });
    // Changed: checked like any new event (here refused by the schema; the store refuses a valid one by its id).
    expect(slots[2]).toMatchObject({ id: older.id, status: 'rejected', field: 'payload.retiredField' });
    expect(slots[3]).toMatchObject({ canonical: expect.any(String) });
    // Nothing held: every event is checked.
    expect(classifyBatch([older])[0]).toMatchObject({ id: older.id, status: 'rejected' });
  });
});
