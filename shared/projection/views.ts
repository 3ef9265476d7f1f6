import type { PaymentMethod, TicketDiscount } from '../domain/ticket-events';
import type { ConflictResolutionKind } from '../domain/conflict-events';
import type { ConflictKind } from './merge-policy';
import { allocateCents, taxesOn, type TaxLine } from '../domain/tax';

/**
 * What the projection shows: plain JSON data (no Maps, no undefined, no class instances),
 * so `canonicalJson(view)` is the same bytes on every replica that holds the same events.
 * Absent values are `null`, never missing, so a view's shape does not depend on history.
 */

/** What the fold did with one event. Every event held appears in the history once. */
export type HistoryStatus =
  | 'applied'
  | 'superseded' // lost a last-write-wins race, or came after a first-wins field was set
  | 'duplicate' // same idempotency key (or the same fact) already applied in this aggregate
  | 'escalated' // held back as an open business conflict, see `conflicts`
  | 'ignored' // refers to something that does not exist (an unknown line or conflict)
  | 'needs_update' // unknown type or newer version: kept and synced, not understood here
  | 'invalid'; // payload fails its schema, or the event does not fit this aggregate

export interface HistoryEntry {
  eventId: string;
  type: string;
  v: number;
  seq: number;
  at: number;
  terminal: string;
  n: number;
  staff: string | null;
  status: HistoryStatus;
  reason: string | null;
  conflictId: string | null;
}

/** Events of one aggregate written with the same seq by different terminals. */
export interface ConcurrentGroup {
  seq: number;
  eventIds: string[];
  terminals: string[];
}

interface AggregateBase {
  id: string;
  aggregateType: string;
  concurrent: ConcurrentGroup[];
  /** Hybrid-clock ms of the latest event held (any status). */
  lastEventAt: number;
  /** Count of events marked needs_update: the UI shows "this terminal needs an update". */
  needsUpdate: number;
}

export interface TicketLine {
  lineId: string;
  menuItemId: string;
  name: string;
  unitPriceCents: number;
  /** The sales tax included in the price (basis points), copied from the menu; null when the item had no rate. */
  taxBasisPoints: number | null;
  quantity: number;
  note: string | null;
  sentAt: number | null;
  /**
   * The quantity the kitchen was sent (null while not sent). A till that had not seen the send
   * can still change the quantity (LWW); the kitchen shows the difference rather than a
   * silently different card.
   */
  sentQuantity: number | null;
  bumpedAt: number | null;
  addedBy: string;
  /** Given away by a manager ("on the house"): still made, not in the ticket's total. Null when charged. */
  comped: { reason: string; at: number; eventId: string; terminal: string; staff: string | null; quantity: number } | null;
}

/**
 * How many of a line the guest pays for: a comp gives away the quantity the line had when it
 * was comped (`comped.quantity`), so a quantity raised afterwards is charged, never given away
 * with nobody's approval; lowered, nothing is charged.
 */
export function chargedQuantity(line: Pick<TicketLine, 'quantity' | 'comped'>): number {
  return line.comped === null ? line.quantity : Math.max(0, line.quantity - line.comped.quantity);
}

/**
 * The sales tax in what a ticket charges, rate by rate: what it was sold at (`closedTotalCents`:
 * a manager may have accepted a closing total other than the lines'), else its total, unless
 * `amountCents` is given (a refund on it). The amount is shared over the rates in proportion to
 * what the lines charge at each (shared/domain/tax.ts taxesOn).
 */
export function ticketTaxes(ticket: Pick<TicketView, 'lines' | 'totalCents' | 'closedTotalCents'>, amountCents: number = ticket.closedTotalCents ?? ticket.totalCents): TaxLine[] {
  const grossByRate = new Map<number | null, number>();
  for (const line of ticket.lines) {
    const charged = line.unitPriceCents * chargedQuantity(line);
    if (charged > 0) grossByRate.set(line.taxBasisPoints, (grossByRate.get(line.taxBasisPoints) ?? 0) + charged);
  }
  return taxesOn(amountCents, grossByRate);
}

/**
 * What each line the guest pays for came to of what the ticket was sold at (its closed total,
 * else its total), shared like the tax (ticketTaxes): line id → cents. Comped lines are not in it.
 */
