import type { DecodedEvent } from '../events/catalog';
import {
  TICKET_MERGE_POLICY,
  conflictIdFor,
  deriveTicketStatus,
  lwwWins,
  resolutionFits,
  raceLoser,
  registerWriteOf,
  type ConflictKind,
  type RegisterWrite,
} from './merge-policy';
import { assertNever, outcome, type Step } from './reducer';
import type { TicketConflict, TicketLine, TicketPayment, TicketView } from './views';

/**
 * The ticket reducer: pure, one event at a time, following TICKET_MERGE_POLICY.
 * Internal state keeps what the view does not show but the merge needs: LWW stamps per
 * register, removed line ids (tombstones) and the events held back by open conflicts.
 */
export interface TicketState {
  readonly openedEventId: string | null;
  readonly number: string | null;
  readonly tableId: string | null;
  readonly covers: number | null;
  readonly note: string | null;
  readonly openedBy: { terminal: string; staff: string | null } | null;
  readonly openedAt: number | null;
  readonly lines: readonly TicketLine[];
  readonly removed: readonly string[];
  readonly payments: readonly TicketPayment[];
  readonly closed: { eventId: string; totalCents: number; at: number } | null;
  readonly voided: { eventId: string; reason: string; at: number } | null;
  readonly sale: TicketView['sale'];
  readonly conflicts: readonly TicketConflict[];
  readonly lww: Readonly<Record<string, RegisterWrite>>;
  readonly held: Readonly<Record<string, TicketEvent>>;
}

type TicketEventType = keyof typeof TICKET_MERGE_POLICY;
type TicketEvent = DecodedEvent<TicketEventType>;

export const EMPTY_TICKET: TicketState = {
  openedEventId: null,
  number: null,
  tableId: null,
  covers: null,
  note: null,
  openedBy: null,
  openedAt: null,
  lines: [],
  removed: [],
  payments: [],
  closed: null,
  voided: null,
  sale: null,
  conflicts: [],
  lww: {},
  held: {},
};

export function isTicketEvent(e: DecodedEvent): e is TicketEvent {
  return Object.prototype.hasOwnProperty.call(TICKET_MERGE_POLICY, e.type);
}

export function reduceTicket(s: TicketState, e: TicketEvent): Step<TicketState> {
  if (e.type === 'conflict.resolved') return resolveConflict(s, e);
  const policy = TICKET_MERGE_POLICY[e.type];
  const rule = s.voided ? policy.whenVoided : s.closed ? policy.whenClosed : 'apply';
  if (rule === 'apply') return applyTicketEvent(s, e);
  const endedBy = (s.voided ?? s.closed)!.eventId;
  return escalate(s, e, rule, [endedBy, e.id], `${e.type} after the ticket was ${s.voided ? 'voided' : 'closed'}`);
}

/** The view fields of a ticket, derived from its state. */
export function ticketViewOf(s: TicketState): Omit<TicketView, 'id' | 'aggregateType' | 'history' | 'concurrent' | 'lastEventAt' | 'needsUpdate'> {
  const totalCents = sumLines(s.lines);
  const applied = s.payments.filter((p) => p.state === 'applied');
  const paidCents = applied.reduce((n, p) => n + p.amountCents, 0);
  return {
    kind: 'ticket',
    number: s.number,
    tableId: s.tableId,
    covers: s.covers,
    status: deriveTicketStatus({
      voided: s.voided !== null,
      closed: s.closed !== null,
      totalCents,
      paidCents,
      anySent: s.lines.some((l) => l.sentAt !== null),
    }),
    lines: s.lines.map((l) => ({ ...l })),
    note: s.note,
    payments: s.payments.map((p) => ({ ...p })),
    totalCents,
    paidCents,
    changeDueCents: applied.reduce((n, p) => n + p.changeCents, 0),
    closedTotalCents: s.closed?.totalCents ?? null,
    closedAt: s.closed?.at ?? null,
    voidReason: s.voided?.reason ?? null,
    sale: s.sale ? { ...s.sale } : null,
    conflicts: s.conflicts.map((c) => ({ ...c, eventIds: [...c.eventIds], resolution: c.resolution ? { ...c.resolution } : null })),
    openConflicts: s.conflicts.filter((c) => c.status === 'open').length,
    openedBy: s.openedBy ? { ...s.openedBy } : null,
    openedAt: s.openedAt,
  };
}

