import type { DecodedEvent } from '../events/catalog';
import { compareEvents } from '../events/envelope';
import { resolutionFits } from './merge-policy';
import { assertNever } from '../assert-never';
import { outcome, type Outcome } from './reducer';
import { refundsOwedAgainCents, type ConflictResolutionView, type TicketConflict, type TicketPayment, type TicketRefund, type UndoneClose } from './views';
import { lineById, type TicketEvent, type TicketState } from './ticket-state';
import { aboveSaleOf, appliedPaid, chargeOf, lineRefundableCents, soldTicketOf, totalOf } from './ticket-money';
import { applyClose, holdPaymentsAboveTotal, holdPaymentsOfVoid, restateCarried } from './ticket-conflicts';

/*
 * What a manager's decision (`conflict.resolved`) does to a ticket: keeps or hands back the
 * money a conflict held, reopens, keeps a close or a void, applies a change held back.
 */

/**
 * The reducer's own switch (applyTicketEvent in ticket-reducer.ts), which a decision applies a
 * held change with: passed in, so that this module does not import the reducer that imports it.
 */
export type ApplyTicketEvent = (s: TicketState, e: TicketEvent) => Outcome;

/** Settles a conflict (or those an earlier build's id names) as the manager decided in `e`. */
export function resolveConflict(s: TicketState, e: DecodedEvent<'conflict.resolved'>, apply: ApplyTicketEvent): Outcome {
  const { conflictId, resolution: r } = e.payload;
  const c = s.conflicts.find((x) => x.conflictId === conflictId);
  if (!c) return resolveAliased(s, e, apply);
  if (c.status === 'resolved') {
    c.overruled.push(resolutionOf(e));
    return outcome('superseded', 'conflict already resolved', conflictId);
  }
  if (!resolutionFits(c.kind, r.kind)) return outcome('invalid', `${r.kind} does not settle ${c.kind}`, conflictId);
  const held = s.held.get(conflictId);
  /** Said on the resolution beside the manager's note (a held change that no longer applies). */
  let outcomeNote: string | null = null;
  /** The close a reopening undoes, as it held (the takings take it off on the decision's day). */
  let undidClose: UndoneClose | null = null;
  switch (c.kind) {
    case 'payment_after_void':
      if (r.kind === 'reopen') {
        unvoid(s);
        // No void any more: the other payments it held count again too.
        keepMoneyOfVoid(s, s.conflicts.filter((other) => other !== c), e, VOID_REOPENED);
        // Two tills may each have taken the whole amount before the void: the second is an over-payment.
        keepHeldMoney(s, conflictId, e, true);
        settleEndsUndone(s, c, e);
      } else {
        handBack(s, c, e);
      }
      break;
    case 'over_payment':
      // Kept on a ticket voided meanwhile, the money is held for the void's decision.
      if (r.kind === 'accept_payment') {
        for (const p of s.payments) if (p.conflictId === conflictId) s.acceptedPayments.push(p.paymentId);
        keepHeldMoney(s, conflictId, e, false);
      } else handBack(s, c, e);
      break;
    case 'over_refund':
      if (r.kind === 'accept_refund') acceptRefunds(s, conflictId);
      else setRefundState(s, conflictId, 'discarded');
      break;
    case 'change_after_close':
      if (r.kind === 'reopen') {
        const heldByEnd = moneyHeldByEnd(s, c, { void: true });
        undidClose = undoClose(s);
        unvoid(s);
        // The void's money counts again before the held change: a held refund is checked against the payments it gave back from.
        const voidMoneyKept = keepMoneyOfVoid(s, heldByEnd, e, VOID_REOPENED);
        // The held change now applies as if it had never been held (its outcome stays
        // 'escalated'); a held refund is checked again against the money taken. A change to a
        // line added after the close too (3× the dessert) brings that addition with it, held
        // before it: whichever card the manager takes first. Other held changes wait for theirs.
        for (const addition of heldAdditionOf(s, held)) {
          applyHeldChange(s, addition.conflictId, apply, e.at);
          settleAlong(s, addition, e, 'a later change to this line was applied: the line came with it');
        }
        const applied = applyHeldChange(s, conflictId, apply, e.at);
        if (applied !== null && applied.status !== 'applied' && applied.status !== 'escalated') outcomeNote = `the change no longer applies (${applied.reason ?? applied.status})`;
        // The void's payments are checked against the lines as any payment: what the ticket keeps beyond them is an over-payment.
        if (voidMoneyKept) holdPaymentsAboveTotal(s, e, totalOf(s));
        keepPaymentsFittingLines(s, heldByEnd, e);
        settleEndsUndone(s, c, e);
      } else {
        setRefundState(s, conflictId, 'discarded');
      }
      break;
    case 'close_total_mismatch':
      if (r.kind === 'accept_total') {
        // A total settles the close it was about: one that holds no more (the ticket was
        // reopened and closed again since) keeps its own.
        if (s.closed !== null && !c.eventIds.includes(s.closed.eventId)) break;
        // Nothing to close at that total: the ticket was voided since (the void holds its
        // money), or the close the conflict is about was undone by a reopening.
        if (s.voided !== null || (s.closed === null && held?.type !== 'ticket.closed')) break;
        const base = s.closed ?? { eventId: held!.id, at: held!.at };
        s.closed = { eventId: base.eventId, at: base.at, totalCents: r.totalCents, discountCents: s.closed?.discountCents ?? chargeOf(s).discount, covers: s.closed?.covers ?? s.covers };
        // The money kept must fit the total accepted (a payment taken for the lines the close missed).
        holdPaymentsAboveTotal(s, e);
      } else {
        const heldByEnd = moneyHeldByEnd(s, c, { void: false });
        undidClose = undoClose(s);
        keepPaymentsFittingLines(s, heldByEnd, e);
        settleEndsUndone(s, c, e);
      }
      break;
    case 'closed_and_voided':
      if (r.kind === 'keep_void') {
        s.voided = s.voided ?? (held?.type === 'ticket.voided' ? { eventId: held.id, reason: held.payload.reason, at: held.at } : null);
        // Not a reopening: of a close and a void made together, the void held (no undidClose: the close's day, flagged, never sold it).
        s.closed = null;
        // The sale is void: its money is held for a refund-or-reopen decision, as for any void.
        if (s.voided) holdPaymentsOfVoid(s, s.voided.eventId, e.at);
        // No close holds: its total's card asks about nothing (its reopen would count the void's money as taken).
        settleEndsUndone(s, c, e, 'the void was kept');
      } else {
        // A held close applies as it would have before the void: its guests, its discount, its total checked then.
        const heldClose = s.closed === null ? s.heldCloses.find((h) => h.conflictId === conflictId) : undefined;
        if (heldClose !== undefined) {
          applyClose(s, { ...heldClose.closed }, heldClose.linesTotalCents);
          // The sale of that close, kept with it, is the ticket's now.
          if (heldClose.sale !== null) s.sale = heldClose.sale;
        }
        const voidId = s.voided?.eventId ?? null;
        unvoid(s);
        // No void any more: payments it held count again, and then refunds held because of it
        // apply to the closed ticket, checked against that money (their conflicts are settled by this choice).
        const keptAgain = keepMoneyOfVoid(s, s.conflicts, e, 'the close was kept: the void no longer applies');
        for (const other of [...s.conflicts]) {
          if (other.status !== 'open') continue;
          const refund = s.held.get(other.conflictId);
          if (other.kind === 'change_after_close' && refund?.type === 'ticket.refunded' && voidId !== null && other.eventIds.includes(voidId)) {
            settleAlong(s, other, e, 'the close was kept: the refund applies');
            s.refunds = s.refunds.filter((x) => x.conflictId !== other.conflictId);
            apply(s, refund);
          }
        }
        // Payments the void held count again: what exceeds the close's total is an over-payment.
        // Checked against the lines, as when they were taken before the close (it sorted first).
        if (keptAgain) holdPaymentsAboveTotal(s, e, totalOf(s));
      }
      break;
    default:
      return assertNever(c.kind, 'conflict kind');
  }
  s.held.delete(conflictId);
  s.heldCloses = s.heldCloses.filter((h) => h.conflictId !== conflictId);
  // `c` is still in s.conflicts (the held change above only ever appends conflicts).
  c.status = 'resolved';
  c.resolution = { ...resolutionOf(e), note: [e.payload.note, outcomeNote].filter((n) => n != null).join('; ') || null, undidClose };
  return outcome('applied', null, conflictId);
}

