import { compareEvents, type EventEnvelope } from '../events/envelope';
import { aggregateTypeOf, decodeEvent, type DecodedEvent } from '../events/catalog';
import { MENU_ITEM_AGGREGATE } from '../domain/menu-events';
import { TABLE_AGGREGATE } from '../domain/table-events';
import { LOCATION_AGGREGATE } from '../domain/location-events';
import { TICKET_AGGREGATE } from '../domain/ticket-events';
import { isTicketEvent, newTicketState, type TicketState } from './ticket-state';
import { reduceTicket } from './ticket-reducer';
import { ticketViewOf } from './ticket-view';
import {
  isLocationEvent,
  isMenuItemEvent,
  isTableEvent,
  newLocationState,
  newMenuItemState,
  newTableState,
  reduceLocation,
  reduceMenuItem,
  reduceTable,
  type LocationState,
  type MenuItemState,
  type TableState,
} from './catalog-reducers';
import { assertNever } from '../assert-never';
import { outcome, type Outcome } from './reducer';
import type { AggregateView, ConcurrentGroup, HistoryEntry, HistoryStatus } from './views';
import type { RegisterWrite } from './merge-policy';
import { fnv1a32 } from '../fnv1a';

/**
 * One aggregate's events and their fold. Shared by projectAggregate (full fold) and
 * LocationProjection (incremental), so both give byte-identical views.
 *
 * Invariants:
 *  - `events` is sorted by compareEvents and holds each event id once;
 *  - unless `dirty`, the derived state is exactly the fold of `events` from the start;
 *  - an event that sorts after the last one is folded on top (O(1) in the event count);
 *    one that sorts earlier marks the fold dirty and `settle()` refolds from scratch.
 * The fold itself (this file) handles what is common to every aggregate: decoding,
 * idempotency keys, concurrency groups, history. Reducers handle the domain.
 */
// The reducers update `state` in place: it belongs to this fold (created by initialDomain,
// dropped by settle) and only copies of it reach views.
type DomainState =
  | { kind: 'ticket'; state: TicketState }
  | { kind: 'menu_item'; state: MenuItemState }
  | { kind: 'table'; state: TableState }
  | { kind: 'location'; state: LocationState }
  | { kind: 'other' };

function initialDomain(aggregateType: string): DomainState {
  switch (aggregateType) {
    case TICKET_AGGREGATE:
      return { kind: 'ticket', state: newTicketState() };
    case MENU_ITEM_AGGREGATE:
      return { kind: 'menu_item', state: newMenuItemState() };
    case TABLE_AGGREGATE:
      return { kind: 'table', state: newTableState() };
    case LOCATION_AGGREGATE:
      return { kind: 'location', state: newLocationState() };
    default:
      return { kind: 'other' };
  }
}

/**
 * A fold's derived state without its events, as plain JSON: what a projection checkpoint
 * stores per aggregate. Bump FOLD_SNAPSHOT_VERSION whenever this shape or the meaning of a
 * reducer changes: a checkpoint of another version is ignored and the log is refolded.
 */
