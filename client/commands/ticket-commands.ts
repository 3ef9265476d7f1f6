import { newEventId } from '../../shared/events/event-id';
import { formatCents as money } from '../../shared/domain/common';
import { MAX_LINES_PER_SEND, TICKET_AGGREGATE, type PaymentMethod, type TicketDiscount } from '../../shared/domain/ticket-events';
import { saleKey } from '../../shared/domain/sale-events';
import type { ConflictResolution } from '../../shared/domain/conflict-events';
import { formatTicketNumber, nextTicketOrdinal, parseTicketNumber, writerLabelFor } from '../../shared/domain/ticket-number';
import { discountCents, hasEnded, keptCents, refundShares, type MenuItemView, type TicketDiscountView, type TicketView } from '../../shared/projection/views';
import type { EventEnvelope } from '../../shared/events/envelope';
import type { EventStore } from '../store/event-store';
import { NotSavedError } from '../store/storage-errors';
import { DeviceCounter } from '../store/writer-lease';

/**
 * What staff can do to tickets, as events appended through the EventStore. Screens call
 * these; they never build events themselves. Each method resolves once the event is
 * durable, and the projection shows it before that.
 */
export interface CommandContext {
  store: EventStore;
  /** Who is signed in on the device now (StaffOnDuty), stamped as origin.staff; null when no one is. */
  staff?: () => string | null;
  role: 'terminal' | 'manager' | 'admin';
}

/** What only a manager may do (MANAGER_EVENT_TYPES: the server refuses it from a terminal too). */
export function requireManager(ctx: CommandContext, what: string): void {
  if (ctx.role === 'terminal') throw new CommandRefused(`only a manager may ${what}`);
}

/** The append option that stamps who is signed in, if anyone. */
export function signedBy(ctx: CommandContext): { staff?: string } {
  const staff = ctx.staff?.() ?? null;
  return staff === null ? {} : { staff };
}

/** A payment as staff take it (ticket.payment_recorded without its id). */
export interface PaymentToRecord {
  method: PaymentMethod;
  amountCents: number;
  tenderedCents?: number;
  tipCents?: number;
  /** The lines it is for (a guest paying for their own dishes); none for an amount. */
  lineIds?: string[];
}

/** A refund as a manager gives it (ticket.refunded without its id). */
export interface RefundToGive {
  method: PaymentMethod;
  amountCents: number;
  reason: string;
  /** The line the money is for (its tax is that line's rate); none for the ticket as a whole. */
  lineId?: string;
}

/** What can still be handed back on a ticket: the money taken less the refunds that count. */
export function refundableCents(ticket: Pick<TicketView, 'paidCents' | 'refundedCents'>): number {
  return Math.max(0, keptCents(ticket));
}

/** What can still go back by each method: what the method took less its refunds, within refundableCents. */
export function refundableByMethod(ticket: Pick<TicketView, 'payments' | 'refunds' | 'paidCents' | 'refundedCents'>): Record<PaymentMethod, number> {
  const left: Record<PaymentMethod, number> = { cash: 0, card: 0 };
  for (const p of ticket.payments) if (p.state === 'applied') left[p.method] += p.amountCents;
  for (const r of ticket.refunds) if (r.state === 'applied') left[r.method] -= r.amountCents;
  const most = refundableCents(ticket);
  return { cash: Math.min(most, Math.max(0, left.cash)), card: Math.min(most, Math.max(0, left.card)) };
}

/** What can still go back for one line: what it was sold at less its share of the refunds (refundShares); null when the ticket charges no such line. */
export function refundableForLine(ticket: Pick<TicketView, 'lines' | 'totalCents' | 'closedTotalCents' | 'refunds'>, lineId: string): number | null {
  return refundShares(ticket).leftByLine.get(lineId) ?? null;
}

/** A discount as the view holds it (the other kind's field null), for discountCents. */
export function flatDiscount(d: TicketDiscount): Pick<TicketDiscountView, 'kind' | 'percent' | 'amountCents'> {
  return { kind: d.kind, percent: d.kind === 'percent' ? d.percent : null, amountCents: d.kind === 'amount' ? d.amountCents : null };
}

