import type { MenuCommands } from '../../commands/menu-commands';
import { MENU_ITEM_AGGREGATE } from '../../../shared/domain/menu-events';
import type { MenuItemView } from '../../../shared/projection/views';
import { compareNames, money, parseMoney } from '../format';
import { CommandState } from './command-state.svelte';
import type { LiveLog } from './live-log.svelte';

/**
 * The Menu screen (managers): add an item, change a price, take an item off the menu. Every
 * till's menu follows live; lines already on tickets keep the price they were added at.
 */
export class MenuEditorModel extends CommandState {
  name = $state('');
  category = $state('');
  priceText = $state('');
  station = $state('');
  /** Prices being typed, by item (the field shows the current price until then). */
  priceDrafts = $state<Record<string, string>>({});
  /** The item whose retirement waits for a second tap. */
  retiring = $state<string | null>(null);

  /** Items on the menu, by category then name (retired ones are gone for good). */
  readonly items = $derived.by((): MenuItemView[] =>
    this.log
      .views<MenuItemView>(MENU_ITEM_AGGREGATE)
      .filter((item) => !item.retired && item.name !== null)
      .sort((a, b) => compareNames(a.category ?? '', b.category ?? '') || compareNames(a.name ?? '', b.name ?? '')),
  );

  /** The categories and stations in use, offered while typing a new item. */
  readonly categories = $derived([...new Set(this.items.map((i) => i.category).filter((c) => c !== null))].sort(compareNames));
  readonly stations = $derived([...new Set(this.items.map((i) => i.station).filter((s) => s !== null))].sort(compareNames));

  /** Why the new item cannot be added as typed; null when it can. */
  readonly addProblem = $derived.by((): string | null => {
    if (this.name.trim() === '') return 'Name the item';
    if (this.category.trim() === '') return 'Give it a category';
    const price = parseMoney(this.priceText);
    if (price === null || price <= 0) return 'Enter its price (e.g. 7.50)';
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
    const ok = await this.run(() => this.commands.define({ name: this.name, category: this.category, priceCents, station: this.station }));
    if (ok) {
      this.name = '';
      this.priceText = '';
    }
    return ok;
  }

  /** The price field of an item: what is being typed, else its price. */
  priceShown(item: MenuItemView): string {
    return this.priceDrafts[item.id] ?? money(item.priceCents ?? 0);
  }

  async reprice(item: MenuItemView): Promise<boolean> {
    const text = this.priceDrafts[item.id];
    if (text === undefined) return false;
    const priceCents = parseMoney(text);
    if (priceCents === null || priceCents <= 0) {
      this.error = `Enter the new price of ${item.name} (e.g. 7.50)`;
      return false;
    }
    const ok = await this.run(() => this.commands.reprice(item.id, priceCents));
    if (ok) delete this.priceDrafts[item.id];
    return ok;
  }

  async retire(item: MenuItemView): Promise<boolean> {
    if (this.retiring !== item.id) {
      this.retiring = item.id;
      return false;
    }
    this.retiring = null;
    return this.run(() => this.commands.retire(item.id));
  }

}
