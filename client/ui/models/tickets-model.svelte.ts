import type { PaymentToRecord, RefundToGive, TicketCommands } from '../../commands/ticket-commands';
import { CommandState } from './command-state.svelte';
import { NotSavedError } from '../../store/storage-errors';
import { localBusinessDay } from '../../store/device-retention';
import type { MenuCommands } from '../../commands/menu-commands';
import { hasEnded, linesToFire, owedCents, paidLineIds, type HistoryEntry, type LocationView, type MenuItemView, type TableView, type TicketLine, type TicketView } from '../../../shared/projection/views';
import { TICKET_AGGREGATE, type TicketDiscount, type TicketSentToKitchenV1 } from '../../../shared/domain/ticket-events';
import type { EventEnvelope } from '../../../shared/events/envelope';
import type { DeliveryState, SyncStatus } from '../../sync/sync-status';
import { compareNames, message } from '../format';
import type { LiveLog } from './live-log.svelte';
import { PaymentForm } from './payment-form.svelte';

export interface MenuSection {
  category: string;
  items: MenuItemView[];
}

/** A menu item the till can sell: defined, priced, named, not retired. */
type Sellable = MenuItemView & { name: string; priceCents: number };

const NONE: ReadonlySet<string> = new Set();

/** What the tickets screen reads of the sync layer (SyncModel, reactive: re-read whenever the sync status changes). */
export interface SyncSource {
  /** Where an event is on its way off this device. */
  deliveryState(event: EventEnvelope): DeliveryState;
  readonly status: Pick<SyncStatus, 'roomReceivedAt'>;
}

/**
 * "since yesterday", "since Tue 25": a ticket opened before the business day holding `now`
 * (localBusinessDay, as Takings counts days), left open from an earlier service; null for one
 * of this day (APP48).
 */
export function openedSince(openedAt: number | null, now: number): string | null {
  const today = localBusinessDay(now);
  if (openedAt === null || openedAt >= today.from) return null;
  if (openedAt >= localBusinessDay(today.from - 1).from) return 'since yesterday';
  const day = new Date(localBusinessDay(openedAt).from);
  return `since ${day.toLocaleDateString([], { weekday: 'short' })} ${day.getDate()}`;
}

/**
 * The tickets screen: which ticket is open on this till, what can be done to it, and the
 * menu and tables to do it with. Every action is one TicketCommands call; the screen shows
 * the projection, so what another terminal does appears as soon as the relay brings it.
 */
export class TicketsModel extends CommandState {
  selectedId = $state<string | null>(null);
  showEnded = $state(false);
  /** A sold-out or available mark that failed: said in the menu, where it was tapped (no ticket need be open). */
  menuError = $state<string | null>(null);
  /** Quantity and note for the next item added from the menu (for the selected ticket only). */
  nextQuantity = $state(1);
  nextNote = $state('');
  /** What the side panel shows for the selected ticket. */
  panel = $state<'menu' | 'pay' | 'history'>('menu');
  /**
   * Ticket notes typed and not saved yet, by ticket. The one of the selected ticket is in the
   * note field; leaving the ticket saves it (see select), and one that could not be saved
   * stays here, shown again when the waiter comes back to that ticket.
   */
  private noteDrafts = $state<Record<string, string>>({});
  /** The payment being typed for the selected ticket. */
  readonly payment = new PaymentForm(
    () => (this.selected === null ? null : this.dueOf(this.selected)),
    (payment) => this.recordPaymentOf(payment),
    () => this.selected,
  );

  readonly tickets = $derived.by(() => {
    const all = this.log.views<TicketView>(TICKET_AGGREGATE);
    return all
      // A closed ticket with lines held back stays: the kitchen has not got them yet.
      .filter((t) => this.showEnded || !hasEnded(t) || t.openConflicts > 0 || linesToFire(t).length > 0 || t.id === this.selectedId)
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
    for (const item of this.log.menuItems()) {
      if (item.priceCents === null) continue;
      const category = item.category ?? 'Other';
      const list = sections.get(category) ?? [];
      list.push(item);
      sections.set(category, list);
    }
    // By name, categories too: the order staff learn by position, whatever ids the back
    // office gave the items.
    return [...sections]
      .sort(([a], [b]) => compareNames(a, b))
      .map(([category, items]) => ({ category, items }));
  });

  readonly tables = $derived.by(() => this.log.tables());

  constructor(
    private readonly log: LiveLog,
    private readonly commands: TicketCommands,
    private readonly menuCommands: MenuCommands,
    readonly manager: boolean,
    /** Null without sync (tests, a memory log): every line sent reads "in kitchen", and nothing has come from a server. */
    private readonly sync: SyncSource | null = null,
  ) {
    super();
  }

