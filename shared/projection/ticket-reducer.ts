import { formatCents as money } from '../domain/common';
import { TICKET_MERGE_POLICY, conflictIdFor, writeWins, raceLoser, registerWriteOf } from './merge-policy';
import { assertNever } from '../assert-never';
import { outcome, type Outcome } from './reducer';
import { lineById, type TicketEvent, type TicketState } from './ticket-state';
import { appliedPaid, appliedRefunded, lineRefundableCents, payableCents, paymentOf, refundLine, refundOf, soldTicketOf, totalOf } from './ticket-money';
import { applyClose, closeRecordOf, escalate, holdPaymentsAboveTotal, holdPaymentsOfVoid, paymentWords, whatHappened } from './ticket-conflicts';
import { resolveConflict } from './ticket-resolutions';
import { refundsOwedAgainCents } from './views';

/**
 * The ticket reducer: one event at a time, following TICKET_MERGE_POLICY. Its state
 * (TicketState, ticket-state.ts) keeps what the merge needs besides the view; the money it
 * adds up is in ticket-money.ts, the conflicts it opens in ticket-conflicts.ts, a manager's
 * decisions in ticket-resolutions.ts, the view in ticket-view.ts.
 *
 * OWNERSHIP: the state belongs to the fold that created it (newTicketState) and
 * reduceTicket updates it IN PLACE, returning only the outcome. Copying the state, its
 * lines and its LWW stamps for every event was most of the cost of a fold. The state
 * never leaves the fold: ticketViewOf copies everything a view shows, and a fold that
 * must start over (an out-of-order event) starts from a new state.
 */

