import type { PaymentMethod, TicketDiscount } from '../domain/ticket-events';
import type { ConflictResolutionKind } from '../domain/conflict-events';
import type { ConflictKind } from './merge-policy';
import { allocateCents, taxIncludedIn, taxesByRate, type TaxLine } from '../domain/tax';

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
  /** Which send to the kitchen of its ticket it went with (1 the first; null while not sent): a kitchen card's number. */
  send: number | null;
  /** When the kitchen made all of the line (null while some is still to make). */
  bumpedAt: number | null;
  /** How many of the line the kitchen made (0: none yet); below `quantity`, the rest is to make. */
  bumpedQuantity: number;
  /**
   * When the kitchen bumped the line's VOIDED card (null: not since the ticket was last voided):
   * it saw the void, it made nothing. A reopening clears it, and the line is to make again.
   */
  voidSeenAt: number | null;
  /** Held back from the kitchen until fired (a main course); meaningless once sent. */
  held: boolean;
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

/** What a ticket was sold at: its closed total (a manager may have accepted one other than the lines'), else its total. */
export function soldCents(ticket: Pick<TicketView, 'totalCents' | 'closedTotalCents'>): number {
  return ticket.closedTotalCents ?? ticket.totalCents;
}

/**
 * `amountCents` shared over the lines the guest pays for, in proportion to what each charges
 * (comped parts excluded; to the cent, allocateCents): line id → cents. With no such line, all of
 * it under the empty id, at no rate.
 */
function sharedOverLines(ticket: Pick<TicketView, 'lines'>, amountCents: number): Map<string, number> {
  const charged = ticket.lines.filter((l) => chargedQuantity(l) > 0);
  if (charged.length === 0) return new Map([['', amountCents]]);
  const shares = allocateCents(amountCents, charged.map((l) => l.unitPriceCents * chargedQuantity(l)));
  return new Map(charged.map((l, i) => [l.lineId, shares[i]!]));
}

/** What each line the guest pays for came to of what the ticket was sold at (soldCents): line id → cents. */
export function soldByLine(ticket: Pick<TicketView, 'lines' | 'totalCents' | 'closedTotalCents'>): Map<string, number> {
  return sharedOverLines(ticket, soldCents(ticket));
}

/** Cents per line (line id → cents) summed per rate: rate → gross. */
function grossByRateOf(ticket: Pick<TicketView, 'lines'>, byLine: ReadonlyMap<string, number>): Map<number | null, number> {
  const rateOf = new Map(ticket.lines.map((l) => [l.lineId, l.taxBasisPoints]));
  const grossByRate = new Map<number | null, number>();
  for (const [lineId, cents] of byLine) {
    if (cents === 0) continue;
    const rate = rateOf.get(lineId) ?? null;
    grossByRate.set(rate, (grossByRate.get(rate) ?? 0) + cents);
  }
  return grossByRate;
}

/** Cents per line (line id → cents) as the tax in them, rate by rate (shared/domain/tax.ts taxesByRate). */
function taxesOfLines(ticket: Pick<TicketView, 'lines'>, byLine: ReadonlyMap<string, number>): TaxLine[] {
  return taxesByRate(grossByRateOf(ticket, byLine));
}

/**
 * The sales tax in what a ticket was sold at (soldCents), rate by rate: shared over the lines
 * in proportion to what each charges (so a discount comes off every rate alike), then summed
 * per rate. The refunds draw on the same shares (refundShares), so the tax handed back at a
 * rate never exceeds what was sold at it.
 */
export function ticketTaxes(ticket: Pick<TicketView, 'lines' | 'totalCents' | 'closedTotalCents'>): TaxLine[] {
  return taxesOfLines(ticket, soldByLine(ticket));
}

/**
 * What the given lines come to of what the ticket is sold at (their shares of soldCents, so a
 * discount comes off them as off every line): what a guest paying for their own dishes owes.
 * A line that charges nothing (comped, or not on the ticket) adds nothing.
 */
export function linesShareCents(ticket: Pick<TicketView, 'lines' | 'totalCents' | 'closedTotalCents'>, lineIds: readonly string[]): number {
  const sold = soldByLine(ticket);
  return lineIds.reduce((sum, id) => sum + (id === '' ? 0 : (sold.get(id) ?? 0)), 0);
}

