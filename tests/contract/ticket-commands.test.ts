import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { EventStore } from '../../client/store/event-store';
import { CommandRefused, TicketCommands, refundableByMethod, refundableForLine, voidProblem, writerLabel } from '../../client/commands/ticket-commands';
import { MenuCommands } from '../../client/commands/menu-commands';
import { LocationCommands } from '../../client/commands/location-commands';
import { TableCommands } from '../../client/commands/table-commands';
import { LOCATION_DETAILS_ID } from '../../shared/domain/location-events';
import type { MenuItemView, TableView, TicketView } from '../../shared/projection/views';
import type { EventEnvelope } from '../../shared/events/envelope';
import { SegmentWriter, compactedOf } from '../../shared/log/log-doc';
import { FixedClockTerminal, ticketOf } from '../helpers/test-writer';
import { installLocalStorage } from '../helpers/device-storage';
import { closeAll, exchange, openStore, openedStores } from '../helpers/event-stores';

afterEach(() => closeAll(openedStores));

let n = 0;
async function terminal(terminalId: string, role: 'terminal' | 'manager' = 'terminal', location = `cmd-${++n}`) {
  const store = await openStore({ location, terminal: terminalId, persistence: 'memory' });
  return { store, commands: new TicketCommands({ store, role, staff: () => 'sam' }) };
}

/** Events written elsewhere reach the store (as the relay would bring them), each in its writer's segments. */
function deliver(store: EventStore, events: readonly EventEnvelope[]): void {
  const doc = new Y.Doc();
  doc.transact(() => {
    for (const writer of new Set(events.map((e) => e.origin.terminal))) {
      new SegmentWriter(doc, writer).append(events.filter((e) => e.origin.terminal === writer).map((e) => JSON.stringify(e)));
    }
  });
  Y.applyUpdate(store.doc, Y.encodeStateAsUpdate(doc), 'relay');
}

const burger = { id: 'burger', name: 'Cheeseburger', priceCents: 1250 };
const cola = { id: 'cola', name: 'Cola', priceCents: 350 };

