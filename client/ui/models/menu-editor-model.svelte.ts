import { menuItemNamed, type MenuCommands } from '../../commands/menu-commands';
import type { MenuItemView } from '../../../shared/projection/views';
import { AMOUNT_MAX_CENTS, SHORT_TEXT_MAX, compareNames, money, parseMoney, parseTaxPercent, taxPercent } from '../format';
import { CommandState } from './command-state.svelte';
import type { LiveLog } from './live-log.svelte';
import { SecondTap } from './second-tap.svelte';

/** The fields of an item a manager changes in place. */
export type MenuField = 'name' | 'category' | 'station' | 'price' | 'tax';

/** How a field reads on screen: its name, the unit its input is in, and the input's placeholder. */
export interface MenuFieldLabel {
  name: string;
  unit: string;
  placeholder: string;
}

/**
 * A field as typed and as written: parse (undefined when it is not a value), why a value is
 * refused all the same (too large, another item's name), what the item holds now (as shown and
 * as a value), how to ask for a value, and the command that writes one.
 */
interface MenuFieldSpec<V> extends MenuFieldLabel {
  parse(text: string): V | undefined;
  refusal?(value: V, item: MenuItemView, menu: readonly MenuItemView[]): string | null;
  shown(item: MenuItemView): string;
  held(item: MenuItemView): V | null;
  example: string;
  write(commands: MenuCommands, menuItemId: string, value: V): Promise<unknown>;
}

/** A field's spec, its value's type closed over. */
interface MenuFieldRule extends MenuFieldLabel {
  shown(item: MenuItemView): string;
  example: string;
  /** The write of a typed text: null when the item holds it already; why not (said under the field) when it cannot be written. */
  writeOf(item: MenuItemView, text: string, menu: readonly MenuItemView[]): ((commands: MenuCommands) => Promise<unknown>) | null | string;
}

function fieldRule<V>(spec: MenuFieldSpec<V>): MenuFieldRule {
  const { name, unit, placeholder, shown, example } = spec;
  return {
    name,
    unit,
    placeholder,
    shown,
    example,
    writeOf(item, text, menu) {
      const value = spec.parse(text);
      if (value === undefined) return `Enter a ${name}${unit} (${example})`;
      if (value === spec.held(item)) return null;
      return spec.refusal?.(value, item, menu) ?? ((commands) => spec.write(commands, item.id, value));
    },
  };
}

/** A name staff find the item by: not blank, at most SHORT_TEXT_MAX; `optional` takes empty as none (''). */
function parseName(text: string, optional = false): string | undefined {
  const name = text.trim();
  return (name !== '' || optional) && name.length <= SHORT_TEXT_MAX ? name : undefined;
}

const MENU_FIELD_RULES: Readonly<Record<MenuField, MenuFieldRule>> = {
  name: fieldRule<string>({
    name: 'name',
    unit: '',
    placeholder: '',
    parse: (text) => parseName(text),
    refusal: (name, item, menu) => nameTaken(menu, name, item.id),
    shown: (item) => item.name ?? '',
    held: (item) => item.name,
    example: 'it cannot be blank',
    write: (commands, id, name) => commands.redefine(id, { name }),
  }),
  category: fieldRule<string>({
    name: 'category',
    unit: '',
    placeholder: '',
    parse: (text) => parseName(text),
    shown: (item) => item.category ?? '',
    held: (item) => item.category,
    example: 'e.g. Starters',
    write: (commands, id, category) => commands.redefine(id, { category }),
  }),
  /** An empty station is none (''): the item shows on the all-stations kitchen screen only. */
  station: fieldRule<string>({
    name: 'station',
    unit: '',
    placeholder: 'none',
    parse: (text) => parseName(text, true),
    shown: (item) => item.station ?? '',
    held: (item) => item.station ?? '',
    example: 'e.g. Grill; empty for none',
    write: (commands, id, station) => commands.redefine(id, { station }),
  }),
  price: fieldRule<number>({
    name: 'price',
    unit: '',
    placeholder: '',
    parse: (text) => priceOf(parseMoney(text)),
    refusal: (priceCents) => (priceCents > AMOUNT_MAX_CENTS ? PRICE_TOO_LARGE : null),
    shown: (item) => money(item.priceCents ?? 0),
    held: (item) => item.priceCents,
    example: 'e.g. 7.50',
    write: (commands, id, priceCents) => commands.reprice(id, priceCents),
  }),
  /** An empty tax rate is none (null). */
  tax: fieldRule<number | null>({
    name: 'tax rate',
    unit: ' in %',
    placeholder: 'none',
    parse: parseTaxRate,
    shown: (item) => (item.taxBasisPoints === null ? '' : taxPercent(item.taxBasisPoints)),
    held: (item) => item.taxBasisPoints,
    example: 'e.g. 20; empty for none',
    write: (commands, id, basisPoints) => commands.setTaxRate(id, basisPoints),
  }),
};

export const MENU_FIELDS: Readonly<Record<MenuField, MenuFieldLabel>> = MENU_FIELD_RULES;

/** A price: above 0 (one above AMOUNT_MAX_CENTS is refused with PRICE_TOO_LARGE). */
function priceOf(cents: number | null): number | undefined {
  return cents !== null && cents > 0 ? cents : undefined;
}

const PRICE_TOO_LARGE = `At most ${money(AMOUNT_MAX_CENTS)} a price`;

/** Why `name` cannot be an item's (MenuCommands refuses it): another item on the menu has it, case aside; else null. */
function nameTaken(menu: readonly MenuItemView[], name: string, exceptId: string | null): string | null {
  const taken = menuItemNamed(menu, name, exceptId);
  return taken === undefined ? null : `There is a menu item ${taken.name} already`;
}