/** The lines an applied payment was taken for (a held or handed-back payment pays for nothing). */
export function paidLineIds(ticket: Pick<TicketView, 'payments'>): Set<string> {
  return new Set(ticket.payments.filter((p) => p.state === 'applied').flatMap((p) => p.lineIds));
}

/** How a ticket's applied refunds share out over its lines (refundShares). */
export interface RefundShares {
  /** Per applied refund (by refundId): the sales tax in it, rate by rate. */
  taxes: Map<string, TaxLine[]>;
  /** What each line the guest paid for can still get back (soldByLine less its share of the refunds). */
  leftByLine: Map<string, number>;
}

/**
 * Shares a ticket's applied refunds out over its lines, in fold order. What a refund gave back
 * of money kept above the sale (aboveSaleCents) is at no rate. The rest draws on what the lines
 * have left (soldByLine less the refunds before it): a refund for a line takes what it drew from
 * its line (drawnCents) at the line's rate, as far as the line still sells it, and the part the
 * line no longer sells (taken off, comped, fewer of it after a reopening: owed again) at no
 * rate; the rest of it, like a refund for the whole ticket, is shared over what the lines have
 * left, each line at most what it has; beyond that (refunds a manager accepted beyond the money
 * taken) at no rate. So the tax handed back at a rate never exceeds what is sold at it.
 */
export function refundShares(ticket: Pick<TicketView, 'lines' | 'totalCents' | 'closedTotalCents' | 'refunds'>): RefundShares {
  const sold = soldByLine(ticket);
  const left = new Map(sold);
  const ids = [...sold.keys()];
  const taxes = new Map<string, TaxLine[]>();
  // Per rate, the gross refunded so far: each refund's tax is what it adds to the tax in that
  // running total, so the refunds' tax is rounded once in all, never above what was sold.
  const refundedAtRate = new Map<number, number>();
  const taxOfRefund = (grossByRate: ReadonlyMap<number | null, number>): TaxLine[] =>
    taxesByRate(grossByRate).map((line) => {
      if (line.basisPoints === null) return line;
      const before = refundedAtRate.get(line.basisPoints) ?? 0;
      const after = before + line.grossCents;
      refundedAtRate.set(line.basisPoints, after);
      const taxCents = taxIncludedIn(after, line.basisPoints) - taxIncludedIn(before, line.basisPoints);
      return { ...line, taxCents, netCents: line.grossCents - taxCents };
    });
  for (const refund of ticket.refunds) {
    if (refund.state !== 'applied') continue;
    // Under the empty id: at no rate (grossByRateOf).
    const byLine = new Map<string, number>();
    const atNoRate = (cents: number): void => void (cents > 0 && byLine.set('', (byLine.get('') ?? 0) + cents));
    atNoRate(refund.aboveSaleCents);
    let rest = refund.amountCents - refund.aboveSaleCents;
    if (refund.line !== null) {
      // What it drew from its line: at the line's rate while the line still sells it; beyond what
      // it sells now (taken off, comped, fewer of it) at no rate: the guest owes that again.
      const drawn = Math.min(refund.line.drawnCents, rest);
      const forLine = left.get(refund.line.lineId) ?? 0;
      const fromLine = Math.min(forLine, drawn);
      if (fromLine > 0) {
        byLine.set(refund.line.lineId, fromLine);
        left.set(refund.line.lineId, forLine - fromLine);
      }
      atNoRate(drawn - fromLine);
      rest -= drawn;
    }
    const weights = ids.map((id) => left.get(id)!);
    const shared = Math.min(rest, weights.reduce((sum, w) => sum + w, 0));
    if (shared > 0) {
      // Within what the lines have left, no line's share is above what it has (allocateCents).
      const shares = allocateCents(shared, weights);
      ids.forEach((id, i) => {
        byLine.set(id, (byLine.get(id) ?? 0) + shares[i]!);
        left.set(id, Math.max(0, left.get(id)! - shares[i]!));
      });
    }
    atNoRate(rest - shared);
    taxes.set(refund.refundId, taxOfRefund(grossByRateOf(ticket, byLine)));
  }
  left.delete('');
  return { taxes, leftByLine: left };
}

