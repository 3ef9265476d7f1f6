import { MENU_ITEM_AGGREGATE } from '../../shared/domain/menu-events';
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

/**
 * What staff can do to the menu from a terminal: mark an item sold out ("86") when the
 * kitchen runs out of it, and available again (any role); add, reprice and retire items
 * (managers, as the back office does over REST). Like TicketCommands, each method resolves
 * once the event is durable, and the projection shows it before that.
 */
export class MenuCommands {
  constructor(private readonly ctx: CommandContext) {}

  /** An LWW write (PRJ14): the latest word on the item holds on every terminal. */
  setAvailability(menuItemId: string, available: boolean): Promise<EventEnvelope> {
    this.item(menuItemId);
    return this.append(menuItemId, 'menu.item_availability_set', { menuItemId, available });
  }

  /** A new item on every till's menu; returns its id. Tickets copy its price when it is added. */
  define(draft: MenuItemDraft): Promise<string> {
    requireManager(this.ctx, 'change the menu');
    const menuItemId = `item-${newEventId().slice(-12)}`;
    const station = draft.station?.trim();
    const written = this.append(menuItemId, 'menu.item_defined', {
      menuItemId,
      name: draft.name.trim(),
      category: draft.category.trim(),
      priceCents: draft.priceCents,
      ...(station ? { station } : {}),
      ...(draft.taxBasisPoints === undefined ? {} : { taxBasisPoints: draft.taxBasisPoints }),
    });
    return written.then(() => menuItemId);
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

  private item(menuItemId: string): MenuItemView {
    const item = this.ctx.store.view(menuItemId);
    if (item?.kind !== 'menu_item') throw new CommandRefused(`no menu item ${menuItemId}`);
    return item;
  }

  private append(menuItemId: string, type: string, payload: unknown): Promise<EventEnvelope> {
    return this.ctx.store.append(type, payload, { aggregate: { id: menuItemId, type: MENU_ITEM_AGGREGATE }, ...signedBy(this.ctx) });
  }
}