function sumLines(lines: readonly TicketLine[]): number {
  return lines.reduce((n, l) => n + l.unitPriceCents * l.quantity, 0);
}

function appliedPaid(s: TicketState): number {
  return s.payments.reduce((n, p) => (p.state === 'applied' ? n + p.amountCents : n), 0);
}

/** Writes an LWW register if the event's stamp beats the current one. */
function lww(s: TicketState, e: TicketEvent, register: string, patch: (s: TicketState) => TicketState): Step<TicketState> {
  const write = registerWriteOf(e);
  const current = s.lww[register];
  if (!lwwWins(current?.stamp, write.stamp)) return { state: s, outcome: outcome('superseded', `older write to ${register}`) };
  const loser = raceLoser(current, write);
  return {
    state: { ...patch(s), lww: { ...s.lww, [register]: write } },
    outcome: { ...outcome('applied'), ...(loser ? { supersedes: [loser] } : {}) },
  };
}

function withLine(s: TicketState, lineId: string, patch: Partial<TicketLine>): TicketState {
  return { ...s, lines: s.lines.map((l) => (l.lineId === lineId ? { ...l, ...patch } : l)) };
}

function applyTicketEvent(s: TicketState, e: TicketEvent): Step<TicketState> {
  const ok = (state: TicketState): Step<TicketState> => ({ state, outcome: outcome('applied') });
  switch (e.type) {
    case 'ticket.opened': {
      if (s.openedEventId) return { state: s, outcome: outcome('superseded', 'ticket already opened') };
      const opened: TicketState = {
        ...s,
        openedEventId: e.id,
        number: e.payload.number,
        covers: e.payload.covers ?? null,
        openedBy: { terminal: e.origin.terminal, staff: e.origin.staff ?? null },
        openedAt: e.at,
      };
      const tableId = e.payload.tableId;
      if (tableId === undefined) return ok(opened);
      // The table given at opening is an ordinary write to the tableId register.
      const r = lww(opened, e, 'tableId', (t) => ({ ...t, tableId }));
      // The opening itself always applies, even if its table lost to a newer assignment.
      const reason = r.outcome.status === 'superseded' ? 'table had a newer assignment' : null;
      return { state: r.state, outcome: { ...r.outcome, status: 'applied', reason } };
    }
    case 'ticket.item_added': {
      const p = e.payload;
      if (s.lines.some((l) => l.lineId === p.lineId) || s.removed.includes(p.lineId)) {
        return { state: s, outcome: outcome('duplicate', `line ${p.lineId} already added`) };
      }
      const line: TicketLine = {
        lineId: p.lineId,
        menuItemId: p.menuItemId,
        name: p.name,
        unitPriceCents: p.unitPriceCents,
        quantity: p.quantity,
        note: p.note ?? null,
        sentAt: null,
        bumpedAt: null,
        addedBy: e.origin.terminal,
      };
      return ok({ ...s, lines: [...s.lines, line], lww: { ...s.lww, [`quantity:${p.lineId}`]: registerWriteOf(e) } });
    }
    case 'ticket.item_removed': {
      const { lineId } = e.payload;
      if (s.removed.includes(lineId)) return { state: s, outcome: outcome('duplicate', 'line already removed') };
      if (!s.lines.some((l) => l.lineId === lineId)) return { state: s, outcome: outcome('ignored', `no line ${lineId}`) };
      return ok({ ...s, lines: s.lines.filter((l) => l.lineId !== lineId), removed: [...s.removed, lineId] });
    }
    case 'ticket.quantity_changed': {
      const { lineId, quantity } = e.payload;
      if (s.removed.includes(lineId)) return { state: s, outcome: outcome('superseded', 'line was removed') };
      if (!s.lines.some((l) => l.lineId === lineId)) return { state: s, outcome: outcome('ignored', `no line ${lineId}`) };
      return lww(s, e, `quantity:${lineId}`, (t) => withLine(t, lineId, { quantity }));
    }
    case 'ticket.note_set': {
      const note = e.payload.note;
      return lww(s, e, 'note', (t) => ({ ...t, note }));
    }
    case 'ticket.table_assigned': {
      const tableId = e.payload.tableId;
      return lww(s, e, 'tableId', (t) => ({ ...t, tableId }));
    }
    case 'ticket.sent_to_kitchen': {
      const wanted = new Set(e.payload.lineIds);
      const toSend = s.lines.filter((l) => wanted.has(l.lineId) && l.sentAt === null);
      if (toSend.length === 0) {
        const known = s.lines.some((l) => wanted.has(l.lineId));
        return { state: s, outcome: known ? outcome('superseded', 'lines already sent') : outcome('ignored', 'no such lines') };
      }
      return ok({ ...s, lines: s.lines.map((l) => (wanted.has(l.lineId) && l.sentAt === null ? { ...l, sentAt: e.at } : l)) });
    }
    case 'ticket.kitchen_item_bumped': {
      const line = s.lines.find((l) => l.lineId === e.payload.lineId);
      if (!line) return { state: s, outcome: outcome('ignored', `no line ${e.payload.lineId}`) };
      if (line.bumpedAt !== null) return { state: s, outcome: outcome('superseded', 'already bumped') };
      return ok(withLine(s, line.lineId, { bumpedAt: e.at }));
    }
    case 'ticket.payment_recorded': {
      const p = e.payload;
      if (s.payments.some((x) => x.paymentId === p.paymentId)) {
        return { state: s, outcome: outcome('duplicate', `payment ${p.paymentId} already recorded`) };
      }
      const total = sumLines(s.lines);
      const paid = appliedPaid(s);
      if (paid + p.amountCents > total) {
        const ids = [...s.payments.filter((x) => x.state === 'applied').map((x) => x.eventId), e.id];
        return escalate(s, e, 'over_payment', ids, `payments ${paid + p.amountCents} exceed total ${total}`);
      }
      return ok({ ...s, payments: [...s.payments, paymentOf(e, 'applied', null)] });
    }
    case 'ticket.closed': {
      const totalCents = e.payload.totalCents;
      if (s.closed) {
        if (s.closed.totalCents === totalCents) return { state: s, outcome: outcome('duplicate', 'already closed with this total') };
        return escalate(s, e, 'close_total_mismatch', [s.closed.eventId, e.id], `closed with ${s.closed.totalCents} and with ${totalCents}`);
      }
      const closed: TicketState = { ...s, closed: { eventId: e.id, totalCents, at: e.at } };
      const linesTotal = sumLines(s.lines);
      if (linesTotal === totalCents) return ok(closed);
      // The close stands (the till did close) but the difference must be looked at.
      const { state, conflictId } = addConflict(closed, 'close_total_mismatch', [e.id], e.at, `closed with ${totalCents}, lines total ${linesTotal}`);
      return { state, outcome: outcome('applied', 'total differs from lines', conflictId) };
    }
    case 'ticket.voided':
      if (s.voided) return { state: s, outcome: outcome('duplicate', 'already voided') };
      return ok({ ...s, voided: { eventId: e.id, reason: e.payload.reason, at: e.at } });
    case 'sale.recorded':
      if (s.sale) return { state: s, outcome: outcome('duplicate', 'sale already recorded') };
      return ok({ ...s, sale: { eventId: e.id, totalCents: e.payload.totalCents, paidCents: e.payload.paidCents, closedAt: e.payload.closedAt } });
    case 'conflict.resolved':
      return resolveConflict(s, e);
    default:
      return assertNever(e, 'ticket event');
  }
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
    at: e.at,
    terminal: e.origin.terminal,
    state,
    conflictId,
  };
}