function resolutionOf(e: DecodedEvent<'conflict.resolved'>): ConflictResolutionView {
  return { kind: e.payload.resolution.kind, eventId: e.id, at: e.at, terminal: e.origin.terminal, staff: e.origin.staff ?? null, note: e.payload.note ?? null, undidClose: null };
}

/** A reopening undoes the close that holds, if one does: returns it as it held (its lines copied: the state's change in place). */
function undoClose(s: TicketState): UndoneClose | null {
  const closed = s.closed;
  if (closed === null) return null;
  s.closed = null;
  const lines = s.lines.map((l) => ({ ...l, comped: l.comped === null ? null : { ...l.comped } }));
  return { closedAt: closed.at, totalCents: closed.totalCents, discountCents: closed.discountCents, covers: closed.covers, lines };
}

/** Another conflict this resolution settles too (its kind: a reopening, a kept void or close; with why). */
function settleAlong(s: TicketState, other: TicketConflict, e: DecodedEvent<'conflict.resolved'>, note: string): void {
  s.held.delete(other.conflictId);
  other.status = 'resolved';
  other.resolution = { ...resolutionOf(e), note };
}

/**
 * A resolution naming an id an earlier build gave a conflict (one conflict holding every
 * payment, TicketConflict.aliases): it settles each open conflict carrying that id, as it
 * would have settled the one.
 */
