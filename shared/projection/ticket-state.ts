import type { DecodedEvent } from '../events/catalog';
import { TICKET_MERGE_POLICY, type RegisterWrite } from './merge-policy';
import type { TicketConflict, TicketDiscountView, TicketLine, TicketPayment, TicketRefund, TicketView } from './views';

/**
 * The ticket reducer's state. Internal state keeps what the view does not show but the merge
 * needs: LWW stamps per register, removed line ids (tombstones) and the events held back by open
 * conflicts. Owned by the fold that created it and updated in place (see OWNERSHIP in
 * ticket-reducer.ts); ticketViewOf (ticket-view.ts) copies what a view shows.
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
  /**
   * Removed lines not sent when removed: a send from a till that had not seen the removal
   * (folding after it) still put them on the kitchen's screen, which must show them cancelled.
   */
  removedUnsent: TicketLine[];
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
  heldCloses: Array<{ conflictId: string; closed: ClosedRecord; linesTotalCents: number; sale: TicketView['sale'] }>;
  /** Sends to the kitchen applied so far: a line's `send` says which it went with. */
  sends: number;
  /**
   * The kitchen's events naming a line whose addition an end held back (a dessert added, sent
   * and made by a till and a kitchen that had not seen the close): its send, bumps and hold,
   * in fold order. A manager reopening the addition applies them with it, or the line came
   * back unsent (sent, and cooked, again) or unmade (cooked again).
   */
  heldLineEvents: Array<{ lineId: string; event: TicketEvent }>;
  /** Payments a manager kept beyond the total (accept_payment): later checks leave them be. */
  acceptedPayments: string[];
  /**
   * While a manager's decision applies a change it held (a reopening), the decision's `at`:
   * what the change opens (a payment held above the new total) and a comp it makes date from
   * the decision, not from the change — a day's takings never move money after the fact.
   * Null otherwise (set and cleared within one decision).
   */
  applyingAt: number | null;
}

/** A close that holds: `discountCents` and `covers` as when it applied (the takings report them). */
export type ClosedRecord = NonNullable<TicketState['closed']>;

type TicketEventType = keyof typeof TICKET_MERGE_POLICY;
export type TicketEvent = DecodedEvent<TicketEventType>;

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
    removedUnsent: [],
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
    heldLineEvents: [],
    acceptedPayments: [],
    applyingAt: null,
  };
}

export function isTicketEvent(e: DecodedEvent): e is TicketEvent {
  return Object.prototype.hasOwnProperty.call(TICKET_MERGE_POLICY, e.type);
}

export function lineById(s: TicketState, lineId: string): TicketLine | undefined {
  return s.lines.find((l) => l.lineId === lineId);
}