export function soldByLine(ticket: Pick<TicketView, 'lines' | 'totalCents' | 'closedTotalCents'>): Map<string, number> {
  const charged = ticket.lines.filter((l) => chargedQuantity(l) > 0);
  const shares = allocateCents(ticket.closedTotalCents ?? ticket.totalCents, charged.map((l) => l.unitPriceCents * chargedQuantity(l)));
  return new Map(charged.map((l, i) => [l.lineId, shares[i]!]));
}

/** The sales tax in money handed back: at the rate of the line it was for, else shared like the ticket's total. */
export function refundTaxes(ticket: Pick<TicketView, 'lines' | 'totalCents' | 'closedTotalCents'>, refund: Pick<TicketRefund, 'amountCents' | 'lineId'>): TaxLine[] {
  const line = refund.lineId === null ? undefined : ticket.lines.find((l) => l.lineId === refund.lineId);
  return line === undefined ? ticketTaxes(ticket, refund.amountCents) : taxesOn(refund.amountCents, new Map([[line.taxBasisPoints, 1]]));
}

/** How many of a line are given away (0 when not comped). */
export function compedQuantity(line: Pick<TicketLine, 'quantity' | 'comped'>): number {
  return line.quantity - chargedQuantity(line);
}

/**
 * What the guest still owes on a ticket: its total less what it keeps (applied payments less
 * applied refunds: money handed back on a ticket that is reopened is owed again). A closed
 * ticket's refunds came after the sale and owe nothing.
 */
export function owedCents(t: Pick<TicketView, 'status' | 'totalCents' | 'paidCents' | 'refundedCents'>): number {
  return Math.max(0, t.totalCents - (t.status === 'closed' ? t.paidCents : keptCents(t)));
}

/** The money a ticket keeps: its applied payments less its applied refunds. */
export function keptCents(t: Pick<TicketView, 'paidCents' | 'refundedCents'>): number {
  return t.paidCents - t.refundedCents;
}

export type PaymentState = 'applied' | 'held' | 'refunded';

/** A ticket's discount (ticket.discount_set), flat: the field of the other kind is null. */
export interface TicketDiscountView {
  kind: TicketDiscount['kind'];
  /** 1–100 for a percentage; null for an amount. */
  percent: number | null;
  /** The amount off; null for a percentage. */
  amountCents: number | null;
  reason: string;
  /** What it takes off the subtotal now (it follows the lines). */
  cents: number;
  at: number;
  eventId: string;
  terminal: string;
  staff: string | null;
}

/**
 * What a discount takes off a subtotal: a percentage rounded to the nearest cent (halves up), an
 * amount at most the subtotal (a ticket never goes below zero).
 */
export function discountCents(discount: Pick<TicketDiscountView, 'kind' | 'percent' | 'amountCents'>, subtotalCents: number): number {
  return discount.kind === 'percent' ? Math.round((subtotalCents * (discount.percent ?? 0)) / 100) : Math.min(discount.amountCents ?? 0, subtotalCents);
}

export interface TicketPayment {
  paymentId: string;
  eventId: string;
  method: PaymentMethod;
  amountCents: number;
  tenderedCents: number | null;
  changeCents: number;
  /** A card tip charged with the amount, owed to staff: not toward the ticket's total (0 without). */
  tipCents: number;
  at: number;
  terminal: string;
  state: PaymentState;
  conflictId: string | null;
}

/**
 * 'held' while it would exceed the money taken (over_refund), or while a void or a change holds
 * the payments it came out of; 'discarded' once a manager said it was not given; 'settled' when
 * those payments were handed back whole (refund_payment): it was part of that, and counts nowhere.
 */
export type RefundState = 'applied' | 'held' | 'discarded' | 'settled';

/** Money handed back on the ticket (ticket.refunded): not off its total, off what it took. */
export interface TicketRefund {
  refundId: string;
  eventId: string;
  method: PaymentMethod;
  amountCents: number;
  reason: string;
  /** The line the money is for (a dish sent back); null for the ticket as a whole. */
  lineId: string | null;
  at: number;
  terminal: string;
  staff: string | null;
  state: RefundState;
  conflictId: string | null;
}

export interface TicketConflict {
  conflictId: string;
  kind: ConflictKind;
  eventIds: string[];
  detectedAt: number;
  detail: string;
  status: 'open' | 'resolved';
  resolution: {
    kind: ConflictResolutionKind;
    eventId: string;
    at: number;
    terminal: string;
    staff: string | null;
    note: string | null;
  } | null;
}