function resolveAliased(s: TicketState, e: DecodedEvent<'conflict.resolved'>, apply: ApplyTicketEvent): Outcome {
  const { conflictId } = e.payload;
  const aliased = s.conflicts.filter((x) => x.aliases.includes(conflictId));
  if (aliased.length === 0) return outcome('ignored', `no conflict ${conflictId}`);
  // Those settled before (another manager, or a build naming them one by one): this one is not applied to them.
  for (const x of aliased) if (x.status === 'resolved') x.overruled.push(resolutionOf(e));
  const open = aliased.filter((x) => x.status === 'open');
  if (open.length === 0) return outcome('superseded', 'conflict already resolved', aliased[0]!.conflictId);
  let first: Outcome | null = null;
  for (const x of open) {
    if (x.status !== 'open') continue; // settled along by an earlier one (a reopening)
    // The card the manager saw held other payments: the refunds it named say nothing of this one's.
    const o = resolveConflict(s, { ...e, payload: { ...e.payload, conflictId: x.conflictId, refundIds: undefined } }, apply);
    first ??= o;
  }
  return first!;
}

/** The void no longer holds: the kitchen's sight of it goes with it (its lines are to make again). */
function unvoid(s: TicketState): void {
  s.voided = null;
  for (const line of s.lines) line.voidSeenAt = null;
}

/**
 * After a reopening: the open conflicts about an end it undid are settled along with it —
 * which of a close and a void holds (neither does now), and a close's total (that close no
 * longer holds). Left open, their cards asked about an open ticket, and keeping a close then
 * closed it at that old total, whatever was added since.
 */
function settleEndsUndone(s: TicketState, c: TicketConflict, e: DecodedEvent<'conflict.resolved'>, note = 'the ticket was reopened'): void {
  for (const other of s.conflicts) {
    if (other === c || other.status !== 'open') continue;
    const undone = (other.kind === 'closed_and_voided' && s.closed === null && s.voided === null) || (other.kind === 'close_total_mismatch' && s.closed === null);
    if (!undone) continue;
    settleAlong(s, other, e, note);
    s.heldCloses = s.heldCloses.filter((h) => h.conflictId !== other.conflictId);
  }
}

const VOID_REOPENED = 'the ticket was reopened: the void no longer applies';

/**
 * The void no longer holds: the payments (and refunds with them) held by those of `conflicts`
 * that are its (payment_after_void) count again, settled along (`note`: why). Whether any did.
 */
