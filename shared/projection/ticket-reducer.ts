import type { DecodedEvent } from '../events/catalog';
import { formatCents as money } from '../domain/common';
import { compareEvents } from '../events/envelope';
import type { PaymentMethod } from '../domain/ticket-events';
import {
  TICKET_MERGE_POLICY,
  conflictIdFor,
  deriveTicketStatus,
  writeWins,
  resolutionFits,
  raceLoser,
  registerWriteOf,
  type ConflictKind,
  type RegisterWrite,
} from './merge-policy';
import { assertNever } from '../assert-never';
import { outcome, type Outcome } from './reducer';
import { chargedQuantity, discountCents, refundShares, type ConflictResolutionView, type TicketConflict, type TicketDiscountView, type TicketLine, type TicketPayment, type TicketRefund, type TicketView } from './views';

/**
 * The ticket reducer: one event at a time, following TICKET_MERGE_POLICY.
 * Internal state keeps what the view does not show but the merge needs: LWW stamps per
 * register, removed line ids (tombstones) and the events held back by open conflicts.
 *
 * OWNERSHIP: the state belongs to the fold that created it (newTicketState) and
 * reduceTicket updates it IN PLACE, returning only the outcome. Copying the state, its
 * lines and its LWW stamps for every event was most of the cost of a fold. The state
 * never leaves the fold: ticketViewOf copies everything a view shows, and a fold that
 * must start over (an out-of-order event) starts from a new state.
 */
export interface TicketState {
  openedEventId: string | null;
  number: string | null;
  tableId: string | null;
  covers: number | null;
  note: string | null;
  openedBy: { terminal: string; staff: string | null } | null;
  openedAt: number | null;
  lines: TicketLine[];
  removed: string[];
  /** Removed lines the kitchen had been sent and not bumped (see TicketView.cancelledLines). */
  cancelled: TicketLine[];
  payments: TicketPayment[];
  refunds: TicketRefund[];
  /** The discount that holds (LWW register 'discount'), without its value (that follows the lines). */
  discount: Omit<TicketDiscountView, 'cents'> | null;
  /** `discountCents` and `covers`: what the discount took off and the guests when the close applied (the takings report them). */
  closed: { eventId: string; totalCents: number; at: number; discountCents: number; covers: number | null } | null;
  voided: { eventId: string; reason: string; at: number } | null;
  sale: TicketView['sale'];
  conflicts: TicketConflict[];
  /** LWW register → the write holding it ('note', 'tableId', 'quantity:<lineId>'). */
  lww: Map<string, RegisterWrite>;
  /** Conflict id → the event it holds back. */
  held: Map<string, TicketEvent>;
  /**
   * Closes held because the ticket was voided, as they would have applied then: keep_closed
   * applies one so (its guests, its discount, its total checked against the lines then), as
   * if it had sorted before the void.
   */
  heldCloses: Array<{ conflictId: string; closed: ClosedRecord; linesTotalCents: number }>;
  /** Sends to the kitchen applied so far: a line's `send` says which it went with. */
  sends: number;
  /** Payments a manager kept beyond the total (accept_payment): later checks leave them be. */
  acceptedPayments: string[];
}

/** A close that holds: `discountCents` and `covers` as when it applied (the takings report them). */
type ClosedRecord = NonNullable<TicketState['closed']>;

type TicketEventType = keyof typeof TICKET_MERGE_POLICY;
type TicketEvent = DecodedEvent<TicketEventType>;

/** A fresh, empty ticket state, owned by the caller (reduceTicket mutates it). */
export function newTicketState(): TicketState {
  return {
    openedEventId: null,
    number: null,
    tableId: null,
    covers: null,
    note: null,
    openedBy: null,
    openedAt: null,
    lines: [],
    removed: [],
    cancelled: [],
    payments: [],
    refunds: [],
    discount: null,
    closed: null,
    voided: null,
    sale: null,
    conflicts: [],
    lww: new Map(),
    held: new Map(),
    heldCloses: [],
    sends: 0,
    acceptedPayments: [],
  };
}