export type TicketStatus = 'open' | 'sent' | 'paid' | 'closed' | 'voided';

export interface TicketView extends AggregateBase {
  kind: 'ticket';
  number: string | null;
  tableId: string | null;
  covers: number | null;
  status: TicketStatus;
  lines: TicketLine[];
  /**
   * Lines removed after they were sent to the kitchen: the kitchen shows them as cancelled
   * until it bumps them (a line that just vanished from the card could still be cooked).
   */
  cancelledLines: TicketLine[];
  note: string | null;
  payments: TicketPayment[];
  /** What the current lines charge (chargedQuantity × price), before the discount. */
  subtotalCents: number;
  /** The ticket's discount and what it takes off the subtotal now (`cents`); null without one. */
  discount: TicketDiscountView | null;
  /** What the guest pays: the subtotal less the discount. */
  totalCents: number;
  /** Sum of applied payments. */
  paidCents: number;
  /** Change handed back on cash payments (tendered - amount). */
  changeDueCents: number;
  refunds: TicketRefund[];
  /** Sum of applied refunds: money handed back after it was taken (paidCents stays what was taken). */
  refundedCents: number;
  /** The total the ticket was closed with (null while not closed). */
  closedTotalCents: number | null;
  /** The close that holds (null while not closed): a later sale names it. */
  closedEventId: string | null;
  /** What the discount took off when the ticket closed (0 without one; null while not closed). */
  closedDiscountCents: number | null;
  closedAt: number | null;
  voidReason: string | null;
  /** When the void that holds was written (hybrid clock); null while not voided. */
  voidedAt: number | null;
  /**
   * The sale the back office holds (sale.recorded): the ticket's first, or a later one recording
   * a close after a reopening (`closeEventId`, null for the first), which replaced it.
   */
  sale: { eventId: string; totalCents: number; paidCents: number; closedAt: number; closeEventId: string | null } | null;
  conflicts: TicketConflict[];
  openConflicts: number;
  openedBy: { terminal: string; staff: string | null } | null;
  openedAt: number | null;
}

export interface MenuItemView extends AggregateBase {
  kind: 'menu_item';
  name: string | null;
  category: string | null;
  priceCents: number | null;
  station: string | null;
  /** The sales tax included in its price (basis points: 2000 = 20 %); null while none is set. */
  taxBasisPoints: number | null;
  retired: boolean;
  retiredAt: number | null;
  /** Marked sold out ("86"): the latest availability write says unavailable. */
  soldOut: boolean;
}

export interface TableView extends AggregateBase {
  kind: 'table';
  label: string | null;
  seats: number | null;
}

/** The location's details (location.details_set): what its receipts say about the seller. */
export interface LocationView extends AggregateBase {
  kind: 'location';
  name: string | null;
  address: string | null;
  taxNumber: string | null;
  receiptFooter: string | null;
}

/** An aggregate type this build does not know: its events are kept and listed. */
export interface OtherAggregateView extends AggregateBase {
  kind: 'other';
}

export type AggregateView = TicketView | MenuItemView | TableView | LocationView | OtherAggregateView;

/**
 * A view with its audit history. History is asked for separately (`historyOf`): a screen
 * listing thousands of tickets needs none of it, and a projection restored from a
 * checkpoint can show views before the events behind their histories are read.
 */
export type AuditedView = AggregateView & { history: HistoryEntry[] };

/**
 * Nothing left to do on it: a ticket closed or voided, with no open conflict and nothing
 * waiting in the kitchen. A till's working screens (tickets, kitchen queue, open
 * conflicts) show no settled aggregate, so a checkpoint keeps them apart and a restart
 * restores them after the first screen (client/store/idb-persistence.ts).
 */
export function isSettled(view: AggregateView): boolean {
  if (view.kind !== 'ticket') return false;
  if (view.status !== 'closed' && view.status !== 'voided') return false;
  if (view.openConflicts > 0) return false;
  const waiting = (l: TicketLine): boolean => l.sentAt !== null && l.bumpedAt === null;
  return !view.lines.some(waiting) && !view.cancelledLines.some((l) => l.bumpedAt === null);
}