describe('TicketCommands', () => {
  it('[TKN5] numbers from terminals working offline never collide and do not change after sync', async () => {
    const a = await terminal('till-1');
    const b = await terminal('till-2');
    const ids = [];
    for (let i = 0; i < 3; i++) {
      ids.push(await a.commands.openTicket());
      ids.push(await b.commands.openTicket());
    }
    const before = ids.map((id) => (a.store.view(id) ?? b.store.view(id)) as TicketView).map((v) => v.number);
    exchange(a.store, b.store);
    const after = ids.map((id) => (a.store.view(id) as TicketView).number);
    expect(after).toEqual(before);
    expect(new Set(after).size).toBe(6);
    expect(after.slice(0, 2)).toEqual([`${writerLabel(a.store.writer)}-001`, `${writerLabel(b.store.writer)}-001`]);
    // Numbering continues from what the writer has used, also as seen after sync.
    expect((a.store.view(await a.commands.openTicket()) as TicketView).number).toBe(`${writerLabel(a.store.writer)}-004`);
  });

  it('[TKN4] a number once issued is not issued again when the log no longer shows its ticket (compacted, its tombstone dropped): the device\'s high-water mark is above it', async () => {
    const { restore } = installLocalStorage();
    try {
      const location = `cmd-${++n}`;
      const first = await terminal('till-1', 'terminal', location);
      const issued = (first.store.view(await first.commands.openTicket()) as TicketView).number;
      await first.store.close();
      openedStores.length = 0;
      // The same writer on a log without that ticket: what compaction leaves once its tombstone expired.
      const again = await terminal('till-1', 'terminal', location);
      const next = (again.store.view(await again.commands.openTicket()) as TicketView).number;
      expect([issued, next]).toEqual([`${writerLabel('till-1')}-001`, `${writerLabel('till-1')}-002`]);
    } finally {
      restore();
    }
  });

  it('[TKN4] a number only an archived ticket\'s tombstone still shows is not issued again, with no high-water mark on the device (no localStorage)', async () => {
    const { store, commands } = await terminal('till-1');
    store.doc.transact(() => compactedOf(store.doc).set('t-old', { at: 1, by: store.writer, events: 3, number: `${commands.label}-005` }));
    expect((store.view(await commands.openTicket()) as TicketView).number).toBe(`${commands.label}-006`);
  });

  it('[CMD2] a line the kitchen made comes off at a till only by a manager; one sent and not made yet comes off (the kitchen sees it cancelled)', async () => {
    const location = `cmd-${++n}`;
    const till = await terminal('till-1', 'terminal', location);
    const manager = await terminal('manager-1', 'manager', location);
    const id = await till.commands.openTicket();
    await till.commands.addItem(id, { id: 'burger', name: 'Cheeseburger', priceCents: 1250 });
    await till.commands.addItem(id, { id: 'cola', name: 'Cola', priceCents: 350 });
    await till.commands.sendToKitchen(id);
    const [served, waiting] = (till.store.view(id) as TicketView).lines;
    await till.commands.bumpItem(id, served!.lineId);
    await expect(async () => till.commands.removeItem(id, served!.lineId)).rejects.toThrow(/only a manager may take off Cheeseburger, which the kitchen made/);
    await till.commands.removeItem(id, waiting!.lineId);
    expect((till.store.view(id) as TicketView).cancelledLines.map((l) => l.name)).toEqual(['Cola']);
    exchange(till.store, manager.store);
    await manager.commands.removeItem(id, served!.lineId);
    expect((manager.store.view(id) as TicketView).lines).toEqual([]);
  });

  it('[TKN7] writers whose hash labels coincide stop sharing numbers once one has seen the other', async () => {
    const location = `cmd-${++n}`;
    // Both hash to HKR at three letters.
    const a = await terminal('till-4', 'terminal', location);
    const b = await terminal('terminal-38', 'terminal', location);
    const first = a.store.view(await a.commands.openTicket()) as TicketView;
    expect(first.number).toBe('HKR-001');
    exchange(a.store, b.store);
    const second = b.store.view(await b.commands.openTicket()) as TicketView;
    expect(second.number).toMatch(/^HKR[A-Z]-001$/);
    // a keeps HKR: b's tickets are under its own longer label now. Offline, neither can issue the other's numbers.
    exchange(a.store, b.store);
    expect((a.store.view(await a.commands.openTicket()) as TicketView).number).toBe('HKR-002');
  });

  it('[TKN6] a second tab of a terminal numbers with its own prefix', () => {
    // A second tab writes as till-1.2, which hashes to a label of its own.
    expect(writerLabel('till-1')).toBe('CRD');
    expect(writerLabel('till-1.2')).toBe('LYW');
  });

  it('[CMD1] a whole order: items, kitchen, split payment with change, close, sale recorded once', async () => {
    const { store, commands } = await terminal('till-1');
    const t = await commands.openTicket({ tableId: 'table-4', covers: 2 });
    await commands.addItem(t, burger, 2, 'no onions');
    await commands.addItem(t, cola, 1);
    await commands.sendToKitchen(t);
    expect(() => commands.sendToKitchen(t)).toThrow(CommandRefused);
    await commands.recordPayment(t, { method: 'card', amountCents: 2000 });
    await commands.recordPayment(t, { method: 'cash', amountCents: 850, tenderedCents: 1000 });
    await commands.close(t);
    await commands.close(t).catch(() => undefined);
    const view = store.view(t) as TicketView;
    expect(view).toMatchObject({ status: 'closed', totalCents: 2850, paidCents: 2850, changeDueCents: 150, closedTotalCents: 2850 });
    expect(view.lines.map((l) => [l.name, l.quantity, l.note, l.sentAt !== null])).toEqual([
      ['Cheeseburger', 2, 'no onions', true],
      ['Cola', 1, null, true],
    ]);
    expect(view.sale).toMatchObject({ totalCents: 2850, paidCents: 2850 });
    expect(store.getByAggregate(t).filter((e) => e.type === 'sale.recorded')).toHaveLength(1);
  });

  it('[CMD2] only a manager may void or resolve conflicts', async () => {
    const till = await terminal('till-1');
    const t = await till.commands.openTicket();
    expect(() => till.commands.void(t, 'walked out')).toThrow(/only a manager/);
    const manager = new TicketCommands({ store: till.store, role: 'manager' });
    await manager.void(t, 'walked out');
    expect((till.store.view(t) as TicketView).status).toBe('voided');
  });

  it('[PRJ26] a hand-back names the refunds its card carries on this device: a refund reaching the ticket later is not part of it', async () => {
    const till = await terminal('till-1');
    const manager = new TicketCommands({ store: till.store, role: 'manager' });
    const t = await till.commands.openTicket();
    await till.commands.addItem(t, burger, 1);
    await till.commands.addItem(t, cola, 1);
    await till.commands.recordPayment(t, { method: 'cash', amountCents: 1600 });
    await till.commands.close(t);
    await manager.refund(t, { method: 'cash', amountCents: 300, reason: 'cold' });
    const view = () => till.store.view(t) as TicketView;
    // A comp after the close, reopened: the payment no longer fits, and is held with the refund.
    await manager.compLine(t, view().lines[0]!.lineId, 'flat');
    await manager.resolveConflict(t, view().conflicts.find((c) => c.kind === 'change_after_close')!.conflictId, { kind: 'reopen' });
    const card = view().conflicts.find((c) => c.kind === 'over_payment' && c.status === 'open')!;
    expect(card.detail).toMatch(/3\.00 of it refunded already/);
    const carried = view().refunds.map((r) => r.refundId);
    await manager.resolveConflict(t, card.conflictId, { kind: 'refund_payment' });
    const resolved = till.store.getByAggregate(t).filter((e) => e.type === 'conflict.resolved').at(-1)!;
    expect([resolved.v, resolved.payload]).toEqual([2, { conflictId: card.conflictId, resolution: { kind: 'refund_payment' }, refundIds: carried }]);
    expect(view().refunds.map((r) => r.state)).toEqual(['settled']);
  });

  it('[CMD5] a closed ticket is refunded, not voided: the void is refused, writing nothing; an open, sent or paid one is voided', async () => {
    const till = await terminal('till-1');
    const manager = new TicketCommands({ store: till.store, role: 'manager' });
    const status = (id: string) => (till.store.view(id) as TicketView).status;
    // A void would take a closed ticket's money out of the day it was counted and hand it back on none.
    const closed = await till.commands.openTicket();
    await till.commands.addItem(closed, burger, 1);
    await till.commands.recordPayment(closed, { method: 'cash', amountCents: 1250 });
    await till.commands.close(closed);
    const written = till.store.getByAggregate(closed).length;
    expect(() => manager.void(closed, 'wrong table')).toThrow(CommandRefused);
    expect(() => manager.void(closed, 'wrong table')).toThrow(/a closed ticket is refunded, not voided: use Refund…/);
    expect(till.store.getByAggregate(closed)).toHaveLength(written);
    expect(status(closed)).toBe('closed');

    const open = await till.commands.openTicket();
    await till.commands.addItem(open, cola, 1);
    const sent = await till.commands.openTicket();
    await till.commands.addItem(sent, cola, 1);
    await till.commands.sendToKitchen(sent);
    const paid = await till.commands.openTicket();
    await till.commands.addItem(paid, cola, 1);
    await till.commands.recordPayment(paid, { method: 'card', amountCents: 350 });
    expect([status(open), status(sent), status(paid)]).toEqual(['open', 'sent', 'paid']);
    // The ticket screen offers Void… by the same rule.
    expect([closed, open, sent, paid].map((id) => voidProblem(till.store.view(id) as TicketView))).toEqual(['a closed ticket is refunded, not voided: use Refund…', null, null, null]);
    for (const id of [open, sent, paid]) await manager.void(id, 'walked out');
    expect([status(open), status(sent), status(paid)]).toEqual(['voided', 'voided', 'voided']);
    expect(() => manager.void(open, 'again')).toThrow(/voided already/);
  });

  it('[CMD2][PRJ15] only a manager may comp a line: a terminal\'s compLine is refused writing nothing; a manager\'s comps it once', async () => {
    const till = await terminal('till-1');
    const t = await till.commands.openTicket();
    await till.commands.addItem(t, burger, 1);
    await till.commands.addItem(t, cola, 2);
    const [burgerLine, colaLine] = (till.store.view(t) as TicketView).lines;
    const written = () => till.store.getByAggregate(t).length;
    const before = written();
    expect(() => till.commands.compLine(t, colaLine!.lineId, 'flat')).toThrow(CommandRefused);
    expect(() => till.commands.compLine(t, colaLine!.lineId, 'flat')).toThrow(/only a manager may comp a line/);
    expect(written()).toBe(before);

    const manager = new TicketCommands({ store: till.store, role: 'manager', staff: () => 'kim' });
    await manager.compLine(t, colaLine!.lineId, 'flat');
    const view = till.store.view(t) as TicketView;
    expect(view.totalCents).toBe(burger.priceCents);
    expect(view.lines.map((l) => [l.lineId, l.comped?.reason ?? null, l.comped?.staff ?? null])).toEqual([
      [burgerLine!.lineId, null, null],
      [colaLine!.lineId, 'flat', 'kim'],
    ]);
    // Once only, and only lines on the ticket.
    expect(() => manager.compLine(t, colaLine!.lineId, 'again')).toThrow(/Cola is already comped \(flat\)/);
    expect(() => manager.compLine(t, 'line-nope', 'cold')).toThrow(/no line line-nope/);
    expect(written()).toBe(before + 1);
  });

  it('[CMD2][PRJ16] only a manager may refund, on a closed ticket, each way at most what it took less its refunds', async () => {
    const till = await terminal('till-1');
    const t = await till.commands.openTicket();
    await till.commands.addItem(t, burger, 2);
    await till.commands.recordPayment(t, { method: 'card', amountCents: 1500 });
    await till.commands.recordPayment(t, { method: 'cash', amountCents: 1000, tenderedCents: 2000 });
    const manager = new TicketCommands({ store: till.store, role: 'manager', staff: () => 'kim' });
    expect(() => manager.refund(t, { method: 'cash', amountCents: 100, reason: 'cold' })).toThrow(/only a closed ticket is refunded/);
    await till.commands.close(t);
    const written = () => till.store.getByAggregate(t).length;
    const before = written();
    expect(() => till.commands.refund(t, { method: 'cash', amountCents: 1250, reason: 'cold' })).toThrow(/only a manager may give a refund/);
    expect(written()).toBe(before);

    // 15.00 went on the card and 10.00 into the drawer: no more than that goes back each way.
    expect(() => manager.refund(t, { method: 'cash', amountCents: 1250, reason: 'cold' })).toThrow(/at most 10\.00 can go back in cash/);
    await manager.refund(t, { method: 'cash', amountCents: 1000, reason: 'cold' });
    expect(() => manager.refund(t, { method: 'cash', amountCents: 1, reason: 'more' })).toThrow(/at most 0\.00 can go back in cash/);
    expect(() => manager.refund(t, { method: 'card', amountCents: 1501, reason: 'again' })).toThrow(/at most 15\.00 can go back to card/);
    await manager.refund(t, { method: 'card', amountCents: 1500, reason: 'the other one too' });
    expect(() => manager.refund(t, { method: 'card', amountCents: 1, reason: 'more' })).toThrow(/at most 0\.00/);
    const view = till.store.view(t) as TicketView;
    expect(view).toMatchObject({ status: 'closed', paidCents: 2500, refundedCents: 2500 });
    expect(view.refunds.map((r) => [r.method, r.amountCents, r.reason, r.staff, r.state])).toEqual([
      ['cash', 1000, 'cold', 'kim', 'applied'],
      ['card', 1500, 'the other one too', 'kim', 'applied'],
    ]);
    expect(written()).toBe(before + 2);

    const voided = await till.commands.openTicket();
    await till.commands.addItem(voided, cola, 1);
    await till.commands.recordPayment(voided, { method: 'card', amountCents: 350 });
    await manager.void(voided, 'wrong table');
    expect(() => manager.refund(voided, { method: 'card', amountCents: 350, reason: 'x' })).toThrow(/voided: settle its payments under Conflicts/);
  });

  it('[PRJ16] what can go back by one way never exceeds what the ticket keeps: refunds given concurrently past the cash taken leave the card only the rest', () => {
    const ticket = {
      payments: [
        { state: 'applied', method: 'card', amountCents: 1000 },
        { state: 'applied', method: 'cash', amountCents: 1000 },
      ],
      // Two managers, offline, each handed back 8.00 in cash.
      refunds: [
        { state: 'applied', method: 'cash', amountCents: 800 },
        { state: 'applied', method: 'cash', amountCents: 800 },
      ],
      paidCents: 2000,
      refundedCents: 1600,
    } as Parameters<typeof refundableByMethod>[0];
    expect(refundableByMethod(ticket)).toEqual({ cash: 0, card: 400 });
  });

  it('[CMD2][PRJ17] only a manager may discount a ticket, not above what its lines charge, and not once it ended', async () => {
    const till = await terminal('till-1');
    const t = await till.commands.openTicket();
    await till.commands.addItem(t, burger, 2); // 25.00
    expect(() => till.commands.setDiscount(t, { kind: 'percent', percent: 10, reason: 'staff meal' })).toThrow(/only a manager may give a discount/);
    const manager = new TicketCommands({ store: till.store, role: 'manager', staff: () => 'kim' });
    expect(() => manager.setDiscount(t, { kind: 'amount', amountCents: 2501, reason: 'voucher' })).toThrow(/more than the 25\.00 the ticket charges/);
    await manager.setDiscount(t, { kind: 'percent', percent: 10, reason: 'staff meal' });
    expect(till.store.view(t)).toMatchObject({ subtotalCents: 2500, totalCents: 2250, discount: { percent: 10, staff: 'kim' } });
    await manager.setDiscount(t, null);
    expect(till.store.view(t)).toMatchObject({ totalCents: 2500, discount: null });
    await manager.setDiscount(t, { kind: 'amount', amountCents: 500, reason: 'voucher' });
    await till.commands.recordPayment(t, { method: 'card', amountCents: 2000 });
    // Paid already: a bigger discount would leave more paid than the total (the payment held, a second one invited).
    expect(() => manager.setDiscount(t, { kind: 'percent', percent: 50, reason: 'late' })).toThrow(/20\.00 is paid already, more than the discounted total: close the ticket and give a refund instead/);
    const comped = await till.commands.openTicket();
    await till.commands.addItem(comped, cola, 1);
    await manager.compLine(comped, (till.store.view(comped) as TicketView).lines[0]!.lineId, 'birthday');
    expect(() => manager.setDiscount(comped, { kind: 'percent', percent: 10, reason: 'staff' })).toThrow(/nothing to take off/);
    await till.commands.close(t);
    expect(till.store.view(t)).toMatchObject({ status: 'closed', closedTotalCents: 2000, sale: { totalCents: 2000 }, openConflicts: 0 });
    expect(() => manager.setDiscount(t, null)).toThrow(/the ticket is closed/);
  });

  it('[CMD4][PRJ18] a ticket a manager reopens and that closes again at another total hands the back office a new sale for that close', async () => {
    const till = await terminal('till-1');
    const manager = new TicketCommands({ store: till.store, role: 'manager' });
    const t = await till.commands.openTicket();
    await till.commands.addItem(t, burger, 1);
    await till.commands.addItem(t, cola, 1);
    await till.commands.recordPayment(t, { method: 'card', amountCents: 1600 });
    await till.commands.close(t);
    expect((till.store.view(t) as TicketView).sale).toMatchObject({ totalCents: 1600, closeEventId: null });
    // A comp after the close is held; the manager reopens the ticket to apply it, and it closes again at 12.50.
    await manager.compLine(t, (till.store.view(t) as TicketView).lines[1]!.lineId, 'flat');
    const held = (till.store.view(t) as TicketView).conflicts.find((c) => c.kind === 'change_after_close')!;
    await manager.resolveConflict(t, held.conflictId, { kind: 'reopen' });
    const payment = (till.store.view(t) as TicketView).conflicts.find((c) => c.kind === 'over_payment' && c.status === 'open')!;
    await manager.resolveConflict(t, payment.conflictId, { kind: 'refund_payment' });
    await till.commands.recordPayment(t, { method: 'card', amountCents: 1250 });
    await till.commands.close(t);
    const view = till.store.view(t) as TicketView;
    const [firstClose, close] = till.store.getByAggregate(t).filter((e) => e.type === 'ticket.closed');
    expect(view).toMatchObject({ status: 'closed', closedTotalCents: 1250, sale: { totalCents: 1250, paidCents: 1250, closeEventId: close!.id } });
    const sales = till.store.getByAggregate(t).filter((e) => e.type === 'sale.recorded');
    // Each keyed by the close it records.
    expect(sales.map((e) => [e.key, e.v, (e.payload as { totalCents: number }).totalCents])).toEqual([
      [`sale-${t}-${firstClose!.id}`, 1, 1600],
      [`sale-${t}-${close!.id}`, 2, 1250],
    ]);
    // The first sale is marked replaced in the history.
    expect(till.store.history(t).filter((h) => h.type === 'sale.recorded').map((h) => h.status)).toEqual(['superseded', 'applied']);
  });

  it('[CMD4][PRJ18] two tills closing offline at different totals: the total a manager accepts is sold again, replacing the first sale', async () => {
    const location = `cmd-${++n}`;
    const a = await terminal('till-1', 'terminal', location);
    const b = await terminal('till-2', 'terminal', location);
    const t = await a.commands.openTicket();
    await a.commands.addItem(t, burger, 1);
    exchange(a.store, b.store);
    // A adds a cola before closing; B, offline, closes without it.
    await a.commands.addItem(t, cola, 1);
    await a.commands.recordPayment(t, { method: 'card', amountCents: 1600 });
    await a.commands.close(t);
    await b.commands.recordPayment(t, { method: 'cash', amountCents: 1250 });
    await b.commands.close(t);
    exchange(a.store, b.store);
    const mismatch = (a.store.view(t) as TicketView).conflicts.find((c) => c.kind === 'close_total_mismatch' && c.status === 'open')!;
    expect(mismatch).toBeDefined();
    const manager = new TicketCommands({ store: a.store, role: 'manager' });
    await manager.resolveConflict(t, mismatch.conflictId, { kind: 'accept_total', totalCents: 1600 });
    const view = a.store.view(t) as TicketView;
    expect(view).toMatchObject({ closedTotalCents: 1600, sale: { totalCents: 1600, closeEventId: view.closedEventId } });
    // Accepting the total the sale already has is sold again, and folds as the same sale.
    const saleBefore = (a.store.view(t) as TicketView).sale;
    const other = (a.store.view(t) as TicketView).conflicts.find((c) => c.kind === 'close_total_mismatch' && c.status === 'open');
    if (other) await manager.resolveConflict(t, other.conflictId, { kind: 'accept_total', totalCents: 1600 });
    expect((a.store.view(t) as TicketView).sale).toEqual(saleBefore);
  });

  it('[CMD4][PRJ18] four tills closing at four totals, managers accepting totals concurrently and one after another: the sale is always at the total the close holds at, on every replica', async () => {
    const location = `cmd-${++n}`;
    const tills = [
      await terminal('till-1', 'terminal', location),
      await terminal('till-2', 'terminal', location),
      await terminal('till-3', 'terminal', location),
      await terminal('till-4', 'terminal', location),
    ];
    const [a, b, c, d] = tills;
    const t = await a!.commands.openTicket();
    await a!.commands.addItem(t, burger, 1);
    exchange(a!.store, b!.store);
    exchange(a!.store, c!.store);
    await a!.commands.addItem(t, cola, 1);
    exchange(a!.store, d!.store);
    await a!.commands.close(t); // 16.00
    await b!.commands.close(t); // 12.50
    await c!.commands.addItem(t, burger, 1);
    await c!.commands.close(t); // 25.00
    await d!.commands.addItem(t, cola, 1);
    await d!.commands.close(t); // 19.50
    const syncAll = () => {
      for (const x of tills) for (const y of tills) if (x !== y) exchange(x.store, y.store);
    };
    syncAll();
    const managerOf = (store: EventStore) => new TicketCommands({ store, role: 'manager' });
    const mismatches = () => (a!.store.view(t) as TicketView).conflicts.filter((k) => k.kind === 'close_total_mismatch' && k.status === 'open');
    const consistent = () => {
      for (const x of tills) {
        const v = x.store.view(t) as TicketView;
        expect(v.sale?.totalCents, x.store.writer).toBe(v.closedTotalCents);
        expect(v).toEqual(a!.store.view(t));
      }
    };
    // Four closes at four totals: each close after the first is a mismatch with it, and the
    // first differs from the lines all tills added.
    const open = mismatches();
    expect(open).toHaveLength(4);
    // Two managers, each on their own replica, settle two of the conflicts at two totals at once.
    await managerOf(a!.store).resolveConflict(t, open[0]!.conflictId, { kind: 'accept_total', totalCents: 1600 });
    await managerOf(b!.store).resolveConflict(t, open[1]!.conflictId, { kind: 'accept_total', totalCents: 1250 });
    syncAll();
    consistent();
    // One after another on one replica, the second back to a total accepted before.
    expect(mismatches()).toHaveLength(2);
    await managerOf(a!.store).resolveConflict(t, mismatches()[0]!.conflictId, { kind: 'accept_total', totalCents: 2500 });
    expect((a!.store.view(t) as TicketView).closedTotalCents).toBe(2500);
    syncAll();
    consistent();
    expect(mismatches()).toHaveLength(1);
    await managerOf(a!.store).resolveConflict(t, mismatches()[0]!.conflictId, { kind: 'accept_total', totalCents: 1600 });
    expect(mismatches()).toHaveLength(0);
    syncAll();
    consistent();
    expect((a!.store.view(t) as TicketView).closedTotalCents).toBe(1600);
  });

  it('[CMD4][PRJ18] a till that has the reopening but not yet the first sale closes again with a sale naming its close: the back office holds the close that stands', async () => {
    const TK = { id: 'tk-resold', type: 'ticket' };
    const a = new FixedClockTerminal('till-1');
    const b = new FixedClockTerminal('till-2', 1_000);
    const manager = new FixedClockTerminal('manager-1', 2_000);
    const base = [
      a.write(TK, 'ticket.opened', { number: 'A-006' }),
      a.write(TK, 'ticket.item_added', { lineId: 'l-main', menuItemId: 'm-main', name: 'Main', unitPriceCents: 2000, quantity: 1 }),
      a.write(TK, 'ticket.payment_recorded', { paymentId: 'p-1', method: 'card', amountCents: 2000 }),
    ];
    b.see(...base);
    const firstClose = a.write(TK, 'ticket.closed', { totalCents: 2000 });
    const firstSale = a.write(TK, 'sale.recorded', { ticketId: TK.id, totalCents: 2000, paidCents: 2000, closedAt: firstClose.at }, { key: `sale-${TK.id}` });
    // A dessert added by a till that had not seen the close is held; a manager reopens for it.
    const dessert = b.write(TK, 'ticket.item_added', { lineId: 'l-dessert', menuItemId: 'm-d', name: 'Dessert', unitPriceCents: 1000, quantity: 1 });
    manager.see(...base, firstClose, dessert);
    const held = ticketOf([...base, firstClose, dessert]).conflicts.find((c) => c.kind === 'change_after_close')!;
    const reopen = manager.write(TK, 'conflict.resolved', { conflictId: held.conflictId, resolution: { kind: 'reopen' } });
    // Till 3 has all that, not the first sale (till 1 could not relay it yet): it takes the 10.00 and closes.
    const c = await terminal('till-3');
    deliver(c.store, [...base, firstClose, dessert, reopen]);
    expect((c.store.view(TK.id) as TicketView).sale).toBeNull();
    await c.commands.recordPayment(TK.id, { method: 'cash', amountCents: 1000 });
    await c.commands.close(TK.id);
    const close = c.store.getByAggregate(TK.id).filter((e) => e.type === 'ticket.closed').at(-1)!;
    const sales = () => c.store.getByAggregate(TK.id).filter((e) => e.type === 'sale.recorded');
    expect(sales().map((e) => [e.v, (e.payload as { closeEventId?: string }).closeEventId])).toEqual([[2, close.id]]);
    // The first sale arrives: the sale that counts is the one of the close that stands.
    deliver(c.store, [firstSale]);
    expect((c.store.view(TK.id) as TicketView).sale).toMatchObject({ totalCents: 3000, closeEventId: close.id });
  });

  it('[CMD4] a total a manager accepts is sold at it even on a device that has not received the first sale yet', async () => {
    const TK = { id: 'tk-accepted', type: 'ticket' };
    const a = new FixedClockTerminal('till-1');
    const b = new FixedClockTerminal('till-2', 1_000);
    const base = [a.write(TK, 'ticket.opened', { number: 'A-007' }), a.write(TK, 'ticket.item_added', { lineId: 'l-main', menuItemId: 'm-main', name: 'Main', unitPriceCents: 2000, quantity: 1 })];
    b.see(...base);
    // Till 2 adds a dessert and closes at 30.00; till 1, offline, closes at 20.00 and records the first sale.
    const closes = [b.write(TK, 'ticket.item_added', { lineId: 'l-d', menuItemId: 'm-d', name: 'Dessert', unitPriceCents: 1000, quantity: 1 }), b.write(TK, 'ticket.closed', { totalCents: 3000 }), a.write(TK, 'ticket.closed', { totalCents: 2000 })];
    const firstSale = a.write(TK, 'sale.recorded', { ticketId: TK.id, totalCents: 2000, paidCents: 0, closedAt: closes[2]!.at }, { key: `sale-${TK.id}` });
    const manager = await terminal('manager-1', 'manager');
    deliver(manager.store, [...base, ...closes]);
    const mismatch = (manager.store.view(TK.id) as TicketView).conflicts.find((c) => c.kind === 'close_total_mismatch' && c.status === 'open')!;
    await manager.commands.resolveConflict(TK.id, mismatch.conflictId, { kind: 'accept_total', totalCents: 3000 });
    deliver(manager.store, [firstSale]);
    const view = manager.store.view(TK.id) as TicketView;
    expect(view).toMatchObject({ closedTotalCents: 3000, sale: { totalCents: 3000, closeEventId: view.closedEventId } });
  });

  it('[APP35] a line held back is left by Send and sent by Fire; a sent line cannot be held; holding as it is writes nothing', async () => {
    const till = await terminal('till-1');
    const t = await till.commands.openTicket();
    await till.commands.addItem(t, burger, 1);
    await till.commands.addItem(t, cola, 1);
    const [burgerLine, colaLine] = (till.store.view(t) as TicketView).lines.map((l) => l.lineId);
    await till.commands.holdLine(t, burgerLine!, true);
    const written = till.store.getByAggregate(t).length;
    await till.commands.holdLine(t, burgerLine!, true);
    expect(till.store.getByAggregate(t)).toHaveLength(written);
    await till.commands.fireHeld(t);
    // Fired: the burger went; the cola, not held, waits for Send.
    const sent = () => (till.store.view(t) as TicketView).lines.map((l) => [l.lineId, l.sentAt !== null]);
    expect(sent()).toEqual([
      [burgerLine, true],
      [colaLine, false],
    ]);
    await expect(till.commands.holdLine(t, burgerLine!, false)).rejects.toThrow(/Cheeseburger is in the kitchen already/);
    expect(() => till.commands.fireHeld(t)).toThrow(/no line is held back/);
    await till.commands.holdLine(t, colaLine!, true);
    expect(() => till.commands.sendToKitchen(t)).toThrow(/nothing new to send/);
    await till.commands.holdLine(t, colaLine!, false);
    await till.commands.sendToKitchen(t);
    expect(sent().every(([, s]) => s)).toBe(true);
  });

  it('[CMD3] two offline terminals both closing a ticket hand one sale to the back office', async () => {
    const location = `cmd-${++n}`;
    const a = await terminal('till-1', 'terminal', location);
    const b = await terminal('till-2', 'terminal', location);
    const t = await a.commands.openTicket();
    await a.commands.addItem(t, burger, 1);
    await a.commands.recordPayment(t, { method: 'card', amountCents: 1250 });
    exchange(a.store, b.store);
    await a.commands.close(t);
    await b.commands.close(t);
    exchange(a.store, b.store);
    const view = a.store.view(t) as TicketView;
    expect(view.sale).not.toBeNull();
    expect(a.store.history(t).filter((h) => h.type === 'sale.recorded').map((h) => h.status).sort()).toEqual(['applied', 'duplicate']);
    expect(a.store.view(t)).toEqual(b.store.view(t));
  });
});

