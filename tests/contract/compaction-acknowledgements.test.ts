import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { SegmentWriter, deleteEvents, readAllEventJson } from '../../shared/log/log-doc';
import { TicketCommands } from '../../client/commands/ticket-commands';
import type { Acknowledgements } from '../../shared/log/acknowledgements';
import type { EventEnvelope } from '../../shared/events/envelope';
import { marksOnly } from '../helpers/acknowledgements';
import { closeAll, exchange, openStore, openedStores } from '../helpers/event-stores';
import { TAB } from '../../client/store/origins';

afterEach(() => closeAll(openedStores));

describe('Compaction and the acknowledgements it reads', () => {
  it('[CMP2][SYN20] a run reads the store\'s acknowledgement source once the checkpoint is flushed: a stale value found meanwhile deletes nothing', async () => {
    const store = await openStore({ location: 'acks-read-late' });
    const commands = new TicketCommands({ store, role: 'terminal' });
    const t = await commands.openTicket();
    await commands.addItem(t, { id: 'cola', name: 'Cola', priceCents: 350 });
    await commands.recordPayment(t, { method: 'cash', amountCents: 350 });
    await commands.close(t);
    // Sync believes the room's marks (a restored server's old word) when the run starts...
    let believed: Acknowledgements = marksOnly({ [store.writer]: 100 });
    store.useAcknowledgements(() => believed);
    const run = store.compact({ now: Date.now() + 3 * 24 * 60 * 60_000 });
    // ...and finds them stale while the run flushes the checkpoint: the server holds none of the sale.
    believed = marksOnly({});
    expect((await run).aggregates).toBe(0);
    expect(store.view(t)).toBeDefined();
  });
});