/** Why `discount` cannot be set on `ticket`, in staff words; null when it can (TicketCommands.setDiscount, the Discount… form). */
export function discountProblem(ticket: TicketView, discount: TicketDiscount | null): string | null {
  if (hasEnded(ticket)) return `the ticket is ${ticket.status}: its total is settled`;
  if (discount === null) return null;
  if (discount.kind === 'amount' && discount.amountCents > ticket.subtotalCents) return `more than the ${money(ticket.subtotalCents)} the ticket charges`;
  const off = discountCents(flatDiscount(discount), ticket.subtotalCents);
  if (off === 0) return 'nothing to take off: the lines charge nothing';
  // Paid already: a lower total would hold the payment and invite a second one. Close and refund instead.
  const kept = keptCents(ticket);
  if (kept > ticket.subtotalCents - off) return `${money(kept)} is paid already, more than the discounted total: close the ticket and give a refund instead`;
  return null;
}

/** Why `refund` cannot be given on `ticket`, in staff words; null when it can (TicketCommands.refund, the Refund… form). */
export function refundProblem(ticket: TicketView, refund: Pick<RefundToGive, 'method' | 'amountCents' | 'lineId'>): string | null {
  if (ticket.status === 'voided') return 'the ticket is voided: settle its payments under Conflicts';
  if (ticket.status !== 'closed') return 'only a closed ticket is refunded: remove or comp lines on an open one';
  const most = refundableByMethod(ticket)[refund.method];
  if (refund.amountCents > most) return `at most ${money(most)} can go back ${refundWay(refund.method)} on this ticket`;
  if (refund.lineId === undefined) return null;
  const forLine = refundableForLine(ticket, refund.lineId);
  if (forLine === null) return 'the ticket charges no such line';
  const name = ticket.lines.find((l) => l.lineId === refund.lineId)?.name ?? refund.lineId;
  return refund.amountCents > forLine ? `at most ${money(forLine)} can go back for the ${name}` : null;
}

/**
 * Why `ticket` cannot be voided, in staff words; null when it can (TicketCommands.void, the Void…
 * button). A closed ticket's money was counted on its day: a void would take it out of that day
 * after the cash-up, and hand it back on none. A refund counts on the day it is given.
 */
export function voidProblem(ticket: Pick<TicketView, 'status'>): string | null {
  if (ticket.status === 'voided') return 'the ticket is voided already';
  if (ticket.status === 'closed') return 'a closed ticket is refunded, not voided: use Refund…';
  return null;
}

/** "in cash" / "to card", as staff say where a refund goes. */
export function refundWay(method: PaymentMethod): string {
  return method === 'cash' ? 'in cash' : 'to card';
}

export class CommandRefused extends Error {
  override readonly name = 'CommandRefused';
}

export class TicketCommands {
  /** Set (1) once this writer's hash label was seen on another writer's tickets. */
  private readonly lengthened: DeviceCounter;

  constructor(private readonly ctx: CommandContext) {
    this.lengthened = new DeviceCounter(`rms:${ctx.store.location}:ticket-label-long:${ctx.store.writer}`);
  }

  /**
   * The prefix of this writer's ticket numbers. Its 3-letter hash label can coincide with
   * another writer's; once a ticket of another writer is seen under it, this writer moves to
   * its 4-letter label for good, so two writers stop sharing numbers as soon as one has seen
   * the other (offline before that, both may have issued the same one).
   */
  get label(): string {
    return this.lengthened.get() > 0 ? writerLabelFor(this.ctx.store.writer, 4) : writerLabel(this.ctx.store.writer);
  }

  /** Opens a ticket with the next number of this writer; returns the ticket id. */
  async openTicket(options: { tableId?: string; covers?: number } = {}): Promise<string> {
    const tickets = this.ctx.store.views(TICKET_AGGREGATE) as TicketView[];
    if (this.lengthened.get() === 0) {
      const mine = this.label;
      const writer = this.ctx.store.writer;
      if (tickets.some((v) => v.openedBy !== null && v.openedBy.terminal !== writer && parseTicketNumber(v.number ?? '')?.writerLabel === mine)) this.lengthened.raiseTo(1);
    }
    const label = this.label;
    const numbers = new DeviceCounter(`rms:${this.ctx.store.location}:ticket-k:${label}`);
    const used = tickets.map((v) => v.number ?? '');
    used.push(...this.ctx.store.archivedTicketNumbers());
    const k = nextTicketOrdinal(label, used, numbers.get());
    numbers.raiseTo(k);
    const ticketId = `ticket-${newEventId()}`;
    await this.append(ticketId, 'ticket.opened', { number: formatTicketNumber(label, k), ...options });
    return ticketId;
  }

