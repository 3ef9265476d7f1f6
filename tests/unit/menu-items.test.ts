import { afterEach, describe, expect, it } from 'vitest';
import { MenuCommands } from '../../client/commands/menu-commands';
import { CommandRefused } from '../../client/commands/ticket-commands';
import { HybridClock } from '../../shared/clock/hybrid-clock';
import type { AggregateRef, EventEnvelope } from '../../shared/events/envelope';
import { projectAggregate } from '../../shared/projection/project-aggregate';
import type { HistoryEntry, MenuItemView } from '../../shared/projection/views';
import { closeAll, exchange, openStore, openedStores } from '../helpers/event-stores';
import { TestWriter } from '../helpers/test-writer';

let wall = 1_795_700_000_000;
const HOUR = 60 * 60_000;

afterEach(() => closeAll(openedStores));

/** A manager's tablet: its own store, its clock on the test's wall. */
async function managerTablet(terminal: string) {
  const store = await openStore({ location: 'loc-menu', terminal, persistence: 'memory', clock: new HybridClock({ wallNow: () => wall }) });
  return { store, menu: new MenuCommands({ store, role: 'manager' }) };
}

function menuItem(events: EventEnvelope[]): MenuItemView & { history: HistoryEntry[] } {
  const v = projectAggregate(events);
  if (v.kind !== 'menu_item') throw new Error(`not a menu item: ${v.kind}`);
  return v;
}

function permutations<T>(xs: T[]): T[][] {
  if (xs.length <= 1) return [xs];
  return xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((rest) => [x, ...rest]));
}