describe('MenuCommands: the menu from a manager\'s tablet', () => {
  it('[APP26][CMD2] a manager adds an item, reprices it and takes it off the menu; lines already on a ticket keep their price; a till may do none of it', async () => {
    const location = `cmd-${++n}`;
    const manager = await terminal('manager-1', 'manager', location);
    const till = await terminal('till-1', 'terminal', location);
    const managerMenu = new MenuCommands({ store: manager.store, role: 'manager' });
    const tillMenu = new MenuCommands({ store: till.store, role: 'terminal' });
    expect(() => tillMenu.define({ name: 'Soup', category: 'Starters', priceCents: 700 })).toThrow(new CommandRefused('only a manager may change the menu'));

    const id = await managerMenu.define({ name: ' Soup of the day ', category: 'Starters', priceCents: 750, station: '' });
    exchange(manager.store, till.store);
    const soup = till.store.view(id) as MenuItemView;
    expect(soup).toMatchObject({ name: 'Soup of the day', category: 'Starters', priceCents: 750, station: null, retired: false });
    const t = await till.commands.openTicket();
    await till.commands.addItem(t, soup);

    expect(() => tillMenu.reprice(id, 800)).toThrow(new CommandRefused('only a manager may change the menu'));
    await managerMenu.reprice(id, 800);
    exchange(manager.store, till.store);
    expect((till.store.view(id) as MenuItemView).priceCents).toBe(800);
    expect((till.store.view(t) as TicketView).lines.map((l) => l.unitPriceCents)).toEqual([750]);

    expect(() => tillMenu.retire(id)).toThrow(new CommandRefused('only a manager may change the menu'));
    await managerMenu.retire(id);
    expect(() => managerMenu.retire(id)).toThrow(new CommandRefused('Soup of the day is already off the menu'));
    exchange(manager.store, till.store);
    expect((till.store.view(id) as MenuItemView).retired).toBe(true);
    expect((till.store.view(t) as TicketView).lines).toHaveLength(1);
    // Nothing of the refused attempts was written.
    expect(till.store.getByAggregate(id).map((e) => e.origin.terminal)).toEqual(['manager-1', 'manager-1', 'manager-1']);
  });
});

