import { describe, expect, it, vi } from 'vitest';
import { cleanUpAfterEach, kitchenMod, model, nowMod, ticketOf, till } from '../helpers/ui-models';
import { TableCommands } from '../../client/commands/table-commands';
import type { MenuItemView, TableView } from '../../shared/projection/views';

cleanUpAfterEach();

describe('the Menu screen (MenuEditorModel): a name, category, station, price or tax rate changed in place', () => {
  type MenuEditorMod = typeof import('../../client/ui/models/menu-editor-model.svelte');
  type SecondTapMod = typeof import('../../client/ui/models/second-tap.svelte');

  it('[APP26][APP31] a typed value is checked before it is written (saying how to write it), up to 1000000.00 a price and 120 characters a name; an emptied tax rate takes the rate off', async () => {
    const { MenuEditorModel } = await model<MenuEditorMod>('menu-editor-model');
    const t = await till({ role: 'manager' });
    const editor = new MenuEditorModel(t.log, t.menuCommands);
    const id = await t.menuCommands.define({ name: 'Soup', category: 'Starters', priceCents: 650, taxBasisPoints: 1000 });
    const soup = () => t.store.view(id) as MenuItemView;
    expect([editor.shown(soup(), 'price'), editor.shown(soup(), 'tax')]).toEqual(['6.50', '10']);

    for (const [text, said] of [
      ['0', 'Enter a price (e.g. 7.50)'],
      ['1e3', 'Enter a price (e.g. 7.50)'],
      ['1000000.01', 'At most 1000000.00 a price'],
      ['1000000,01', 'At most 1000000.00 a price'],
      ['999999999', 'At most 1000000.00 a price'],
    ]) {
      editor.drafts.price[id] = text!;
      expect(await editor.save(soup(), 'price')).toBe(false);
      expect(editor.errorOf(soup(), 'price'), text).toBe(said);
    }
    editor.name = 'Caviar';
    editor.category = 'Starters';
    for (const text of ['1000000.01', '999999999']) {
      editor.priceText = text;
      expect(editor.addProblem, text).toBe('At most 1000000.00 a price');
    }
    editor.priceText = '0';
    expect(editor.addProblem).toBe('Enter its price (e.g. 7.50)');
    // The largest price and the longest name are taken, for a new item and for one on the menu.
    editor.name = 'x'.repeat(120);
    editor.priceText = '1000000.00';
    expect(editor.addProblem).toBeNull();
    editor.drafts.price[id] = '1000000';
    expect(await editor.save(soup(), 'price')).toBe(true);
    expect(soup().priceCents).toBe(100_000_000);
    editor.drafts.name[id] = 'y'.repeat(120);
    expect(await editor.save(soup(), 'name')).toBe(true);
    editor.drafts.tax[id] = 'ten';
    expect(await editor.save(soup(), 'tax')).toBe(false);
    expect(editor.errorOf(soup(), 'tax')).toBe('Enter a tax rate in % (e.g. 20; empty for none)');

    editor.drafts.price[id] = '7,25';
    expect(await editor.save(soup(), 'price')).toBe(true);
    editor.drafts.tax[id] = ' ';
    expect(await editor.save(soup(), 'tax')).toBe(true);
    expect(soup()).toMatchObject({ priceCents: 725, taxBasisPoints: null });
    expect(editor.drafts).toEqual({ name: {}, category: {}, station: {}, price: {}, tax: {} });
  });

  it('[APP26] a name another item on the menu has, case and spaces aside, is refused for a new item and for a rename, said under the field; a retired item\'s name is free, and an item may respell its own', async () => {
    const { MenuEditorModel } = await model<MenuEditorMod>('menu-editor-model');
    const t = await till({ role: 'manager' });
    const editor = new MenuEditorModel(t.log, t.menuCommands);
    const creme = await t.menuCommands.define({ name: 'Crème brûlée', category: 'Desserts', priceCents: 1250 });
    const tartId = await t.menuCommands.define({ name: 'Tart', category: 'Desserts', priceCents: 500 });
    const tart = () => t.store.view(tartId) as MenuItemView;

    expect(() => t.menuCommands.define({ name: ' crème BRÛLÉE ', category: 'Desserts', priceCents: 300 })).toThrow('there is a menu item Crème brûlée already');
    expect(() => t.menuCommands.redefine(tartId, { name: 'crème brûlée' })).toThrow('there is a menu item Crème brûlée already');
    editor.name = 'crème brûlée ';
    editor.category = 'Desserts';
    editor.priceText = '3.00';
    expect(editor.addProblem).toBe('There is a menu item Crème brûlée already');
    expect(await editor.add()).toBe(false);

    const written = t.store.getByAggregate(tartId).length;
    editor.type(tart(), 'name', 'CRÈME BRÛLÉE');
    expect(await editor.save(tart(), 'name')).toBe(false);
    expect([editor.errorOf(tart(), 'name'), editor.error, t.store.getByAggregate(tartId).length]).toEqual(['There is a menu item Crème brûlée already', null, written]);

    // Its own name respelled is no other item's.
    const cremeItem = () => t.store.view(creme) as MenuItemView;
    editor.type(cremeItem(), 'name', 'Crème Brûlée');
    expect(await editor.save(cremeItem(), 'name')).toBe(true);
    expect(cremeItem().name).toBe('Crème Brûlée');
    // Off the menu, its name is free again.
    await t.menuCommands.retire(creme);
    editor.type(tart(), 'name', 'crème brûlée');
    expect(await editor.save(tart(), 'name')).toBe(true);
    expect(tart().name).toBe('crème brûlée');
  });

  it('[APP26] a typed value that is none is said at its field, not over the whole menu; it goes once the field is typed in again or saved, even as the value the item holds (which writes nothing)', async () => {
    const { MenuEditorModel } = await model<MenuEditorMod>('menu-editor-model');
    const t = await till({ role: 'manager' });
    const editor = new MenuEditorModel(t.log, t.menuCommands);
    const id = await t.menuCommands.define({ name: 'Soup', category: 'Starters', priceCents: 650 });
    const breadId = await t.menuCommands.define({ name: 'Bread', category: 'Starters', priceCents: 300 });
    const soup = () => t.store.view(id) as MenuItemView;
    const bread = () => t.store.view(breadId) as MenuItemView;
    const written = () => t.store.getByAggregate(id).length;

    editor.type(soup(), 'price', '0');
    expect(await editor.save(soup(), 'price')).toBe(false);
    const errors = () => [editor.errorOf(soup(), 'price'), editor.errorOf(soup(), 'tax'), editor.errorOf(bread(), 'price'), editor.error];
    expect(errors()).toEqual(['Enter a price (e.g. 7.50)', null, null, null]);
    // Another field saved meanwhile: the price is still not one.
    editor.type(soup(), 'name', 'Soup of the day');
    expect(await editor.save(soup(), 'name')).toBe(true);
    expect(errors()).toEqual(['Enter a price (e.g. 7.50)', null, null, null]);
    // Typed in again: the error goes as the manager corrects it.
    editor.type(soup(), 'price', '6.5');
    expect(errors()).toEqual([null, null, null, null]);
    // The price it holds, saved: nothing written, no error left.
    const before = written();
    expect(await editor.save(soup(), 'price')).toBe(true);
    expect([written(), errors(), editor.hasDrafts]).toEqual([before, [null, null, null, null], false]);
    // A draft not typed through the field (restored), saved as the value held: the error goes too.
    editor.type(bread(), 'price', 'three');
    expect(await editor.save(bread(), 'price')).toBe(false);
    editor.drafts.price[breadId] = '3.00';
    expect(await editor.save(bread(), 'price')).toBe(true);
    expect(editor.errorOf(bread(), 'price')).toBeNull();
  });

  it('[APP26] a manager renames an item and moves it to another category and station, each field saved on its own; only a typed change is written, the other fields stay; a line already on a ticket keeps the name it was added with', async () => {
    const { MenuEditorModel } = await model<MenuEditorMod>('menu-editor-model');
    const t = await till({ role: 'manager' });
    const editor = new MenuEditorModel(t.log, t.menuCommands);
    const id = await t.menuCommands.define({ name: 'Burger', category: 'Mains', priceCents: 1200, station: 'Grill', taxBasisPoints: 1000 });
    await t.menuCommands.define({ name: 'Tiramisu', category: 'Desserts', priceCents: 600, station: 'Pastry' });
    const burger = () => t.store.view(id) as MenuItemView;
    const written = () => t.store.getByAggregate(id).length;
    t.tickets.select(await t.commands.openTicket());
    expect(await t.tickets.addItem(burger())).toBe(true);
    expect(['name', 'category', 'station'].map((f) => editor.shown(burger(), f as 'name'))).toEqual(['Burger', 'Mains', 'Grill']);

    // A Save with nothing typed, and a value typed back to what the item holds, write nothing.
    const before = written();
    expect(await editor.save(burger(), 'name')).toBe(false);
    editor.drafts.category[id] = ' Mains ';
    editor.drafts.tax[id] = '10';
    expect([await editor.save(burger(), 'category'), await editor.save(burger(), 'tax')]).toEqual([true, true]);
    expect([written(), editor.error, editor.hasDrafts]).toEqual([before, null, false]);

    editor.drafts.name[id] = '  ';
    expect(await editor.save(burger(), 'name')).toBe(false);
    expect(editor.errorOf(burger(), 'name')).toBe('Enter a name (it cannot be blank)');
    editor.drafts.name[id] = ' Cheeseburger ';
    expect(editor.shown(burger(), 'name')).toBe(' Cheeseburger ');
    expect(await editor.save(burger(), 'name')).toBe(true);
    expect(written()).toBe(before + 1);
    expect(burger()).toMatchObject({ name: 'Cheeseburger', category: 'Mains', station: 'Grill', priceCents: 1200, taxBasisPoints: 1000 });
    // Only the name is written (EVT19): a price set meanwhile on a tablet not heard from yet holds.
    const lastWritten = () => t.store.getByAggregate(id).at(-1)!;
    expect([lastWritten().type, lastWritten().payload]).toEqual(['menu.item_changed', { menuItemId: id, name: 'Cheeseburger' }]);
    editor.drafts.category[id] = 'Specials';
    editor.drafts.station[id] = 'pastry';
    expect([await editor.save(burger(), 'category'), await editor.save(burger(), 'station')]).toEqual([true, true]);
    // The station takes the menu's spelling; the price and the rate are as they were.
    expect(burger()).toMatchObject({ name: 'Cheeseburger', category: 'Specials', station: 'Pastry', priceCents: 1200, taxBasisPoints: 1000 });
    expect(lastWritten().payload).toEqual({ menuItemId: id, station: 'Pastry' });
    expect(editor.drafts).toEqual({ name: {}, category: {}, station: {}, price: {}, tax: {} });
    // An emptied station takes it off any station.
    editor.drafts.station[id] = '';
    expect(await editor.save(burger(), 'station')).toBe(true);
    expect(burger().station).toBeNull();
    expect(lastWritten().payload).toEqual({ menuItemId: id, station: null });
    // The till's menu says the new name; the burger already on the ticket keeps its old one.
    expect(t.log.menuItems().map((i) => i.name)).toEqual(['Cheeseburger', 'Tiramisu']);
    expect(ticketOf(t.store, t.tickets.selectedId!).lines.map((l) => l.name)).toEqual(['Burger']);
  });

  it('[APP26][APP13] a category or station typed like one on the menu but for case and spaces takes its spelling ("grill" → "Grill"): no second station, the Grill kitchen screen shows the item', async () => {
    const { MenuEditorModel } = await model<MenuEditorMod>('menu-editor-model');
    const t = await till({ role: 'manager' });
    const editor = new MenuEditorModel(t.log, t.menuCommands);
    await t.menuCommands.define({ name: 'Steak', category: 'Mains', priceCents: 2400, station: 'Grill' });
    editor.name = 'Burger';
    editor.category = ' mains';
    editor.priceText = '12.00';
    editor.station = 'grill ';
    expect(await editor.add()).toBe(true);
    const added = t.log.menuItems().find((i) => i.name === 'Burger')!;
    expect([added.category, added.station]).toEqual(['Mains', 'Grill']);
    expect([editor.categories, editor.stations]).toEqual([['Mains'], ['Grill']]);
    const kitchen = new kitchenMod.KitchenModel(t.log, t.commands, t.menuCommands, new nowMod.Now());
    expect(kitchen.stations).toEqual(['Grill']);

    // Moved to a station typed in another case: the menu's spelling too.
    const salad = await t.menuCommands.define({ name: 'Salad', category: 'Starters', priceCents: 800, station: 'Cold' });
    editor.drafts.station[salad] = 'GRILL';
    editor.drafts.category[salad] = 'MAINS ';
    expect(await editor.save(t.store.view(salad) as MenuItemView, 'station')).toBe(true);
    expect(await editor.save(t.store.view(salad) as MenuItemView, 'category')).toBe(true);
    expect(t.store.view(salad)).toMatchObject({ category: 'Mains', station: 'Grill' });
    // Its own spelling, the only one on the menu, changes as typed ("cold" was no other item's).
    const soup = await t.menuCommands.define({ name: 'Soup', category: 'starters', priceCents: 650 });
    editor.drafts.category[soup] = 'Starters';
    expect(await editor.save(t.store.view(soup) as MenuItemView, 'category')).toBe(true);
    expect((t.store.view(soup) as MenuItemView).category).toBe('Starters');
  });

  it('[APP26][EVT19] a change or a price that arrived before its item\'s definition (a back office\'s, or out of order) is no item: not on the Menu screen nor on the kitchen\'s lists, until it is defined', async () => {
    const t = await till({ role: 'manager' });
    const ghost = { type: 'menu_item', id: 'm-ghost' };
    await t.store.append('menu.item_changed', { menuItemId: 'm-ghost', name: 'Ghost', station: 'Pastry' }, { aggregate: ghost });
    await t.store.append('menu.item_repriced', { menuItemId: 'm-later', priceCents: 500 }, { aggregate: { type: 'menu_item', id: 'm-later' } });
    expect(t.log.menuItems()).toEqual([]);
    await t.store.append('menu.item_defined', { menuItemId: 'm-ghost', name: 'Tart', category: 'Desserts', priceCents: 450 }, { aggregate: ghost });
    // Defined now: the definition, stamped after the change, holds every field it names (no station: none).
    expect(t.log.menuItems().map((i) => [i.name, i.category, i.station])).toEqual([['Tart', 'Desserts', null]]);
  });

  it('[APP26][APP8] a double tap on "Off the menu…" only asks (taking off for good needs a second, deliberate tap); typed work holds the automatic update back', async () => {
    const { MenuEditorModel } = await model<MenuEditorMod>('menu-editor-model');
    const { CONFIRM_AFTER_MS } = await model<SecondTapMod>('second-tap');
    const t = await till({ role: 'manager' });
    const editor = new MenuEditorModel(t.log, t.menuCommands);
    const id = await t.menuCommands.define({ name: 'Soup', category: 'Starters', priceCents: 650 });
    const soup = () => t.store.view(id) as MenuItemView;
    editor.drafts.price[id] = '7.00';
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    expect(await editor.retire(soup())).toBe(false);
    vi.advanceTimersByTime(80); // the second half of a double tap
    expect([await editor.retire(soup()), editor.retiring.armed]).toEqual([false, false]);
    expect(soup().retired).toBe(false);
    vi.advanceTimersByTime(CONFIRM_AFTER_MS);
    vi.useRealTimers();
    expect(await editor.retire(soup())).toBe(true);
    expect(soup().retired).toBe(true);
    // The price typed for the soup went with it.
    expect(editor.hasDrafts).toBe(false);
    editor.priceText = '4.50';
    expect(editor.hasDrafts).toBe(true);
    editor.priceText = '';
    const bread = await t.menuCommands.define({ name: 'Bread', category: 'Starters', priceCents: 300 });
    editor.drafts.tax[bread] = '5';
    expect(editor.hasDrafts).toBe(true);
  });

  it('[APP40][APP44] the Tables section adds a table (saying why it cannot yet), saves only a typed change, takes a table off the floor on a deliberate second tap; the till no longer offers it, a ticket at it keeps it, its table added again counts it; an unpaid ticket at a table with another says so', async () => {
    type TablesMod = typeof import('../../client/ui/models/tables-editor-model.svelte');
    const { TablesEditorModel } = await model<TablesMod>('tables-editor-model');
    const { CONFIRM_AFTER_MS } = await model<SecondTapMod>('second-tap');
    const t = await till({ role: 'manager' });
    const tableCommands = new TableCommands({ store: t.store, role: 'manager' });
    const editor = new TablesEditorModel(t.log, tableCommands);
    expect(editor.addProblem).toBe('Name the table (e.g. T12, Terrace 3)');
    editor.label = 'T1';
    editor.seatsText = '0';
    expect(editor.addProblem).toBe('Seats: a number from 1 to 99');
    expect(editor.hasDrafts).toBe(true);
    editor.seatsText = '2';
    expect(await editor.add()).toBe(true);
    editor.label = 't1';
    expect(editor.addProblem).toBe('There is a table t1 already');
    editor.label = 'T2';
    expect(await editor.add()).toBe(true);
    expect(editor.tables.map((x) => [x.label, x.seats])).toEqual([['T1', 2], ['T2', 2]]);
    const [t1, t2] = editor.tables as [TableView, TableView];

    editor.type(t2, 'seats', 'six');
    expect(await editor.save(t2)).toBe(false);
    expect(editor.error).toBe('Seats: a number from 1 to 99 (table T2)');
    editor.type(t2, 'seats', '6');
    editor.type(t2, 'label', 'Window');
    expect(editor.shown(t2, 'label')).toBe('Window');
    expect(await editor.save(t2)).toBe(true);
    expect(editor.edits).toEqual({});
    expect(t.store.view(t2.id)).toMatchObject({ label: 'Window', seats: 6 });
    // Typed back to what it holds: nothing is written.
    const written = t.store.getByAggregate(t1.id).length;
    editor.type(t1, 'label', 'T1 ');
    expect(await editor.save(t1)).toBe(true);
    expect(t.store.getByAggregate(t1.id)).toHaveLength(written);

    const ticket = await t.commands.openTicket({ tableId: t1.id });
    expect(editor.openTicketsAt(t1.id)).toBe(1);
    // Seats typed for the table about to go: gone with it, they hold no automatic update back.
    editor.type(t1, 'seats', '3');
    expect(editor.hasDrafts).toBe(true);
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    expect(await editor.retire(t1)).toBe(false);
    vi.advanceTimersByTime(80);
    expect([await editor.retire(t1), editor.retiring.armed]).toEqual([false, false]);
    vi.advanceTimersByTime(CONFIRM_AFTER_MS);
    vi.useRealTimers();
    expect(await editor.retire(t1)).toBe(true);
    expect(editor.hasDrafts).toBe(false);
    expect(editor.tables.map((x) => x.label)).toEqual(['Window']);
    expect(t.tickets.tables.map((x) => x.label)).toEqual(['Window']);
    // The ticket at the retired table still shows it among its choices (disabled on screen), and keeps it.
    expect(t.tickets.tableChoices(ticketOf(t.store, ticket)).map((x) => [x.label, x.retired])).toEqual([['Window', false], ['T1', true]]);
    expect(t.tickets.tableLabel(ticketOf(t.store, ticket).tableId)).toBe('T1');

    // T1 added again: its party still sits there (the ticket at the old T1), so the picker says it is taken.
    editor.label = 'T1';
    expect(await editor.add()).toBe(true);
    const newT1 = editor.tables.find((x) => x.label === 'T1')!;
    expect(newT1.id).not.toBe(t1.id);
    expect(t.tickets.openAt(newT1.id)).toBe(1);
    // A second ticket opened there (another waiter, the party unseen): each says the other is open at it.
    const second = await t.commands.openTicket({ tableId: newT1.id });
    expect(t.tickets.alsoOpenAt(ticketOf(t.store, second)).map((x) => x.id)).toEqual([ticket]);
    expect(t.tickets.alsoOpenAt(ticketOf(t.store, ticket)).map((x) => x.id)).toEqual([second]);
    expect(t.tickets.alsoOpenAt(ticketOf(t.store, ticket)).length + t.tickets.openAt(t2.id)).toBe(1);
    // Its own ticket does not make a table taken in its choice.
    expect(t.tickets.openAt(newT1.id, second)).toBe(1);
    // The first party paid (not closed yet): no risk of leaving it unpaid, said on neither.
    await t.commands.addItem(ticket, { id: 'soup', name: 'Soup', priceCents: 650 });
    await t.commands.recordPayment(ticket, { method: 'cash', amountCents: 650 });
    expect(ticketOf(t.store, ticket).status).toBe('paid');
    expect(t.tickets.alsoOpenAt(ticketOf(t.store, second))).toEqual([]);
    expect(t.tickets.alsoOpenAt(ticketOf(t.store, ticket))).toEqual([]);
    expect(t.tickets.openAt(newT1.id)).toBe(2);
  });
});