  /** A line at the item's price and tax rate of now: a later change to the menu leaves it as it is. */
  addItem(ticketId: string, item: Pick<MenuItemView, 'id' | 'name' | 'priceCents'> & { taxBasisPoints?: number | null }, quantity = 1, note?: string) {
    if (item.priceCents === null || item.name === null) throw new CommandRefused(`menu item ${item.id} has no price or name`);
    this.refuseUnavailable(item.id, item.name);
    const lineId = `line-${newEventId().slice(-12)}`;
    const tax = item.taxBasisPoints == null ? {} : { taxBasisPoints: item.taxBasisPoints };
    const payload = { lineId, menuItemId: item.id, name: item.name, unitPriceCents: item.priceCents, ...tax, quantity, ...(note ? { note } : {}) };
    return this.append(ticketId, 'ticket.item_added', payload);
  }

  /**
   * Takes a line off. One the kitchen has made (bumped) is taken off by a manager only, like a
   * comp: a served dish deleted at a till would leave no trace in the takings. One sent and
   * not made yet shows on the kitchen's card as CANCELLED.
   */
  removeItem(ticketId: string, lineId: string) {
    const line = this.ticket(ticketId).lines.find((l) => l.lineId === lineId);
    if (line !== undefined && line.bumpedQuantity > 0) this.requireManager(`take off ${line.name}, which the kitchen made (or comp it)`);
    return this.append(ticketId, 'ticket.item_removed', { lineId });
  }

  changeQuantity(ticketId: string, lineId: string, quantity: number) {
    const line = this.ticket(ticketId).lines.find((l) => l.lineId === lineId);
    // More of a sold-out item (or one off the menu) is refused like adding it; fewer is always fine.
    if (line && quantity > line.quantity) this.refuseUnavailable(line.menuItemId, line.name);
    return this.append(ticketId, 'ticket.quantity_changed', { lineId, quantity });
  }

  setNote(ticketId: string, note: string) {
    return this.append(ticketId, 'ticket.note_set', { note });
  }

  /** Moves the ticket to a table, or off its table (`null`: the party takes it away). */
  assignTable(ticketId: string, tableId: string | null) {
    return this.append(ticketId, 'ticket.table_assigned', tableId === null ? {} : { tableId });
  }

  /** The guests at the table, as counted (the opening took the table's seats). */
  setCovers(ticketId: string, covers: number) {
    if (this.ticket(ticketId).covers === covers) throw new CommandRefused(`the ticket already has ${covers} guest${covers === 1 ? '' : 's'}`);
    return this.append(ticketId, 'ticket.covers_set', { covers });
  }

  /** Sends the lines not yet sent, but those held back. */
  sendToKitchen(ticketId: string): Promise<void> {
    const lineIds = this.ticket(ticketId).lines.filter((l) => l.sentAt === null && !l.held).map((l) => l.lineId);
    if (lineIds.length === 0) throw new CommandRefused('nothing new to send to the kitchen');
    return this.send(ticketId, lineIds);
  }

  /** Sends the lines held back ("Fire": the mains, once the starters are eaten). */
  fireHeld(ticketId: string): Promise<void> {
    const lineIds = this.ticket(ticketId).lines.filter((l) => l.sentAt === null && l.held).map((l) => l.lineId);
    if (lineIds.length === 0) throw new CommandRefused('no line is held back');
    return this.send(ticketId, lineIds);
  }

  /** One send per MAX_LINES_PER_SEND lines (a banquet's ticket; each its own kitchen card). */
  private async send(ticketId: string, lineIds: readonly string[]): Promise<void> {
    const sends: Promise<EventEnvelope>[] = [];
    for (let i = 0; i < lineIds.length; i += MAX_LINES_PER_SEND) sends.push(this.append(ticketId, 'ticket.sent_to_kitchen', { lineIds: lineIds.slice(i, i + MAX_LINES_PER_SEND) }));
    await Promise.all(sends);
  }

  /** Holds a line back from the kitchen, or lets it go with the next send; as it is already, writes nothing. */
  async holdLine(ticketId: string, lineId: string, held: boolean): Promise<void> {
    const line = this.ticket(ticketId).lines.find((l) => l.lineId === lineId);
    if (!line) throw new CommandRefused(`no line ${lineId} on this ticket (removed?)`);
    if (line.sentAt !== null) throw new CommandRefused(`${line.name} is in the kitchen already`);
    if (line.held !== held) await this.append(ticketId, 'ticket.line_held', { lineId, held });
  }