describe('Another device\'s compaction and what this one knows the server holds', () => {
  /**
   * A sale closed on till-1 (on till-2 with `soldOnTill2`), held by both; till-1 compacts it,
   * judging by a server that acknowledged it; till-2 believes `believedBy2`.
   */
  async function compactedOnAnother(location: string, believedBy2: (sale: { writer: string; n: number }) => Acknowledgements, { soldOnTill2 = false } = {}) {
    const till1 = await openStore({ location, terminal: 'till-1' });
    const till2 = await openStore({ location, terminal: 'till-2' });
    const seller = soldOnTill2 ? till2 : till1;
    const commands = new TicketCommands({ store: seller, role: 'terminal' });
    const t = await commands.openTicket();
    await commands.addItem(t, { id: 'cola', name: 'Cola', priceCents: 350 });
    await commands.recordPayment(t, { method: 'cash', amountCents: 350 });
    await commands.close(t);
    const sale = seller.getByAggregate(t).map((e) => e.id);
    const n = seller.getByAggregate(t).length;
    exchange(till1, till2);
    till2.useAcknowledgements(() => believedBy2({ writer: seller.writer, n }));
    // till-1 judged by a server that acknowledged the sale (since restored from an older backup, say).
    expect((await till1.compact({ now: Date.now() + 3 * 24 * 60 * 60_000, acknowledgements: marksOnly({ [seller.writer]: n }) })).aggregates).toBe(1);
    exchange(till1, till2);
    return { till1, till2, t, sale };
  }

  it('[CMP2][SYN20] deleting events this till does not know the server holds: it keeps them and writes them back, so every device holds the sale again and it is uploaded', async () => {
    const { till1, till2, t, sale } = await compactedOnAnother('restored-under-compaction', () => marksOnly({}));
    // Held (and owed), though its ticket is archived here too: the server undoes a tombstone of what its log lacks (SRV16).
    expect(till2.getByAggregate(t).map((e) => e.id)).toEqual(sale);
    // Written back into its own segments: the device that compacted gets them again (late events of an archived ticket, owed until acknowledged).
    exchange(till1, till2);
    expect(till1.getByAggregate(t).map((e) => e.id).sort()).toEqual([...sale].sort());
  });

  it('[CMP2][SRV16] a deletion that comes with copies of the same events (the server undoing the compaction, met as one update): held once, nothing written back', async () => {
    const till1 = await openStore({ location: 'undone-in-one-update', terminal: 'till-1' });
    const till2 = await openStore({ location: 'undone-in-one-update', terminal: 'till-2' });
    const commands = new TicketCommands({ store: till1, role: 'terminal' });
    const t = await commands.openTicket();
    await commands.close(t);
    const sale = till1.getByAggregate(t);
    const server = new Y.Doc();
    Y.applyUpdate(server, Y.encodeStateAsUpdate(till1.doc));
    exchange(till1, till2);
    till2.useAcknowledgements(() => marksOnly({}));
    const before = Y.encodeStateVector(till2.doc);
    await till1.compact({ now: Date.now() + 3 * 24 * 60 * 60_000, acknowledgements: marksOnly({ [till1.writer]: sale.length }) });
    Y.applyUpdate(server, Y.encodeStateAsUpdate(till1.doc));
    server.transact(() => new SegmentWriter(server, 'server').append(sale.map((e) => JSON.stringify(e))));
    Y.applyUpdate(till2.doc, Y.encodeStateAsUpdate(server, before), 'relay');
    expect(till2.getByAggregate(t).map((e) => e.id)).toEqual(sale.map((e) => e.id));
    expect(readAllEventJson(till2.doc)).toHaveLength(sale.length);
  });

  it('[CMP2] deleting events this till knows the server holds: it lets them go, as the compaction did', async () => {
    const { till2, t } = await compactedOnAnother('ordinary-compaction', ({ writer, n }) => marksOnly({ [writer]: n }));
    expect(till2.getByAggregate(t)).toEqual([]);
    expect(till2.view(t)).toBeUndefined();
  });

  it('[CMP2][SYN20] deleting this till\'s own sale, which it does not know the server holds: kept among its own events, to be uploaded', async () => {
    const { till2, t, sale } = await compactedOnAnother('own-sale-deleted-elsewhere', () => marksOnly({}), { soldOnTill2: true });
    expect(till2.getByAggregate(t).map((e) => e.id)).toEqual(sale);
    expect(till2.eventsByWriter().get(till2.writer)?.map((e) => e.id)).toEqual(sale);
  });

  it('[CMP2][SYN20] another till\'s sale followed away here is remembered by its own writer: a restored server holding only this till\'s events has it written back', async () => {
    const { till2, t, sale } = await compactedOnAnother('followed-then-forgotten', ({ writer, n }) => marksOnly({ [writer]: n }));
    expect(till2.getByAggregate(t)).toEqual([]);
    // Judged by till-1's mark (none), not till-2's: the restored server holds plenty of till-2's own events.
    expect(till2.writeBackRemovedUnacknowledged(marksOnly({ [till2.writer]: 1_000 }))).toBe(sale.length);
    expect(till2.getByAggregate(t).map((e) => e.id)).toEqual(sale);
  });

  it('[CMP2][STO13] another device\'s deletion arriving while a store opened from its checkpoint still reads its log: followed, nothing of it held once read', async () => {
    const location = 'deleted-while-reading';
    const till = await openStore({ location });
    const commands = new TicketCommands({ store: till, role: 'terminal' });
    const t = await commands.openTicket();
    await commands.close(t);
    const sale = new Set(till.getByAggregate(t).map((e) => e.id));
    await closeAll(openedStores); // closing writes the checkpoint the next open restores
    const reopened = await openStore({ location });
    expect(reopened.isIndexed).toBe(false);
    // Another device deletes the sale (with no acknowledgement source, this store follows every deletion).
    const other = new Y.Doc();
    Y.applyUpdate(other, Y.encodeStateAsUpdate(reopened.doc));
    other.transact(() => deleteEvents(other, sale));
    Y.applyUpdate(reopened.doc, Y.encodeStateAsUpdate(other, Y.encodeStateVector(reopened.doc)), 'relay');
    await reopened.indexed;
    expect(readAllEventJson(reopened.doc)).toEqual([]);
    expect(reopened.getByAggregate(t)).toEqual([]);
    expect([...reopened.eventsByWriter().values()].flat()).toEqual([]);
  });

  /** A sale closed on till-1 and exchanged with till-2, which holds the server acknowledges it. */
  async function saleHeldByTwo(location: string) {
    const till1 = await openStore({ location, terminal: 'till-1' });
    const till2 = await openStore({ location, terminal: 'till-2' });
    const commands = new TicketCommands({ store: till1, role: 'terminal' });
    const t = await commands.openTicket();
    await commands.close(t);
    const sale = till1.getByAggregate(t);
    exchange(till1, till2);
    till2.useAcknowledgements(() => marksOnly({ [till1.writer]: sale.length }));
    return { till1, till2, t, sale };
  }

  const entries = [
    {
      entry: 'another device\'s copy of the same events',
      write: (e: EventEnvelope) => JSON.stringify(e),
      outcome: 'still held, as a device reading that doc afresh holds them',
    },
    {
      entry: 'an entry that is not the event though it starts with its id (a faulty replica\'s)',
      write: (e: EventEnvelope) => `{"id":"${e.id}"}`,
      outcome: 'no copy: the deletion is followed, as a device reading the doc afresh holds nothing',
    },
  ];
  for (const { entry, write, outcome } of entries) it(`[CMP2] a deletion of one copy while ${entry} stays in the doc: ${outcome}`, async () => {
    const location = `copy-outlives-deletion-${entries.findIndex((e) => e.entry === entry)}`;
    const { till1, till2, t, sale } = await saleHeldByTwo(location);
    // A third device wrote the entries into its own segment (the sale written back: it did not
    // know the server held it); till-1 compacts without having seen them, and till-2 gets them first.
    const till3 = new Y.Doc();
    Y.applyUpdate(till3, Y.encodeStateAsUpdate(till1.doc));
    till3.transact(() => new SegmentWriter(till3, 'till-3').append(sale.map(write)));
    await till1.compact({ now: Date.now() + 3 * 24 * 60 * 60_000, acknowledgements: marksOnly({ [till1.writer]: sale.length }) });
    Y.applyUpdate(till2.doc, Y.encodeStateAsUpdate(till3, Y.encodeStateVector(till2.doc)), 'relay');
    Y.applyUpdate(till2.doc, Y.encodeStateAsUpdate(till1.doc, Y.encodeStateVector(till2.doc)), 'relay');
    const fresh = await openStore({ location: `${location}-fresh`, terminal: 'till-9' });
    Y.applyUpdate(fresh.doc, Y.encodeStateAsUpdate(till2.doc), 'relay');
    expect(till2.getByAggregate(t).map((e) => e.id)).toEqual(fresh.getByAggregate(t).map((e) => e.id));
    expect(till2.getByAggregate(t)).toHaveLength(entry.startsWith('another') ? sale.length : 0);
    // Nothing written back: the doc holds the events already, or till-2 knows the server holds them.
    expect(readAllEventJson(till2.doc)).toHaveLength(sale.length);
  });

  it('[CMP2] one update deleting a held sale, of which the doc keeps another device\'s copy, and an entry that is no event (a faulty replica\'s junk): the sale stays held, and the junk is not written back', async () => {
    // Acknowledged as far as till-2 knows: only the copy keeps the sale held.
    const { till1, till2, t, sale } = await saleHeldByTwo('copy-outlives-deletion-with-junk');
    const room = new Y.Doc();
    Y.applyUpdate(room, Y.encodeStateAsUpdate(till1.doc));
    room.transact(() => {
      new SegmentWriter(room, 'till-3').append(sale.map((e) => JSON.stringify(e)));
      new SegmentWriter(room, 'till-5').append(['{"id":"junk-1"}']);
    });
    Y.applyUpdate(till2.doc, Y.encodeStateAsUpdate(room, Y.encodeStateVector(till2.doc)), 'relay');
    // till-1 compacts without having seen the copy; till-5 deletes its junk: till-2 gets both deletions in one update.
    await till1.compact({ now: Date.now() + 3 * 24 * 60 * 60_000, acknowledgements: marksOnly({ [till1.writer]: sale.length }) });
    Y.applyUpdate(room, Y.encodeStateAsUpdate(till1.doc));
    room.transact(() => deleteEvents(room, new Set(['junk-1'])));
    Y.applyUpdate(till2.doc, Y.encodeStateAsUpdate(room, Y.encodeStateVector(till2.doc)), 'relay');
    expect(till2.getByAggregate(t).map((e) => e.id)).toEqual(sale.map((e) => e.id));
    expect(readAllEventJson(till2.doc)).toEqual(sale.map((e) => JSON.stringify(e)));
  });
});

