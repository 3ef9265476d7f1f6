import type { EventEnvelope } from '../events/envelope';
import type { ConflictResolutionKind } from '../domain/conflict-events';

/**
 * THE CONFLICT POLICY, in one place. Reducers (ticket-reducer.ts, catalog-reducers.ts)
 * follow these declarations; read this file to know how concurrent writes merge.
 *
 * Every replica folds an aggregate's events in compareEvents order (seq, at, terminal, id),
 * so every decision below is made on the same sequence everywhere. Each event type merges
 * in one of these ways:
 *
 *   lww         last-write-wins register keyed by (at, origin.terminal, id): the highest
 *               stamp holds the field whatever the fold order; the loser is `superseded`.
 *               The hybrid clock makes "I saw it, then changed it" the higher stamp.
 *   first-wins  set once; later writes are `superseded` (a line is sent once, a ticket
 *               has one opening, a sale is recorded once).
 *   add         appends an entity (a line, a payment); same id again is `duplicate`.
 *   tombstone   removes an entity for good; later edits of it are `superseded`.
 *   transition  moves the ticket's state machine (see TICKET_STATUS).
 *   resolve     settles an escalated conflict (CONFLICT_RESOLUTIONS).
 *
 * `whenClosed` / `whenVoided` say what happens to the event once the ticket has ended:
 * 'apply', or the kind of business conflict it is escalated as. An escalated event is
 * held back (not applied) until a `conflict.resolved` event settles it.
 */
export type MergeRule = 'lww' | 'first-wins' | 'add' | 'tombstone' | 'transition' | 'resolve';
export type EndedRule = 'apply' | ConflictKind;

export interface EventPolicy {
  readonly merge: MergeRule;
  readonly fields: readonly string[];
  readonly whenClosed: EndedRule;
  readonly whenVoided: EndedRule;
}

export const TICKET_MERGE_POLICY = {
  'ticket.opened': { merge: 'first-wins', fields: ['number', 'openedBy', 'openedAt', 'tableId(lww)', 'covers(lww)'], whenClosed: 'apply', whenVoided: 'apply' },
  'ticket.item_added': { merge: 'add', fields: ['lines', 'lines[].quantity(lww)'], whenClosed: 'change_after_close', whenVoided: 'change_after_close' },
  'ticket.item_removed': { merge: 'tombstone', fields: ['lines'], whenClosed: 'change_after_close', whenVoided: 'change_after_close' },
  'ticket.quantity_changed': { merge: 'lww', fields: ['lines[].quantity'], whenClosed: 'change_after_close', whenVoided: 'change_after_close' },
  'ticket.note_set': { merge: 'lww', fields: ['note'], whenClosed: 'apply', whenVoided: 'apply' },
  'ticket.table_assigned': { merge: 'lww', fields: ['tableId'], whenClosed: 'apply', whenVoided: 'apply' },
  // The guests counted: money does not follow them, so it applies after the end too.
  'ticket.covers_set': { merge: 'lww', fields: ['covers'], whenClosed: 'apply', whenVoided: 'apply' },
  // The kitchen keeps working after the guest paid: sending and bumping never escalate.
  'ticket.sent_to_kitchen': { merge: 'first-wins', fields: ['lines[].sentAt'], whenClosed: 'apply', whenVoided: 'apply' },
  // The most made holds: a bump of no more than made before changes nothing.
  'ticket.kitchen_item_bumped': { merge: 'first-wins', fields: ['lines[].bumpedAt', 'lines[].bumpedQuantity'], whenClosed: 'apply', whenVoided: 'apply' },
  // The kitchen's timing, no money: the latest hold or fire of a line holds, after the end too.
  'ticket.line_held': { merge: 'lww', fields: ['lines[].held'], whenClosed: 'apply', whenVoided: 'apply' },
  // A line is comped once (a second comp of it is the same fact: `duplicate`); it stays on the
  // ticket for the kitchen and leaves the total, holding payments above it like a removal.
  'ticket.line_comped': { merge: 'first-wins', fields: ['lines[].comped'], whenClosed: 'change_after_close', whenVoided: 'change_after_close' },
  // Also escalated as 'over_payment' when applied payments would exceed the total.
  'ticket.payment_recorded': { merge: 'add', fields: ['payments'], whenClosed: 'apply', whenVoided: 'payment_after_void' },
  // One discount per ticket, the latest write holding (null takes it off); the total drops, so
  // payments above it are held as for a removed line.
  'ticket.discount_set': { merge: 'lww', fields: ['discount'], whenClosed: 'change_after_close', whenVoided: 'change_after_close' },
  // Money handed back after the sale, closed or not: also escalated as 'over_refund' when the
  // refunds would exceed what was taken. A voided ticket's money is settled by its
  // payment_after_void conflict (refund_payment), so a refund there would count it twice.
  'ticket.refunded': { merge: 'add', fields: ['refunds'], whenClosed: 'apply', whenVoided: 'change_after_close' },
  // Also escalated as 'close_total_mismatch' when its total differs from the lines or an earlier close.
  'ticket.closed': { merge: 'transition', fields: ['status', 'closedTotalCents'], whenClosed: 'apply', whenVoided: 'closed_and_voided' },
  // Also escalated as 'payment_after_void' when payments were taken before it (they are held).
  'ticket.voided': { merge: 'transition', fields: ['status', 'voidReason'], whenClosed: 'closed_and_voided', whenVoided: 'apply' },
  // First-wins for a ticket's first sale; a sale naming a close after a reopening replaces it
  // while that close holds (otherwise it is superseded).
  'sale.recorded': { merge: 'first-wins', fields: ['sale'], whenClosed: 'apply', whenVoided: 'apply' },
  'conflict.resolved': { merge: 'resolve', fields: ['conflicts'], whenClosed: 'apply', whenVoided: 'apply' },
} as const satisfies Record<string, EventPolicy>;