function addConflict(s: TicketState, kind: ConflictKind, eventIds: string[], at: number, detail: string): { state: TicketState; conflictId: string } {
  const conflictId = conflictIdFor(kind, eventIds);
  if (s.conflicts.some((c) => c.conflictId === conflictId)) return { state: s, conflictId };
  const conflict: TicketConflict = { conflictId, kind, eventIds: [...eventIds].sort(), detectedAt: at, detail, status: 'open', resolution: null };
  return { state: { ...s, conflicts: [...s.conflicts, conflict] }, conflictId };
}

/** Holds the event back as an open conflict; payments stay visible as 'held'. */
function escalate(s: TicketState, e: TicketEvent, kind: ConflictKind, eventIds: string[], detail: string): Step<TicketState> {
  const added = addConflict(s, kind, eventIds, e.at, detail);
  let state: TicketState = { ...added.state, held: { ...added.state.held, [added.conflictId]: e } };
  if (e.type === 'ticket.payment_recorded' && !state.payments.some((p) => p.paymentId === e.payload.paymentId)) {
    state = { ...state, payments: [...state.payments, paymentOf(e, 'held', added.conflictId)] };
  }
  return { state, outcome: outcome('escalated', detail, added.conflictId) };
}

function setPaymentState(s: TicketState, conflictId: string, state: TicketPayment['state']): TicketState {
  return { ...s, payments: s.payments.map((p) => (p.conflictId === conflictId ? { ...p, state } : p)) };
}