describe('menu items: a new name, category or station (menu.item_changed)', () => {
  it('[APP26][EVT19][PRJ4] a rename on a tablet that had not heard of a new price an hour old leaves that price on every till: the change carries only the name, in any order', async () => {
    const a = await managerTablet('manager-1');
    const b = await managerTablet('manager-2');
    const id = await a.menu.define({ name: 'Calamari', category: 'Starters', priceCents: 950, station: 'Grill' });
    exchange(a.store, b.store);
    // 10:00 manager-1 raises the price; manager-2's tablet is offline and does not see it.
    wall += HOUR;
    await a.menu.reprice(id, 1250);
    // 11:00 manager-2 fixes the name on its own tablet.
    wall += HOUR;
    const renamed = await b.menu.redefine(id, { name: 'Fried calamari' });
    exchange(a.store, b.store);
    for (const tablet of [a, b]) expect(tablet.store.view(id)).toMatchObject({ name: 'Fried calamari', priceCents: 1250, category: 'Starters', station: 'Grill' });
    expect(renamed).toMatchObject({ type: 'menu.item_changed', payload: { menuItemId: id, name: 'Fried calamari' } });
    expect(Object.keys(renamed!.payload as object).sort()).toEqual(['menuItemId', 'name']);
    for (const order of permutations([...a.store.getByAggregate(id)])) {
      const v = menuItem(order);
      expect([v.name, v.priceCents]).toEqual(['Fried calamari', 1250]);
      expect(v.history.map((h) => h.status)).toEqual(['applied', 'applied', 'applied']);
    }
  });

  it('[APP26] a name-only change leaves the item\'s category and station spelled as they are, even where the menu spells them otherwise; a typed one takes the menu\'s spelling; a change to what the item holds writes nothing', async () => {
    const { store, menu } = await managerTablet('manager-1');
    await menu.define({ name: 'Ribeye', category: 'Mains', priceCents: 2650, station: 'grill' });
    await menu.define({ name: 'Burger', category: 'Mains', priceCents: 1450, station: 'grill' });
    // Written as a back office would (no re-spelling): category "mains", station "Grill".
    await store.append('menu.item_defined', { menuItemId: 'x', name: 'Calamri', category: 'mains', priceCents: 950, station: 'Grill' }, { aggregate: { id: 'x', type: 'menu_item' } });
    const written = () => store.getByAggregate('x').map((e) => e.payload);

    await menu.redefine('x', { name: ' Calamari ' });
    expect(store.view('x')).toMatchObject({ name: 'Calamari', category: 'mains', station: 'Grill', priceCents: 950 });
    expect(written().at(-1)).toEqual({ menuItemId: 'x', name: 'Calamari' });
    expect(await menu.redefine('x', { name: 'Calamari' })).toBeNull();
    // A category or station typed takes the menu's spelling, and goes alone.
    await menu.redefine('x', { name: 'Calamari', station: 'GRILL' });
    expect(written().at(-1)).toEqual({ menuItemId: 'x', station: 'grill' });
    await menu.redefine('x', { category: 'MAINS ' });
    expect(written().at(-1)).toEqual({ menuItemId: 'x', category: 'Mains' });
    expect(store.view('x')).toMatchObject({ name: 'Calamari', category: 'Mains', station: 'grill', priceCents: 950 });
    // Typed as the item holds it: nothing is written (otherwise but for case respells the group: below).
    expect(await menu.redefine('x', { category: 'Mains ', station: 'grill' })).toBeNull();
    expect(written()).toHaveLength(4);
    // An emptied station takes the item off any station.
    await menu.redefine('x', { station: ' ' });
    expect(written().at(-1)).toEqual({ menuItemId: 'x', station: null });
    expect((store.view('x') as MenuItemView).station).toBeNull();
  });

  it('[APP26] an item\'s own station typed otherwise but for case ("grill" → "Grill") respells it on every item that spells it so; an odd spelling of another group joins that group', async () => {
    const { store, menu } = await managerTablet('manager-1');
    const burger = await menu.define({ name: 'Burger', category: 'Mains', priceCents: 1450, station: 'grill' });
    const steak = await menu.define({ name: 'Steak frites', category: 'Mains', priceCents: 2450, station: 'grill' });
    const soup = await menu.define({ name: 'Soup', category: 'Starters', priceCents: 650, station: 'kitchen' });
    // Before, "Grill" typed on the burger came back as the steak's "grill": nothing was written.
    expect(await menu.redefine(burger, { station: 'Grill' })).not.toBeNull();
    expect([burger, steak, soup].map((id) => (store.view(id) as MenuItemView).station)).toEqual(['Grill', 'Grill', 'kitchen']);
    expect(store.getByAggregate(steak).at(-1)!.payload).toEqual({ menuItemId: steak, station: 'Grill' });
  });

  it('[EVT19][PRJ4] a change writes only the registers it carries (a null station takes the item off any station; the price, the rate and availability stay); one that lost every field it carries to newer writes is superseded', () => {
    const M: AggregateRef = { id: 'm-soup', type: 'menu_item' };
    const a = new TestWriter('manager-a', () => wall);
    const b = new TestWriter('manager-b', () => wall + 5_000);
    const defined = a.write(M, 'menu.item_defined', { menuItemId: M.id, name: 'Soup', category: 'Starters', priceCents: 650, station: 'Pass', taxBasisPoints: 1000 });
    b.see(defined);
    wall += 1000;
    const soldOut = a.write(M, 'menu.item_availability_set', { menuItemId: M.id, available: false });
    const offStation = a.write(M, 'menu.item_changed', { menuItemId: M.id, station: null });
    // b's clock is ahead and it had not seen a's change: its station wins, a's does not reach the name.
    const moved = b.write(M, 'menu.item_changed', { menuItemId: M.id, name: 'Soup of the day', station: 'Kitchen' });
    for (const order of permutations([defined, soldOut, offStation, moved])) {
      const v = menuItem(order);
      expect(v).toMatchObject({ name: 'Soup of the day', category: 'Starters', station: 'Kitchen', priceCents: 650, taxBasisPoints: 1000, soldOut: true });
      expect(v.history.find((h) => h.eventId === offStation.id)?.status).toBe('superseded');
    }
    // Seen and then changed: the null station holds.
    wall += 1000;
    const offAgain = a.see(moved).write(M, 'menu.item_changed', { menuItemId: M.id, station: null });
    for (const order of permutations([defined, offStation, moved, offAgain])) expect(menuItem(order)).toMatchObject({ name: 'Soup of the day', station: null, priceCents: 650 });
  });

  it('[EVT19][PRJ4] a concurrent change beaten on one field but still showing another is applied, not superseded: only one that holds no field any more is', () => {
    const M: AggregateRef = { id: 'm-soup', type: 'menu_item' };
    const a = new TestWriter('manager-a', () => wall);
    const b = new TestWriter('manager-b', () => wall + 5_000);
    const defined = a.write(M, 'menu.item_defined', { menuItemId: M.id, name: 'Soup', category: 'Starters', priceCents: 650 });
    b.see(defined);
    wall += 1000;
    // Neither saw the other's: b's later stamp takes the name, a's category holds.
    const renamedAndMoved = a.write(M, 'menu.item_changed', { menuItemId: M.id, name: 'Soup A', category: 'Soups' });
    const renamed = b.write(M, 'menu.item_changed', { menuItemId: M.id, name: 'Soup B' });
    for (const order of permutations([defined, renamedAndMoved, renamed])) {
      const v = menuItem(order);
      expect(v).toMatchObject({ name: 'Soup B', category: 'Soups' });
      expect(v.history.find((h) => h.eventId === renamedAndMoved.id)?.status).toBe('applied');
    }
    // The same where a's change folds after b's newer name (a wrote a price first: its change sorts later, its stamp still older).
    const repriced = a.write(M, 'menu.item_repriced', { menuItemId: M.id, priceCents: 700 });
    const lateChange = a.write(M, 'menu.item_changed', { menuItemId: M.id, name: 'Soup A', category: 'Soups' });
    expect([lateChange.seq > renamed.seq, lateChange.at < renamed.at]).toEqual([true, true]);
    const late = menuItem([defined, repriced, renamed, lateChange]);
    expect(late).toMatchObject({ name: 'Soup B', category: 'Soups', priceCents: 700 });
    expect(late.history.find((h) => h.eventId === lateChange.id)).toMatchObject({ status: 'applied', reason: 'some fields had newer writes' });
  });
});

describe('menu items: a name another item has', () => {
  it('[APP26] a name another item on the menu has is refused for a new item and a rename, trimmed and case aside, writing nothing; a retired item\'s name is free again', async () => {
    const { store, menu } = await managerTablet('manager-1');
    const burger = await menu.define({ name: 'Burger', category: 'Mains', priceCents: 1250 });
    const fries = await menu.define({ name: 'Fries', category: 'Sides', priceCents: 400 });
    const written = store.projection.size;
    const taken = new CommandRefused('there is a menu item Burger already');
    expect(() => menu.define({ name: '  Burger ', category: 'Mains', priceCents: 990 })).toThrow(taken);
    expect(() => menu.define({ name: 'BURGER', category: 'Mains', priceCents: 990 })).toThrow(taken);
    expect(() => menu.redefine(fries, { name: 'burger' })).toThrow(taken);
    expect(store.projection.size).toBe(written);
    await menu.retire(burger);
    await expect(menu.define({ name: 'Burger', category: 'Mains', priceCents: 1300 })).resolves.toMatch(/^item-/);
  });
});
