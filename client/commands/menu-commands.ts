import { MENU_ITEM_AGGREGATE } from '../../shared/domain/menu-events';
import type { EventEnvelope } from '../../shared/events/envelope';
import { CommandRefused, signedBy, type CommandContext } from './ticket-commands';

/**
 * What staff can do to the menu from a terminal: mark an item sold out ("86") when the
 * kitchen runs out of it, and available again. Any role may; defining, repricing and
 * retiring items is the back office's. Like TicketCommands, each method resolves once the
 * event is durable, and the projection shows it before that.
 */
export class MenuCommands {
  constructor(private readonly ctx: CommandContext) {}

  /** An LWW write (PRJ14): the latest word on the item holds on every terminal. */
  setAvailability(menuItemId: string, available: boolean): Promise<EventEnvelope> {
    const item = this.ctx.store.view(menuItemId);
    if (item?.kind !== 'menu_item') throw new CommandRefused(`no menu item ${menuItemId}`);
    return this.ctx.store.append(
      'menu.item_availability_set',
      { menuItemId, available },
      {
        aggregate: { id: menuItemId, type: MENU_ITEM_AGGREGATE },
        ...signedBy(this.ctx),
      },
    );
  }
}