describe('a banquet: more lines than one send names', () => {
  it('[APP38] a ticket of 450 lines goes to the kitchen in sends of 200 at most, every line sent', async () => {
    const till = await terminal('till-1');
    const t = await till.commands.openTicket();
    for (let i = 0; i < 450; i++) await till.commands.addItem(t, burger, 1);
    await till.commands.sendToKitchen(t);
    const sends = till.store.getByAggregate(t).filter((e) => e.type === 'ticket.sent_to_kitchen').map((e) => (e.payload as { lineIds: string[] }).lineIds.length);
    expect(sends).toEqual([200, 200, 50]);
    expect((till.store.view(t) as TicketView).lines.every((l) => l.sentAt !== null)).toBe(true);
  });
});

describe('TableCommands: the floor plan from a manager\'s tablet', () => {
  it('[APP40][CMD2] a manager adds a table, renames it, changes its seats and takes it off the floor; a ticket at it keeps it; a till may do none of it', async () => {
    const location = `cmd-${++n}`;
    const manager = await terminal('manager-1', 'manager', location);
    const till = await terminal('till-1', 'terminal', location);
    const managerTables = new TableCommands({ store: manager.store, role: 'manager' });
    const tillTables = new TableCommands({ store: till.store, role: 'terminal' });
    const onlyManagers = new CommandRefused('only a manager may set up the tables');
    expect(() => tillTables.define({ label: 'T1', seats: 2 })).toThrow(onlyManagers);

    const id = await managerTables.define({ label: ' Terrace 1 ', seats: 4 });
    expect(() => managerTables.define({ label: 'terrace 1', seats: 2 })).toThrow(new CommandRefused('there is a table Terrace 1 already'));
    expect(() => managerTables.define({ label: ' ', seats: 2 })).toThrow(new CommandRefused('name the table'));
    expect(() => managerTables.define({ label: 'T2', seats: 0 })).toThrow(new CommandRefused('a table seats 1 to 99 guests'));
    expect(() => managerTables.define({ label: 'T2', seats: 2.5 })).toThrow(new CommandRefused('a table seats 1 to 99 guests'));
    exchange(manager.store, till.store);
    expect(till.store.view(id)).toMatchObject({ kind: 'table', label: 'Terrace 1', seats: 4, retired: false });
    const t = await till.commands.openTicket({ tableId: id, covers: 4 });

    expect(() => tillTables.change(id, { seats: 6 })).toThrow(onlyManagers);
    expect(() => managerTables.change(id, { label: 'Terrace 1', seats: 4 })).toThrow(new CommandRefused('nothing changed'));
    // Only what changed is written: the seats another tablet sets meanwhile hold.
    const renamed = await managerTables.change(id, { label: 'Terrace A', seats: 4 });
    expect(renamed.payload).toEqual({ tableId: id, label: 'Terrace A' });
    await managerTables.change(id, { seats: 6 });
    exchange(manager.store, till.store);
    expect(till.store.view(id)).toMatchObject({ label: 'Terrace A', seats: 6 });

    expect(() => tillTables.retire(id)).toThrow(onlyManagers);
    await managerTables.retire(id);
    expect(() => managerTables.retire(id)).toThrow(new CommandRefused('table Terrace A is already off the floor'));
    exchange(manager.store, till.store);
    expect((till.store.view(id) as TableView).retired).toBe(true);
    expect(tillTables.inUse()).toEqual([]);
    expect((till.store.view(t) as TicketView).tableId).toBe(id);
    // A retired table's label is free again.
    await managerTables.define({ label: 'Terrace A', seats: 2 });
    expect(till.store.getByAggregate(id).map((e) => e.origin.terminal)).toEqual(['manager-1', 'manager-1', 'manager-1', 'manager-1']);
  });
});