export const FOLD_SNAPSHOT_VERSION = 57; // 2: payments held after a change, keep_void/keep_closed, sentQuantity, cancelled lines; 3: menu item availability, voidedAt; 4: comped lines (not in the total); 5: payment tips; 6, 7: refunds; 8: discounts; 9, 10: sales after a reopening or an accepted total; 11, 12, 14: tax rates, the line a refund is for; 13: the location's receipt details; 15, 16: guests (covers) as a register, kept at the close; 17: the lines a payment was for; 18: closes held by a void, as they would have applied; 19: lines held from the kitchen; 20: payments a manager kept beyond the total; 21: only an event that can apply takes its key; 22: an accepted total closes no voided or reopened ticket; 23: how many of a line the kitchen made; 24: which send a line went with; 25, 26: a held change's detail says what it is, a reopened change brings the held addition of its line, each held payment is its own conflict (refunds with one of their method); 27: retired tables; 28: a reopened ticket's refunds are not owed again (its status); 29: unless their line is no longer charged; 30: a reopening counts again the money held only because the ticket had ended; 31, 32: what a line refund drew from its line (when it counts); 33: a first sale of the close that holds replaces one of a close that does not; 34: a reopening settles the conflicts about the ends it undid; 35: a bump while voided sees the void, a held-along refund keeps what it drew; 36: keep_void settles the close total's card; 37: a sale of a close a void holds is kept with it; 38: a held refund goes with a payment it fits in, or holds its method's payments together; 39: a bump says whether its card showed the line stopped; 40: a send of a line whose addition an end held goes with it when reopened; 41: its bumps and hold too, a held refund goes with the oldest payment it fits in and never beyond the payments; 42: a send naming a line removed unsent shows it cancelled; 43: a hand-back settles the refunds its card carried; 44: a held card payment's detail says its tip; 45: a named refund held on its own card is settled with the hand-back, every card names a tip; 46: what a refund gave back of money kept above the sale (no tax, owed again); 47, 48: a line refund's part its line no longer sells at no rate; 49: a voided ticket has no sale; 50: a definition with a blank name is invalid; 51: a concurrent write still holding a field is not superseded; 52: a decision says the close it undid (the takings keep that close on its day); 53: what a held change opens, or comps, when a reopening applies it dates from the decision; 54: a refund held again by a reopening keeps its first hold's date; 55: an add repeating an id is a duplicate even after the ticket ended; 56: a reopening counts the void's money again before the changes it held (a held refund fits its payment); a line added again while held after a close is a duplicate; 57: payments are held until what still counts fits the lowered total (the refunds held along hand back less)

export interface FoldSnapshot {
  id: string;
  aggregateType: string;
  size: number;
  /** Order-independent digest of the event ids folded (see idDigest). */
  digest: number;
  domain: EncodedDomain;
  keys: [string, string][];
  /** Outcomes other than a bare 'applied', by fold index. */
  outcomes: [number, FoldOutcome][];
  concurrent: ConcurrentGroup[];
  run: [seq: number, start: number, mixed: boolean];
  lastEventAt: number;
  needsUpdate: number;
}

type EncodedDomain =
  | { kind: 'ticket'; state: Omit<TicketState, 'lww' | 'held'> & { lww: [string, RegisterWrite][]; held: [string, DecodedEvent][] } }
  | { kind: 'menu_item'; state: Omit<MenuItemState, 'lww'> & { lww: [string, RegisterWrite][] } }
  | { kind: 'table'; state: Omit<TableState, 'lww'> & { lww: [string, RegisterWrite][] } }
  | { kind: 'location'; state: Omit<LocationState, 'lww'> & { lww: [string, RegisterWrite][] } }
  | { kind: 'other' };

function encodeDomain(d: DomainState): EncodedDomain {
  switch (d.kind) {
    case 'ticket':
      return { kind: 'ticket', state: { ...d.state, lww: [...d.state.lww], held: [...d.state.held] } };
    case 'menu_item':
      return { kind: 'menu_item', state: { ...d.state, lww: [...d.state.lww] } };
    case 'table':
      return { kind: 'table', state: { ...d.state, lww: [...d.state.lww] } };
    case 'location':
      return { kind: 'location', state: { ...d.state, lww: [...d.state.lww] } };
    case 'other':
      return d;
    default:
      return assertNever(d, 'aggregate kind');
  }
}

function decodeDomain(d: EncodedDomain): DomainState {
  switch (d.kind) {
    case 'ticket':
      return { kind: 'ticket', state: { ...d.state, lww: new Map(d.state.lww), held: new Map(d.state.held) } as TicketState };
    case 'menu_item':
      return { kind: 'menu_item', state: { ...d.state, lww: new Map(d.state.lww) } };
    case 'table':
      return { kind: 'table', state: { ...d.state, lww: new Map(d.state.lww) } };
    case 'location':
      return { kind: 'location', state: { ...d.state, lww: new Map(d.state.lww) } };
    case 'other':
      return d;
    default:
      return assertNever(d, 'aggregate kind');
  }
}

/**
 * Sum of a 32-bit FNV-1a hash of each event id: the same for the same set of ids in any
 * order, so a restored fold can check that the events it is given are the ones it folded.
 */
