import type { DecodedEvent } from '../events/catalog';
import type { PaymentMethod } from '../domain/ticket-events';
import { chargedQuantity, discountCents, keptAboveSaleCents, refundShares, type TicketLine, type TicketPayment, type TicketRefund, type TicketView } from './views';
import { lineById, type TicketState } from './ticket-state';

/*
 * The ticket's money: what the lines charge, what was paid and refunded, what the money kept
 * must fit, and the payment and refund records the reducer and its conflicts keep.
 */

/** What the lines charge now, and what the discount takes off it (0 without one). */
export function chargeOf(s: TicketState): { subtotal: number; discount: number } {
  const subtotal = sumLines(s.lines);
  return { subtotal, discount: s.discount === null ? 0 : discountCents(s.discount, subtotal) };
}

/** What the guest pays: the lines' charge less the discount. */
export function totalOf(s: TicketState): number {
  const { subtotal, discount } = chargeOf(s);
  return subtotal - discount;
}

/** Applied payments, of one method when given. */
export function appliedPaid(s: TicketState, method?: PaymentMethod): number {
  return s.payments.reduce((n, p) => (p.state === 'applied' && (method === undefined || p.method === method) ? n + p.amountCents : n), 0);
}

/** Applied refunds, of one method when given. */
export function appliedRefunded(s: TicketState, method?: PaymentMethod): number {
  return s.refunds.reduce((n, r) => (r.state === 'applied' && (method === undefined || r.method === method) ? n + r.amountCents : n), 0);
}

/** The money the ticket keeps: applied payments less applied refunds. What a lowered total is checked against (holdPaymentsAboveTotal). */
export function keptCents(s: TicketState): number {
  return appliedPaid(s) - appliedRefunded(s);
}

/** The total the money kept must fit: the close's once closed (what was sold, a manager may have accepted it), else the lines'. */
export function payableCents(s: TicketState): number {
  return s.closed?.totalCents ?? totalOf(s);
}

/** What a line can still get back of what it was sold at (refundShares); 0 for a line no longer charged. */
export function lineRefundableCents(s: TicketState, lineId: string): number {
  return refundShares(soldTicketOf(s)).leftByLine.get(lineId) ?? 0;
}

/** The state as the views' money rules read a ticket: its lines, totals and refunds. */
export function soldTicketOf(s: TicketState): Pick<TicketView, 'lines' | 'totalCents' | 'closedTotalCents' | 'refunds'> {
  return { lines: s.lines, totalCents: totalOf(s), closedTotalCents: s.closed?.totalCents ?? null, refunds: s.refunds };
}

export function paymentOf(e: DecodedEvent<'ticket.payment_recorded'>, state: TicketPayment['state'], conflictId: string | null): TicketPayment {
  const p = e.payload;
  return {
    paymentId: p.paymentId,
    eventId: e.id,
    method: p.method,
    amountCents: p.amountCents,
    tenderedCents: p.tenderedCents ?? null,
    changeCents: p.tenderedCents !== undefined ? p.tenderedCents - p.amountCents : 0,
    tipCents: p.tipCents ?? 0,
    lineIds: p.lineIds ?? [],
    at: e.at,
    terminal: e.origin.terminal,
    state,
    conflictId,
  };
}

/**
 * The line a refund is for, as it is when the refund is folded (a line removed since the sale is
 * among the cancelled ones): its name and rate, and what the refund takes of what it has left.
 */
export function refundLine(s: TicketState, lineId: string, amountCents: number): NonNullable<TicketRefund['line']> {
  const line = lineById(s, lineId) ?? s.cancelled.find((l) => l.lineId === lineId);
  return { lineId, name: line?.name ?? null, taxBasisPoints: line?.taxBasisPoints ?? null, drawnCents: Math.min(amountCents, lineRefundableCents(s, lineId)) };
}

/** Money kept above the sale no refund gave back yet (keptAboveSaleCents): what a refund gives back first (a refund for a line, after its line). */
export function aboveSaleLeftCents(s: TicketState): number {
  return keptAboveSaleCents({ ...soldTicketOf(s), paidCents: appliedPaid(s) });
}

/** What of a refund gives back money kept above the sale, as it counts now (TicketRefund.aboveSaleCents). */
export function aboveSaleOf(s: TicketState, amountCents: number, line: TicketRefund['line']): number {
  return Math.min(amountCents - (line?.drawnCents ?? 0), aboveSaleLeftCents(s));
}

export function refundOf(s: TicketState, e: DecodedEvent<'ticket.refunded'>, state: TicketRefund['state'], conflictId: string | null): TicketRefund {
  const p = e.payload;
  const line = p.lineId === undefined ? null : refundLine(s, p.lineId, p.amountCents);
  return {
    refundId: p.refundId,
    eventId: e.id,
    method: p.method,
    amountCents: p.amountCents,
    reason: p.reason,
    line,
    aboveSaleCents: aboveSaleOf(s, p.amountCents, line),
    at: e.at,
    terminal: e.origin.terminal,
    staff: e.origin.staff ?? null,
    state,
    conflictId,
  };
}

/** What the lines charge: what a comp gave away is on the house. */
function sumLines(lines: readonly TicketLine[]): number {
  return lines.reduce((n, l) => n + l.unitPriceCents * chargedQuantity(l), 0);
}