describe('tax rates from a manager\'s tablet', () => {
  it('[APP31][EVT11] a refund for one line: at most what that line has left of what it was sold at (its share of the total) after the refunds; written as v2 naming it, one for the ticket as v1', async () => {
    const till = await terminal('till-1');
    const t = await till.commands.openTicket();
    await till.commands.addItem(t, { ...burger, taxBasisPoints: 1000 }, 2); // 25.00
    await till.commands.addItem(t, { ...cola, taxBasisPoints: 2000 }, 1); // 3.50
    await till.commands.recordPayment(t, { method: 'card', amountCents: 2850 });
    await till.commands.close(t);
    const manager = new TicketCommands({ store: till.store, role: 'manager', staff: () => 'kim' });
    const [burgers, colaLine] = (till.store.view(t) as TicketView).lines;
    expect(() => manager.refund(t, { method: 'card', amountCents: 351, reason: 'flat', lineId: colaLine!.lineId })).toThrow(/at most 3\.50 can go back for the Cola/);
    expect(() => manager.refund(t, { method: 'card', amountCents: 100, reason: 'flat', lineId: 'line-nope' })).toThrow(/charges no such line/);
    await manager.refund(t, { method: 'card', amountCents: 1250, reason: 'one was cold', lineId: burgers!.lineId });
    await manager.refund(t, { method: 'card', amountCents: 100, reason: 'slow' });
    expect(till.store.getByAggregate(t).slice(-2).map((e) => [e.v, (e.payload as { lineId?: string }).lineId ?? null])).toEqual([
      [2, burgers!.lineId],
      [1, null],
    ]);
    // The 1.00 for the whole ticket came off both lines in proportion to what they had left (0.78 and 0.22).
    expect(() => manager.refund(t, { method: 'card', amountCents: 1173, reason: 'the other', lineId: burgers!.lineId })).toThrow(/at most 11\.72 can go back for the Cheeseburger/);
    expect(refundableForLine(till.store.view(t) as TicketView, colaLine!.lineId)).toBe(328);
    expect((till.store.view(t) as TicketView).refunds.map((r) => r.line?.lineId ?? null)).toEqual([burgers!.lineId, null]);
  });


  it('[APP31][CMD2] an item is defined with the tax in its price; a line copies it; a new rate reaches new lines only; a till may not set one', async () => {
    const location = `cmd-${++n}`;
    const manager = await terminal('manager-1', 'manager', location);
    const till = await terminal('till-1', 'terminal', location);
    const managerMenu = new MenuCommands({ store: manager.store, role: 'manager' });
    const tillMenu = new MenuCommands({ store: till.store, role: 'terminal' });
    const id = await managerMenu.define({ name: 'House red', category: 'Drinks', priceCents: 750, taxBasisPoints: 2000 });
    expect(manager.store.getByAggregate(id)[0]).toMatchObject({ type: 'menu.item_defined', v: 2 });
    exchange(manager.store, till.store);
    const t = await till.commands.openTicket();
    await till.commands.addItem(t, till.store.view(id) as MenuItemView);
    expect(till.store.getByAggregate(t).at(-1)).toMatchObject({ type: 'ticket.item_added', v: 3, payload: { taxBasisPoints: 2000 } });

    expect(() => tillMenu.setTaxRate(id, 1000)).toThrow(new CommandRefused('only a manager may change the menu'));
    expect(() => managerMenu.setTaxRate(id, 2000)).toThrow(new CommandRefused('House red is already taxed at that rate'));
    await managerMenu.setTaxRate(id, 1000);
    exchange(manager.store, till.store);
    expect((till.store.view(id) as MenuItemView).taxBasisPoints).toBe(1000);
    await till.commands.addItem(t, till.store.view(id) as MenuItemView);
    expect((till.store.view(t) as TicketView).lines.map((l) => l.taxBasisPoints)).toEqual([2000, 1000]);
    // A rate set by mistake is taken off: new lines have none again.
    expect(() => tillMenu.setTaxRate(id, null)).toThrow(new CommandRefused('only a manager may change the menu'));
    await managerMenu.setTaxRate(id, null);
    expect(() => managerMenu.setTaxRate(id, null)).toThrow(new CommandRefused('House red has no tax rate'));
    expect((manager.store.view(id) as MenuItemView).taxBasisPoints).toBeNull();
    // An item with no rate makes a line with none, written as before rates existed (v2): older builds still fold it.
    await till.commands.addItem(t, burger);
    expect(till.store.getByAggregate(t).at(-1)).toMatchObject({ type: 'ticket.item_added', v: 2 });
    expect((till.store.view(t) as TicketView).lines.at(-1)?.taxBasisPoints).toBeNull();
  });
});

