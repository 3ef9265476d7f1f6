import type { DecodedEvent } from '../events/catalog';
import { formatCents as money } from '../domain/common';
import type { PaymentMethod } from '../domain/ticket-events';
import { conflictIdFor, type ConflictKind } from './merge-policy';
import { outcome, type Outcome } from './reducer';
import { carriedRefundCents, type TicketConflict, type TicketPayment, type TicketRefund } from './views';
import { lineById, type ClosedRecord, type TicketEvent, type TicketState } from './ticket-state';
import { appliedPaid, chargeOf, keptCents, payableCents, paymentOf, refundOf, totalOf } from './ticket-money';

/*
 * How the ticket reducer opens a conflict and what the conflict holds back: an event escalated
 * (escalate), payments a void or a lowered total no longer allows (holdPaymentsOfVoid,
 * holdPaymentsAboveTotal), a close at a total other than the lines'. A manager's decision
 * settles them (ticket-resolutions.ts).
 */

interface ConflictNaming {
  /** The events its id is made of (default: all of `eventIds`). */
  idFrom?: readonly string[];
  /** The ids earlier builds gave it (TicketConflict.aliases). */
  aliases?: readonly string[];
}

/** Opens a conflict (once per id) and returns its id; opened by a held change a decision applies, it dates from the decision. */
function addConflict(s: TicketState, kind: ConflictKind, eventIds: string[], at: number, detail: string, naming: ConflictNaming = {}): string {
  const conflictId = conflictIdFor(kind, naming.idFrom ?? eventIds);
  const existing = s.conflicts.find((c) => c.conflictId === conflictId);
  const alias = (naming.aliases ?? []).filter((a) => a !== conflictId);
  if (existing) {
    for (const a of alias) if (!existing.aliases.includes(a)) existing.aliases.push(a);
    return conflictId;
  }
  s.conflicts.push({ conflictId, kind, eventIds: [...eventIds].sort(), aliases: alias, detectedAt: s.applyingAt ?? at, detail, status: 'open', resolution: null, overruled: [] });
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
  const ids = holdWithRefunds(s, 'payment_after_void', taken, voidEventId, at, (ps) => `voided with ${paymentsTaken(ps)} taken`);
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
  const ids = holdWithRefunds(s, 'over_payment', held, e.id, e.at, (ps) => `${paymentsTaken(ps)}: payments ${money(kept)} exceed the total ${money(total)} after a change${hint}`);
  // The refunds held with them may leave what those hand back short of the excess: what still
  // counts is checked again (each pass holds at least one applied payment, so it ends).
  holdPaymentsAboveTotal(s, e, total);
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
      return `${paymentWords(e.payload)} taken`;
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
 * "a cash payment of 5.98", "cash payments of 5.98 and 2.65" (held together), "a card payment
 * of 14.50 + 2.00 tip": a card's tip was charged with it, and goes back with it.
 */
function paymentsTaken(ps: readonly TicketPayment[]): string {
  if (ps.length === 1) return paymentWords(ps[0]!);
  const amounts = ps.map(amountWords);
  return `${ps[0]!.method} payments of ${amounts.slice(0, -1).join(', ')} and ${amounts.at(-1)}`;
}

/** "a card payment of 14.50 + 2.00 tip", as a card shows a payment held. */
export function paymentWords(p: { method: PaymentMethod; amountCents: number; tipCents?: number }): string {
  return `a ${p.method} payment of ${amountWords(p)}`;
}

function amountWords(p: { amountCents: number; tipCents?: number }): string {
  return money(p.amountCents) + ((p.tipCents ?? 0) > 0 ? ` + ${money(p.tipCents!)} tip` : '');
}

/**
 * Holds the payments (a void's, or those above a lowered total) and the refunds they no longer
 * cover, each payment in a conflict of its own named by the payment and the event that held it
 * (the void, the change): a payment from an offline till folding in later opens its own and
 * renames none a manager may have settled. The conflict with all of them, as earlier builds
 * named the one they shared, is kept as an alias. Returns the conflicts' ids, in payment order.
 *
 * A held refund goes with the decision on a payment of its own method that it fits in (its
 * amount less the refunds gone with it already): handing that payment back hands back only
 * what was not refunded, and the refund with it (`settled`). A refund that fits in no single
 * payment of its method (8.63 back of payments of 5.98 and 2.65) holds them together, in one
 * conflict: handed back one by one, the first would go back whole although the refund had
 * given it back already. Held together they are never less than the refunds they carry: a
 * lowered total that holds fewer payments than that holds more of that method with them.
 */
function holdWithRefunds(s: TicketState, kind: ConflictKind, payments: readonly TicketPayment[], causeId: string, at: number, detail: (ps: readonly TicketPayment[]) => string): string[] {
  const held = [...payments];
  const refunds = refundsBeyond(s, held);
  const together = new Set<PaymentMethod>();
  for (const method of new Set(refunds.map((r) => r.method))) {
    const ofMethod = <T extends { method: PaymentMethod }>(xs: readonly T[]): T[] => xs.filter((x) => x.method === method);
    // None of its method held: refunds a manager accepted beyond the money taken (they stay applied: carryRefunds).
    if (ofMethod(held).length === 0 || assignOneByOne(ofMethod(held), ofMethod(refunds)) !== null) continue;
    together.add(method);
    // Hold more of the method's payments, newest first, until they cover the refunds they carry
    // (never one a manager kept beyond the total: it is not asked about again).
    const sum = (xs: readonly { amountCents: number }[]) => xs.reduce((n, x) => n + x.amountCents, 0);
    for (const p of [...s.payments].reverse()) {
      if (sum(ofMethod(refunds)) <= sum(ofMethod(held))) break;
      if (p.method !== method || p.state !== 'applied' || held.includes(p) || s.acceptedPayments.includes(p.paymentId)) continue;
      held.push(p);
      refunds.splice(0, refunds.length, ...refundsBeyond(s, held));
    }
  }
  held.sort((a, b) => s.payments.indexOf(a) - s.payments.indexOf(b));
  const groups: TicketPayment[][] = [];
  for (const method of together) groups.push(held.filter((p) => p.method === method));
  for (const p of held) if (!together.has(p.method)) groups.push([p]);
  groups.sort((a, b) => s.payments.indexOf(a[0]!) - s.payments.indexOf(b[0]!));
  // Earlier builds held every payment in one conflict, and then each in its own.
  const shared = conflictIdFor(kind, [...payments.map((p) => p.eventId), causeId]);
  const ids = groups.map((group) => {
    const aliases = [...(payments.length > 1 ? [shared] : []), ...(group.length > 1 ? group.map((p) => conflictIdFor(kind, [p.eventId, causeId])) : [])];
    const conflictId = addConflict(s, kind, [...group.map((p) => p.eventId), causeId], at, detail(group), { aliases });
    for (const p of group) {
      p.state = 'held';
      p.conflictId = conflictId;
    }
    return conflictId;
  });
  carryRefunds(s, groups, refunds);
  return ids;
}

/**
 * The applied refunds no longer covered once `held` stop counting, newest first: by method, as
 * a refund is checked when given (no cash back for what a card paid).
 */
function refundsBeyond(s: TicketState, held: readonly TicketPayment[]): TicketRefund[] {
  const left = new Map<PaymentMethod, number>();
  for (const r of s.refunds) if (r.state === 'applied') left.set(r.method, (left.get(r.method) ?? 0) + r.amountCents);
  for (const [method, refunded] of left) left.set(method, refunded - appliedPaid(s, method) + held.reduce((n, p) => (p.method === method ? n + p.amountCents : n), 0));
  const beyond: TicketRefund[] = [];
  for (let i = s.refunds.length - 1; i >= 0; i--) {
    const r = s.refunds[i]!;
    if (r.state !== 'applied' || left.get(r.method)! <= 0) continue;
    beyond.push(r);
    left.set(r.method, left.get(r.method)! - r.amountCents);
  }
  return beyond;
}

/**
 * Each refund to a payment of its own that it fits in (largest first, into the oldest with
 * room), or null if one fits in none. The oldest: a payment an offline till took meanwhile
 * usually folds in later, and sorts after the first; a refund moving to it would change what
 * a card a manager settled already had carried.
 */
function assignOneByOne(payments: readonly TicketPayment[], refunds: readonly TicketRefund[]): Map<TicketRefund, TicketPayment> | null {
  const room = new Map(payments.map((p) => [p, p.amountCents]));
  const assigned = new Map<TicketRefund, TicketPayment>();
  for (const r of [...refunds].sort((a, b) => b.amountCents - a.amountCents)) {
    const p = payments.find((x) => room.get(x)! >= r.amountCents);
    if (p === undefined) return null;
    room.set(p, room.get(p)! - r.amountCents);
    assigned.set(r, p);
  }
  return assigned;
}

/**
 * Holds each refund with the group of payments it goes with, and the card says what of it was
 * refunded already. Never more than the group's payments: handing them back hands back what
 * they took less what went back, so a refund beyond them (a manager accepted it beyond the
 * money taken) stays applied — that money is gone either way.
 */
function carryRefunds(s: TicketState, groups: readonly TicketPayment[][], refunds: readonly TicketRefund[]): void {
  const carried = new Map<string, number>();
  const paidIn = new Map(groups.map((g) => [g[0]!.conflictId!, g.reduce((n, p) => n + p.amountCents, 0)]));
  const hold = (r: TicketRefund, conflictId: string) => {
    if ((carried.get(conflictId) ?? 0) + r.amountCents > paidIn.get(conflictId)!) return;
    r.state = 'held';
    r.conflictId = conflictId;
    carried.set(conflictId, (carried.get(conflictId) ?? 0) + r.amountCents);
  };
  // A method held in one conflict carries all its refunds; held one by one, each refund goes with a payment it fits in.
  for (const method of new Set(groups.map((g) => g[0]!.method))) {
    const ofMethod = groups.filter((g) => g[0]!.method === method);
    const refundsOfMethod = refunds.filter((r) => r.method === method);
    if (ofMethod.length === 1) for (const r of refundsOfMethod) hold(r, ofMethod[0]![0]!.conflictId!);
    else for (const [r, p] of assignOneByOne(ofMethod.map((g) => g[0]!), refundsOfMethod) ?? []) hold(r, p.conflictId!);
  }
  for (const conflictId of carried.keys()) {
    const c = s.conflicts.find((x) => x.conflictId === conflictId);
    if (c) restateCarried(s, c);
  }
}

const CARRIED_NOTE = /, [^,]+ of it refunded already$/;

/** The card says what it carries (or carried, handed back): handing the payment back hands back only what was not refunded already. */
export function restateCarried(s: TicketState, c: TicketConflict): void {
  const cents = carriedRefundCents(s.refunds, c.conflictId);
  c.detail = c.detail.replace(CARRIED_NOTE, '') + (cents > 0 ? `, ${money(cents)} of it refunded already` : '');
}
