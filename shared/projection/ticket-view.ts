import { deriveTicketStatus } from './merge-policy';
import { refundsOwedAgainCents, type TicketLine, type TicketView } from './views';
import type { TicketState } from './ticket-state';
import { appliedRefunded, chargeOf } from './ticket-money';

/** The view fields of a ticket, derived from its state. */
export function ticketViewOf(s: TicketState): Omit<TicketView, 'id' | 'aggregateType' | 'concurrent' | 'lastEventAt' | 'needsUpdate'> {
  const charge = chargeOf(s);
  const subtotalCents = charge.subtotal;
  const discount = s.discount === null ? null : { ...s.discount, cents: charge.discount };
  const totalCents = subtotalCents - charge.discount;
  const applied = s.payments.filter((p) => p.state === 'applied');
  const paidCents = applied.reduce((n, p) => n + p.amountCents, 0);
  const refundedCents = appliedRefunded(s);
  return {
    kind: 'ticket',
    number: s.number,
    tableId: s.tableId,
    covers: s.covers,
    status: deriveTicketStatus({
      voided: s.voided !== null,
      closed: s.closed !== null,
      totalCents,
      // Paid once nothing is owed (owedCents): a refund is not owed again if the ticket is
      // reopened, unless its line is no longer charged.
      paidCents: s.refunds.length === 0 ? paidCents : paidCents - refundsOwedAgainCents({ lines: s.lines, refunds: s.refunds, totalCents, closedTotalCents: s.closed?.totalCents ?? null }),
      anySent: s.lines.some((l) => l.sentAt !== null),
    }),
    lines: s.lines.map(lineCopy),
    cancelledLines: s.cancelled.map(lineCopy),
    subtotalCents,
    discount,
    note: s.note,
    payments: s.payments.map((p) => ({ ...p })),
    totalCents,
    paidCents,
    changeDueCents: applied.reduce((n, p) => n + p.changeCents, 0),
    refunds: s.refunds.map((r) => ({ ...r })),
    refundedCents,
    closedTotalCents: s.closed?.totalCents ?? null,
    closedEventId: s.closed?.eventId ?? null,
    closedDiscountCents: s.closed?.discountCents ?? null,
    closedCovers: s.closed?.covers ?? null,
    closedAt: s.closed?.at ?? null,
    voidReason: s.voided?.reason ?? null,
    voidedAt: s.voided?.at ?? null,
    // A voided ticket sold nothing (the back office un-books it); a kept close brings its sale back.
    sale: s.sale !== null && s.voided === null ? { ...s.sale } : null,
    conflicts: s.conflicts.map((c) => ({
      ...c,
      eventIds: [...c.eventIds],
      aliases: [...c.aliases],
      resolution: c.resolution ? { ...c.resolution } : null,
      overruled: c.overruled.map((o) => ({ ...o })),
    })),
    openConflicts: s.conflicts.filter((c) => c.status === 'open').length,
    openedBy: s.openedBy ? { ...s.openedBy } : null,
    openedAt: s.openedAt,
  };
}

function lineCopy(l: TicketLine): TicketLine {
  return { ...l, comped: l.comped === null ? null : { ...l.comped } };
}
