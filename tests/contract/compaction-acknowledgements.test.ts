import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { SegmentWriter, readAllEventJson } from '../../shared/log/log-doc';
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
  /** A sale closed on till-1, held by till-2 too; till-1 compacts it, judging by `compactedBy`; till-2 believes `believedBy2`. */
  async function compactedOnAnother(location: string, believedBy2: (sale: { writer: string; n: number }) => Acknowledgements) {
    const till1 = await openStore({ location, terminal: 'till-1' });
    const till2 = await openStore({ location, terminal: 'till-2' });
    const commands = new TicketCommands({ store: till1, role: 'terminal' });
    const t = await commands.openTicket();
    await commands.addItem(t, { id: 'cola', name: 'Cola', priceCents: 350 });
    await commands.recordPayment(t, { method: 'cash', amountCents: 350 });
    await commands.close(t);
    const sale = till1.getByAggregate(t).map((e) => e.id);
    const n = till1.getByAggregate(t).length;
    exchange(till1, till2);
    till2.useAcknowledgements(() => believedBy2({ writer: till1.writer, n }));
    // till-1 judged by a server that acknowledged the sale (since restored from an older backup, say).
    expect((await till1.compact({ now: Date.now() + 3 * 24 * 60 * 60_000, acknowledgements: marksOnly({ [till1.writer]: n }) })).aggregates).toBe(1);
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
    const till1 = await openStore({ location, terminal: 'till-1' });
    const till2 = await openStore({ location, terminal: 'till-2' });
    const commands = new TicketCommands({ store: till1, role: 'terminal' });
    const t = await commands.openTicket();
    await commands.close(t);
    const sale = till1.getByAggregate(t);
    exchange(till1, till2);
    till2.useAcknowledgements(() => marksOnly({ [till1.writer]: sale.length }));
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
});
