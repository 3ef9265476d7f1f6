import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { EventStore } from '../../client/store/event-store';
import { TicketCommands } from '../../client/commands/ticket-commands';
import { TOMBSTONE_KEPT_MS, applyCompaction } from '../../shared/compaction/compaction-plan';
import { DEFAULT_RETENTION, retentionOf } from '../../shared/compaction/retention-policy';
import type { EventEnvelope } from '../../shared/events/envelope';
import { compactedOf } from '../../shared/log/log-doc';
import { marksOnly } from '../helpers/acknowledgements';
import type { AggregateView, TicketView } from '../../shared/projection/views';

const DAY = 24 * 60 * 60_000;
const stores: EventStore[] = [];
afterEach(() => {
  for (const s of stores.splice(0)) void s.close();
});

async function till(location: string, terminal: string) {
  const store = await EventStore.open({ location, terminal, persistence: 'memory', crossTab: false });
  stores.push(store);
  return { store, commands: new TicketCommands({ store, role: 'manager' }) };
}

/** A ticket opened and closed with nothing on it: settled at once. */
async function closedTicket(commands: TicketCommands): Promise<string> {
  const id = await commands.openTicket();
  await commands.close(id);
  return id;
}

describe('compaction: tombstones end', () => {
  it('[CMP8] a tombstone is dropped TOMBSTONE_KEPT_MS after its compaction (the doc stops growing by one per ticket), unless a late event of its aggregate is held; every replica follows', async () => {
    const a = await till('tombstones', 'till-1');
    const b = await till('tombstones', 'till-2');
    const lateOne = await closedTicket(a.commands);
    const first = await closedTicket(a.commands);
    const firstNumber = (a.store.view(first) as TicketView).number!;
    const marks = () => ({ 'till-1': 1_000, 'till-2': 1_000 });
    const t0 = Date.now() + 3 * DAY;
    expect((await a.store.compact({ now: t0, acknowledgements: marksOnly(marks()) })).aggregates).toBe(2);
    expect([...compactedOf(a.store.doc).keys()].sort()).toEqual([first, lateOne].sort());
    // A refund another till wrote offline for the second ticket: a late event held here.
    Y.applyUpdate(b.store.doc, Y.encodeStateAsUpdate(a.store.doc));
    const late = await b.store.append('ticket.note_set', { note: 'late' }, { aggregate: { id: lateOne, type: 'ticket' } });
    Y.applyUpdate(a.store.doc, Y.encodeStateAsUpdate(b.store.doc, Y.encodeStateVector(a.store.doc)));

    // A day short of the end: both kept, whatever else is compacted.
    await closedTicket(a.commands);
    await a.store.compact({ now: t0 + TOMBSTONE_KEPT_MS - DAY, acknowledgements: marksOnly({}) });
    expect(compactedOf(a.store.doc).size).toBe(2);
    // The late event, days past its own day but not acknowledged, is still held: the server must get it first.
    expect(a.store.getByAggregate(lateOne).map((e) => e.id)).toContain(late.id);
    const next = await closedTicket(a.commands);
    const report = await a.store.compact({ now: t0 + TOMBSTONE_KEPT_MS, acknowledgements: marksOnly(marks()) });
    expect(report.aggregates).toBeGreaterThanOrEqual(1);
    // The first ticket's tombstone goes; the one whose late event is still held stays (the event stays hidden).
    expect(compactedOf(a.store.doc).has(first)).toBe(false);
    expect(compactedOf(a.store.doc).has(lateOne)).toBe(true);
    expect(compactedOf(a.store.doc).has(next)).toBe(true);
    // Its number stays taken (the label's highest ordinal): a till that lost its own counter does not hand it out again.
    expect(a.store.archivedTicketNumbers()).toContain(firstNumber);
    expect(a.store.view(lateOne)).toBeUndefined();
    // The drop is a CRDT change: the other till's doc loses it too.
    Y.applyUpdate(b.store.doc, Y.encodeStateAsUpdate(a.store.doc, Y.encodeStateVector(b.store.doc)));
    expect(compactedOf(b.store.doc).has(first)).toBe(false);
    expect(compactedOf(b.store.doc).has(lateOne)).toBe(true);
  });

  it('[CMP8] the rest of a ticket whose tombstone ended (a till offline all that time) is not kept as an open ticket forever: it goes once acknowledged and past retention', async () => {
    const a = await till('tombstones-late', 'till-1');
    const b = await till('tombstones-late', 'till-2');
    const ticket = await closedTicket(a.commands);
    Y.applyUpdate(b.store.doc, Y.encodeStateAsUpdate(a.store.doc));
    const t0 = Date.now() + 3 * DAY;
    await a.store.compact({ now: t0, acknowledgements: marksOnly({ 'till-1': 1_000 }) });
    await closedTicket(a.commands);
    await a.store.compact({ now: t0 + TOMBSTONE_KEPT_MS, acknowledgements: marksOnly({ 'till-1': 1_000 }) });
    expect(compactedOf(a.store.doc).has(ticket)).toBe(false);
    // b, offline all along, wrote a note on the ticket; it arrives now.
    await b.store.append('ticket.note_set', { note: 'late' }, { aggregate: { id: ticket, type: 'ticket' } });
    Y.applyUpdate(a.store.doc, Y.encodeStateAsUpdate(b.store.doc, Y.encodeStateVector(a.store.doc)));
    expect(a.store.view(ticket)).toMatchObject({ kind: 'ticket', number: null });
    // Not acknowledged yet: kept (the server must get it first).
    expect((await a.store.compact({ now: t0 + TOMBSTONE_KEPT_MS + 3 * DAY, acknowledgements: marksOnly({ 'till-1': 1_000 }) })).aggregates).toBe(0);
    expect(a.store.view(ticket)).toBeDefined();
    const report = await a.store.compact({ now: t0 + TOMBSTONE_KEPT_MS + 3 * DAY, acknowledgements: marksOnly({ 'till-1': 1_000, 'till-2': 1_000 }) });
    expect(report.aggregates).toBe(1);
    expect(a.store.view(ticket)).toBeUndefined();
  });
});

