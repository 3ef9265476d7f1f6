import type { DecodedEvent } from '../events/catalog';
import { formatCents as money } from '../domain/common';
import type { PaymentMethod } from '../domain/ticket-events';
import { conflictIdFor, type ConflictKind } from './merge-policy';
import { outcome, type Outcome } from './reducer';
import type { TicketPayment } from './views';
import { lineById, type ClosedRecord, type TicketEvent, type TicketState } from './ticket-state';
import { appliedPaid, appliedRefunded, chargeOf, keptCents, payableCents, paymentOf, refundOf, totalOf } from './ticket-money';

/*
 * How the ticket reducer opens a conflict and what the conflict holds back: an event escalated
 * (escalate), payments a void or a lowered total no longer allows (holdPaymentsOfVoid,
 * holdPaymentsAboveTotal), a close at a total other than the lines'. A manager's decision
 * settles them (ticket-resolutions.ts).
 */

interface ConflictNaming {
  /** The events its id is made of (default: all of `eventIds`). */
  idFrom?: readonly string[];
  /** The id an earlier build gave it (TicketConflict.aliases). */
  alias?: string;
}

/** Opens a conflict (once per id) and returns its id. */
function addConflict(s: TicketState, kind: ConflictKind, eventIds: string[], at: number, detail: string, naming: ConflictNaming = {}): string {
  const conflictId = conflictIdFor(kind, naming.idFrom ?? eventIds);
  const existing = s.conflicts.find((c) => c.conflictId === conflictId);
  const alias = naming.alias !== undefined && naming.alias !== conflictId ? [naming.alias] : [];
  if (existing) {
    for (const a of alias) if (!existing.aliases.includes(a)) existing.aliases.push(a);
    return conflictId;
  }
  s.conflicts.push({ conflictId, kind, eventIds: [...eventIds].sort(), aliases: alias, detectedAt: at, detail, status: 'open', resolution: null, overruled: [] });
  return conflictId;
}

/** Holds the event back as an open conflict; payments and refunds stay visible as 'held'. */
export function escalate(s: TicketState, e: TicketEvent, kind: ConflictKind, eventIds: string[], detail: string, naming: ConflictNaming = {}): Outcome {
  const conflictId = addConflict(s, kind, eventIds, e.at, detail, naming);
  s.held.set(conflictId, e);
  if (kind === 'closed_and_voided' && e.type === 'ticket.closed' && !s.heldCloses.some((h) => h.conflictId === conflictId)) {
    s.heldCloses.push({ conflictId, closed: closeRecordOf(s, e), linesTotalCents: totalOf(s), sale: null });
  }
  if (e.type === 'ticket.payment_recorded' && !s.payments.some((p) => p.paymentId === e.payload.paymentId)) {
    s.payments.push(paymentOf(e, 'held', conflictId));
  }
  if (e.type === 'ticket.refunded' && !s.refunds.some((r) => r.refundId === e.payload.refundId)) {
    s.refunds.push(refundOf(s, e, 'held', conflictId));
  }
  return outcome('escalated', detail, conflictId);
}

/**
 * Money taken on a ticket that is now void is the same conflict as a payment arriving after
 * the void, whichever of the two sorts first (or a manager voiding a paid, even a closed,
 * ticket): the payments are held for a manager to refund or reopen. Returns the conflict id.
 */
export function holdPaymentsOfVoid(s: TicketState, voidEventId: string, at: number): string | null {
  const taken = s.payments.filter((p) => p.state === 'applied');
  if (taken.length === 0) return null;
  const ids = holdEach(s, 'payment_after_void', taken, voidEventId, at, (p) => `voided with a ${p.method} payment of ${money(p.amountCents)} taken`);
  holdRefundsBeyondPayments(s, taken);
  return ids[0]!;
}

/**
 * A line removed, reduced or comped after payment: the payments no longer fit the total. Like two
 * tills each taking the full amount, it is an over-payment for a manager (refund the payment
 * and take the new total, or keep it): the newest payments that do not fit are held.
 */
export function holdPaymentsAboveTotal(s: TicketState, e: TicketEvent, total = payableCents(s)): Outcome {
  // A payment a manager kept beyond the total is never asked about again, nor counted against it.
  const applied = s.payments.filter((p) => p.state === 'applied' && !s.acceptedPayments.includes(p.paymentId));
  const kept = keptCents(s);
  const accepted = appliedPaid(s) - applied.reduce((n, p) => n + p.amountCents, 0);
  if (kept - accepted <= total) return outcome('applied');
  const held: TicketPayment[] = [];
  for (let i = applied.length - 1, left = kept - accepted; i >= 0 && left > total; i--) {
    held.push(applied[i]!);
    left -= applied[i]!.amountCents;
  }
  if (held.length === 0) return outcome('applied');
  // A payment is handed back whole: on a closed ticket, the way to hand back only the difference is to keep it and refund that.
  const hint = s.closed === null ? '' : `; to hand back only the ${money(kept - accepted - total)} over, keep the payment and refund that`;
  const ids = holdEach(s, 'over_payment', held, e.id, e.at, (p) => `a ${p.method} payment of ${money(p.amountCents)}: payments ${money(kept)} exceed the total ${money(total)} after a change${hint}`);
  holdRefundsBeyondPayments(s, held);
  return outcome('applied', 'payments above the new total are held', ids[0]!);
}

