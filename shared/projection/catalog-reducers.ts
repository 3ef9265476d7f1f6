import type { DecodedEvent } from '../events/catalog';
import { MENU_ITEM_MERGE_POLICY, TABLE_MERGE_POLICY, lwwWins, raceLoser, registerWriteOf, type RegisterWrite } from './merge-policy';
import { assertNever, outcome, type Step } from './reducer';
import type { MenuItemView, TableView } from './views';

/** Reducers of the location's catalog aggregates (menu items, tables), per merge-policy.ts. */

type MenuItemEvent = DecodedEvent<keyof typeof MENU_ITEM_MERGE_POLICY>;
type TableEvent = DecodedEvent<keyof typeof TABLE_MERGE_POLICY>;

type MenuFields = Pick<MenuItemView, 'name' | 'category' | 'priceCents' | 'station' | 'retired' | 'retiredAt'>;

export interface MenuItemState extends MenuFields {
  readonly lww: Readonly<Record<string, RegisterWrite>>;
}

export const EMPTY_MENU_ITEM: MenuItemState = {
  name: null,
  category: null,
  priceCents: null,
  station: null,
  retired: false,
  retiredAt: null,
  lww: {},
};

export function isMenuItemEvent(e: DecodedEvent): e is MenuItemEvent {
  return Object.prototype.hasOwnProperty.call(MENU_ITEM_MERGE_POLICY, e.type);
}

export function isTableEvent(e: DecodedEvent): e is TableEvent {
  return Object.prototype.hasOwnProperty.call(TABLE_MERGE_POLICY, e.type);
}

/**
 * Writes each field as its own LWW register, so a rename and a concurrent repricing
 * both survive. Superseded only if every field lost.
 */
function writeRegisters<S extends { lww: Readonly<Record<string, RegisterWrite>> }>(s: S, e: DecodedEvent, patch: Partial<S>): Step<S> {
  const write = registerWriteOf(e);
  const won: Partial<S> = {};
  const lww: Record<string, RegisterWrite> = { ...s.lww };
  const losers = new Set<string>();
  for (const key of Object.keys(patch) as (keyof S & string)[]) {
    const current = s.lww[key];
    if (lwwWins(current?.stamp, write.stamp)) {
      won[key] = patch[key];
      lww[key] = write;
      const loser = raceLoser(current, write);
      if (loser) losers.add(loser);
    }
  }
  if (Object.keys(won).length === 0) return { state: s, outcome: outcome('superseded', 'older write') };
  const partial = Object.keys(won).length < Object.keys(patch).length;
  const o = outcome('applied', partial ? 'some fields had newer writes' : null);
  return { state: { ...s, ...won, lww }, outcome: losers.size ? { ...o, supersedes: [...losers].sort() } : o };
}

export function reduceMenuItem(s: MenuItemState, e: MenuItemEvent): Step<MenuItemState> {
  switch (e.type) {
    case 'menu.item_defined': {
      const p = e.payload;
      return writeRegisters<MenuItemState>(s, e, { name: p.name, category: p.category, priceCents: p.priceCents, station: p.station ?? null });
    }
    case 'menu.item_repriced':
      return writeRegisters<MenuItemState>(s, e, { priceCents: e.payload.priceCents });
    case 'menu.item_retired':
      if (s.retired) return { state: s, outcome: outcome('superseded', 'already retired') };
      return { state: { ...s, retired: true, retiredAt: e.at }, outcome: outcome('applied') };
    case 'conflict.resolved':
      return { state: s, outcome: outcome('ignored', 'menu items have no escalated conflicts') };
    default:
      return assertNever(e, 'menu item event');
  }
}

export interface TableState extends Pick<TableView, 'label' | 'seats'> {
  readonly lww: Readonly<Record<string, RegisterWrite>>;
}

export const EMPTY_TABLE: TableState = { label: null, seats: null, lww: {} };

export function reduceTable(s: TableState, e: TableEvent): Step<TableState> {
  switch (e.type) {
    case 'table.defined':
      return writeRegisters<TableState>(s, e, { label: e.payload.label, seats: e.payload.seats });
    case 'conflict.resolved':
      return { state: s, outcome: outcome('ignored', 'tables have no escalated conflicts') };
    default:
      return assertNever(e, 'table event');
  }
}