  /** The kitchen marked the item sold out, or it is off the menu: no more of it is offered (APP19). */
  isUnavailable(menuItemId: string): boolean {
    const item = this.log.view(menuItemId);
    return item?.kind === 'menu_item' && (item.soldOut || item.retired);
  }

  /**
   * The ticket's lines sent from this device whose send has not left it yet (APP42): offline, or
   * the relay not reached, the kitchen screens (other devices) cannot have them. A line is in the
   * kitchen once a send naming it was relayed or acknowledged (another till's send came through
   * the relay), or once the kitchen made it (a kitchen screen on this device bumped it). One read
   * of the ticket's events and one delivery lookup per send, not the whole log.
   */
  notInKitchenYet(ticket: TicketView): ReadonlySet<string> {
    const waiting = new Set(ticket.lines.filter((l) => l.sentAt !== null && l.bumpedAt === null).map((l) => l.lineId));
    if (this.sync === null || waiting.size === 0) return NONE;
    const local = new Set<string>();
    const left = new Set<string>();
    for (const e of this.log.events(ticket.id)) {
      if (e.type !== 'ticket.sent_to_kitchen') continue;
      const named = ((e.payload as Partial<TicketSentToKitchenV1>).lineIds ?? []).filter((id) => waiting.has(id));
      if (named.length === 0) continue;
      const into = this.sync.deliveryState(e) === 'local' ? local : left;
      for (const id of named) into.add(id);
    }
    for (const id of left) local.delete(id);
    return local;
  }

  /**
   * This device has received the location's room from the server's relay, once (kept on the
   * device; a REST answer alone brings no menu): the menu and tables have reached it, so an
   * empty menu or floor is one no manager has made yet, not one still on its way (APP45).
   */
  get roomReceived(): boolean {
    return this.sync !== null && this.sync.status.roomReceivedAt !== null;
  }

  /** What receipts say about the business (ReceiptPrint's header and last line, the app's header). */
  get locationDetails(): LocationView | undefined {
    return this.log.locationDetails();
  }

  tableLabel(tableId: string | null): string {
    if (tableId === null) return 'No table';
    const t = this.log.view(tableId);
    return t?.kind === 'table' && t.label ? t.label : tableId;
  }

  /** The tables a ticket can be moved to: those in use, and the one it is at if that was taken off the floor. */
  tableChoices(ticket: TicketView): TableView[] {
    const at = ticket.tableId === null ? undefined : this.log.view(ticket.tableId);
    return at?.kind === 'table' && at.retired && at.label !== null ? [...this.tables, at] : this.tables;
  }

  /** Open (not ended) tickets at a table, but `except` (LiveLog.openTicketsAt: a table of the same name too), for the table picker and choice. */
  openAt(tableId: string, except: string | null = null): number {
    return this.log.openTicketsAt(tableId).filter((t) => t.id !== except).length;
  }

  /**
   * The other unpaid tickets at this unpaid ticket's table (two waiters opened one each,
   * offline): closing one, the other could be left unpaid. A paid one (the party that left,
   * not closed yet) is no such risk.
   */
  alsoOpenAt(ticket: TicketView): TicketView[] {
    const unpaid = (t: TicketView) => !hasEnded(t) && t.status !== 'paid';
    if (ticket.tableId === null || !unpaid(ticket)) return [];
    return this.log.openTicketsAt(ticket.tableId).filter((t) => t.id !== ticket.id && unpaid(t));
  }

  isEnded(ticket: TicketView): boolean {
    return hasEnded(ticket);
  }

  /**
   * Since when a ticket left open from an earlier business day is open (openedSince), by this
   * device's server-corrected time; null for one of this business day, or an ended one. `tick`
   * (a Now's value) goes unused: passing it makes the list re-render this each minute.
   */
  openSince(ticket: TicketView, tick: number): string | null {
    void tick;
    return hasEnded(ticket) ? null : openedSince(ticket.openedAt, this.log.store.clock.physicalNow());
  }

  /**
   * Shows another ticket. What was typed for the one left does not follow: the next item's
   * quantity and note and the payment being typed are cleared, and its unsaved ticket note
   * is saved (a waiter who typed a note and tapped another ticket expects it kept, as on paper;
   * the note is one last-write-wins field, so saving it can be redone or corrected).
   */
  select(ticketId: string | null): void {
    this.error = null;
    this.menuError = null;
    if (ticketId === this.selectedId) return;
    this.leave();
    this.selectedId = ticketId;
  }