/** Folds one event into `s` (in place, see OWNERSHIP above) and says how it fared. */
export function reduceTicket(s: TicketState, e: TicketEvent): Outcome {
  if (e.type === 'conflict.resolved') return resolveConflict(s, e, applyTicketEvent);
  const policy = TICKET_MERGE_POLICY[e.type];
  const rule = s.voided ? policy.whenVoided : s.closed ? policy.whenClosed : 'apply';
  if (rule === 'apply') return applyTicketEvent(s, e);
  const endedBy = (s.voided ?? s.closed)!.eventId;
  // The same line, payment or refund again is the same fact after the end too: no second card.
  return repeatedAdd(s, e) ?? escalate(s, e, rule, [endedBy, e.id], `${whatHappened(s, e)} after the ticket was ${s.voided ? 'voided' : 'closed'}`);
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

/** An add (merge 'add') of an id the ticket has (a removed line, a held line, payment or refund too): `duplicate`; else null. */
function repeatedAdd(s: TicketState, e: TicketEvent): Outcome | null {
  switch (e.type) {
    case 'ticket.item_added': {
      const { lineId } = e.payload;
      return lineById(s, lineId) || s.removed.includes(lineId) || isHeldAddition(s, lineId) ? outcome('duplicate', `line ${lineId} already added`) : null;
    }
    case 'ticket.payment_recorded': {
      const { paymentId } = e.payload;
      return s.payments.some((p) => p.paymentId === paymentId) ? outcome('duplicate', `payment ${paymentId} already recorded`) : null;
    }
    case 'ticket.refunded': {
      const { refundId } = e.payload;
      return s.refunds.some((r) => r.refundId === refundId) ? outcome('duplicate', `refund ${refundId} already recorded`) : null;
    }
    default:
      return null;
  }
}

/** What one event does to the ticket, by type, once the ticket's end (if any) lets it apply. */
function applyTicketEvent(s: TicketState, e: TicketEvent): Outcome {
  const repeated = repeatedAdd(s, e);
  if (repeated !== null) return repeated;
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
        voidSeenAt: null,
        held: false,
        addedBy: e.origin.terminal,
        comped: null,
      });
      s.lww.set(`quantity:${p.lineId}`, registerWriteOf(e));
      // Applied by a manager reopening it: the kitchen's events that named it while it was held go with it.
      replayHeldLineEvents(s, p.lineId);
      return outcome('applied');
    }
    case 'ticket.item_removed': {
      const { lineId } = e.payload;
      if (s.removed.includes(lineId)) return outcome('duplicate', 'line already removed');
      const i = s.lines.findIndex((l) => l.lineId === lineId);
      if (i < 0) return outcome('ignored', `no line ${lineId}`);
      const [line] = s.lines.splice(i, 1);
      s.removed.push(lineId);
      if (line!.sentAt === null) s.removedUnsent.push(line!);
      else if (line!.bumpedAt === null) s.cancelled.push(line!);
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
      if (!line) return holdForHeldLine(s, lineId, e) ? outcome('superseded', HELD_LINE_REASON) : outcome('ignored', `no line ${lineId}`);
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
      // Applied by a manager's decision (a reopening), it gives the line away from then: the day it was held never counted it.
      line.comped = { reason, at: s.applyingAt ?? e.at, eventId: e.id, terminal: e.origin.terminal, staff: e.origin.staff ?? null, quantity: Math.min(quantity, line.quantity) };
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
      const tableId = e.payload.tableId ?? null;
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
      // Lines removed by a till that had not seen this send: the kitchen got them, and sees them cancelled.
      for (const lineId of wanted) {
        const i = s.removedUnsent.findIndex((l) => l.lineId === lineId);
        if (i < 0) continue;
        const [line] = s.removedUnsent.splice(i, 1);
        s.cancelled.push({ ...line!, sentAt: e.at, sentQuantity: line!.quantity, send });
        sent++;
      }
      // Lines whose addition an end holds back: sent when a manager reopens them.
      let heldBack = 0;
      for (const lineId of wanted) if (holdForHeldLine(s, lineId, { ...e, payload: { lineIds: [lineId] } })) heldBack++;
      if (sent > 0) {
        s.sends = send;
        return outcome('applied');
      }
      if (heldBack > 0) return outcome('superseded', HELD_LINE_REASON);
      return known ? outcome('superseded', 'lines already sent') : outcome('ignored', 'no such lines');
    }
    case 'ticket.kitchen_item_bumped': {
      // What the card showed: stopped (VOIDED, CANCELLED) or made. A bump of an earlier build
      // does not say: a cancelled line's or a voided ticket's was a stop, as they fold here.
      const line = lineById(s, e.payload.lineId);
      const cancelled = line ? undefined : s.cancelled.find((l) => l.lineId === e.payload.lineId);
      const stopped = e.payload.stopped ?? (cancelled !== undefined || s.voided !== null);
      if (cancelled) {
        // The kitchen saw the cancellation (or made it before it knew: nothing to stop either way).
        if (cancelled.bumpedAt !== null) return outcome('superseded', 'already bumped');
        cancelled.bumpedAt = e.at;
        return outcome('applied');
      }
      if (!line) {
        if (holdForHeldLine(s, e.payload.lineId, e)) return outcome('superseded', HELD_LINE_REASON);
        return outcome('ignored', `no line ${e.payload.lineId}`);
      }
      if (stopped) {
        // The kitchen saw the void (reopened, the line is to make again). A stop that no longer
        // holds here (the void undone at once, a removal held back by a close) made nothing:
        // the line is still to make.
        if (s.voided === null) return outcome('superseded', 'the kitchen saw a stop that does not hold: the line is still to make');
        if (line.voidSeenAt !== null) return outcome('superseded', 'the void was seen already');
        line.voidSeenAt = e.at;
        return outcome('applied', 'the kitchen saw the void');
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
      // Against what is owed (owedCents): what was paid, refunds aside (a refund is not owed
      // again, unless its line is no longer charged), so a payment beyond it (two tills
      // taking it) is one, after a refund too.
      const total = payableCents(s) + (s.refunds.length === 0 ? 0 : refundsOwedAgainCents(soldTicketOf(s)));
      const paid = appliedPaid(s);
      if (paid + p.amountCents > total) {
        const ids = [...s.payments.filter((x) => x.state === 'applied').map((x) => x.eventId), e.id];
        // Named by this payment alone: one from an offline till folding before it must not rename it.
        return escalate(s, e, 'over_payment', ids, `${paymentWords(p)}: payments ${money(paid + p.amountCents)} exceed the total ${money(total)}`, { idFrom: [e.id], aliases: [conflictIdFor('over_payment', ids)] });
      }
      s.payments.push(paymentOf(e, 'applied', null));
      return outcome('applied');
    }
    case 'ticket.refunded': {
      const p = e.payload;
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
              : `a refund of ${money(p.amountCents)} for the ${refundLine(s, p.lineId!, p.amountCents).name ?? 'line'} exceeds the ${money(lineLeft!)} it has left`;
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
      const sale = { eventId: e.id, totalCents: e.payload.totalCents, paidCents: e.payload.paidCents, closedAt: e.payload.closedAt, closeEventId };
      if (closeEventId === null) {
        // A ticket's first sale: one, whoever closed it (two tills offline record it once) —
        // unless it records the close that holds and the sale before it another: a till that
        // never saw the first close closed the ticket again after a manager reopened it.
        if (s.sale !== null && !recordsHoldingClose(s, e.payload)) return keptWithHeldClose(s, sale) ?? outcome('duplicate', 'sale already recorded');
      } else {
        // A later sale names its close (after a reopening, or a total a manager accepted): it
        // counts while that close holds at that total, and replaces the earlier sale.
        if (s.closed?.eventId !== closeEventId) return keptWithHeldClose(s, sale) ?? outcome('superseded', 'the close it records does not hold');
        if (s.closed.totalCents !== e.payload.totalCents) return outcome('superseded', `the close holds at ${money(s.closed.totalCents)}`);
        if (s.sale?.closeEventId === closeEventId && s.sale.totalCents === e.payload.totalCents) return outcome('duplicate', 'sale already recorded');
      }
      const replaced = s.sale?.eventId;
      s.sale = sale;
      return replaced === undefined ? outcome('applied') : { ...outcome('applied'), supersedes: [replaced] };
    }
    case 'conflict.resolved':
      return resolveConflict(s, e, applyTicketEvent);
    default:
      return assertNever(e, 'ticket event');
  }
}