function idDigest(events: readonly EventEnvelope[]): number {
  let digest = 0;
  for (const e of events) digest = (digest + fnv1a32(e.id)) >>> 0;
  return digest;
}

/** A reducer's Outcome, or the fold's own verdict on an event this build cannot read. */
type NeedsUpdate = { readonly status: 'needs_update'; readonly reason: string; readonly conflictId: null };
type FoldOutcome = Readonly<Pick<Outcome, 'reason' | 'conflictId'>> & { readonly status: HistoryStatus };
/** The shared outcome of a plain applied event: snapshots leave these out. */
const APPLIED: FoldOutcome = outcome('applied');

export class AggregateFold {
  private events: EventEnvelope[] = [];
  private dirty = false;
  /**
   * Restored from a snapshot and its events not attached yet: the state and view are
   * exact, but history and anything that needs the events wait for attach(). Holds what
   * the snapshot says of the events it folded, for attach() to check.
   */
  private restored: { size: number; digest: number } | null = null;
  // Derived by the fold; reset by settle() before it refolds.
  private aggregateType = '';
  private domain: DomainState = { kind: 'other' };
  private keys = new Map<string, string>();
  // History, one outcome per folded event, in fold order: outcomes[i] describes
  // this.events[i] (events are folded in array order, so the indices line up). The
  // HistoryEntry objects are built in buildView; most outcomes are the shared bare ones
  // from outcome(), so a plain 'applied' event costs one array slot.
  private outcomes: FoldOutcome[] = [];
  private concurrent: ConcurrentGroup[] = [];
  // The current run of events sharing one seq: they are contiguous in fold order, from
  // index runStart. Kept as scalars so an event with a new seq allocates nothing.
  private runSeq = -1;
  private runStart = 0;
  private runMixed = false;
  private lastEventAt = 0;
  private needsUpdate = 0;
  private cached: AggregateView | null = null;

  constructor(readonly id: string) {}

  get size(): number {
    return this.restored?.size ?? this.events.length;
  }

  /** True until the events of a restored fold are attached. */
  get detached(): boolean {
    return this.restored !== null;
  }

  get type(): string {
    this.settle();
    return this.aggregateType;
  }

  ordered(): readonly EventEnvelope[] {
    this.assertAttached();
    return this.events;
  }

  /** The seq of the last event in fold order (0 when empty): the next local event takes seq + 1. */
  get lastSeq(): number {
    return this.detached ? this.runSeq : (this.events[this.events.length - 1]?.seq ?? 0);
  }