describe('compaction: what may leave, what its tombstone keeps', () => {
  const T0 = 1_764_000_000_000;
  const acknowledged = marksOnly({ 'till-1': 10 });
  const events = [{ id: 'e1', at: T0, origin: { terminal: 'till-1', n: 1 } }] as EventEnvelope[];
  const closed = (fields: Partial<TicketView> = {}) =>
    ({ kind: 'ticket', aggregateType: 'ticket', id: 't1', number: 'A-001', status: 'closed', openConflicts: 0, needsUpdate: 0, lastEventAt: T0, ...fields }) as AggregateView;
  const past = DEFAULT_RETENTION.keptUntil(T0) + DAY;

  it('[CMP1] a closed, acknowledged ticket past retention leaves, unless a conflict is open on it or it holds an event this build cannot read', () => {
    expect(retentionOf(closed(), events, acknowledged, past).compactable).toBe(true);
    expect(retentionOf(closed({ openConflicts: 1 }), events, acknowledged, past)).toEqual({ compactable: false, reason: 'ticket has open conflicts' });
    expect(retentionOf(closed({ needsUpdate: 1 }), events, acknowledged, past).compactable).toBe(false);
  });

  it('[CMP8] compacting an archived ticket\'s late events keeps its tombstone\'s number (still taken) and counts all its events', () => {
    const doc = new Y.Doc();
    doc.transact(() => applyCompaction(doc, { aggregates: [{ id: 't1', number: 'A-001', eventIds: ['e1', 'e2'] }], expired: [] }, 'till-1', T0));
    doc.transact(() => applyCompaction(doc, { aggregates: [{ id: 't1', number: null, eventIds: ['e3'] }], expired: [] }, 'till-1', T0 + DAY));
    expect(compactedOf(doc).get('t1')).toMatchObject({ number: 'A-001', events: 3 });
  });
});