function keepMoneyOfVoid(s: TicketState, conflicts: readonly TicketConflict[], e: DecodedEvent<'conflict.resolved'>, note: string): boolean {
  let kept = false;
  for (const other of conflicts) {
    if (other.status !== 'open' || other.kind !== 'payment_after_void') continue;
    settleHeldMoney(s, other.conflictId, 'kept');
    settleAlong(s, other, e, note);
    kept = true;
  }
  return kept;
}

/**
 * The open conflicts holding money only because the ticket ended, which a reopening undoes
 * (besides `c`, the one resolved): a void's payments (payment_after_void) when it undoes the
 * void (a close total's card reopens the close only: the void's money stays held), and payments
 * held beyond a close's total (over_payment: the total they must fit is the close's while it holds).
 */
function moneyHeldByEnd(s: TicketState, c: TicketConflict, undone: { void: boolean }): TicketConflict[] {
  return s.conflicts.filter(
    (o) => o !== c && o.status === 'open' && ((o.kind === 'payment_after_void' && undone.void && s.voided !== null) || (o.kind === 'over_payment' && s.closed !== null)),
  );
}

/**
 * After a reopening (and the change it applies): a payment of `heldByEnd` held beyond a close's
 * total counts again only if it fits the lines (as a payment taken then would have): its
 * conflict is settled along; one that still does not fit stays held under its own conflict, so
 * a manager's decision on it (maybe on another tablet) still applies. Else a live ticket kept
 * the guest's payment held, its full total due and a card offering to hand the money back to a
 * guest still at the table.
 */
function keepPaymentsFittingLines(s: TicketState, heldByEnd: readonly TicketConflict[], e: DecodedEvent<'conflict.resolved'>): void {
  for (const other of heldByEnd) {
    if (other.status !== 'open' || other.kind !== 'over_payment') continue;
    const held = s.payments.filter((p) => p.conflictId === other.conflictId && p.state === 'held').reduce((n, p) => n + p.amountCents, 0);
    if (appliedPaid(s) + held > totalOf(s) + refundsOwedAgainCents(soldTicketOf(s))) continue;
    settleHeldMoney(s, other.conflictId, 'kept');
    settleAlong(s, other, e, 'the ticket was reopened: its payments fit its lines');
  }
}

/**
 * Money a manager kept counts again, under the rules any payment meets: a void holds it
 * (payment_after_void), and, unless the manager just accepted exactly that (`checkTotal`
 * false), what the ticket keeps beyond its total is held as an over-payment.
 */
function keepHeldMoney(s: TicketState, conflictId: string, e: TicketEvent, checkTotal: boolean): void {
  settleHeldMoney(s, conflictId, 'kept');
  if (s.voided !== null) holdPaymentsOfVoid(s, s.voided.eventId, e.at);
  else if (checkTotal) holdPaymentsAboveTotal(s, e);
}

function setPaymentState(s: TicketState, conflictId: string, state: TicketPayment['state']): void {
  for (const p of s.payments) if (p.conflictId === conflictId) p.state = state;
}

function setRefundState(s: TicketState, conflictId: string, state: TicketRefund['state']): void {
  for (const r of s.refunds) if (r.conflictId === conflictId) r.state = state;
}

/**
 * Refunds held as beyond what could go back (over_refund), accepted: counted from now on, each
 * takes of its line what the line has left now (refunds applied while it was held took theirs),
 * not what it had when held. (A refund held only along with a payment keeps what it drew when
 * it counted.) A new line object: views share the old.
 */
function acceptRefunds(s: TicketState, conflictId: string): void {
  for (const r of s.refunds) {
    if (r.conflictId !== conflictId) continue;
    if (r.line !== null) r.line = { ...r.line, drawnCents: Math.min(r.amountCents, lineRefundableCents(s, r.line.lineId)) };
    r.aboveSaleCents = aboveSaleOf(s, r.amountCents, r.line);
    r.state = 'applied';
  }
}