  /**
   * Adds an event whose id this fold does not hold yet: callers deduplicate (the
   * projection already keeps an index of every event id, so a second Set per aggregate
   * only cost time). Folds the event at once when it sorts last.
   */
  add(e: EventEnvelope): void {
    this.assertAttached();
    this.cached = null;
    const last = this.events[this.events.length - 1];
    if (!last || compareEvents(last, e) < 0) {
      this.events.push(e);
      if (!this.dirty) this.step(e);
      return;
    }
    let lo = 0;
    let hi = this.events.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareEvents(this.events[mid]!, e) < 0) lo = mid + 1;
      else hi = mid;
    }
    this.events.splice(lo, 0, e);
    this.dirty = true;
  }

  /** Refolds if an out-of-order event arrived since the last fold. */
  settle(): void {
    if (!this.dirty) return;
    this.dirty = false;
    this.aggregateType = '';
    this.domain = { kind: 'other' };
    this.keys = new Map();
    this.outcomes = [];
    this.concurrent = [];
    this.runSeq = -1;
    this.runStart = 0;
    this.runMixed = false;
    this.lastEventAt = 0;
    this.needsUpdate = 0;
    for (const e of this.events) this.step(e);
  }


  view(): AggregateView {
    this.settle();
    if (!this.cached) this.cached = this.buildView();
    return this.cached;
  }

  /** Every event held with what the fold did with it, in fold order. */
  history(): HistoryEntry[] {
    this.assertAttached();
    this.settle();
    return this.historyEntries();
  }

  snapshot(): FoldSnapshot {
    this.settle();
    return {
      id: this.id,
      aggregateType: this.aggregateType,
      size: this.size,
      digest: this.restored?.digest ?? idDigest(this.events),
      domain: encodeDomain(this.domain),
      keys: [...this.keys],
      outcomes: this.outcomes.flatMap((o, i): [number, FoldOutcome][] => (o === APPLIED ? [] : [[i, o]])),
      concurrent: this.concurrent,
      run: [this.runSeq, this.runStart, this.runMixed],
      lastEventAt: this.lastEventAt,
      needsUpdate: this.needsUpdate,
    };
  }

  /** A fold in the snapshot's state, detached: attach() gives it its events. */
  static restore(s: FoldSnapshot): AggregateFold {
    const fold = new AggregateFold(s.id);
    fold.restored = { size: s.size, digest: s.digest };
    fold.aggregateType = s.aggregateType;
    fold.domain = decodeDomain(s.domain);
    fold.keys = new Map(s.keys);
    const outcomes: FoldOutcome[] = new Array<FoldOutcome>(s.size).fill(APPLIED);
    for (const [i, o] of s.outcomes) outcomes[i] = o;
    fold.outcomes = outcomes;
    fold.concurrent = s.concurrent;
    [fold.runSeq, fold.runStart, fold.runMixed] = s.run;
    fold.lastEventAt = s.lastEventAt;
    fold.needsUpdate = s.needsUpdate;
    return fold;
  }

  /**
   * Gives a restored fold its events (any order). If they are not exactly the events the
   * snapshot folded (count or id digest differ), the fold starts over from them: the
   * snapshot is only ever a shortcut. Returns false when it had to.
   */
  attach(events: readonly EventEnvelope[]): boolean {
    const restored = this.restored;
    if (restored === null) throw new Error(`aggregate ${this.id} is already attached`);
    const matches = events.length === restored.size && idDigest(events) === restored.digest;
    this.restored = null;
    this.events = [...events].sort(compareEvents);
    this.cached = null;
    if (!matches) this.dirty = true;
    return matches;
  }

  private assertAttached(): void {
    if (this.restored !== null) throw new Error(`the events of restored aggregate ${this.id} are not attached yet`);
  }

  private step(e: EventEnvelope): void {
    const index = this.outcomes.length;
    if (index === 0) {
      // The first event in order fixes the aggregate's type (every replica picks the same one).
      this.aggregateType = e.aggregate.type;
      this.domain = initialDomain(e.aggregate.type);
    }
    const result = this.decide(e);
    if (result.status === 'needs_update') this.needsUpdate++;
    this.trackConcurrency(e, index);
    this.lastEventAt = Math.max(this.lastEventAt, e.at);
    // A race loser was applied when folded; now that a concurrent write beat it, say so.
    const losers = 'supersedes' in result ? result.supersedes : undefined;
    if (losers) for (const loser of losers) this.markSuperseded(loser, e.id, index);
    this.outcomes.push(result);
  }

  /** Marks an earlier event's history slot superseded. Rare (LWW races), so a scan back is fine. */
  private markSuperseded(loserId: string, winnerId: string, before: number): void {
    for (let i = before - 1; i >= 0; i--) {
      if (this.events[i]!.id !== loserId) continue;
      this.outcomes[i] = { ...this.outcomes[i]!, status: 'superseded', reason: `lost to concurrent ${winnerId}` };
      return;
    }
  }

  private decide(e: EventEnvelope): Outcome | NeedsUpdate {
    if (e.aggregate.type !== this.aggregateType) {
      return outcome('invalid', `aggregate type ${e.aggregate.type}, expected ${this.aggregateType}`);
    }
    const decoded = decodeEvent(e);
    if (decoded.status === 'invalid') return outcome('invalid', decoded.error.message);
    const expected = decoded.status === 'ok' ? aggregateTypeOf((decoded.event as DecodedEvent).type) : '*';
    if (expected !== '*' && expected !== this.aggregateType) return outcome('invalid', `${e.type} belongs to ${expected} aggregates`);
    // Only an event that can apply takes its key: an invalid one (which the server refuses,
    // so its log never holds it) must not make the valid one after it a duplicate here.
    if (e.key !== undefined) {
      const first = this.keys.get(e.key);
      if (first !== undefined) return outcome('duplicate', `key ${e.key} already used by ${first}`);
      this.keys.set(e.key, e.id);
    }
    switch (decoded.status) {
      case 'unknown_type':
        return { status: 'needs_update', reason: `unknown event type ${e.type}`, conflictId: null };
      case 'needs_update':
        return { status: 'needs_update', reason: decoded.reason, conflictId: null };
      case 'ok':
        return this.reduce(decoded.event as DecodedEvent);
      default:
        return assertNever(decoded, 'decode result');
    }
  }

  private reduce(e: DecodedEvent): Outcome {
    const d = this.domain;
    switch (d.kind) {
      case 'ticket': {
        if (!isTicketEvent(e)) return outcome('invalid', `${e.type} is not a ticket event`);
        return reduceTicket(d.state, e);
      }
      case 'menu_item': {
        if (!isMenuItemEvent(e)) return outcome('invalid', `${e.type} is not a menu item event`);
        return reduceMenuItem(d.state, e);
      }
      case 'table': {
        if (!isTableEvent(e)) return outcome('invalid', `${e.type} is not a table event`);
        return reduceTable(d.state, e);
      }
      case 'location': {
        if (!isLocationEvent(e)) return outcome('invalid', `${e.type} is not a location event`);
        return reduceLocation(d.state, e);
      }
      case 'other':
        return outcome('ignored', `aggregate type ${this.aggregateType} has no reducer in this build`);
      default:
        return assertNever(d, 'aggregate kind');
    }
  }

  /**
   * Same seq from different terminals = concurrent writes. They sit side by side in fold
   * order (events sort by seq first), so the run is the slice events[runStart..index].
   */
  private trackConcurrency(e: EventEnvelope, index: number): void {
    if (this.runSeq !== e.seq) {
      this.runSeq = e.seq;
      this.runStart = index;
      this.runMixed = false;
      return;
    }
    if (!this.runMixed) this.runMixed = e.origin.terminal !== this.events[this.runStart]!.origin.terminal;
    if (!this.runMixed) return;
    const run = this.events.slice(this.runStart, index + 1);
    const group: ConcurrentGroup = {
      seq: e.seq,
      eventIds: run.map((x) => x.id),
      terminals: [...new Set(run.map((x) => x.origin.terminal))].sort(),
    };
    const lastGroup = this.concurrent[this.concurrent.length - 1];
    if (lastGroup && lastGroup.seq === e.seq) this.concurrent[this.concurrent.length - 1] = group;
    else this.concurrent.push(group);
  }

  private historyEntries(): HistoryEntry[] {
    const out: HistoryEntry[] = new Array(this.outcomes.length);
    for (let i = 0; i < out.length; i++) {
      const e = this.events[i]!;
      const o = this.outcomes[i]!;
      out[i] = {
        eventId: e.id,
        type: e.type,
        v: e.v,
        seq: e.seq,
        at: e.at,
        terminal: e.origin.terminal,
        n: e.origin.n,
        staff: e.origin.staff ?? null,
        status: o.status,
        reason: o.reason,
        conflictId: o.conflictId,
      };
    }
    return out;
  }

  private buildView(): AggregateView {
    const base = {
      id: this.id,
      aggregateType: this.aggregateType,
      concurrent: this.concurrent.map((g) => ({ ...g, eventIds: [...g.eventIds], terminals: [...g.terminals] })),
      lastEventAt: this.lastEventAt,
      needsUpdate: this.needsUpdate,
    };
    const d = this.domain;
    switch (d.kind) {
      case 'ticket':
        return { ...base, ...ticketViewOf(d.state) };
      case 'menu_item': {
        const { lww: _lww, available, ...fields } = d.state;
        return { ...base, kind: 'menu_item', ...fields, soldOut: !available };
      }
      case 'table':
        return { ...base, kind: 'table', label: d.state.label, seats: d.state.seats, retired: d.state.retired, retiredAt: d.state.retiredAt };
      case 'location': {
        const { lww: _lww, ...fields } = d.state;
        return { ...base, kind: 'location', ...fields };
      }
      case 'other':
        return { ...base, kind: 'other' };
      default:
        return assertNever(d, 'aggregate kind');
    }
  }
}
