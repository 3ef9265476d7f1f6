import { MENU_ITEM_AGGREGATE, type MenuItemChangedV1, type MenuItemDefinedV2 } from '../../shared/domain/menu-events';
import { newEventId } from '../../shared/events/event-id';
import type { EventEnvelope } from '../../shared/events/envelope';
import type { MenuItemView } from '../../shared/projection/views';
import { CommandRefused, requireManager, signedBy, type CommandContext } from './ticket-commands';

/** A menu item as a manager defines it. */
export interface MenuItemDraft {
  name: string;
  category: string;
  priceCents: number;
  /** The kitchen station that makes it; none = shown on the all-stations screen only. */
  station?: string;
  /** The sales tax included in the price (basis points: 2000 = 20 %); none = no rate. */
  taxBasisPoints?: number;
}

/** What a manager changes of an item's definition: its name, category or station (the station '' for none). */
export type MenuItemChange = Partial<Pick<MenuItemDraft, 'name' | 'category' | 'station'>>;

/**
 * The item among `items` other than `exceptId`, on the menu (not retired), named `name` trimmed,
 * case aside: staff tell items apart by name on the till, so two "Crème brûlée" at two prices must not be.
 */
export function menuItemNamed(items: readonly MenuItemView[], name: string, exceptId: string | null): MenuItemView | undefined {
  const lower = name.trim().toLocaleLowerCase();
  return items.find((item) => item.id !== exceptId && !item.retired && item.name?.toLocaleLowerCase() === lower);
}

/** The fields a category or a station is, matched against the menu's existing spellings. */
type GroupingField = 'category' | 'station';

/**
 * What staff can do to the menu from a terminal: mark an item sold out ("86") when the
 * kitchen runs out of it, and available again (any role); add, rename, reprice and retire
 * items (managers, as the back office does over REST). Like TicketCommands, each method resolves
 * once the event is durable, and the projection shows it before that.
 */
export class MenuCommands {
  constructor(private readonly ctx: CommandContext) {}

  /** An LWW write (PRJ14): the latest word on the item holds on every terminal. */
  setAvailability(menuItemId: string, available: boolean): Promise<EventEnvelope> {
    this.item(menuItemId);
    return this.append(menuItemId, 'menu.item_availability_set', { menuItemId, available });
  }

  /**
   * A new item on every till's menu; returns its id. Tickets copy its price when it is added.
   * Its category and station take the menu's spelling of them (spelledAsOnMenu).
   */
  define(draft: MenuItemDraft): Promise<string> {
    requireManager(this.ctx, 'change the menu');
    this.refuseNameTaken(draft.name, null);
    const menuItemId = `item-${newEventId().slice(-12)}`;
    // The name trimmed, the category and station spelled as on the menu, no station when none is typed.
    const station = this.spelledAsOnMenu('station', draft.station ?? '', menuItemId);
    const written = this.append(menuItemId, 'menu.item_defined', {
      menuItemId,
      name: draft.name.trim(),
      category: this.spelledAsOnMenu('category', draft.category, menuItemId),
      priceCents: draft.priceCents,
      ...(station ? { station } : {}),
      ...(draft.taxBasisPoints === undefined ? {} : { taxBasisPoints: draft.taxBasisPoints }),
    } satisfies MenuItemDefinedV2);
    return written.then(() => menuItemId);
  }

  /**
   * A new name, category or station for the item: `menu.item_changed` carrying only the fields
   * that change; null when none does (nothing is written). Each field is its own register
   * (PRJ4): the price, the tax rate and the fields not changed are not written, so a change of
   * them made on a device this one has not heard from yet holds. A category or station typed takes
   * the menu's spelling (spelledAsOnMenu; '' for the station: none); one not typed is left as
   * it is spelled. The item's own category or station typed otherwise but for case ("grill" →
   * "Grill") respells it on every item that spells it so: one station, however many items it
   * makes. Lines already on tickets keep the name they were added with.
   */
  redefine(menuItemId: string, change: MenuItemChange): Promise<EventEnvelope | null> {
    requireManager(this.ctx, 'change the menu');
    const item = this.item(menuItemId);
    if (item.name === null) throw new CommandRefused(`no menu item ${menuItemId}`);
    const respelled: { field: GroupingField; from: string; to: string }[] = [];
    const grouping = (field: GroupingField, typed: string): string => {
      const held = item[field];
      const wanted = typed.trim();
      const menuSpelling = this.spelledAsOnMenu(field, typed, menuItemId);
      if (held === null || wanted === held || wanted.toLocaleLowerCase() !== held.toLocaleLowerCase()) return menuSpelling;
      // Its group respelled, unless the item is the odd spelling of another group: it joins that.
      if (this.menuItemsSpelling(field, held, menuItemId).length === 0 && menuSpelling !== wanted) return menuSpelling;
      respelled.push({ field, from: held, to: wanted });
      return wanted;
    };
    const name = change.name?.trim();
    if (name !== undefined && name !== item.name) this.refuseNameTaken(name, menuItemId);
    const category = change.category === undefined ? undefined : grouping('category', change.category);
    const station = change.station === undefined ? undefined : grouping('station', change.station) || null;
    const changed: Omit<MenuItemChangedV1, 'menuItemId'> = {
      ...(name === undefined || name === item.name ? {} : { name }),
      ...(category === undefined || category === item.category ? {} : { category }),
      ...(station === undefined || station === item.station ? {} : { station }),
    };
    if (Object.keys(changed).length === 0) return Promise.resolve(null);
    const others = respelled.flatMap(({ field, from, to }) =>
      this.menuItemsSpelling(field, from, menuItemId).map((other) => this.append(other.id, 'menu.item_changed', { menuItemId: other.id, [field]: to })),
    );
    return Promise.all([this.append(menuItemId, 'menu.item_changed', { menuItemId, ...changed }), ...others]).then(([own]) => own);
  }