  openTicket(tableId: string | null) {
    this.leave();
    return this.run(async () => {
      const tableOption = tableId === null ? {} : { tableId };
      const covers = tableId === null ? undefined : this.seatsOf(tableId);
      try {
        this.selectedId = await this.commands.openTicket(covers ? { ...tableOption, covers } : tableOption);
      } catch (err) {
        // Opened all the same on a full disk (held and synced): show it, as a second tap would open another.
        if (err instanceof NotSavedError && err.event !== null) this.selectedId = err.event.aggregate.id;
        throw err;
      }
    });
  }

  /** Adds an item with the quantity and note typed; they are cleared once it is added, and kept when it fails. */
  async addItem(item: MenuItemView): Promise<boolean> {
    const id = this.selectedId;
    if (id === null || item.name === null || item.priceCents === null) return false;
    const quantity = this.nextQuantity;
    const typed = this.nextNote;
    const note = typed.trim();
    const ok = await this.run(() => this.commands.addItem(id, item as Sellable, quantity, note || undefined));
    // Cleared only if still what was used (and the same ticket): a note typed meanwhile stays.
    if (ok && this.selectedId === id && this.nextNote === typed && this.nextQuantity === quantity) {
      this.nextQuantity = 1;
      this.nextNote = '';
    }
    return ok;
  }

  /** Marks an item sold out ("86") or available again, on every terminal of the location. */
  async setSoldOut(item: MenuItemView, soldOut: boolean): Promise<boolean> {
    this.menuError = null;
    try {
      await this.menuCommands.setAvailability(item.id, !soldOut);
      return true;
    } catch (err) {
      this.menuError = message(err);
      return false;
    }
  }

  /** The selected ticket's note as typed and not saved yet; null when the field shows the saved note. */
  get noteDraft(): string | null {
    const id = this.selectedId;
    return id !== null && this.isUnsavedNote(id) ? this.noteDrafts[id]! : null;
  }

  set noteDraft(text: string | null) {
    const id = this.selectedId;
    if (id === null) return;
    if (text === null) delete this.noteDrafts[id];
    else this.noteDrafts[id] = text;
  }

  /** Saves the selected ticket's note draft; on failure the text stays in the field. */
  saveNote(): Promise<boolean> {
    const id = this.selectedId;
    return id === null ? Promise.resolve(false) : this.saveNoteOf(id, null);
  }

  /**
   * Work typed on this till and not recorded yet: the next item's note or quantity, an unsaved
   * ticket note (of any ticket), a payment being typed. The automatic update waits for none.
   */
  get hasDrafts(): boolean {
    if (this.nextNote.trim() !== '' || this.nextQuantity !== 1 || this.payment.hasDraft) return true;
    return Object.keys(this.noteDrafts).some((id) => this.isUnsavedNote(id));
  }

  /**
   * What is left to take on the ticket: null once it is closed or voided, whatever its lines
   * and payments say (nothing can be taken there; a difference is a manager's conflict).
   */
  dueOf(ticket: TicketView): number | null {
    if (hasEnded(ticket)) return null;
    return owedCents(ticket);
  }

  changeQuantity(lineId: string, quantity: number) {
    const id = this.selectedId;
    if (id === null) return;
    if (quantity < 1) return this.removeItem(lineId);
    return this.run(() => this.commands.changeQuantity(id, lineId, quantity));
  }

  /**
   * One more of a line the kitchen already has: a new line, sent with the next "Send to
   * kitchen" (a higher quantity on the sent line was charged but never cooked). A new sale: at
   * the menu's price and tax rate now (the line's, for an item the menu does not hold).
   */
  addAnother(line: TicketLine) {
    const menu = this.log.view(line.menuItemId);
    const item =
      menu?.kind === 'menu_item' && menu.name !== null && menu.priceCents !== null
        ? menu
        : { id: line.menuItemId, name: line.name, priceCents: line.unitPriceCents, taxBasisPoints: line.taxBasisPoints };
    return this.withTicket((id) => this.commands.addItem(id, item, 1, line.note ?? undefined));
  }

  /**
   * Whether the till offers to take the line off: not one the kitchen made (TicketCommands.removeItem)
   * nor one a guest paid for (their money would be owed back, and nothing would say so), unless a
   * manager (the payment that no longer fits is then held for them: refund or keep).
   */
  canRemove(ticket: TicketView, line: TicketLine): boolean {
    return this.manager || (line.bumpedQuantity === 0 && !paidLineIds(ticket).has(line.lineId));
  }

  removeItem(lineId: string) {
    const ticket = this.selected;
    const line = ticket?.lines.find((l) => l.lineId === lineId);
    if (ticket && line && !this.canRemove(ticket, line)) {
      this.error = `Only a manager takes off ${line.name}: ${line.bumpedQuantity > 0 ? 'the kitchen made it' : 'a guest paid for it, and the money goes back'}`;
      return Promise.resolve(false);
    }
    return this.withTicket((id) => this.commands.removeItem(id, lineId));
  }