describe('what receipts say about the business (LocationCommands)', () => {
  it('[APP32][CMD2] a manager writes the fields changed, trimmed (an emptied one taken off, never the name); a till may not', async () => {
    const manager = await terminal('manager-1', 'manager');
    const managerDetails = new LocationCommands({ store: manager.store, role: 'manager' });
    const tillDetails = new LocationCommands({ store: manager.store, role: 'terminal' });
    expect(() => tillDetails.setDetails({ name: 'Bistro' })).toThrow(new CommandRefused('only a manager may change what receipts say'));
    expect(() => managerDetails.setDetails({ name: '  ' })).toThrow(new CommandRefused('name the business: receipts start with it'));
    expect(() => managerDetails.setDetails({})).toThrow(new CommandRefused('nothing changed'));
    const written = await managerDetails.setDetails({ name: ' Bistro ', address: '1 Market St\r\nTown ', receiptFooter: 'Ciao!' });
    expect(written).toMatchObject({ type: 'location.details_set', aggregate: { type: 'location', id: LOCATION_DETAILS_ID }, payload: { name: 'Bistro', address: '1 Market St\nTown', receiptFooter: 'Ciao!' } });
    expect(written.payload).not.toHaveProperty('taxNumber');
    const footerOff = await managerDetails.setDetails({ receiptFooter: ' ' });
    expect(footerOff.payload).toEqual({ receiptFooter: null });
    expect(manager.store.view(LOCATION_DETAILS_ID)).toMatchObject({ kind: 'location', name: 'Bistro', address: '1 Market St\nTown', taxNumber: null, receiptFooter: null });
  });
});