/** A close as it applies now: the guests and the discount it was made with. */
export function closeRecordOf(s: TicketState, e: DecodedEvent<'ticket.closed'>): ClosedRecord {
  return { eventId: e.id, totalCents: e.payload.totalCents, at: e.at, discountCents: chargeOf(s).discount, covers: s.covers };
}

/**
 * Closes the ticket. The close stands (the till did close) but a total other than the lines'
 * (`linesTotalCents` when it applied) must be looked at: returns that conflict's id, or null.
 */
export function applyClose(s: TicketState, closed: ClosedRecord, linesTotalCents: number): string | null {
  s.closed = closed;
  if (linesTotalCents === closed.totalCents) return null;
  return addConflict(s, 'close_total_mismatch', [closed.eventId], closed.at, `closed with ${money(closed.totalCents)}, lines total ${money(linesTotalCents)}`);
}

/**
 * A held-back event in the words a conflict's detail shows staff, saying what it would change
 * ("2× Tiramisu (12.00) added after the ticket was closed"): several held changes are told apart.
 */
export function whatHappened(s: TicketState, e: TicketEvent): string {
  switch (e.type) {
    case 'ticket.item_added':
      return `${e.payload.quantity}× ${e.payload.name} (${money(e.payload.unitPriceCents * e.payload.quantity)}) added`;
    case 'ticket.item_removed':
      return `${lineNameOf(s, e.payload.lineId)} removed`;
    case 'ticket.quantity_changed':
      return `${lineNameOf(s, e.payload.lineId)} set to ${e.payload.quantity}×`;
    case 'ticket.line_comped':
      return `${lineNameOf(s, e.payload.lineId)} comped`;
    case 'ticket.payment_recorded':
      return `a ${e.payload.method} payment of ${money(e.payload.amountCents)} taken`;
    case 'ticket.refunded':
      return `a ${e.payload.method} refund of ${money(e.payload.amountCents)} given`;
    case 'ticket.discount_set':
      return e.payload.discount === null ? 'the discount taken off' : 'a discount changed';
    case 'ticket.closed':
      return `a close at ${money(e.payload.totalCents)}`;
    case 'ticket.voided':
      return 'a void';
    default:
      return e.type;
  }
}

/** A line's name: on the ticket, cancelled, or in a change held back (its add came after the end too). */
function lineNameOf(s: TicketState, lineId: string): string {
  const line = lineById(s, lineId) ?? s.cancelled.find((l) => l.lineId === lineId);
  if (line) return line.name;
  for (const held of s.held.values()) if (held.type === 'ticket.item_added' && held.payload.lineId === lineId) return held.payload.name;
  return 'an item';
}

/**
 * Holds each payment in a conflict of its own, named by the payment and the event that held it
 * (the void, the change): a payment from an offline till folding in later opens its own and
 * renames none a manager may have settled. `kind` with all of them as earlier builds named the
 * one conflict they shared is kept as an alias. Returns the conflicts' ids, in payment order.
 */
function holdEach(s: TicketState, kind: ConflictKind, payments: readonly TicketPayment[], causeId: string, at: number, detail: (p: TicketPayment) => string): string[] {
  const shared = conflictIdFor(kind, [...payments.map((p) => p.eventId), causeId]);
  return payments.map((p) => {
    const conflictId = addConflict(s, kind, [p.eventId, causeId], at, detail(p), payments.length > 1 ? { alias: shared } : {});
    p.state = 'held';
    p.conflictId = conflictId;
    return conflictId;
  });
}

/**
 * Refunds no longer covered by the payments that still count (the void or the change held
 * them) are held with those payments: handing the payments back (refund_payment) hands back
 * the whole, so these refunds are then `settled` in it; keeping the payments keeps them.
 */
function holdRefundsBeyondPayments(s: TicketState, held: readonly TicketPayment[]): void {
  // In all and by method, as a refund is checked when given: no cash back for what a card paid.
  const beyond = (method?: PaymentMethod): boolean => appliedRefunded(s, method) > appliedPaid(s, method);
  // Each goes with the decision on a payment of its own method (handing that back hands the
  // refund back with it: `settled`), the last of them; else with the last payment held.
  const conflictOf = (method: PaymentMethod): string => (held.findLast((p) => p.method === method) ?? held.at(-1)!).conflictId!;
  const carried = new Map<string, number>();
  for (let i = s.refunds.length - 1; i >= 0; i--) {
    const r = s.refunds[i]!;
    if (r.state !== 'applied' || !(beyond() || beyond(r.method))) continue;
    r.state = 'held';
    r.conflictId = conflictOf(r.method);
    carried.set(r.conflictId, (carried.get(r.conflictId) ?? 0) + r.amountCents);
  }
  // The card says so: handing the payment back hands back only what was not refunded already.
  for (const [conflictId, cents] of carried) {
    const c = s.conflicts.find((x) => x.conflictId === conflictId);
    if (c && !c.detail.includes('refunded already')) c.detail += `, ${money(cents)} of it refunded already`;
  }
}