export const MENU_ITEM_MERGE_POLICY = {
  // A redefinition is an LWW write per field it carries: each field keeps the newest value.
  'menu.item_defined': { merge: 'lww', fields: ['name', 'category', 'priceCents', 'station', 'taxBasisPoints'], whenClosed: 'apply', whenVoided: 'apply' },
  // A new name, category or station: the same registers, only those the change carries.
  'menu.item_changed': { merge: 'lww', fields: ['name', 'category', 'station'], whenClosed: 'apply', whenVoided: 'apply' },
  'menu.item_repriced': { merge: 'lww', fields: ['priceCents'], whenClosed: 'apply', whenVoided: 'apply' },
  'menu.item_tax_set': { merge: 'lww', fields: ['taxBasisPoints'], whenClosed: 'apply', whenVoided: 'apply' },
  // Retiring is one-way: the first retirement sets retiredAt.
  'menu.item_retired': { merge: 'first-wins', fields: ['retired', 'retiredAt'], whenClosed: 'apply', whenVoided: 'apply' },
  // Sold out ("86") and back: the view shows soldOut = !available of the winning write.
  'menu.item_availability_set': { merge: 'lww', fields: ['available'], whenClosed: 'apply', whenVoided: 'apply' },
  'conflict.resolved': { merge: 'resolve', fields: [], whenClosed: 'apply', whenVoided: 'apply' },
} as const satisfies Record<string, EventPolicy>;

export const TABLE_MERGE_POLICY = {
  // A change is an LWW write per field it carries (v2 may carry one).
  'table.defined': { merge: 'lww', fields: ['label', 'seats'], whenClosed: 'apply', whenVoided: 'apply' },
  // Retiring is one-way, as for a menu item: the first retirement sets retiredAt.
  'table.retired': { merge: 'first-wins', fields: ['retired', 'retiredAt'], whenClosed: 'apply', whenVoided: 'apply' },
  'conflict.resolved': { merge: 'resolve', fields: [], whenClosed: 'apply', whenVoided: 'apply' },
} as const satisfies Record<string, EventPolicy>;

export const LOCATION_MERGE_POLICY = {
  // The receipt's details: an LWW register per field the write carries (null takes one off).
  'location.details_set': { merge: 'lww', fields: ['name', 'address', 'taxNumber', 'receiptFooter'], whenClosed: 'apply', whenVoided: 'apply' },
  'conflict.resolved': { merge: 'resolve', fields: [], whenClosed: 'apply', whenVoided: 'apply' },
} as const satisfies Record<string, EventPolicy>;

const REGISTER_WRITES: ReadonlySet<string> = new Set(
  [TICKET_MERGE_POLICY, MENU_ITEM_MERGE_POLICY, TABLE_MERGE_POLICY, LOCATION_MERGE_POLICY].flatMap((policy) =>
    Object.entries(policy)
      .filter(([, p]) => p.merge === 'lww')
      .map(([type]) => type),
  ),
);

/**
 * Whether events of `type` are LWW writes (merge 'lww'): a writer stamps them above every event
 * it holds of their aggregate (EventStore), so "I saw it, then changed it" wins. The (lww)
 * fields an opening or a new line carries are the first writes of their registers.
 */
export function isRegisterWrite(type: string): boolean {
  return REGISTER_WRITES.has(type);
}