describe('guests (covers)', () => {
  it('[APP33] a till counts the guests of a ticket (the opening took the table\'s seats); the same count again writes nothing', async () => {
    const till = await terminal('till-1');
    const t = await till.commands.openTicket({ tableId: 't5', covers: 4 });
    await till.commands.setCovers(t, 3);
    expect(till.store.getByAggregate(t).at(-1)).toMatchObject({ type: 'ticket.covers_set', payload: { covers: 3 } });
    const written = till.store.getByAggregate(t).length;
    expect(() => till.commands.setCovers(t, 3)).toThrow(new CommandRefused('the ticket already has 3 guests'));
    expect(till.store.getByAggregate(t)).toHaveLength(written);
    expect((till.store.view(t) as TicketView).covers).toBe(3);
  });
});

describe('who is serving (origin.staff)', () => {
  it('[APP23] every event carries who is signed in on the device when it is written; with no one signed in, none', async () => {
    const store = await openStore({ location: `cmd-${++n}`, persistence: 'memory' });
    let signedIn: string | null = 'Ana';
    const ctx = { store, role: 'terminal' as const, staff: () => signedIn };
    const commands = new TicketCommands(ctx);
    const menu = new MenuCommands(ctx);
    await store.append('menu.item_defined', { menuItemId: burger.id, name: burger.name, category: 'Mains', priceCents: burger.priceCents }, { aggregate: { type: 'menu_item', id: burger.id } });

    const t = await commands.openTicket();
    signedIn = 'Ben';
    await commands.addItem(t, burger);
    await menu.setAvailability(burger.id, false);
    signedIn = null;
    await commands.setNote(t, 'window seat');

    const ticketEvents = store.getByAggregate(t).map((e) => [e.type, e.origin.staff]);
    expect(ticketEvents).toEqual([
      ['ticket.opened', 'Ana'],
      ['ticket.item_added', 'Ben'],
      ['ticket.note_set', undefined],
    ]);
    expect(store.getByAggregate(burger.id).at(-1)!.origin.staff).toBe('Ben');
    expect((store.view(t) as TicketView).openedBy).toEqual({ terminal: 'till-1', staff: 'Ana' });
  });
});