/**
 * A manager hands back the payments a conflict held: they are `refunded`, less the refunds its
 * card carried (`refundIds`, as the manager's device showed them), which were part of that
 * (`settled`) wherever they are held now (a payment folding in since may have taken them onto
 * its own card). A refund held with it that the card did not carry (given offline meanwhile)
 * counts again as given: the guest got it besides. A hand-back of an earlier build names none:
 * the refunds held with it now are part of it.
 */
function handBack(s: TicketState, c: TicketConflict, e: DecodedEvent<'conflict.resolved'>): void {
  const refundIds = e.payload.refundIds;
  if (refundIds === undefined) {
    settleHeldMoney(s, c.conflictId, 'handed back');
    return;
  }
  setPaymentState(s, c.conflictId, 'refunded');
  const moved = new Set<string>();
  for (const r of s.refunds) {
    if (refundIds.includes(r.refundId) && r.state !== 'discarded' && r.state !== 'settled') {
      const other = r.state === 'held' && r.conflictId !== c.conflictId ? s.conflicts.find((x) => x.conflictId === r.conflictId) : undefined;
      if (other !== undefined) moved.add(other.conflictId);
      // Held on its own card (beyond what its line had left, here): given, as the manager knew; that card asks no more.
      if (other !== undefined && other.status === 'open' && holdsOnly(s, other, r.refundId)) settleAlong(s, other, e, 'the refund was part of a hand-back');
      r.state = 'settled';
      r.conflictId = c.conflictId;
    } else if (r.conflictId === c.conflictId && r.state === 'held') {
      r.state = 'applied';
      r.conflictId = null;
    }
  }
  for (const other of s.conflicts) if (moved.has(other.conflictId) || other === c) restateCarried(s, other);
}

/** Whether the conflict holds back that refund and nothing else. */
function holdsOnly(s: TicketState, c: TicketConflict, refundId: string): boolean {
  const held = s.held.get(c.conflictId);
  return held?.type === 'ticket.refunded' && held.payload.refundId === refundId;
}

/**
 * Settles the money a conflict held: kept, the payments and refunds count again; handed back,
 * the payments are `refunded` whole, and the refunds held with them were part of that (`settled`).
 */
function settleHeldMoney(s: TicketState, conflictId: string, how: 'kept' | 'handed back'): void {
  setPaymentState(s, conflictId, how === 'kept' ? 'applied' : 'refunded');
  setRefundState(s, conflictId, how === 'kept' ? 'applied' : 'settled');
}

/** The open change_after_close conflict holding the addition of the line `change` is about, if it sorts before it. */
function heldAdditionOf(s: TicketState, change: TicketEvent | undefined): TicketConflict[] {
  const lineId = change === undefined ? undefined : lineIdOf(change);
  if (lineId === undefined || lineById(s, lineId)) return [];
  return s.conflicts.filter((o) => {
    const ev = o.status === 'open' && o.kind === 'change_after_close' ? s.held.get(o.conflictId) : undefined;
    return ev?.type === 'ticket.item_added' && ev.payload.lineId === lineId && compareEvents(ev, change!) < 0;
  });
}

/** The line a change held after the end is about (those that can be held: removal, quantity, comp, refund). */
function lineIdOf(e: TicketEvent): string | undefined {
  switch (e.type) {
    case 'ticket.item_removed':
    case 'ticket.quantity_changed':
    case 'ticket.line_comped':
      return e.payload.lineId;
    case 'ticket.refunded':
      return e.payload.lineId;
    default:
      return undefined;
  }
}

/**
 * Applies the change a change_after_close conflict held (its held refunds checked again), at
 * the decision `at` (TicketState.applyingAt); null when none was held.
 */
function applyHeldChange(s: TicketState, conflictId: string, apply: ApplyTicketEvent, at: number): Outcome | null {
  const held = s.held.get(conflictId);
  s.held.delete(conflictId);
  s.refunds = s.refunds.filter((x) => x.conflictId !== conflictId);
  if (held === undefined) return null;
  // A refund held since it was given (on a voided ticket) and held again stays held since then:
  // its own day never counted it.
  s.applyingAt = held.type === 'ticket.refunded' ? null : at;
  try {
    return apply(s, held);
  } finally {
    s.applyingAt = null;
  }
}