/** A tax rate as typed: empty is none (null), else basis points; undefined when it is neither. */
function parseTaxRate(text: string): number | null | undefined {
  return text.trim() === '' ? null : (parseTaxPercent(text) ?? undefined);
}

/**
 * The Menu screen (managers): add an item, change its name, category, station, price or tax
 * rate, take an item off the menu. Every till's menu follows live; lines already on tickets keep
 * the name, the price and the rate they were added with. A field saves only a typed change.
 */
export class MenuEditorModel extends CommandState {
  name = $state('');
  category = $state('');
  priceText = $state('');
  station = $state('');
  /** The tax included in the price, in % (empty: no rate). */
  taxText = $state('');
  /** Fields being typed, by field and item (a field shows the item's value until then). */
  drafts = $state<Record<MenuField, Record<string, string>>>({ name: {}, category: {}, station: {}, price: {}, tax: {} });
  /** A field whose typed text is no value, and how to write one: said under that field (`error` says the rest). */
  fieldError = $state<{ itemId: string; field: MenuField; text: string } | null>(null);
  /** The item whose retirement waits for a second tap. */
  readonly retiring = new SecondTap();

  /** Something typed and not saved: a new item or a field of one (the automatic update waits for it). */
  get hasDrafts(): boolean {
    // A draft of an item taken off the menu (here or on another tablet) is gone with it.
    return [this.name, this.category, this.priceText, this.station, this.taxText].some((t) => t.trim() !== '') || Object.values(this.drafts).some((byItem) => this.items.some((item) => byItem[item.id] !== undefined));
  }

  /** Items on the menu, by category then name. */
  readonly items = $derived.by((): MenuItemView[] => this.log.menuItems().sort((a, b) => compareNames(a.category ?? '', b.category ?? '')));

  /** The categories and stations in use, offered while typing a new item. */
  readonly categories = $derived([...new Set(this.items.map((i) => i.category).filter((c) => c !== null))].sort(compareNames));
  readonly stations = $derived([...new Set(this.items.map((i) => i.station).filter((s) => s !== null))].sort(compareNames));
  /** The tax rates in use (in %), offered while typing a new item. */
  readonly taxRates = $derived([...new Set(this.items.map((i) => i.taxBasisPoints).filter((r) => r !== null))].sort((a, b) => a - b).map(taxPercent));

  /** Why the new item cannot be added as typed; null when it can. */
  readonly addProblem = $derived.by((): string | null => {
    if (this.name.trim() === '') return 'Name the item';
    const taken = nameTaken(this.items, this.name, null);
    if (taken !== null) return taken;
    if (this.category.trim() === '') return 'Give it a category';
    const price = parseMoney(this.priceText);
    if (price === null || price <= 0) return 'Enter its price (e.g. 7.50)';
    if (price > AMOUNT_MAX_CENTS) return PRICE_TOO_LARGE;
    if (parseTaxRate(this.taxText) === undefined) return 'Enter the tax included in its price in % (e.g. 20), or leave it empty';
    return null;
  });

  constructor(
    private readonly log: LiveLog,
    private readonly commands: MenuCommands,
  ) {
    super();
  }

  async add(): Promise<boolean> {
    const priceCents = parseMoney(this.priceText);
    if (this.addProblem !== null || priceCents === null) return false;
    const taxBasisPoints = parseTaxRate(this.taxText) ?? undefined;
    const ok = await this.run(() => this.commands.define({ name: this.name, category: this.category, priceCents, station: this.station, ...(taxBasisPoints === undefined ? {} : { taxBasisPoints }) }));
    if (ok) {
      this.name = '';
      this.priceText = '';
    }
    return ok;
  }

  /** An item's field: what is being typed, else its value. */
  shown(item: MenuItemView, field: MenuField): string {
    return this.drafts[field][item.id] ?? MENU_FIELD_RULES[field].shown(item);
  }

  /** What is wrong with what was typed in an item's field; null when nothing is. */
  errorOf(item: MenuItemView, field: MenuField): string | null {
    const e = this.fieldError;
    return e !== null && e.itemId === item.id && e.field === field ? e.text : null;
  }

  /** Types in an item's field: its error goes, the manager is correcting it. */
  type(item: MenuItemView, field: MenuField, text: string): void {
    this.drafts[field][item.id] = text;
    this.clearErrorOf(item, field);
  }

  private clearErrorOf(item: MenuItemView, field: MenuField): void {
    if (this.errorOf(item, field) !== null) this.fieldError = null;
  }

  /**
   * Writes what was typed in an item's field (a new name, category or station: redefine; a
   * price: reprice; a tax rate: setTaxRate); a value the item holds already writes nothing.
   */
  async save(item: MenuItemView, field: MenuField): Promise<boolean> {
    const text = this.drafts[field][item.id];
    if (text === undefined) return false;
    const write = MENU_FIELD_RULES[field].writeOf(item, text, this.items);
    if (typeof write === 'string') {
      this.fieldError = { itemId: item.id, field, text: write };
      return false;
    }
    const ok = write === null || (await this.run(() => write(this.commands)));
    if (ok) {
      delete this.drafts[field][item.id];
      this.clearErrorOf(item, field);
    }
    return ok;
  }

  /** Takes the item off the menu for good on a second, deliberate tap (SecondTap). */
  async retire(item: MenuItemView): Promise<boolean> {
    if (!this.retiring.tap(item.id)) return false;
    return this.run(() => this.commands.retire(item.id));
  }
}