describe('What a compaction removed, remembered in case the server forgot it', () => {
  const LATER = 3 * 24 * 60 * 60_000;
  /** A till holding `tickets` closed tickets (opened, closed, its sale recorded: 3 events each). */
  async function tillWithSales(location: string, tickets: number, options: { now?: () => number; removedRememberedMax?: number } = {}) {
    const till = await openStore({ location, ...options });
    const commands = new TicketCommands({ store: till, role: 'terminal' });
    const ids: string[] = [];
    for (let i = 0; i < tickets; i++) {
      const t = await commands.openTicket();
      await commands.close(t);
      ids.push(t);
    }
    expect(ids.map((id) => till.getByAggregate(id).length)).toEqual(ids.map(() => 3));
    return { till, ids, acks: marksOnly({ [till.writer]: 3 * tickets }) };
  }

  it('[CMP2][SYN20] this till\'s own compaction: written back two hours later when the server turns out to have forgotten it, but not after a day', async () => {
    let clock = Date.now();
    const { till, ids, acks } = await tillWithSales('removed-for-a-day', 2, { now: () => clock });
    await till.compact({ now: Date.now() + LATER, acknowledgements: acks });
    expect(till.getByAggregate(ids[0]!)).toEqual([]);
    clock += 2 * 60 * 60_000;
    // The server now acknowledges only the first ticket's events.
    expect(till.writeBackRemovedUnacknowledged(marksOnly({ [till.writer]: 3 }))).toBe(3);
    expect(till.getByAggregate(ids[0]!)).toEqual([]);
    expect(till.getByAggregate(ids[1]!)).toHaveLength(3);
    await till.compact({ now: clock + LATER, acknowledgements: acks });
    expect(till.getByAggregate(ids[1]!)).toEqual([]);
    clock += 25 * 60 * 60_000;
    expect(till.writeBackRemovedUnacknowledged(marksOnly({}))).toBe(0);
  });

  it('[CMP2][STO12] another tab\'s compaction is remembered too: closing the tab that compacted does not forget it', async () => {
    const { till: tabA, ids, acks } = await tillWithSales('removed-in-another-tab', 1);
    const tabB = await openStore({ location: 'removed-in-another-tab-b', terminal: 'till-1.2' });
    Y.applyUpdate(tabB.doc, Y.encodeStateAsUpdate(tabA.doc), TAB);
    await tabA.compact({ now: Date.now() + LATER, acknowledgements: acks });
    Y.applyUpdate(tabB.doc, Y.encodeStateAsUpdate(tabA.doc, Y.encodeStateVector(tabB.doc)), TAB);
    expect(tabB.getByAggregate(ids[0]!)).toEqual([]);
    expect(tabB.writeBackRemovedUnacknowledged(marksOnly({}))).toBe(3);
    expect(tabB.getByAggregate(ids[0]!)).toHaveLength(3);
  });

  it('[CMP2] beyond the most it remembers, whole tickets are forgotten: never half a sale written back', async () => {
    const { till, ids, acks } = await tillWithSales('removed-whole-tickets', 3, { removedRememberedMax: 4 });
    await till.compact({ now: Date.now() + LATER, acknowledgements: acks });
    // 9 events removed, 4 remembered at most: the first ticket forgotten, and the second whole (not its last event alone).
    expect(till.writeBackRemovedUnacknowledged(marksOnly({}))).toBe(3);
    expect(ids.map((id) => till.getByAggregate(id).length)).toEqual([0, 0, 3]);
  });

  it('[CMP2] exactly the most it remembers is kept: two tickets of three events, with six at most', async () => {
    const { till, ids, acks } = await tillWithSales('removed-up-to-the-most', 3, { removedRememberedMax: 6 });
    await till.compact({ now: Date.now() + LATER, acknowledgements: acks });
    expect(till.writeBackRemovedUnacknowledged(marksOnly({}))).toBe(6);
    expect(ids.map((id) => till.getByAggregate(id).length)).toEqual([0, 3, 3]);
  });

  it('[CMP2] by default a busy day\'s compaction (1,200 events) is remembered whole', async () => {
    const { till, acks } = await tillWithSales('removed-a-busy-day', 400);
    await till.compact({ now: Date.now() + LATER, acknowledgements: acks });
    expect(till.writeBackRemovedUnacknowledged(marksOnly({}))).toBe(1_200);
  });

  it('[CMP2] the most it remembers keeps the latest removals: a ticket another device wrote back, removed here again, counts as removed last', async () => {
    const { till, ids } = await tillWithSales('removed-again', 2, { removedRememberedMax: 3 });
    const first = till.getByAggregate(ids[0]!).map((e) => JSON.stringify(e));
    await till.compact({ now: Date.now() + LATER, acknowledgements: marksOnly({ [till.writer]: 3 }) });
    await till.compact({ now: Date.now() + LATER, acknowledgements: marksOnly({ [till.writer]: 6 }) });
    // Another device writes the first ticket back (it did not know the server held it), and this till compacts it again.
    const other = new Y.Doc();
    Y.applyUpdate(other, Y.encodeStateAsUpdate(till.doc));
    other.transact(() => new SegmentWriter(other, 'till-2').append(first));
    Y.applyUpdate(till.doc, Y.encodeStateAsUpdate(other, Y.encodeStateVector(till.doc)), 'relay');
    expect(till.getByAggregate(ids[0]!)).toHaveLength(3);
    await till.compact({ now: Date.now() + LATER, acknowledgements: marksOnly({ [till.writer]: 6 }) });
    expect(till.getByAggregate(ids[0]!)).toEqual([]);
    expect(till.writeBackRemovedUnacknowledged(marksOnly({}))).toBe(3);
    expect(ids.map((id) => till.getByAggregate(id).length)).toEqual([3, 0]);
  });

  it('[CMP2] an event removed here but held again since (another device wrote it back) is not written back a second time', async () => {
    const { till, ids, acks } = await tillWithSales('removed-held-again', 1);
    const sale = till.getByAggregate(ids[0]!).map((e) => JSON.stringify(e));
    await till.compact({ now: Date.now() + LATER, acknowledgements: acks });
    const other = new Y.Doc();
    Y.applyUpdate(other, Y.encodeStateAsUpdate(till.doc));
    other.transact(() => new SegmentWriter(other, 'till-2').append(sale));
    Y.applyUpdate(till.doc, Y.encodeStateAsUpdate(other, Y.encodeStateVector(till.doc)), 'relay');
    expect(till.getByAggregate(ids[0]!)).toHaveLength(3);
    expect(till.writeBackRemovedUnacknowledged(marksOnly({}))).toBe(0);
    expect(readAllEventJson(till.doc)).toEqual(sale);
  });

  it('[CMP2][SYN20] what one write-back finds the server still holds stays remembered: a later, lower word writes it back', async () => {
    const { till, ids, acks } = await tillWithSales('removed-two-words', 3);
    await till.compact({ now: Date.now() + LATER, acknowledgements: acks });
    // The room guard writes a restored server's acks and its ranges in two transactions (SRV15):
    // the acks first, the ranges still the old server's (covering the rest)...
    expect(till.writeBackRemovedUnacknowledged({ marks: { [till.writer]: 3 }, above: { [till.writer]: [[4, 9]] } })).toBe(0);
    // ...then the ranges.
    expect(till.writeBackRemovedUnacknowledged(marksOnly({ [till.writer]: 3 }))).toBe(6);
    expect(ids.map((id) => till.getByAggregate(id).length)).toEqual([0, 3, 3]);
  });
});