describe('MenuCommands', () => {
  async function withBurgerOnTheMenu(terminalId: string, location = `cmd-${++n}`) {
    const t = await terminal(terminalId, 'terminal', location);
    await t.store.append('menu.item_defined', { menuItemId: burger.id, name: burger.name, category: 'Mains', priceCents: burger.priceCents }, { aggregate: { type: 'menu_item', id: burger.id } });
    return { ...t, menu: new MenuCommands({ store: t.store, role: 'terminal', staff: () => 'sam' }) };
  }

  it('[APP19] an item the kitchen marked sold out is refused at another till ("Cheeseburger is sold out"); marked available again, it is added', async () => {
    const location = `cmd-${++n}`;
    const kitchen = await withBurgerOnTheMenu('kitchen-1', location);
    const till = await terminal('till-2', 'terminal', location);
    exchange(kitchen.store, till.store);
    const t = await till.commands.openTicket();

    const mark = await kitchen.menu.setAvailability(burger.id, false);
    expect(mark).toMatchObject({ type: 'menu.item_availability_set', aggregate: { type: 'menu_item', id: burger.id }, payload: { menuItemId: burger.id, available: false }, origin: { staff: 'sam' } });
    exchange(kitchen.store, till.store);
    expect((till.store.view(burger.id) as MenuItemView).soldOut).toBe(true);
    // The till's copy of the menu item may be older than the mark: the log decides.
    expect(() => till.commands.addItem(t, burger)).toThrow(new CommandRefused('Cheeseburger is sold out'));
    expect(till.store.getByAggregate(t).filter((e) => e.type === 'ticket.item_added')).toHaveLength(0);

    await kitchen.menu.setAvailability(burger.id, true);
    exchange(kitchen.store, till.store);
    await till.commands.addItem(t, burger);
    expect((till.store.view(t) as TicketView).lines.map((l) => l.name)).toEqual(['Cheeseburger']);
  });

  it('[APP19] "One more" of a line whose item is sold out is refused too; one less is fine', async () => {
    const till = await withBurgerOnTheMenu('till-1');
    const t = await till.commands.openTicket();
    await till.commands.addItem(t, burger, 2);
    const line = (till.store.view(t) as TicketView).lines[0]!;
    await till.menu.setAvailability(burger.id, false);
    expect(() => till.commands.changeQuantity(t, line.lineId, 3)).toThrow(new CommandRefused('Cheeseburger is sold out'));
    await till.commands.changeQuantity(t, line.lineId, 1);
    expect((till.store.view(t) as TicketView).lines[0]!.quantity).toBe(1);
  });

  it('[APP19] marking an item the log does not hold is refused, writing nothing', async () => {
    const { store, menu } = await withBurgerOnTheMenu('till-1');
    expect(() => menu.setAvailability('no-such-item', false)).toThrow(new CommandRefused('no menu item no-such-item'));
    expect(store.getByAggregate('no-such-item')).toHaveLength(0);
  });
});