  /**
   * The kitchen bumped the line as its card showed it: made (`made` of it, default the line's
   * quantity now), or `stopped` (the card showed it VOIDED or CANCELLED: the kitchen saw it stop).
   */
  bumpItem(ticketId: string, lineId: string, card: { stopped: boolean; made?: number } = { stopped: false }) {
    const line = this.ticket(ticketId).lines.find((l) => l.lineId === lineId);
    const quantity = line === undefined || card.stopped ? undefined : (card.made ?? line.quantity);
    return this.append(ticketId, 'ticket.kitchen_item_bumped', { lineId, ...(quantity === undefined ? {} : { quantity }), stopped: card.stopped });
  }

  /** `tipCents`: a card tip, charged with the amount and owed to staff (not toward the total). */
  recordPayment(ticketId: string, payment: PaymentToRecord) {
    return this.append(ticketId, 'ticket.payment_recorded', { paymentId: `pay-${newEventId().slice(-12)}`, ...payment });
  }

  /**
   * Closes at the current total and records the sale for the back office: a ticket's first sale
   * (the fold keeps one, whoever closes it; keyed by its close, so that a till which never saw
   * the first close still sells its own close after a reopening); a ticket closed before (a manager reopened it) is sold again
   * for this close, naming it, even when this device has not received the first sale yet (it
   * would be folded as a duplicate of that one, and this close never sold).
   */
  async close(ticketId: string): Promise<void> {
    const ticket = this.ticket(ticketId);
    if (hasEnded(ticket)) throw new CommandRefused(`the ticket is ${ticket.status} already`);
    // A close this device cannot save (a full disk, a closed database) is written all the same (held and synced): its sale must follow.
    const unsaved: NotSavedError[] = [];
    const closed = await keptIfUnsaved(this.append(ticketId, 'ticket.closed', { totalCents: ticket.totalCents }), unsaved);
    const after = this.ticket(ticketId);
    const closedBefore = this.ctx.store.getByAggregate(ticketId).some((e) => e.type === 'ticket.closed' && e.id !== closed.id);
    if (ticket.sale === null && !closedBefore) {
      await keptIfUnsaved(this.append(ticketId, 'sale.recorded', { ticketId, totalCents: after.closedTotalCents ?? ticket.totalCents, paidCents: after.paidCents, closedAt: closed.at }, saleKey(ticketId, closed.id)), unsaved);
    } else {
      await this.resell(ticketId, closed.id, unsaved);
    }
    if (unsaved.length > 0) throw unsaved[0];
  }

  /**
   * Sells a ticket sold already again, for the close that holds at its total (after a
   * reopening and a new close, or a total a manager accepted), naming that close; `by` is the
   * event that sells it again (the close, the resolution), its key.
   */
  private async resell(ticketId: string, by: string, unsaved: NotSavedError[]): Promise<void> {
    const t = this.ticket(ticketId);
    if (t.status !== 'closed' || t.closedEventId === null || t.closedTotalCents === null || t.closedAt === null) return;
    const payload = { ticketId, totalCents: t.closedTotalCents, paidCents: t.paidCents, closedAt: t.closedAt, closeEventId: t.closedEventId };
    await keptIfUnsaved(this.append(ticketId, 'sale.recorded', payload, saleKey(ticketId, by)), unsaved);
  }

  /** Voids a ticket that has not closed (voidProblem); its payments are held for a manager's refund or reopen. */
  void(ticketId: string, reason: string) {
    this.requireManager('void a ticket');
    const problem = voidProblem(this.ticket(ticketId));
    if (problem !== null) throw new CommandRefused(problem);
    return this.append(ticketId, 'ticket.voided', { reason });
  }

  /** Gives a line away ("on the house"): the kitchen still makes it, the total no longer counts it. */
  compLine(ticketId: string, lineId: string, reason: string) {
    this.requireManager('comp a line');
    const line = this.ticket(ticketId).lines.find((l) => l.lineId === lineId);
    if (!line) throw new CommandRefused(`no line ${lineId} on this ticket (removed?)`);
    if (line.comped !== null) throw new CommandRefused(`${line.name} is already comped (${line.comped.reason})`);
    return this.append(ticketId, 'ticket.line_comped', { lineId, reason, quantity: line.quantity });
  }