export function isTicketEvent(e: DecodedEvent): e is TicketEvent {
  return Object.prototype.hasOwnProperty.call(TICKET_MERGE_POLICY, e.type);
}

/** Folds one event into `s` (in place, see OWNERSHIP above) and says how it fared. */
export function reduceTicket(s: TicketState, e: TicketEvent): Outcome {
  if (e.type === 'conflict.resolved') return resolveConflict(s, e);
  const policy = TICKET_MERGE_POLICY[e.type];
  const rule = s.voided ? policy.whenVoided : s.closed ? policy.whenClosed : 'apply';
  if (rule === 'apply') return applyTicketEvent(s, e);
  const endedBy = (s.voided ?? s.closed)!.eventId;
  return escalate(s, e, rule, [endedBy, e.id], `${whatHappened(s, e)} after the ticket was ${s.voided ? 'voided' : 'closed'}`);
}

/**
 * A held-back event in the words a conflict's detail shows staff, saying what it would change
 * ("2× Tiramisu (12.00) added after the ticket was closed"): several held changes are told apart.
 */
function whatHappened(s: TicketState, e: TicketEvent): string {
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
      // Paid once nothing is owed (owedCents): a refund is not owed again if the ticket is reopened.
      paidCents,
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
    sale: s.sale ? { ...s.sale } : null,
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

/** What the lines charge: what a comp gave away is on the house. */
function sumLines(lines: readonly TicketLine[]): number {
  return lines.reduce((n, l) => n + l.unitPriceCents * chargedQuantity(l), 0);
}

/** What the lines charge now, and what the discount takes off it (0 without one). */
function chargeOf(s: TicketState): { subtotal: number; discount: number } {
  const subtotal = sumLines(s.lines);
  return { subtotal, discount: s.discount === null ? 0 : discountCents(s.discount, subtotal) };
}

/** What the guest pays: the lines' charge less the discount. */
function totalOf(s: TicketState): number {
  const { subtotal, discount } = chargeOf(s);
  return subtotal - discount;
}

function lineCopy(l: TicketLine): TicketLine {
  return { ...l, comped: l.comped === null ? null : { ...l.comped } };
}

/** Applied payments, of one method when given. */
function appliedPaid(s: TicketState, method?: PaymentMethod): number {
  return s.payments.reduce((n, p) => (p.state === 'applied' && (method === undefined || p.method === method) ? n + p.amountCents : n), 0);
}

/** Applied refunds, of one method when given. */
function appliedRefunded(s: TicketState, method?: PaymentMethod): number {
  return s.refunds.reduce((n, r) => (r.state === 'applied' && (method === undefined || r.method === method) ? n + r.amountCents : n), 0);
}

/** The money the ticket keeps: applied payments less applied refunds. What a lowered total is checked against (holdPaymentsAboveTotal). */
function keptCents(s: TicketState): number {
  return appliedPaid(s) - appliedRefunded(s);
}

/** The total the money kept must fit: the close's once closed (what was sold, a manager may have accepted it), else the lines'. */
function payableCents(s: TicketState): number {
  return s.closed?.totalCents ?? totalOf(s);
}

/** True when the event's stamp beats the register's current write; then it takes the register. */
type LwwResult = { won: false } | { won: true; outcome: Outcome };
const LOST: LwwResult = { won: false };
const WON: LwwResult = { won: true, outcome: outcome('applied') };

function takeRegister(s: TicketState, e: TicketEvent, register: string): LwwResult {
  const write = registerWriteOf(e);
  const current = s.lww.get(register);
  if (!writeWins(current, write)) return LOST;
  s.lww.set(register, write);
  const loser = raceLoser(current, write);
  return loser ? { won: true, outcome: { ...outcome('applied'), supersedes: [loser] } } : WON;
}

/** An LWW write of one field: applies `set` if the event wins the register. */
function lww(s: TicketState, e: TicketEvent, register: string, set: (s: TicketState) => void): Outcome {
  const r = takeRegister(s, e, register);
  if (!r.won) return outcome('superseded', `older write to ${register}`);
  set(s);
  return r.outcome;
}

function lineById(s: TicketState, lineId: string): TicketLine | undefined {
  return s.lines.find((l) => l.lineId === lineId);
}

function applyTicketEvent(s: TicketState, e: TicketEvent): Outcome {
  switch (e.type) {
    case 'ticket.opened': {
      if (s.openedEventId) return outcome('superseded', 'ticket already opened');
      s.openedEventId = e.id;
      s.number = e.payload.number;
      s.openedBy = { terminal: e.origin.terminal, staff: e.origin.staff ?? null };
      s.openedAt = e.at;
      // The table and the guests given at opening are ordinary writes to their registers. The
      // opening itself always applies, even if one lost to a newer write.
      const lost: string[] = [];
      const supersedes: string[] = [];
      const write = (register: 'tableId' | 'covers', set: () => void): void => {
        const r = takeRegister(s, e, register);
        if (!r.won) lost.push(register === 'tableId' ? 'table' : 'guests');
        else {
          set();
          supersedes.push(...(r.outcome.supersedes ?? []));
        }
      };
      const { tableId, covers } = e.payload;
      if (tableId !== undefined) write('tableId', () => (s.tableId = tableId));
      if (covers !== undefined) write('covers', () => (s.covers = covers));
      const o = outcome('applied', lost.length === 0 ? null : lost.length === 2 ? 'table and guests had newer writes' : `${lost[0]} had a newer ${lost[0] === 'table' ? 'assignment' : 'count'}`);
      return supersedes.length > 0 ? { ...o, supersedes } : o;
    }
    case 'ticket.item_added': {
      const p = e.payload;
      if (lineById(s, p.lineId) || s.removed.includes(p.lineId)) return outcome('duplicate', `line ${p.lineId} already added`);
      s.lines.push({
        lineId: p.lineId,
        menuItemId: p.menuItemId,
        name: p.name,
        unitPriceCents: p.unitPriceCents,
        taxBasisPoints: p.taxBasisPoints ?? null,
        quantity: p.quantity,
        note: p.note ?? null,
        sentAt: null,
        sentQuantity: null,
        send: null,
        bumpedAt: null,
        bumpedQuantity: 0,
        held: false,
        addedBy: e.origin.terminal,
        comped: null,
      });
      s.lww.set(`quantity:${p.lineId}`, registerWriteOf(e));
      return outcome('applied');
    }
    case 'ticket.item_removed': {
      const { lineId } = e.payload;
      if (s.removed.includes(lineId)) return outcome('duplicate', 'line already removed');
      const i = s.lines.findIndex((l) => l.lineId === lineId);
      if (i < 0) return outcome('ignored', `no line ${lineId}`);
      const [line] = s.lines.splice(i, 1);
      s.removed.push(lineId);
      if (line!.sentAt !== null && line!.bumpedAt === null) s.cancelled.push(line!);
      return holdPaymentsAboveTotal(s, e);
    }
    case 'ticket.quantity_changed': {
      const { lineId, quantity } = e.payload;
      if (s.removed.includes(lineId)) return outcome('superseded', 'line was removed');
      const line = lineById(s, lineId);
      if (!line) return outcome('ignored', `no line ${lineId}`);
      // A sent line is changed only by a till that had not seen the send (the app adds a new
      // line instead): it applies, and the kitchen sees both quantities (sentQuantity). Raised
      // above what the kitchen made, the line is waiting again for the rest.
      const changed = lww(s, e, `quantity:${lineId}`, () => {
        line.quantity = quantity;
        if (line.bumpedQuantity > 0) line.bumpedAt = quantity > line.bumpedQuantity ? null : (line.bumpedAt ?? e.at);
      });
      return changed.status === 'applied' ? { ...changed, ...conflictPart(holdPaymentsAboveTotal(s, e)) } : changed;
    }
    case 'ticket.line_held': {
      const { lineId, held } = e.payload;
      if (s.removed.includes(lineId)) return outcome('superseded', 'line was removed');
      const line = lineById(s, lineId);
      if (!line) return outcome('ignored', `no line ${lineId}`);
      return lww(s, e, `held:${lineId}`, () => {
        line.held = held;
      });
    }
    case 'ticket.line_comped': {
      const { lineId, reason, quantity } = e.payload;
      if (s.removed.includes(lineId)) return outcome('superseded', 'line was removed');
      const line = lineById(s, lineId);
      if (!line) return outcome('ignored', `no line ${lineId}`);
      if (line.comped !== null) return outcome('duplicate', 'line already comped');
      line.comped = { reason, at: e.at, eventId: e.id, terminal: e.origin.terminal, staff: e.origin.staff ?? null, quantity: Math.min(quantity, line.quantity) };
      // The total drops: payments taken above it are held, as when the line is removed.
      return holdPaymentsAboveTotal(s, e);
    }
    case 'ticket.discount_set': {
      const { discount } = e.payload;
      const set = lww(s, e, 'discount', (t) => {
        t.discount =
          discount === null
            ? null
            : {
                kind: discount.kind,
                percent: discount.kind === 'percent' ? discount.percent : null,
                amountCents: discount.kind === 'amount' ? discount.amountCents : null,
                reason: discount.reason,
                at: e.at,
                eventId: e.id,
                terminal: e.origin.terminal,
                staff: e.origin.staff ?? null,
              };
      });
      // A lower total holds the payments above it, as a removed line does.
      return set.status === 'applied' ? { ...set, ...conflictPart(holdPaymentsAboveTotal(s, e)) } : set;
    }
    case 'ticket.note_set': {
      const note = e.payload.note;
      return lww(s, e, 'note', (t) => {
        t.note = note;
      });
    }
    case 'ticket.table_assigned': {
      const tableId = e.payload.tableId;
      return lww(s, e, 'tableId', (t) => {
        t.tableId = tableId;
      });
    }
    case 'ticket.covers_set': {
      const covers = e.payload.covers;
      return lww(s, e, 'covers', (t) => {
        t.covers = covers;
      });
    }
    case 'ticket.sent_to_kitchen': {
      // A handful of line ids: an array scan beats building a Set per event.
      const wanted = e.payload.lineIds;
      const send = s.sends + 1;
      let sent = 0;
      let known = false;
      for (const l of s.lines) {
        if (!wanted.includes(l.lineId)) continue;
        known = true;
        if (l.sentAt !== null) continue;
        l.sentAt = e.at;
        l.sentQuantity = l.quantity;
        l.send = send;
        sent++;
      }
      if (sent > 0) {
        s.sends = send;
        return outcome('applied');
      }
      return known ? outcome('superseded', 'lines already sent') : outcome('ignored', 'no such lines');
    }
    case 'ticket.kitchen_item_bumped': {
      const line = lineById(s, e.payload.lineId);
      if (!line) {
        // A cancelled line is bumped too: the kitchen saw the cancellation.
        const cancelled = s.cancelled.find((l) => l.lineId === e.payload.lineId);
        if (!cancelled) return outcome('ignored', `no line ${e.payload.lineId}`);
        if (cancelled.bumpedAt !== null) return outcome('superseded', 'already bumped');
        cancelled.bumpedAt = e.at;
        return outcome('applied');
      }
      // What the kitchen's card showed (a v1 bump: the whole line). Fewer than the line holds
      // now (raised by a till that had not seen the send): the rest is still to make.
      const made = e.payload.quantity ?? line.quantity;
      if (made <= line.bumpedQuantity) return outcome('superseded', 'already bumped');
      line.bumpedQuantity = made;
      line.bumpedAt = made >= line.quantity ? e.at : null;
      return outcome('applied');
    }
    case 'ticket.payment_recorded': {
      const p = e.payload;
      if (s.payments.some((x) => x.paymentId === p.paymentId)) return outcome('duplicate', `payment ${p.paymentId} already recorded`);
      const total = payableCents(s);
      // Against what was paid, refunds aside: a refund is not owed again (owedCents), so a
      // payment beyond what is owed (two tills taking it) is one, after a refund too.
      const paid = appliedPaid(s);
      if (paid + p.amountCents > total) {
        const ids = [...s.payments.filter((x) => x.state === 'applied').map((x) => x.eventId), e.id];
        // Named by this payment alone: one from an offline till folding before it must not rename it.
        return escalate(s, e, 'over_payment', ids, `payments ${money(paid + p.amountCents)} exceed the total ${money(total)}`, { idFrom: [e.id], alias: conflictIdFor('over_payment', ids) });
      }
      s.payments.push(paymentOf(e, 'applied', null));
      return outcome('applied');
    }
    case 'ticket.refunded': {
      const p = e.payload;
      if (s.refunds.some((r) => r.refundId === p.refundId)) return outcome('duplicate', `refund ${p.refundId} already recorded`);
      // In all, and by its method: no cash from the drawer for what was paid by card.
      const taken = appliedPaid(s);
      const refunded = appliedRefunded(s);
      const takenBy = appliedPaid(s, p.method);
      const refundedBy = appliedRefunded(s, p.method);
      // A refund for a line, at most what the line has left (two managers refunding one dish offline).
      const lineLeft = p.lineId === undefined ? null : lineRefundableCents(s, p.lineId);
      if (refunded + p.amountCents > taken || refundedBy + p.amountCents > takenBy || (lineLeft !== null && p.amountCents > lineLeft)) {
        const ids = [...s.refunds.filter((r) => r.state === 'applied').map((r) => r.eventId), e.id];
        const detail =
          refunded + p.amountCents > taken
            ? `refunds ${money(refunded + p.amountCents)} exceed the ${money(taken)} taken`
            : refundedBy + p.amountCents > takenBy
              ? `${p.method} refunds ${money(refundedBy + p.amountCents)} exceed the ${money(takenBy)} taken by ${p.method}`
              : `a refund of ${money(p.amountCents)} for the ${refundLine(s, p.lineId!).name ?? 'line'} exceeds the ${money(lineLeft!)} it has left`;
        return escalate(s, e, 'over_refund', ids, detail);
      }
      s.refunds.push(refundOf(s, e, 'applied', null));
      return outcome('applied');
    }
    case 'ticket.closed': {
      const totalCents = e.payload.totalCents;
      if (s.closed) {
        if (s.closed.totalCents === totalCents) return outcome('duplicate', 'already closed with this total');
        return escalate(s, e, 'close_total_mismatch', [s.closed.eventId, e.id], `closed with ${money(s.closed.totalCents)} and with ${money(totalCents)}`);
      }
      const conflictId = applyClose(s, closeRecordOf(s, e), totalOf(s));
      return conflictId === null ? outcome('applied') : outcome('applied', 'total differs from lines', conflictId);
    }
    case 'ticket.voided': {
      if (s.voided) return outcome('duplicate', 'already voided');
      s.voided = { eventId: e.id, reason: e.payload.reason, at: e.at };
      const conflictId = holdPaymentsOfVoid(s, e.id, e.at);
      return conflictId === null ? outcome('applied') : outcome('applied', 'payments taken before the void are held', conflictId);
    }
    case 'sale.recorded': {
      const closeEventId = e.payload.closeEventId ?? null;
      if (closeEventId === null) {
        // A ticket's first sale: one, whoever closed it (two tills offline record it once).
        if (s.sale !== null) return outcome('duplicate', 'sale already recorded');
      } else {
        // A later sale names its close (after a reopening, or a total a manager accepted): it
        // counts while that close holds at that total, and replaces the earlier sale.
        if (s.closed?.eventId !== closeEventId) return outcome('superseded', 'the close it records does not hold');
        if (s.closed.totalCents !== e.payload.totalCents) return outcome('superseded', `the close holds at ${money(s.closed.totalCents)}`);
        if (s.sale?.closeEventId === closeEventId && s.sale.totalCents === e.payload.totalCents) return outcome('duplicate', 'sale already recorded');
      }
      const replaced = s.sale?.eventId;
      s.sale = { eventId: e.id, totalCents: e.payload.totalCents, paidCents: e.payload.paidCents, closedAt: e.payload.closedAt, closeEventId };
      return replaced === undefined ? outcome('applied') : { ...outcome('applied'), supersedes: [replaced] };
    }
    case 'conflict.resolved':
      return resolveConflict(s, e);
    default:
      return assertNever(e, 'ticket event');
  }
}

/**
 * Money taken on a ticket that is now void is the same conflict as a payment arriving after
 * the void, whichever of the two sorts first (or a manager voiding a paid, even a closed,
 * ticket): the payments are held for a manager to refund or reopen. Returns the conflict id.
 */
function holdPaymentsOfVoid(s: TicketState, voidEventId: string, at: number): string | null {
  const taken = s.payments.filter((p) => p.state === 'applied');
  if (taken.length === 0) return null;
  const ids = holdEach(s, 'payment_after_void', taken, voidEventId, at, (p) => `voided with a ${p.method} payment of ${money(p.amountCents)} taken`);
  holdRefundsBeyondPayments(s, taken);
  return ids[0]!;
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

/**
 * A line removed, reduced or comped after payment: the payments no longer fit the total. Like two
 * tills each taking the full amount, it is an over-payment for a manager (refund the payment
 * and take the new total, or keep it): the newest payments that do not fit are held.
 */
function holdPaymentsAboveTotal(s: TicketState, e: TicketEvent, total = payableCents(s)): Outcome {
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

/** A close as it applies now: the guests and the discount it was made with. */
function closeRecordOf(s: TicketState, e: DecodedEvent<'ticket.closed'>): ClosedRecord {
  return { eventId: e.id, totalCents: e.payload.totalCents, at: e.at, discountCents: chargeOf(s).discount, covers: s.covers };
}

/**
 * Closes the ticket. The close stands (the till did close) but a total other than the lines'
 * (`linesTotalCents` when it applied) must be looked at: returns that conflict's id, or null.
 */
function applyClose(s: TicketState, closed: ClosedRecord, linesTotalCents: number): string | null {
  s.closed = closed;
  if (linesTotalCents === closed.totalCents) return null;
  return addConflict(s, 'close_total_mismatch', [closed.eventId], closed.at, `closed with ${money(closed.totalCents)}, lines total ${money(linesTotalCents)}`);
}

/** What a line can still get back of what it was sold at (refundShares); 0 for a line no longer charged. */
function lineRefundableCents(s: TicketState, lineId: string): number {
  const ticket = { lines: s.lines, totalCents: totalOf(s), closedTotalCents: s.closed?.totalCents ?? null, refunds: s.refunds };
  return refundShares(ticket).leftByLine.get(lineId) ?? 0;
}

/** The conflict an outcome raised, to carry it over into another outcome. */
function conflictPart(o: Outcome): Partial<Outcome> {
  return o.conflictId === null ? {} : { reason: o.reason, conflictId: o.conflictId };
}

function paymentOf(e: DecodedEvent<'ticket.payment_recorded'>, state: TicketPayment['state'], conflictId: string | null): TicketPayment {
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

/** The line a refund is for, as it is now (a line removed since the sale is among the cancelled ones). */
function refundLine(s: TicketState, lineId: string): NonNullable<TicketRefund['line']> {
  const line = lineById(s, lineId) ?? s.cancelled.find((l) => l.lineId === lineId);
  return { lineId, name: line?.name ?? null, taxBasisPoints: line?.taxBasisPoints ?? null };
}

function refundOf(s: TicketState, e: DecodedEvent<'ticket.refunded'>, state: TicketRefund['state'], conflictId: string | null): TicketRefund {
  const p = e.payload;
  return {
    refundId: p.refundId,
    eventId: e.id,
    method: p.method,
    amountCents: p.amountCents,
    reason: p.reason,
    line: p.lineId === undefined ? null : refundLine(s, p.lineId),
    at: e.at,
    terminal: e.origin.terminal,
    staff: e.origin.staff ?? null,
    state,
    conflictId,
  };
}

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
function escalate(s: TicketState, e: TicketEvent, kind: ConflictKind, eventIds: string[], detail: string, naming: ConflictNaming = {}): Outcome {
  const conflictId = addConflict(s, kind, eventIds, e.at, detail, naming);
  s.held.set(conflictId, e);
  if (kind === 'closed_and_voided' && e.type === 'ticket.closed' && !s.heldCloses.some((h) => h.conflictId === conflictId)) {
    s.heldCloses.push({ conflictId, closed: closeRecordOf(s, e), linesTotalCents: totalOf(s) });
  }
  if (e.type === 'ticket.payment_recorded' && !s.payments.some((p) => p.paymentId === e.payload.paymentId)) {
    s.payments.push(paymentOf(e, 'held', conflictId));
  }
  if (e.type === 'ticket.refunded' && !s.refunds.some((r) => r.refundId === e.payload.refundId)) {
    s.refunds.push(refundOf(s, e, 'held', conflictId));
  }
  return outcome('escalated', detail, conflictId);
}

function setPaymentState(s: TicketState, conflictId: string, state: TicketPayment['state']): void {
  for (const p of s.payments) if (p.conflictId === conflictId) p.state = state;
}

function setRefundState(s: TicketState, conflictId: string, state: TicketRefund['state']): void {
  for (const r of s.refunds) if (r.conflictId === conflictId) r.state = state;
}

/**
 * Settles the money a conflict held: kept, the payments and refunds count again; handed back,
 * the payments are `refunded` whole, and the refunds held with them were part of that (`settled`).
 */
function settleHeldMoney(s: TicketState, conflictId: string, how: 'kept' | 'handed back'): void {
  setPaymentState(s, conflictId, how === 'kept' ? 'applied' : 'refunded');
  setRefundState(s, conflictId, how === 'kept' ? 'applied' : 'settled');
}

function resolveConflict(s: TicketState, e: DecodedEvent<'conflict.resolved'>): Outcome {
  const { conflictId, resolution: r } = e.payload;
  const c = s.conflicts.find((x) => x.conflictId === conflictId);
  if (!c) return resolveAliased(s, e);
  if (c.status === 'resolved') {
    c.overruled.push(resolutionOf(e));
    return outcome('superseded', 'conflict already resolved', conflictId);
  }
  if (!resolutionFits(c.kind, r.kind)) return outcome('invalid', `${r.kind} does not settle ${c.kind}`, conflictId);
  const held = s.held.get(conflictId);
  /** Said on the resolution beside the manager's note (a held change that no longer applies). */
  let outcomeNote: string | null = null;
  switch (c.kind) {
    case 'payment_after_void':
      if (r.kind === 'reopen') {
        s.voided = null;
        // No void any more: the other payments it held count again too.
        for (const other of s.conflicts) {
          if (other === c || other.status !== 'open' || other.kind !== 'payment_after_void') continue;
          settleHeldMoney(s, other.conflictId, 'kept');
          settleAlong(s, other, e, 'the ticket was reopened: the void no longer applies');
        }
        // Two tills may each have taken the whole amount before the void: the second is an over-payment.
        keepHeldMoney(s, conflictId, e, true);
      } else {
        settleHeldMoney(s, conflictId, 'handed back');
      }
      break;
    case 'over_payment':
      // Kept on a ticket voided meanwhile, the money is held for the void's decision.
      if (r.kind === 'accept_payment') {
        for (const p of s.payments) if (p.conflictId === conflictId) s.acceptedPayments.push(p.paymentId);
        keepHeldMoney(s, conflictId, e, false);
      } else settleHeldMoney(s, conflictId, 'handed back');
      break;
    case 'over_refund':
      setRefundState(s, conflictId, r.kind === 'accept_refund' ? 'applied' : 'discarded');
      break;
    case 'change_after_close':
      if (r.kind === 'reopen') {
        s.closed = null;
        s.voided = null;
        // The held change now applies as if it had never been held (its outcome stays
        // 'escalated'); a held refund is checked again against the money taken. A change to a
        // line added after the close too (3× the dessert) brings that addition with it, held
        // before it: whichever card the manager takes first. Other held changes wait for theirs.
        for (const addition of heldAdditionOf(s, held)) {
          applyHeldChange(s, addition.conflictId);
          settleAlong(s, addition, e, 'a later change to this line was applied: the line came with it');
        }
        const applied = applyHeldChange(s, conflictId);
        if (applied !== null && applied.status !== 'applied' && applied.status !== 'escalated') outcomeNote = `the change no longer applies (${applied.reason ?? applied.status})`;
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
        s.closed = null;
      }
      break;
    case 'closed_and_voided':
      if (r.kind === 'keep_void') {
        s.voided = s.voided ?? (held?.type === 'ticket.voided' ? { eventId: held.id, reason: held.payload.reason, at: held.at } : null);
        s.closed = null;
        // The sale is void: its money is held for a refund-or-reopen decision, as for any void.
        if (s.voided) holdPaymentsOfVoid(s, s.voided.eventId, e.at);
      } else {
        // A held close applies as it would have before the void: its guests, its discount, its total checked then.
        const heldClose = s.closed === null ? s.heldCloses.find((h) => h.conflictId === conflictId) : undefined;
        if (heldClose !== undefined) applyClose(s, { ...heldClose.closed }, heldClose.linesTotalCents);
        const voidId = s.voided?.eventId ?? null;
        s.voided = null;
        // No void any more: payments it held count again, and refunds held because of it apply
        // to the closed ticket (their conflicts are settled by this choice).
        let keptAgain = false;
        for (const other of [...s.conflicts]) {
          if (other.status !== 'open') continue;
          if (other.kind === 'payment_after_void') {
            settleHeldMoney(s, other.conflictId, 'kept');
            settleAlong(s, other, e, 'the close was kept: the void no longer applies');
            keptAgain = true;
            continue;
          }
          const refund = s.held.get(other.conflictId);
          if (other.kind === 'change_after_close' && refund?.type === 'ticket.refunded' && voidId !== null && other.eventIds.includes(voidId)) {
            settleAlong(s, other, e, 'the close was kept: the refund applies');
            s.refunds = s.refunds.filter((x) => x.conflictId !== other.conflictId);
            applyTicketEvent(s, refund);
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
  c.resolution = { ...resolutionOf(e), note: [e.payload.note, outcomeNote].filter((n) => n != null).join('; ') || null };
  return outcome('applied', null, conflictId);
}

function resolutionOf(e: DecodedEvent<'conflict.resolved'>): ConflictResolutionView {
  return { kind: e.payload.resolution.kind, eventId: e.id, at: e.at, terminal: e.origin.terminal, staff: e.origin.staff ?? null, note: e.payload.note ?? null };
}

/** Another conflict this resolution settles too (`reopen`, with why). */
function settleAlong(s: TicketState, other: TicketConflict, e: DecodedEvent<'conflict.resolved'>, note: string): void {
  s.held.delete(other.conflictId);
  other.status = 'resolved';
  other.resolution = { ...resolutionOf(e), kind: 'reopen', note };
}

/**
 * A resolution naming an id an earlier build gave a conflict (one conflict holding every
 * payment, TicketConflict.aliases): it settles each open conflict carrying that id, as it
 * would have settled the one.
 */
function resolveAliased(s: TicketState, e: DecodedEvent<'conflict.resolved'>): Outcome {
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
    const o = resolveConflict(s, { ...e, payload: { ...e.payload, conflictId: x.conflictId } });
    first ??= o;
  }
  return first!;
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

/** Applies the change a change_after_close conflict held (its held refunds checked again); null when none was held. */
function applyHeldChange(s: TicketState, conflictId: string): Outcome | null {
  const held = s.held.get(conflictId);
  s.held.delete(conflictId);
  s.refunds = s.refunds.filter((x) => x.conflictId !== conflictId);
  return held === undefined ? null : applyTicketEvent(s, held);
}
