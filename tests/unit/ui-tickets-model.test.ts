import { describe, expect, it, vi } from 'vitest';
import { burger, cleanUpAfterEach, cola, exchange, liveLogMod, soup, stores, ticketOf, ticketsMod, till } from '../helpers/ui-models';
import { EventStore } from '../../client/store/event-store';
import { TicketCommands, writerLabel } from '../../client/commands/ticket-commands';
import { MenuCommands } from '../../client/commands/menu-commands';
import { TableCommands } from '../../client/commands/table-commands';
import type { MenuItemView } from '../../shared/projection/views';
import { NOTE_MAX, statusLabel } from '../../client/ui/format';
import type { DeliveryState } from '../../client/sync/sync-status';
import type { EventEnvelope } from '../../shared/events/envelope';
import { failIndexedDbWrites } from '../helpers/failing-disk';
import { HybridClock } from '../../shared/clock/hybrid-clock';

cleanUpAfterEach();
let n = 0; // numbers the locations a test names itself

async function tillWithTwoTickets() {
  const t = await till();
  return { t, a: await t.commands.openTicket(), b: await t.commands.openTicket() };
}

describe('tickets screen (TicketsModel)', () => {
  it('the newest ticket is listed first', async () => {
    let wall = new Date(2026, 10, 26, 19).getTime();
    const t = await till({ clock: new HybridClock({ wallNow: () => wall }) });
    const older = await t.commands.openTicket();
    wall += 60_000;
    const newer = await t.commands.openTicket();
    expect(t.tickets.tickets.map((x) => x.id)).toEqual([newer, older]);
  });

  it('[APP33] "Decrease guests" on a ticket of 1 guest keeps it at 1 (no refusal)', async () => {
    const t = await till();
    const id = await t.commands.openTicket();
    t.tickets.select(id);
    expect(await t.tickets.changeCovers(-1)).toBe(true);
    expect([t.tickets.error, ticketOf(t.store, id).covers]).toEqual([null, 1]);
  });

  it('[APP3] the item note and quantity typed for one ticket do not carry over to another', async () => {
    const { t, a, b } = await tillWithTwoTickets();
    t.tickets.select(a);
    t.tickets.nextNote = 'no onions';
    t.tickets.nextQuantity = 3;
    t.tickets.select(b);
    expect(t.tickets.nextNote).toBe('');
    expect(t.tickets.nextQuantity).toBe(1);
    // Selecting the ticket already shown keeps what is being typed.
    t.tickets.nextNote = 'well done';
    t.tickets.select(b);
    expect(t.tickets.nextNote).toBe('well done');
  });

  it('[EVT18][APP44] a ticket taken off its table reads "No table", and the table no longer counts it: the other ticket there stops saying "Also open at"', async () => {
    const t = await till();
    const staying = await t.commands.openTicket({ tableId: 't-5' });
    const leaving = await t.commands.openTicket({ tableId: 't-5' });
    expect(t.tickets.alsoOpenAt(ticketOf(t.store, staying)).map((x) => x.id)).toEqual([leaving]);
    t.tickets.select(leaving);
    await t.tickets.assignTable(null);
    expect(ticketOf(t.store, leaving).tableId).toBeNull();
    expect(t.tickets.tableLabel(ticketOf(t.store, leaving).tableId)).toBe('No table');
    expect(t.tickets.openAt('t-5')).toBe(1);
    expect(t.tickets.alsoOpenAt(ticketOf(t.store, staying))).toEqual([]);
    // Written so that a build knowing only v1 reads a move to a table.
    await t.tickets.assignTable('t-6');
    expect(t.store.getByAggregate(leaving).filter((e) => e.type === 'ticket.table_assigned').map((e) => [e.v, e.payload])).toEqual([[2, {}], [1, { tableId: 't-6' }]]);
  });

  it('[APP44] a table counts only its tickets still open: one closed there is not', async () => {
    const t = await till();
    const staying = await t.commands.openTicket({ tableId: 't-5' });
    const leaving = await t.commands.openTicket({ tableId: 't-5' });
    await t.commands.close(leaving);
    expect(t.log.openTicketsAt('t-5').map((v) => v.id)).toEqual([staying]);
  });

  it('[APP40] a table of the same name (any case) added after one was taken off the floor counts the open tickets still at the old one', async () => {
    const t = await till({ role: 'manager' });
    const tables = new TableCommands({ store: t.store, role: 'manager' });
    const old = await tables.define({ label: 'Terrace 5', seats: 4 });
    const sitting = await t.commands.openTicket({ tableId: old });
    await tables.retire(old);
    const again = await tables.define({ label: 'terrace 5', seats: 4 });
    expect(t.log.openTicketsAt(again).map((v) => v.id)).toEqual([sitting]);
  });

  it('[APP12] the menu lists categories and their items by name, numbers in numeric order, whatever the items\' ids; retired items are left out', async () => {
    const t = await till();
    const define = (id: string, name: string, category: string) =>
      t.store.append('menu.item_defined', { menuItemId: id, name, category, priceCents: 600 }, { aggregate: { type: 'menu_item', id } });
    await define('item-1', 'Tomato soup', 'Starters');
    await define('item-2', 'Dessert 10', 'Desserts');
    await define('item-3', 'Dessert 2', 'Desserts');
    await define('item-4', 'Calamari', 'Starters');
    await define('item-5', 'Affogato', 'Desserts');
    await define('item-6', 'Old special', 'Starters');
    await t.store.append('menu.item_retired', { menuItemId: 'item-6' }, { aggregate: { type: 'menu_item', id: 'item-6' } });
    expect(t.tickets.menu.map((s) => [s.category, s.items.map((i) => i.name)])).toEqual([
      ['Desserts', ['Affogato', 'Dessert 2', 'Dessert 10']],
      ['Starters', ['Calamari', 'Tomato soup']],
    ]);
  });

  it('[APP4] an item note over the limit is refused in words staff read, and the typed note is kept', async () => {
    expect(NOTE_MAX).toBe(500); // the schema's Note
    const t = await till();
    const id = await t.commands.openTicket();
    t.tickets.select(id);
    const long = 'x'.repeat(NOTE_MAX + 1);
    t.tickets.nextNote = long;
    t.tickets.nextQuantity = 2;
    expect(await t.tickets.addItem(burger as never)).toBe(false);
    expect(t.tickets.error).not.toMatch(/payload|ticket\.item_added|Too big/);
    expect(t.tickets.error).toMatch(/note is too long.*500 characters/i);
    expect(t.tickets.nextNote).toBe(long);
    expect(t.tickets.nextQuantity).toBe(2);
    expect(ticketOf(t.store, id).lines).toHaveLength(0);
    // A successful add clears them for the next item.
    t.tickets.nextNote = 'no onions';
    expect(await t.tickets.addItem(burger as never)).toBe(true);
    expect(t.tickets.nextNote).toBe('');
    expect(t.tickets.nextQuantity).toBe(1);
    expect(ticketOf(t.store, id).lines.map((l) => [l.quantity, l.note])).toEqual([[2, 'no onions']]);
  });

  it('[APP4] a ticket note over the limit is refused in words staff read and stays in the field', async () => {
    const t = await till();
    const id = await t.commands.openTicket();
    t.tickets.select(id);
    t.tickets.noteDraft = 'y'.repeat(NOTE_MAX + 1);
    expect(await t.tickets.saveNote()).toBe(false);
    expect(t.tickets.error).toMatch(/note is too long.*500 characters/i);
    expect(t.tickets.noteDraft).toBe('y'.repeat(NOTE_MAX + 1));
  });

  it('[APP6] an unsaved ticket note is saved when the waiter taps another ticket', async () => {
    const { t, a, b } = await tillWithTwoTickets();
    t.tickets.select(a);
    t.tickets.noteDraft = 'allergy: nuts, seat 2';
    t.tickets.select(b);
    await vi.waitFor(() => expect(ticketOf(t.store, a).note).toBe('allergy: nuts, seat 2'));
    expect(t.tickets.noteDraft).toBeNull();
    t.tickets.select(a);
    expect(t.tickets.noteDraft).toBeNull();
  });

  it('[APP6] a ticket note that cannot be saved when leaving the ticket is kept for it, with a message naming the ticket', async () => {
    const { t, a, b } = await tillWithTwoTickets();
    t.tickets.select(a);
    const long = 'z'.repeat(NOTE_MAX + 1);
    t.tickets.noteDraft = long;
    t.tickets.select(b);
    await vi.waitFor(() => expect(t.tickets.error).toMatch(new RegExp(`${ticketOf(t.store, a).number}.*too long`)));
    expect(t.tickets.noteDraft).toBeNull();
    expect(t.tickets.hasDrafts).toBe(true);
    t.tickets.select(a);
    expect(t.tickets.noteDraft).toBe(long);
  });

  it('[APP6] "Send to kitchen" and "Fire held" save the ticket note typed first (an allergy reaches the kitchen); one that cannot be saved sends nothing', async () => {
    const t = await till();
    const id = await t.commands.openTicket();
    await t.commands.addItem(id, soup);
    await t.commands.addItem(id, burger);
    t.tickets.select(id);
    const [, main] = ticketOf(t.store, id).lines;
    expect(await t.tickets.holdLine(main!.lineId, true)).toBe(true);
    t.tickets.noteDraft = 'nut allergy seat 2';
    expect(await t.tickets.sendToKitchen()).toBe(true);
    expect(ticketOf(t.store, id).note).toBe('nut allergy seat 2');
    expect(t.tickets.noteDraft).toBeNull();
    expect(ticketOf(t.store, id).lines.map((l) => l.sentAt !== null)).toEqual([true, false]);

    t.tickets.noteDraft = 'y'.repeat(NOTE_MAX + 1);
    expect(await t.tickets.fireHeld()).toBe(false);
    expect(t.tickets.error).toMatch(/note is too long/i);
    expect(ticketOf(t.store, id).lines[1]!.sentAt).toBeNull();
    t.tickets.noteDraft = 'nut allergy seat 2, mains no sauce';
    expect(await t.tickets.fireHeld()).toBe(true);
    expect(ticketOf(t.store, id).note).toBe('nut allergy seat 2, mains no sauce');
    expect(ticketOf(t.store, id).lines[1]!.sentAt).not.toBeNull();
  });

  it('[APP34] a line a guest paid for is not taken off by a till (their money would be owed back); a manager may, and the payment is held for them', async () => {
    for (const role of ['terminal', 'manager'] as const) {
      const t = await till({ role });
      const id = await t.commands.openTicket();
      await t.commands.addItem(id, burger);
      await t.commands.addItem(id, cola);
      const [paid, other] = ticketOf(t.store, id).lines;
      await t.commands.recordPayment(id, { method: 'card', amountCents: 1250, lineIds: [paid!.lineId] });
      t.tickets.select(id);
      const ticket = ticketOf(t.store, id);
      const manager = role === 'manager';
      expect([t.tickets.canRemove(ticket, ticket.lines[0]!), t.tickets.canRemove(ticket, ticket.lines[1]!)], role).toEqual([manager, true]);
      expect(await t.tickets.removeItem(paid!.lineId), role).toBe(manager);
      if (!manager) {
        expect(t.tickets.error).toMatch(/only a manager takes off Cheeseburger: a guest paid for it/i);
        expect(await t.tickets.changeQuantity(paid!.lineId, 0)).toBe(false);
      }
      expect(ticketOf(t.store, id).lines.map((l) => l.lineId), role).toEqual(manager ? [other!.lineId] : [paid!.lineId, other!.lineId]);
      expect(ticketOf(t.store, id).payments.map((p) => p.state), role).toEqual([manager ? 'held' : 'applied']);
    }
  });

  it('[APP8] drafts (item note, quantity, ticket note, payment amount) count as half-typed work', async () => {
    const t = await till();
    const id = await t.commands.openTicket();
    await t.commands.addItem(id, burger);
    t.tickets.select(id);
    expect(t.tickets.hasDrafts).toBe(false);
    t.tickets.nextNote = 'no onions';
    expect(t.tickets.hasDrafts).toBe(true);
    t.tickets.nextNote = '';
    t.tickets.nextQuantity = 2;
    expect(t.tickets.hasDrafts).toBe(true);
    t.tickets.nextQuantity = 1;
    t.tickets.noteDraft = 'birthday';
    expect(t.tickets.hasDrafts).toBe(true);
    t.tickets.noteDraft = '';
    expect(t.tickets.hasDrafts).toBe(false); // the same as the saved (empty) note
    t.tickets.payment.amountText = '5.00';
    expect(t.tickets.hasDrafts).toBe(true);
  });

  it('[STO19] on a full disk a ticket opened is shown and an item added clears its quantity and note (both written, held and synced: a second tap would write them twice); the screen says the disk is full', async () => {
    const store = await EventStore.open({ location: `ui-full-${++n}`, terminal: 'till-1', crossTab: false });
    stores.push(store);
    const commands = new TicketCommands({ store, role: 'terminal' });
    const tickets = new ticketsMod.TicketsModel(new liveLogMod.LiveLog(store), commands, new MenuCommands({ store, role: 'terminal' }), false);
    const disk = failIndexedDbWrites();
    try {
      expect(await tickets.openTicket(null)).toBe(true);
      expect(tickets.error).toMatch(/storage is full/);
      expect(tickets.selected?.number).toBe(`${writerLabel(store.writer)}-001`);
      tickets.nextQuantity = 2;
      tickets.nextNote = 'no ice';
      expect(await tickets.addItem({ id: 'cola', name: 'Cola', priceCents: 350 } as MenuItemView)).toBe(true);
      expect([tickets.nextQuantity, tickets.nextNote]).toEqual([1, '']);
      expect(tickets.selected?.lines.map((l) => [l.quantity, l.note])).toEqual([[2, 'no ice']]);
      expect(store.views()).toHaveLength(1);
    } finally {
      disk.restore();
    }
  });

  it('[APP39] a tap while the last one is still being saved applies at once, in order, to the ticket it was for', async () => {
    const t = await till();
    const a = await t.commands.openTicket();
    await t.commands.addItem(a, burger);
    const b = await t.commands.openTicket();
    t.tickets.select(a);
    const menuItem = { id: cola.id, name: cola.name, priceCents: cola.priceCents, category: 'Drinks' } as unknown as MenuItemView;
    const taps = [t.tickets.addItem(menuItem), t.tickets.addItem(menuItem), t.tickets.changeCovers(1)];
    // Shown before any is saved: the next tap reads what the last one did.
    expect(ticketOf(t.store, a).lines.map((l) => l.name)).toEqual(['Cheeseburger', 'Cola', 'Cola']);
    t.tickets.select(b);
    expect(await Promise.all(taps)).toEqual([true, true, true]);
    expect(ticketOf(t.store, a).covers).toBe(1);
    expect(ticketOf(t.store, b).covers).toBeNull();
    expect(t.tickets.busy).toBe(false);
  });

  it('[APP19] "one more" of a sent line is a new sale at the menu\'s price and tax rate now; an item taken off the menu is not offered', async () => {
    const t = await till({ role: 'manager' });
    const itemId = await t.menuCommands.define({ name: 'Lager', category: 'Drinks', priceCents: 400, taxBasisPoints: 1000 });
    const id = await t.commands.openTicket();
    await t.commands.addItem(id, t.store.view(itemId) as MenuItemView);
    await t.commands.sendToKitchen(id);
    await t.menuCommands.reprice(itemId, 600); // happy hour is over
    await t.menuCommands.setTaxRate(itemId, 2000);
    t.tickets.select(id);
    const [first] = ticketOf(t.store, id).lines;
    expect(await t.tickets.addAnother(first!)).toBe(true);
    expect(ticketOf(t.store, id).lines.map((l) => [l.unitPriceCents, l.taxBasisPoints])).toEqual([
      [400, 1000],
      [600, 2000],
    ]);
    await t.menuCommands.retire(itemId);
    expect(t.tickets.isUnavailable(itemId)).toBe(true);
    expect(await t.tickets.addAnother(first!)).toBe(false);
    expect(t.tickets.error).toMatch(/Lager is off the menu/);
    expect(ticketOf(t.store, id).lines).toHaveLength(2);
  });

  it('[APP42] lines whose send is still only on this till read "sending to kitchen", not "in kitchen", until the send is relayed or acknowledged; a line the kitchen made is in it; without sync as before', async () => {
    const t = await till();
    // The sync layer's answer per event: 'local' until the test says the relay or the server has it.
    const delivered = new Map<string, DeliveryState>();
    const lookups: string[] = [];
    const delivery = {
      deliveryState(e: EventEnvelope): DeliveryState {
        lookups.push(e.id);
        return delivered.get(e.id) ?? 'local';
      },
      status: { roomReceivedAt: null },
    };
    const tickets = new ticketsMod.TicketsModel(t.log, t.commands, t.menuCommands, false, delivery);
    const id = await t.commands.openTicket();
    await t.commands.addItem(id, burger);
    await t.commands.addItem(id, cola);
    await t.commands.addItem(id, soup);
    const [burgerLine, colaLine, soupLine] = ticketOf(t.store, id).lines.map((l) => l.lineId);
    await t.commands.holdLine(id, soupLine!, true);
    await t.commands.sendToKitchen(id);
    await t.commands.fireHeld(id);
    const [send, fire] = t.store.getByAggregate(id).filter((e) => e.type === 'ticket.sent_to_kitchen');
    const shown = () => {
      const view = ticketOf(t.store, id);
      const notInKitchen = tickets.notInKitchenYet(view);
      return { lines: [...notInKitchen].sort(), status: statusLabel(view, notInKitchen.size > 0) };
    };

    // Offline: both sends are on this till only.
    expect(shown()).toEqual({ lines: [burgerLine, colaLine, soupLine].sort(), status: 'Sending to kitchen…' });
    // A till without sync (tests, a memory log) shows every line sent in the kitchen, as before.
    expect(t.tickets.notInKitchenYet(ticketOf(t.store, id)).size).toBe(0);
    expect(statusLabel(ticketOf(t.store, id))).toBe('In kitchen');
    // One lookup per send, not per event of the log.
    lookups.length = 0;
    shown();
    expect(lookups.sort()).toEqual([send!.id, fire!.id].sort());

    // The first send relayed: its lines are in the kitchen; the fired soup is not yet.
    delivered.set(send!.id, 'relayed');
    expect(shown()).toEqual({ lines: [soupLine], status: 'Sending to kitchen…' });
    // A kitchen screen on this till made the soup: the kitchen has it, whatever the send's delivery.
    await t.commands.bumpItem(id, soupLine!);
    expect(shown()).toEqual({ lines: [], status: 'In kitchen' });

    // Acknowledged reads as in the kitchen too.
    await t.commands.addItem(id, cola);
    await t.commands.sendToKitchen(id);
    const [, , again] = t.store.getByAggregate(id).filter((e) => e.type === 'ticket.sent_to_kitchen');
    expect(shown().lines).toHaveLength(1);
    delivered.set(again!.id, 'acknowledged');
    expect(shown()).toEqual({ lines: [], status: 'In kitchen' });
  });

  it('[APP45] an empty menu or floor is "on its way" until this device has received the room from the relay; after, one a manager has yet to make', async () => {
    const t = await till();
    const sync = { deliveryState: (): DeliveryState => 'local', status: { lastSyncAt: null as number | null, roomReceivedAt: null as number | null } };
    const tickets = new ticketsMod.TicketsModel(t.log, t.commands, t.menuCommands, false, sync);
    expect(tickets.menu).toEqual([]);
    expect(tickets.tables).toEqual([]);
    expect(tickets.roomReceived).toBe(false);
    // A REST answer (the clock probe) sets "Last sync" but brings no menu: still on its way.
    sync.status = { lastSyncAt: 1_700_000_000_000, roomReceivedAt: null };
    expect(tickets.roomReceived).toBe(false);
    // The relay synced the room once (kept on the device across reloads): what the server holds has come.
    sync.status = { lastSyncAt: 1_700_000_000_000, roomReceivedAt: 1_700_000_000_000 };
    expect(tickets.roomReceived).toBe(true);
    // A till without sync (tests, a memory log) has heard from no server.
    expect(t.tickets.roomReceived).toBe(false);
  });

  it('[APP9] a closed ticket shows no amount due to collect, even when its lines and payments disagree, and stays on the list until a manager settles it', async () => {
    const location = `ui-${++n}`;
    const a = await till({ location, terminal: 'till-1' });
    const b = await till({ location, terminal: 'till-2' });
    const id = await a.commands.openTicket();
    await a.commands.addItem(id, burger);
    exchange(a.store, b.store);
    // Till A takes 12.50 and closes; till B, not having seen it, adds a cola.
    await a.commands.recordPayment(id, { method: 'card', amountCents: 1250 });
    await a.commands.close(id);
    await b.commands.addItem(id, cola);
    exchange(a.store, b.store);
    const view = ticketOf(a.store, id);
    expect(view.status).toBe('closed');
    expect(view.totalCents - view.paidCents).toBeGreaterThan(0);
    expect(view.openConflicts).toBeGreaterThan(0);
    expect(a.tickets.dueOf(view)).toBeNull();
    expect(a.tickets.tickets.map((x) => x.id)).toContain(id);
    // An open ticket's due is what is left to take.
    const open = await a.commands.openTicket();
    await a.commands.addItem(open, cola);
    expect(a.tickets.dueOf(ticketOf(a.store, open))).toBe(350);
  });
});