  /**
   * Sets the ticket's discount (a share of the lines' charge, or an amount off it), or takes it
   * off with null. Not on an ended ticket, nor an amount above what the lines charge.
   */
  setDiscount(ticketId: string, discount: TicketDiscount | null) {
    this.requireManager('give a discount');
    const problem = discountProblem(this.ticket(ticketId), discount);
    if (problem !== null) throw new CommandRefused(problem);
    return this.append(ticketId, 'ticket.discount_set', { discount });
  }

  /**
   * Hands money back on a closed ticket, by a method at most what that method took less its
   * refunds (no cash out of the drawer for a card sale; the fold holds a concurrent refund past
   * what the ticket took as over_refund). An open ticket is corrected by removing or comping
   * lines; a voided ticket's money is settled by its conflict.
   */
  refund(ticketId: string, refund: RefundToGive) {
    this.requireManager('give a refund');
    const problem = refundProblem(this.ticket(ticketId), refund);
    if (problem !== null) throw new CommandRefused(problem);
    const { lineId, ...handedBack } = refund;
    return this.append(ticketId, 'ticket.refunded', { refundId: `rf-${newEventId().slice(-12)}`, ...handedBack, ...(lineId === undefined ? {} : { lineId }) });
  }

  /**
   * Settles a conflict. A closing total accepted is sold again at it, whatever this device's sale
   * says (it may not have received the first sale yet; other replicas may hold another sale
   * first; a repeat of the same total folds as a duplicate).
   */
  async resolveConflict(ticketId: string, conflictId: string, resolution: ConflictResolution, note?: string): Promise<void> {
    this.requireManager('resolve a conflict');
    const unsaved: NotSavedError[] = [];
    // A hand-back names the refunds its card carries here: those, and only those, are part of it.
    const carried = resolution.kind === 'refund_payment' ? { refundIds: this.refundsCarriedBy(ticketId, conflictId) } : {};
    const resolved = await keptIfUnsaved(this.append(ticketId, 'conflict.resolved', { conflictId, resolution, ...(note ? { note } : {}), ...carried }), unsaved);
    if (resolution.kind === 'accept_total') await this.resell(ticketId, resolved.id, unsaved);
    if (unsaved.length > 0) throw unsaved[0];
  }

  /** The refunds a conflict's card carries as this device shows it ("…, 2.00 of it refunded already"): a hand-back names them. */
  private refundsCarriedBy(ticketId: string, conflictId: string): string[] {
    return this.ticket(ticketId).refunds.filter((r) => r.conflictId === conflictId && r.state === 'held').map((r) => r.refundId);
  }

  ticket(ticketId: string): TicketView {
    const view = this.ctx.store.view(ticketId);
    if (!view || view.kind !== 'ticket') throw new CommandRefused(`no ticket ${ticketId}`);
    return view;
  }

  /** The log's word, not the caller's copy of the menu: it may predate the kitchen's 86. */
  private refuseUnavailable(menuItemId: string, name: string): void {
    const item = this.ctx.store.view(menuItemId);
    if (item?.kind !== 'menu_item') return;
    if (item.retired) throw new CommandRefused(`${name} is off the menu`);
    if (item.soldOut) throw new CommandRefused(`${name} is sold out`);
  }

  private requireManager(what: string): void {
    requireManager(this.ctx, what);
  }

  private append(ticketId: string, type: string, payload: unknown, key?: string): Promise<EventEnvelope> {
    return this.ctx.store.append(type, payload, {
      aggregate: { id: ticketId, type: TICKET_AGGREGATE },
      ...(key === undefined ? {} : { key }),
      ...signedBy(this.ctx),
    });
  }
}

/**
 * The ticket-number prefix of a writer: a 3-letter hash of its writer id, unique with high
 * probability only (TicketCommands.label lengthens it once it is seen to coincide). A second
 * tab writes as its own writer (`till-1.2`), so it hashes to its own prefix.
 */
export function writerLabel(writer: string): string {
  return writerLabelFor(writer, 3);
}

/**
 * The event an append wrote, also when the disk was full: then it is held in memory and synced,
 * not saved here (NotSavedError), and `unsaved` keeps the error for the command to report at
 * its end, once what must follow the event (a close's sale) is written too.
 */
export async function keptIfUnsaved(append: Promise<EventEnvelope>, unsaved: NotSavedError[]): Promise<EventEnvelope> {
  try {
    return await append;
  } catch (err) {
    if (!(err instanceof NotSavedError) || err.event === null) throw err;
    unsaved.push(err);
    return err.event;
  }
}