  /** The price of new lines; lines already on tickets keep the price they were added at. */
  reprice(menuItemId: string, priceCents: number): Promise<EventEnvelope> {
    requireManager(this.ctx, 'change the menu');
    this.item(menuItemId);
    return this.append(menuItemId, 'menu.item_repriced', { menuItemId, priceCents });
  }

  /** The tax rate of new lines (included in the price; null: none); lines already on tickets keep theirs. */
  setTaxRate(menuItemId: string, taxBasisPoints: number | null): Promise<EventEnvelope> {
    requireManager(this.ctx, 'change the menu');
    const item = this.item(menuItemId);
    if (item.taxBasisPoints === taxBasisPoints) {
      throw new CommandRefused(`${item.name ?? menuItemId} ${taxBasisPoints === null ? 'has no tax rate' : 'is already taxed at that rate'}`);
    }
    return this.append(menuItemId, 'menu.item_tax_set', { menuItemId, taxBasisPoints });
  }

  /** Off the menu for good (first-wins); tickets that have it keep their lines. */
  retire(menuItemId: string): Promise<EventEnvelope> {
    requireManager(this.ctx, 'change the menu');
    const item = this.item(menuItemId);
    if (item.retired) throw new CommandRefused(`${item.name ?? menuItemId} is already off the menu`);
    return this.append(menuItemId, 'menu.item_retired', { menuItemId });
  }

  /**
   * A category or station as typed, trimmed; one that matches the menu's other items' ignoring
   * case takes their spelling ("grill" → "Grill"), so a slip makes no second station (whose
   * items no Grill kitchen screen would show). Of several spellings, the one most items use.
   */
  private spelledAsOnMenu(field: GroupingField, typed: string, menuItemId: string): string {
    const wanted = typed.trim();
    const uses = new Map<string, number>();
    for (const item of this.otherMenuItems(menuItemId)) {
      const spelling = item[field];
      if (spelling !== null && spelling.toLocaleLowerCase() === wanted.toLocaleLowerCase()) uses.set(spelling, (uses.get(spelling) ?? 0) + 1);
    }
    if (uses.has(wanted)) return wanted;
    return [...uses].sort(([a, m], [b, n]) => n - m || a.localeCompare(b))[0]?.[0] ?? wanted;
  }

  /** Refuses a name another item on the menu has, case aside (menuItemNamed). */
  private refuseNameTaken(name: string, menuItemId: string | null): void {
    const taken = menuItemNamed(this.menuItems(), name, menuItemId);
    if (taken !== undefined) throw new CommandRefused(`there is a menu item ${taken.name} already`);
  }

  /** The menu's other items whose category or station is spelled `spelling`. */
  private menuItemsSpelling(field: GroupingField, spelling: string, menuItemId: string): MenuItemView[] {
    return this.otherMenuItems(menuItemId).filter((item) => item[field] === spelling);
  }

  /** Every menu item this device holds, retired ones too. */
  private menuItems(): MenuItemView[] {
    return this.ctx.store.views(MENU_ITEM_AGGREGATE, { partial: true }) as MenuItemView[];
  }

  /** The items on the menu (defined, not retired) but `menuItemId`. */
  private otherMenuItems(menuItemId: string | null): MenuItemView[] {
    return this.menuItems().filter((item) => item.id !== menuItemId && !item.retired && item.name !== null);
  }

  private item(menuItemId: string): MenuItemView {
    const item = this.ctx.store.view(menuItemId);
    if (item?.kind !== 'menu_item') throw new CommandRefused(`no menu item ${menuItemId}`);
    return item;
  }

  private append(menuItemId: string, type: string, payload: unknown): Promise<EventEnvelope> {
    return this.ctx.store.append(type, payload, { aggregate: { id: menuItemId, type: MENU_ITEM_AGGREGATE }, ...signedBy(this.ctx) });
  }
}