/** How many of a line are given away (0 when not comped). */
export function compedQuantity(line: Pick<TicketLine, 'quantity' | 'comped'>): number {
  return line.quantity - chargedQuantity(line);
}

/**
 * What the refunds a held-money conflict carries (or carried, once handed back) came to: the
 * "…, 6.00 of it refunded already" of its card, which a hand-back does not give back again.
 */
export function carriedRefundCents(refunds: readonly TicketRefund[], conflictId: string): number {
  return refunds.reduce((n, r) => (r.conflictId === conflictId && (r.state === 'held' || r.state === 'settled') ? n + r.amountCents : n), 0);
}

/**
 * The refunds a guest owes again if the sale holds more: what applied refunds gave back of
 * money kept above the sale (aboveSaleCents: it was never part of the sale), and what refunds
 * for lines drew from them (drawnCents) beyond what they are sold at now (taken off, comped,
 * fewer of it after a reopening: that would otherwise come off twice, as a refund and off the
 * total). A refund for a line still sold at what it drew, or for the whole ticket, is money
 * handed back for good; so is everything drawn from lines once a manager accepted a close
 * total other than the lines' (that total is what was sold).
 */
export function refundsOwedAgainCents(ticket: Pick<TicketView, 'lines' | 'refunds' | 'totalCents' | 'closedTotalCents'>): number {
  const unsold = ticket.refunds.reduce((n, r) => (r.state === 'applied' ? n + r.aboveSaleCents : n), 0);
  return unsold + refundedForUnchargedLinesCents(ticket);
}

function refundedForUnchargedLinesCents(ticket: Pick<TicketView, 'lines' | 'refunds' | 'totalCents' | 'closedTotalCents'>): number {
  if (ticket.closedTotalCents !== null && ticket.closedTotalCents !== ticket.totalCents) return 0;
  const drawn = new Map<string, number>();
  for (const r of ticket.refunds) {
    if (r.state === 'applied' && r.line !== null) drawn.set(r.line.lineId, (drawn.get(r.line.lineId) ?? 0) + r.line.drawnCents);
  }
  if (drawn.size === 0) return 0;
  const sold = soldByLine(ticket);
  let cents = 0;
  for (const [lineId, drawnCents] of drawn) cents += Math.max(0, drawnCents - (sold.get(lineId) ?? 0));
  return cents;
}

/**
 * Money a ticket keeps above what it is sold at that no refund has given back yet (the mirror of
 * owedCents): its payments less soldCents less the refunds owed again (refundsOwedAgainCents:
 * those that gave back such money, or drew on lines no longer sold). A refund for a dish still
 * sold is compensation, given for good, and takes nothing off it.
 */
export function keptAboveSaleCents(t: Pick<TicketView, 'totalCents' | 'closedTotalCents' | 'paidCents' | 'lines' | 'refunds'>): number {
  return Math.max(0, t.paidCents - soldCents(t) - refundsOwedAgainCents(t));
}

/**
 * What the guest still owes on a ticket: what it is sold at (soldCents: a closed ticket's closed
 * total) less its applied payments, never below zero. A refund is a money movement of its own,
 * counted on the day it was handed back: it is not owed again, also on a ticket reopened after
 * it (the guest compensated for a cold dish is not charged the compensation back) — unless it
 * gave back money kept above the sale, or its line is no longer charged (refundsOwedAgainCents).
 */
export function owedCents(t: Pick<TicketView, 'totalCents' | 'closedTotalCents' | 'paidCents' | 'lines' | 'refunds'>): number {
  return Math.max(0, soldCents(t) + refundsOwedAgainCents(t) - t.paidCents);
}

