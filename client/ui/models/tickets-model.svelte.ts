import type { TicketCommands } from '../../commands/ticket-commands';
import type { PaymentMethod } from '../../../shared/domain/ticket-events';
import type { HistoryEntry, MenuItemView, TableView, TicketLine, TicketView } from '../../../shared/projection/views';
import { MENU_ITEM_AGGREGATE } from '../../../shared/domain/menu-events';
import { TABLE_AGGREGATE } from '../../../shared/domain/table-events';
import { TICKET_AGGREGATE } from '../../../shared/domain/ticket-events';
import { message } from '../format';
import type { LiveLog } from './live-log.svelte';

export interface MenuSection {
  category: string;
  items: MenuItemView[];
}

/** A menu item the till can sell: defined, priced, named, not retired. */
type Sellable = MenuItemView & { name: string; priceCents: number };

const ENDED = new Set(['closed', 'voided']);

/**
 * The tickets screen: which ticket is open on this till, what can be done to it, and the
 * menu and tables to do it with. Every action is one TicketCommands call; the screen shows
 * the projection, so what another terminal does appears as soon as the relay brings it.
 */
export class TicketsModel {
  selectedId = $state<string | null>(null);
  showEnded = $state(false);
  error = $state<string | null>(null);
  busy = $state(false);
  /** Quantity and note for the next item added from the menu. */
  nextQuantity = $state(1);
  nextNote = $state('');

  readonly tickets = $derived.by(() => {
    const all = this.log.views<TicketView>(TICKET_AGGREGATE);
    return all
      .filter((t) => this.showEnded || !ENDED.has(t.status) || t.openConflicts > 0 || t.id === this.selectedId)
      .sort((a, b) => (b.openedAt ?? b.lastEventAt) - (a.openedAt ?? a.lastEventAt));
  });

  readonly selected = $derived.by((): TicketView | null => {
    if (this.selectedId === null) return null;
    const v = this.log.view(this.selectedId);
    return v?.kind === 'ticket' ? v : null;
  });

  /** The ticket's audit history (read only when the history panel is open). */
  history(ticketId: string): HistoryEntry[] {
    return this.log.history(ticketId);
  }

  readonly menu = $derived.by((): MenuSection[] => {
    const sections = new Map<string, MenuItemView[]>();
    for (const item of this.log.views<MenuItemView>(MENU_ITEM_AGGREGATE)) {
      if (item.retired || item.name === null || item.priceCents === null) continue;
      const category = item.category ?? 'Other';
      const list = sections.get(category) ?? [];
      list.push(item);
      sections.set(category, list);
    }
    return [...sections].map(([category, items]) => ({ category, items }));
  });

  readonly tables = $derived.by(() =>
    this.log
      .views<TableView>(TABLE_AGGREGATE)
      .filter((t) => t.label !== null)
      .sort((a, b) => (a.label ?? '').localeCompare(b.label ?? '', undefined, { numeric: true })),
  );

  constructor(
    private readonly log: LiveLog,
    private readonly commands: TicketCommands,
    readonly manager: boolean,
  ) {}

  tableLabel(tableId: string | null): string {
    if (tableId === null) return 'No table';
    const t = this.log.view(tableId);
    return t?.kind === 'table' && t.label ? t.label : tableId;
  }

  /** Open (not ended) tickets at a table, for the table picker. */
  openAt(tableId: string): number {
    return this.log.views<TicketView>(TICKET_AGGREGATE).filter((t) => t.tableId === tableId && !ENDED.has(t.status)).length;
  }

  isEnded(ticket: TicketView): boolean {
    return ENDED.has(ticket.status);
  }

  select(ticketId: string | null): void {
    this.selectedId = ticketId;
    this.error = null;
  }

  openTicket(tableId: string | null) {
    return this.run(async () => {
      const tableOption = tableId === null ? {} : { tableId };
      const covers = tableId === null ? undefined : this.seatsOf(tableId);
      this.selectedId = await this.commands.openTicket(covers ? { ...tableOption, covers } : tableOption);
    });
  }

  addItem(item: MenuItemView) {
    const id = this.selectedId;
    if (id === null || item.name === null || item.priceCents === null) return;
    const quantity = this.nextQuantity;
    const note = this.nextNote.trim();
    this.nextQuantity = 1;
    this.nextNote = '';
    return this.run(() => this.commands.addItem(id, item as Sellable, quantity, note || undefined));
  }

  changeQuantity(lineId: string, quantity: number) {
    const id = this.selectedId;
    if (id === null) return;
    if (quantity < 1) return this.run(() => this.commands.removeItem(id, lineId));
    return this.run(() => this.commands.changeQuantity(id, lineId, quantity));
  }

  /**
   * One more of a line the kitchen already has: a new line at the same price, sent with the
   * next "Send to kitchen" (a higher quantity on the sent line was charged but never cooked).
   */
  addAnother(line: TicketLine) {
    const item = { id: line.menuItemId, name: line.name, priceCents: line.unitPriceCents };
    return this.withTicket((id) => this.commands.addItem(id, item, 1, line.note ?? undefined));
  }

  removeItem(lineId: string) {
    return this.withTicket((id) => this.commands.removeItem(id, lineId));
  }

  setNote(note: string) {
    return this.withTicket((id) => this.commands.setNote(id, note));
  }

  assignTable(tableId: string) {
    return this.withTicket((id) => this.commands.assignTable(id, tableId));
  }

  sendToKitchen() {
    return this.withTicket((id) => this.commands.sendToKitchen(id));
  }

  recordPayment(method: PaymentMethod, amountCents: number, tenderedCents: number | null) {
    return this.withTicket((id) =>
      this.commands.recordPayment(id, tenderedCents === null ? { method, amountCents } : { method, amountCents, tenderedCents }),
    );
  }

  close() {
    return this.withTicket((id) => this.commands.close(id));
  }

  void(reason: string) {
    return this.withTicket((id) => this.commands.void(id, reason));
  }

  private seatsOf(tableId: string): number | undefined {
    const t = this.log.view(tableId);
    return t?.kind === 'table' && t.seats !== null ? t.seats : undefined;
  }

  private withTicket(action: (ticketId: string) => Promise<unknown>) {
    const id = this.selectedId;
    if (id === null) return Promise.resolve(false);
    return this.run(() => action(id));
  }

  /** Runs one command; a refusal or failure is shown, never thrown at the screen. */
  private async run(action: () => Promise<unknown>): Promise<boolean> {
    this.busy = true;
    this.error = null;
    try {
      await action();
      return true;
    } catch (err) {
      this.error = message(err);
      return false;
    } finally {
      this.busy = false;
    }
  }
}