  setNote(note: string) {
    return this.withTicket((id) => this.commands.setNote(id, note));
  }

  /** Leaving the selected ticket: its unsaved note is saved, the rest typed for it is cleared. */
  private leave(): void {
    const id = this.selectedId;
    this.nextQuantity = 1;
    this.nextNote = '';
    this.payment.reset();
    this.panel = 'menu';
    if (id === null) return;
    if (this.isUnsavedNote(id)) void this.saveNoteOf(id, this.numberOf(id));
    else delete this.noteDrafts[id];
  }

  /** Saves a ticket's note draft; the draft is dropped once saved (unless typed on meanwhile). */
  private async saveNoteOf(id: string, leaving: string | null): Promise<boolean> {
    const text = this.noteDrafts[id];
    if (text === undefined) return false;
    const ok = await this.run(() => this.commands.setNote(id, text));
    if (ok && this.noteDrafts[id] === text) delete this.noteDrafts[id];
    // Said on the ticket now shown: name the one whose note it is.
    if (!ok && leaving !== null) this.error = `The note of ticket ${leaving} was not saved (${(this.error ?? '').replace(/\.$/, '')}). It is kept: open ${leaving} to fix it.`;
    return ok;
  }

  private isUnsavedNote(id: string): boolean {
    const text = this.noteDrafts[id];
    if (text === undefined) return false;
    const v = this.log.view(id);
    const saved = v?.kind === 'ticket' ? (v.note ?? '') : '';
    return text !== saved;
  }

  private numberOf(id: string): string {
    const v = this.log.view(id);
    return v?.kind === 'ticket' && v.number ? v.number : id;
  }

  /** One guest more or fewer (1 to 99). */
  changeCovers(by: 1 | -1) {
    return this.withTicket((id) => {
      const covers = Math.min(99, Math.max(1, (this.selected?.covers ?? 0) + by));
      return this.commands.setCovers(id, covers);
    });
  }

  assignTable(tableId: string | null) {
    return this.withTicket((id) => this.commands.assignTable(id, tableId));
  }

  sendToKitchen() {
    return this.withNoteSaved((id) => this.commands.sendToKitchen(id));
  }

  /** Sends the lines held back (the mains, once the starters are eaten). */
  fireHeld() {
    return this.withNoteSaved((id) => this.commands.fireHeld(id));
  }

  /** Holds the line back from the kitchen, or lets it go with the next send. */
  holdLine(lineId: string, held: boolean) {
    return this.withTicket((id) => this.commands.holdLine(id, lineId, held));
  }

  recordPayment(payment: PaymentToRecord) {
    return this.withTicket((id) => this.commands.recordPayment(id, payment));
  }

  /** Records it, as recordPayment; the payment's id, or null when it was not recorded (PaymentForm finds it so). */
  private async recordPaymentOf(payment: PaymentToRecord): Promise<string | null> {
    let paymentId: string | null = null;
    const ok = await this.withTicket(async (id) => {
      paymentId = ((await this.commands.recordPayment(id, payment)).payload as { paymentId: string }).paymentId;
    });
    return ok ? paymentId : null;
  }

  close() {
    return this.withTicket((id) => this.commands.close(id));
  }

  void(reason: string) {
    return this.withTicket((id) => this.commands.void(id, reason));
  }

  /** Comps a line of the selected ticket (managers): on the house, with the reason. */
  compLine(lineId: string, reason: string) {
    return this.withTicket((id) => this.commands.compLine(id, lineId, reason));
  }

  /** Sets (null: takes off) the selected ticket's discount (managers). */
  setDiscount(discount: TicketDiscount | null) {
    return this.withTicket((id) => this.commands.setDiscount(id, discount));
  }

  /** Hands money back on the selected ticket (managers): cash from the drawer or onto the card, with the reason. */
  refund(refund: RefundToGive) {
    return this.withTicket((id) => this.commands.refund(id, refund));
  }

  private seatsOf(tableId: string): number | undefined {
    const t = this.log.view(tableId);
    return t?.kind === 'table' && t.seats !== null ? t.seats : undefined;
  }

  /**
   * The kitchen reads the ticket note with what it is sent (an allergy at seat 2): one typed and
   * not saved is saved first, and nothing is sent while it cannot be (the message says why).
   */
  private async withNoteSaved(action: (ticketId: string) => Promise<unknown>): Promise<boolean> {
    const id = this.selectedId;
    if (id === null) return false;
    if (this.isUnsavedNote(id) && !(await this.saveNoteOf(id, null))) return false;
    return this.run(() => action(id));
  }

  private withTicket(action: (ticketId: string) => Promise<unknown>) {
    const id = this.selectedId;
    if (id === null) return Promise.resolve(false);
    return this.run(() => action(id));
  }

}
