import type { EventEnvelope } from '../../shared/events/envelope';
import type { Acknowledgements } from '../../shared/log/acknowledgements';
import type { StoredAbove, Watermarks } from '../../shared/protocol/rest-events';
import type { DayWindow } from '../../shared/reports/day-takings';

/**
 * The canonical, append-only event log of every location. Implementations: SQLite
 * (single process, the default); PostgreSQL later for scale-out, behind the same interface.
 *
 * Invariants every implementation keeps:
 *  - an event id is stored at most once per location; re-storing the same canonical JSON
 *    is a `duplicate`, different JSON under a stored id is `rejected` and changes nothing;
 *  - (origin.terminal, origin.n) is unique per location: a second event claiming a stored
 *    origin is `rejected`, so watermarks always describe real, distinct events;
 *  - a batch is one transaction: all its accepted events and the watermarks they move are
 *    stored together or not at all;
 *  - a watermark is the highest n such that 1..n of that terminal are all stored; it only grows;
 *  - `storedAbove` names the n stored above it, as ranges, the lowest MAX_RANGES_ABOVE per terminal.
 */
export interface CanonicalLog {
  appendBatch(location: string, events: readonly ValidEvent[], receivedAt: number): Promise<AppendResult>;
  /** The stored (canonical) JSON of those of `ids` the location holds, by id. */
  storedJson(location: string, ids: readonly string[]): Promise<Map<string, string>>;
  /** Events after `cursor` (exclusive), oldest first. */
  readAfter(location: string, cursor: number, limit: number): Promise<ReadResult>;
  /** Every event JSON of a location, oldest first (a whole-log check; no request reads it: SRV28). */
  readAll(location: string): Promise<string[]>;
  /** The event JSON of one writer with after < origin.n <= upTo, by n. */
  readWriter(location: string, terminal: string, after: number, upTo: number): Promise<string[]>;
  /** Every event JSON of one aggregate of the location, oldest first (to fold it). */
  readAggregate(location: string, aggregateId: string): Promise<string[]>;
  /**
   * Every event JSON, oldest first, of the tickets a takings report of `window` may count
   * (dayTakings): those with an event whose `at` is in the window (a close, a void, a comp, a
   * payment or a refund in it has one), and those that may be open now (no close or void
   * stored, or a conflict resolved since, which can reopen). Never the location's other tickets.
   */
  readTakingsTickets(location: string, window: DayWindow): Promise<string[]>;
  watermarks(location: string): Promise<Watermarks>;
  /** The watermarks, and what is stored above them (cheap when nothing is: every answer carries it). */
  acknowledgements(location: string): Promise<Acknowledgements>;
  /** Every writer (origin.terminal) the location holds an event of, with a watermark or not. */
  writers(location: string): Promise<string[]>;
  countEvents(location: string): Promise<number>;
  close(): void;
}

export interface ValidEvent {
  event: EventEnvelope;
  /** canonicalEventJson(event): what is stored and compared. */
  canonical: string;
}

export type AppendOutcome =
  | { id: string; status: 'accepted' }
  | { id: string; status: 'duplicate' }
  | { id: string; status: 'rejected'; reason: string; field: string };

export interface AppendResult {
  /** One outcome per input event, same order. */
  outcomes: AppendOutcome[];
  /** The location's watermarks after the batch. */
  watermarks: Watermarks;
  /** What the location stores above them after the batch. */
  storedAbove: StoredAbove;
}

export interface StoredEvent {
  cursor: number;
  json: string;
}

export interface ReadResult {
  events: StoredEvent[];
  hasMore: boolean;
  /** The highest cursor this log ever gave (any location; 0 for none): a cursor above it is not this log's. */
  lastCursor: number;
}
