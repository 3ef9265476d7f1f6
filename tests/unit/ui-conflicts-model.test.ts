import { describe, expect, it } from 'vitest';
import { cleanUpAfterEach, cola, exchange, model, nowMod, soup, ticketOf, till } from '../helpers/ui-models';
import * as Y from 'yjs';
import { SegmentWriter, acksOf } from '../../shared/log/log-doc';
import { FixedClockTerminal } from '../helpers/test-writer';

cleanUpAfterEach();
let n = 0; // numbers the locations a test names itself

describe('late events on a ticket this device archived', () => {
  type TakingsMod = typeof import('../../client/ui/models/takings-model.svelte');
  type ConflictsMod = typeof import('../../client/ui/models/conflicts-model.svelte');

  it('[APP20] a refund written offline elsewhere on a ticket this device archived: Takings says the day may be incomplete, Conflicts that the server holds it', async () => {
    const { TakingsModel } = await model<TakingsMod>('takings-model');
    const { ConflictsModel } = await model<ConflictsMod>('conflicts-model');
    const t = await till({ role: 'manager' });
    const id = await t.commands.openTicket();
    await t.commands.addItem(id, cola);
    await t.commands.recordPayment(id, { method: 'cash', amountCents: 350 });
    await t.commands.close(id);
    t.store.doc.transact(() => acksOf(t.store.doc).set('till-1', t.store.getByAggregate(id).length), 'relay');
    const takings = new TakingsModel(t.log, { status: { owed: 0 } } as never, {} as never, new nowMod.Now());
    const conflicts = new ConflictsModel(t.log, t.commands, true);
    expect((await t.store.compact({ now: Date.now() + 3 * 24 * 60 * 60_000 })).aggregates).toBe(1);
    expect([takings.mayBeIncomplete, conflicts.archivedWithLateEvents]).toEqual([false, 0]);
    // A manager's tablet, offline since before the compaction, gave back the cola today.
    const tablet = new FixedClockTerminal('manager-9', Date.now() - 1_700_000_000_000);
    const late = tablet.write({ id, type: 'ticket' }, 'ticket.refunded', { refundId: 'rf-late', method: 'cash', amountCents: 350, reason: 'flat' });
    const relay = new Y.Doc();
    relay.transact(() => new SegmentWriter(relay, 'manager-9').append([JSON.stringify(late)]));
    Y.applyUpdate(t.store.doc, Y.encodeStateAsUpdate(relay), 'relay');
    expect(t.store.view(id)).toBeUndefined();
    expect([takings.mayBeIncomplete, conflicts.archivedWithLateEvents]).toEqual([true, 1]);
    // Acknowledged, it stays while its day is not past (the warning with it), then goes like a ticket.
    t.store.doc.transact(() => acksOf(t.store.doc).set('manager-9', 1), 'relay');
    expect((await t.store.compact({ now: Date.now() + 60_000 })).events).toBe(0);
    expect(takings.mayBeIncomplete).toBe(true);
    expect((await t.store.compact({ now: Date.now() + 3 * 24 * 60 * 60_000 })).events).toBe(1);
  });
});

describe('Takings: a day the devices may have compacted (TakingsModel mayBeIncomplete)', () => {
  type TakingsMod = typeof import('../../client/ui/models/takings-model.svelte');

  it('[APP20][CMP1] warns from the end of the next business day, when a device in another time zone may have compacted it (this one keeps a day more)', async () => {
    const { TakingsModel } = await model<TakingsMod>('takings-model');
    const t = await till({ role: 'manager' });
    const takings = new TakingsModel(t.log, { status: { owed: 0 } } as never, {} as never, new nowMod.Now());
    const shown: boolean[] = [takings.mayBeIncomplete];
    takings.previousDay(); // yesterday: its next day (today) has not ended
    shown.push(takings.mayBeIncomplete);
    takings.previousDay(); // the day before: its next day (yesterday) has
    shown.push(takings.mayBeIncomplete);
    expect(shown).toEqual([false, false, true]);
  });
});

describe('the Conflicts screen (ConflictsModel)', () => {
  type ConflictsMod = typeof import('../../client/ui/models/conflicts-model.svelte');

  it('[PRJ27] a conflict two managers settled at once is listed right after the open ones, the choice not applied with it', async () => {
    const { ConflictsModel } = await model<ConflictsMod>('conflicts-model');
    const location = `ui-${++n}`;
    const a = await till({ location, terminal: 'mgr-1', role: 'manager' });
    const b = await till({ location, terminal: 'mgr-2', role: 'manager' });
    const id = await a.commands.openTicket();
    await a.commands.addItem(id, cola);
    await a.commands.recordPayment(id, { method: 'cash', amountCents: 350 });
    await a.commands.void(id, 'walked out');
    const quiet = await a.commands.openTicket(); // a conflict settled once, for the order
    await a.commands.addItem(quiet, soup);
    await a.commands.recordPayment(quiet, { method: 'card', amountCents: 650 });
    await a.commands.void(quiet, 'wrong table');
    await a.commands.resolveConflict(quiet, ticketOf(a.store, quiet).conflicts[0]!.conflictId, { kind: 'refund_payment' });
    exchange(a.store, b.store);
    const conflictId = ticketOf(a.store, id).conflicts[0]!.conflictId;
    await a.commands.resolveConflict(id, conflictId, { kind: 'reopen' });
    await b.commands.resolveConflict(id, conflictId, { kind: 'refund_payment' });
    exchange(a.store, b.store);
    const screen = new ConflictsModel(a.log, a.commands, true);
    expect(screen.entries.map((e) => [e.ticket.id, e.conflict.overruled.length])).toEqual([
      [id, 1],
      [quiet, 0],
    ]);
    expect(ticketOf(a.store, id).conflicts[0]!).toEqual(ticketOf(b.store, id).conflicts[0]!);
  });
});