function resolveConflict(s: TicketState, e: DecodedEvent<'conflict.resolved'>): Step<TicketState> {
  const { conflictId, resolution: r } = e.payload;
  const c = s.conflicts.find((x) => x.conflictId === conflictId);
  if (!c) return { state: s, outcome: outcome('ignored', `no conflict ${conflictId}`) };
  if (c.status === 'resolved') return { state: s, outcome: outcome('superseded', 'conflict already resolved', conflictId) };
  if (!resolutionFits(c.kind, r.kind)) return { state: s, outcome: outcome('invalid', `${r.kind} does not settle ${c.kind}`, conflictId) };
  const held = s.held[conflictId];
  let next: TicketState = s;
  switch (c.kind) {
    case 'payment_after_void':
      next = r.kind === 'reopen' ? setPaymentState({ ...s, voided: null }, conflictId, 'applied') : setPaymentState(s, conflictId, 'refunded');
      break;
    case 'over_payment':
      next = setPaymentState(s, conflictId, r.kind === 'accept_payment' ? 'applied' : 'refunded');
      break;
    case 'change_after_close':
      if (r.kind === 'reopen') {
        const reopened: TicketState = { ...s, closed: null, voided: null };
        next = held ? applyTicketEvent(reopened, held).state : reopened;
      }
      break;
    case 'close_total_mismatch':
      if (r.kind === 'accept_total') {
        const base = s.closed ?? { eventId: held?.id ?? e.id, at: held?.at ?? e.at };
        next = { ...s, closed: { eventId: base.eventId, at: base.at, totalCents: r.totalCents } };
      } else {
        next = { ...s, closed: null };
      }
      break;
    case 'closed_and_voided':
      if (r.kind === 'keep_void') {
        const voided = s.voided ?? (held?.type === 'ticket.voided' ? { eventId: held.id, reason: held.payload.reason, at: held.at } : null);
        next = { ...s, closed: null, voided };
      } else {
        const closed = s.closed ?? (held?.type === 'ticket.closed' ? { eventId: held.id, totalCents: held.payload.totalCents, at: held.at } : null);
        next = { ...s, voided: null, closed };
      }
      break;
    default:
      return assertNever(c.kind, 'conflict kind');
  }
  const resolution: TicketConflict['resolution'] = {
    kind: r.kind,
    eventId: e.id,
    at: e.at,
    terminal: e.origin.terminal,
    staff: e.origin.staff ?? null,
    note: e.payload.note ?? null,
  };
  const { [conflictId]: _settled, ...stillHeld } = next.held;
  next = {
    ...next,
    held: stillHeld,
    conflicts: next.conflicts.map((x) => (x.conflictId === conflictId ? { ...x, status: 'resolved', resolution } : x)),
  };
  return { state: next, outcome: outcome('applied', null, conflictId) };
}