/**
 * A sale of a close a void holds (closed_and_voided): kept with that close, it counts if a
 * manager keeps the close (else the back office kept the sale of an earlier close). Undefined
 * when it records no held close.
 */
function keptWithHeldClose(s: TicketState, sale: NonNullable<TicketState['sale']>): Outcome | undefined {
  const held = s.heldCloses.find(
    (h) => h.closed.totalCents === sale.totalCents && (sale.closeEventId !== null ? h.closed.eventId === sale.closeEventId : h.closed.at === sale.closedAt),
  );
  if (held === undefined) return undefined;
  held.sale ??= sale;
  return outcome('superseded', 'its close is held by a void: it counts if a manager keeps the close');
}

/** Whether a first sale (naming no close) records the close that holds now, which the sale held does not. */
function recordsHoldingClose(s: TicketState, sale: { closedAt: number; totalCents: number }): boolean {
  return s.closed !== null && s.closed.at === sale.closedAt && s.closed.totalCents === sale.totalCents && s.sale !== null && s.sale.closedAt !== sale.closedAt && s.sale.closeEventId !== s.closed.eventId;
}

/** The conflict an outcome raised, to carry it over into another outcome. */
function conflictPart(o: Outcome): Partial<Outcome> {
  return o.conflictId === null ? {} : { reason: o.reason, conflictId: o.conflictId };
}

const HELD_LINE_REASON = 'its line was added after the end: it applies if a manager reopens the addition';

/**
 * Keeps a kitchen event (send, bump, hold) naming `lineId` when the line's addition is held
 * back by an end, for replayHeldLineEvents; whether it was kept.
 */
function holdForHeldLine(s: TicketState, lineId: string, e: TicketEvent): boolean {
  if (lineById(s, lineId) || !isHeldAddition(s, lineId)) return false;
  s.heldLineEvents.push({ lineId, event: e });
  return true;
}

/** Whether the addition of `lineId` is held back by an end (a change_after_close conflict). */
function isHeldAddition(s: TicketState, lineId: string): boolean {
  for (const e of s.held.values()) if (e.type === 'ticket.item_added' && e.payload.lineId === lineId) return true;
  return false;
}

/** Applies the kitchen events kept for `lineId` while its addition was held, in their fold order. */
function replayHeldLineEvents(s: TicketState, lineId: string): void {
  const kept = s.heldLineEvents.filter((x) => x.lineId === lineId);
  if (kept.length === 0) return;
  s.heldLineEvents = s.heldLineEvents.filter((x) => x.lineId !== lineId);
  for (const { event } of kept) applyTicketEvent(s, event);
}