/**
 * The money a ticket keeps: its applied payments less its applied refunds. What its total is
 * checked against for over-payments (money held beyond the total), not what the guest owes.
 */
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
  /** The lines it was taken for (separate checks: a guest paying for their own dishes); empty when for an amount. */
  lineIds: string[];
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
  /**
   * The line the money is for (a dish sent back), as it was when the refund was folded (its
   * name and rate stay with the refund if the line later leaves the ticket); null for the
   * ticket as a whole. `name` and `taxBasisPoints` are null for a line the ticket never had.
   * `drawnCents`: what it took of what the line had left then (its amount, or less for a refund
   * beyond the line: the rest came off the ticket as a whole).
   */
  line: { lineId: string; name: string | null; taxBasisPoints: number | null; drawnCents: number } | null;
  /**
   * What of it gave back money the ticket kept above what it was sold at, when it counted (a
   * double charge, or the difference over a lowered total, kept and handed back as a refund, as
   * the over-payment card advises): no sale of anything, so no tax, and owed again if the sale
   * grows. A refund for a line takes from its line first.
   */
  aboveSaleCents: number;
  at: number;
  terminal: string;
  staff: string | null;
  state: RefundState;
  conflictId: string | null;
}

export interface ConflictResolutionView {
  kind: ConflictResolutionKind;
  eventId: string;
  at: number;
  terminal: string;
  staff: string | null;
  note: string | null;
  /**
   * The close this reopening undid, as it held: the takings keep it on its own day and take it
   * off on the reopening's (SRV25). Null for any other decision, or when no close held then.
   */
  undidClose: UndoneClose | null;
}

/** A close as it held until a manager reopened the ticket: what the takings counted of it. Never changed once made. */
export interface UndoneClose {
  closedAt: number;
  totalCents: number;
  discountCents: number;
  covers: number | null;
  /** The lines then (copies): what it sold and the tax in it. */
  lines: TicketLine[];
}

export interface TicketConflict {
  conflictId: string;
  kind: ConflictKind;
  eventIds: string[];
  /**
   * Ids earlier builds gave it: one conflict held every payment together, under an id of
   * them all; or each payment its own, where payments are now held together (a refund larger
   * than any one of them). A resolution naming one settles each conflict that carries it.
   */
  aliases: string[];
  detectedAt: number;
  detail: string;
  status: 'open' | 'resolved';
  resolution: ConflictResolutionView | null;
  /**
   * Resolutions that came after the one that holds (two managers at once): not applied. The
   * screen says so: the second may have handed money back that the first kept.
   */
  overruled: ConflictResolutionView[];
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
  /** The guests when the ticket closed (null while not closed, or not counted then): what the takings count. */
  closedCovers: number | null;
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
  /** Off the floor plan (table.retired): no new ticket is opened at it. */
  retired: boolean;
  retiredAt: number | null;
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
 * Lines held back from the kitchen (courses) on a ticket that goes on: still to fire, also once
 * the guest paid and the ticket is closed (a paid main is still to cook). None on a voided
 * ticket. (A line never sent nor held may be one no kitchen makes: a coffee at the counter.)
 */
export function linesToFire(view: TicketView): TicketLine[] {
  return view.status === 'voided' ? [] : view.lines.filter((l) => l.sentAt === null && l.held);
}

/**
 * Whether a line of the ticket is on the kitchen's screen: sent and not yet made — or, on a
 * voided ticket, until the kitchen saw the void (voidSeenAt).
 */
export function waitsInKitchen(ticket: Pick<TicketView, 'status'>, line: TicketLine): boolean {
  return line.sentAt !== null && line.bumpedAt === null && (ticket.status !== 'voided' || line.voidSeenAt === null);
}

/** A ticket closed or voided: it takes no more lines or payments (conflicts and refunds aside). */
export function hasEnded(ticket: Pick<TicketView, 'status'>): boolean {
  return ticket.status === 'closed' || ticket.status === 'voided';
}

/**
 * Nothing left to do on it: a ticket closed or voided, with no open conflict, nothing
 * waiting in the kitchen and nothing held back to fire. A till's working screens (tickets,
 * kitchen queue, open conflicts) show no settled aggregate, so a checkpoint keeps them apart
 * and a restart restores them after the first screen (client/store/idb-persistence.ts).
 */
export function isSettled(view: AggregateView): boolean {
  if (view.kind !== 'ticket') return false;
  if (!hasEnded(view)) return false;
  if (view.openConflicts > 0 || linesToFire(view).length > 0) return false;
  return !view.lines.some((l) => waitsInKitchen(view, l)) && !view.cancelledLines.some((l) => l.bumpedAt === null);
}
