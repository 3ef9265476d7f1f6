import type { DecodedEvent } from '../events/catalog';
import { LOCATION_MERGE_POLICY, MENU_ITEM_MERGE_POLICY, TABLE_MERGE_POLICY, writeWins, raceLoser, registerWriteOf, type RegisterWrite } from './merge-policy';
import { assertNever } from '../assert-never';
import { outcome, type Outcome } from './reducer';
import type { LocationView, MenuItemView, TableView } from './views';

/** Reducers of the location's catalog aggregates (menu items, tables, the location's details), per merge-policy.ts. */

type MenuItemEvent = DecodedEvent<keyof typeof MENU_ITEM_MERGE_POLICY>;
type TableEvent = DecodedEvent<keyof typeof TABLE_MERGE_POLICY>;
type LocationEvent = DecodedEvent<keyof typeof LOCATION_MERGE_POLICY>;

type MenuFields = Pick<MenuItemView, 'name' | 'category' | 'priceCents' | 'station' | 'taxBasisPoints' | 'retired' | 'retiredAt'>;

/**
 * Like the ticket reducer (see OWNERSHIP in ticket-reducer.ts), these update a state owned
 * by the fold in place and return the outcome; buildView copies what a view shows.
 */
export interface MenuItemState extends MenuFields {
  /** The availability register; the view shows it as soldOut = !available. */
  available: boolean;
  /** Field name → the write holding it. */
  readonly lww: Map<string, RegisterWrite>;
}

export function newMenuItemState(): MenuItemState {
  return { name: null, category: null, priceCents: null, station: null, taxBasisPoints: null, retired: false, retiredAt: null, available: true, lww: new Map() };
}

export function isMenuItemEvent(e: DecodedEvent): e is MenuItemEvent {
  return Object.prototype.hasOwnProperty.call(MENU_ITEM_MERGE_POLICY, e.type);
}

export function isTableEvent(e: DecodedEvent): e is TableEvent {
  return Object.prototype.hasOwnProperty.call(TABLE_MERGE_POLICY, e.type);
}

export function isLocationEvent(e: DecodedEvent): e is LocationEvent {
  return Object.prototype.hasOwnProperty.call(LOCATION_MERGE_POLICY, e.type);
}

/**
 * Writes each field as its own LWW register, so a rename and a concurrent repricing
 * both survive. Superseded only if every field lost; a concurrent write it beat is
 * superseded only once it holds no field (a change of name and category, beaten on the
 * name only, still shows its category).
 */
function writeRegisters<S extends { readonly lww: Map<string, RegisterWrite> }>(s: S, e: DecodedEvent, patch: Partial<S>): Outcome {
  const write = registerWriteOf(e);
  const keys = Object.keys(patch) as (keyof S & string)[];
  const losers = new Set<string>();
  let won = 0;
  for (const key of keys) {
    const current = s.lww.get(key);
    if (!writeWins(current, write)) continue;
    won++;
    (s as Record<string, unknown>)[key] = patch[key];
    s.lww.set(key, write);
    const loser = raceLoser(current, write);
    if (loser) losers.add(loser);
  }
  if (won === 0) return outcome('superseded', 'older write');
  const o = outcome('applied', won < keys.length ? 'some fields had newer writes' : null);
  if (losers.size === 0) return o;
  for (const w of s.lww.values()) losers.delete(w.id);
  return losers.size ? { ...o, supersedes: [...losers].sort() } : o;
}

/** The fields a write carries, of those it may (a field left out keeps its register). */
function carriedFields<F extends string, P extends Partial<Record<F, unknown>>>(fields: readonly F[], payload: P): Pick<P, F> {
  const patch: Partial<Record<F, unknown>> = {};
  for (const field of fields) if (payload[field] !== undefined) patch[field] = payload[field];
  return patch as Pick<P, F>;
}

export function reduceMenuItem(s: MenuItemState, e: MenuItemEvent): Outcome {
  switch (e.type) {
    case 'menu.item_defined': {
      const p = e.payload;
      const fields: Partial<MenuItemState> = { name: p.name, category: p.category, priceCents: p.priceCents, station: p.station ?? null };
      // An item defined without a rate (v1) leaves the rate register as it is.
      if (p.taxBasisPoints !== undefined) fields.taxBasisPoints = p.taxBasisPoints;
      return writeRegisters<MenuItemState>(s, e, fields);
    }
    case 'menu.item_changed':
      // A rename leaves the price's register, and the others', as they are.
      return writeRegisters<MenuItemState>(s, e, carriedFields(MENU_ITEM_MERGE_POLICY['menu.item_changed'].fields, e.payload));
    case 'menu.item_tax_set':
      return writeRegisters<MenuItemState>(s, e, { taxBasisPoints: e.payload.taxBasisPoints });
    case 'menu.item_repriced':
      return writeRegisters<MenuItemState>(s, e, { priceCents: e.payload.priceCents });
    case 'menu.item_availability_set':
      return writeRegisters<MenuItemState>(s, e, { available: e.payload.available });
    case 'menu.item_retired':
      return retireOnce(s, e);
    case 'conflict.resolved':
      return outcome('ignored', 'menu items have no escalated conflicts');
    default:
      return assertNever(e, 'menu item event');
  }
}

/** First-wins retirement of a menu item or a table: the first sets retiredAt, later ones are superseded. */
function retireOnce(s: { retired: boolean; retiredAt: number | null }, e: DecodedEvent): Outcome {
  if (s.retired) return outcome('superseded', 'already retired');
  s.retired = true;
  s.retiredAt = e.at;
  return outcome('applied');
}

export interface TableState extends Pick<TableView, 'label' | 'seats' | 'retired' | 'retiredAt'> {
  readonly lww: Map<string, RegisterWrite>;
}

export function newTableState(): TableState {
  return { label: null, seats: null, retired: false, retiredAt: null, lww: new Map() };
}

export function reduceTable(s: TableState, e: TableEvent): Outcome {
  switch (e.type) {
    case 'table.defined': {
      // Only the fields the write carries (v2): a rename leaves the seats' register as it is.
      const { label, seats } = e.payload;
      return writeRegisters<TableState>(s, e, { ...(label === undefined ? {} : { label }), ...(seats === undefined ? {} : { seats }) });
    }
    case 'table.retired':
      return retireOnce(s, e);
    case 'conflict.resolved':
      return outcome('ignored', 'tables have no escalated conflicts');
    default:
      return assertNever(e, 'table event');
  }
}

export interface LocationState extends Pick<LocationView, 'name' | 'address' | 'taxNumber' | 'receiptFooter'> {
  readonly lww: Map<string, RegisterWrite>;
}

export function newLocationState(): LocationState {
  return { name: null, address: null, taxNumber: null, receiptFooter: null, lww: new Map() };
}

export function reduceLocation(s: LocationState, e: LocationEvent): Outcome {
  switch (e.type) {
    case 'location.details_set':
      return writeRegisters<LocationState>(s, e, carriedFields(LOCATION_MERGE_POLICY['location.details_set'].fields, e.payload));
    case 'conflict.resolved':
      return outcome('ignored', 'a location has no escalated conflicts');
    default:
      return assertNever(e, 'location event');
  }
}