/**
 * Ticket state machine. Closed and voided are facts (flags set by events); the rest is
 * derived from the lines and payments, so concurrent edits can never leave a status that
 * disagrees with the data:
 *
 *   open ──send──► sent ──payments ≥ total──► paid ──close──► closed
 *     └──────────────┴──────────────┴──void──► voided   (closed + void = conflict)
 */
export const TICKET_STATUS = ['open', 'sent', 'paid', 'closed', 'voided'] as const;

export function deriveTicketStatus(s: {
  voided: boolean;
  closed: boolean;
  totalCents: number;
  paidCents: number;
  anySent: boolean;
}): (typeof TICKET_STATUS)[number] {
  if (s.voided) return 'voided';
  if (s.closed) return 'closed';
  if (s.totalCents > 0 && s.paidCents >= s.totalCents) return 'paid';
  return s.anySent ? 'sent' : 'open';
}

/**
 * Business conflicts LWW must not settle, and the resolutions that settle each. The
 * reducer escalates them as open conflicts; a manager appends `conflict.resolved`.
 */
export const CONFLICT_RESOLUTIONS = {
  /** A payment and a void on one ticket, in either order (e.g. a till offline while a manager voided). */
  payment_after_void: ['refund_payment', 'reopen'],
  /** Applied payments would exceed the total (two tills each took the full amount). */
  over_payment: ['accept_payment', 'refund_payment'],
  /** Refunds would exceed the money taken (two managers each refunded the same dish). */
  over_refund: ['accept_refund', 'discard_change'],
  /** Lines added, removed or changed after the ticket closed or was voided. */
  change_after_close: ['discard_change', 'reopen'],
  /** A close whose total differs from the lines or from a concurrent close. */
  close_total_mismatch: ['accept_total', 'reopen'],
  /** One terminal closed while another voided. */
  closed_and_voided: ['keep_closed', 'keep_void'],
} as const satisfies Record<string, readonly ConflictResolutionKind[]>;

export type ConflictKind = keyof typeof CONFLICT_RESOLUTIONS;

export function resolutionFits(kind: ConflictKind, resolution: ConflictResolutionKind): boolean {
  return (CONFLICT_RESOLUTIONS[kind] as readonly ConflictResolutionKind[]).includes(resolution);
}

/**
 * Stable conflict id: the same kind over the same events gets the same id on every
 * replica, so a resolution written on one terminal settles it everywhere.
 */
export function conflictIdFor(kind: ConflictKind, eventIds: readonly string[]): string {
  const text = `${kind}|${[...eventIds].sort().join('|')}`;
  // Two independent 32-bit FNV-1a hashes: 64 bits keep collisions out of reach per ticket.
  let a = 0x811c9dc5;
  let b = 0x01000193;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193) >>> 0;
    b = Math.imul(b ^ c, 0x5bd1e995) >>> 0;
  }
  return `cf-${kind}-${a.toString(16).padStart(8, '0')}${b.toString(16).padStart(8, '0')}`;
}

/**
 * The write currently holding a register: its LWW stamp (at, origin.terminal, id), compared
 * in that order, and its seq. `seq` tells whether a newer write had seen it: a writer's seq
 * is above every seq it saw, so a winner with seq <= the holder's did not see it; the
 * holder then lost a race and is marked `superseded` in history. A holder replaced by
 * someone who saw it stays `applied` (it was a normal later edit).
 */
export interface RegisterWrite {
  readonly at: number;
  readonly terminal: string;
  readonly id: string;
  readonly seq: number;
}

export function registerWriteOf(e: Pick<EventEnvelope, 'at' | 'id' | 'origin' | 'seq'>): RegisterWrite {
  return { at: e.at, terminal: e.origin.terminal, id: e.id, seq: e.seq };
}

/** The event id that lost a race to `next`, if any. */
export function raceLoser(current: RegisterWrite | undefined, next: RegisterWrite): string | null {
  return current && next.seq <= current.seq ? current.id : null;
}

/** True when `next` beats `current` (or there is no current write). */
export function writeWins(current: RegisterWrite | undefined, next: RegisterWrite): boolean {
  if (!current) return true;
  return stampAfter(next.at, next.terminal, next.id, current.at, current.terminal, current.id);
}

/** (at, terminal, id) of a is above that of b. */
function stampAfter(aAt: number, aTerminal: string, aId: string, bAt: number, bTerminal: string, bId: string): boolean {
  if (aAt !== bAt) return aAt > bAt;
  if (aTerminal !== bTerminal) return aTerminal > bTerminal;
  return aId > bId;
}
