import type { Statement } from 'better-sqlite3';
import type { EventEnvelope } from '../../shared/events/envelope';
import { addToRanges, dropThrough, lowestRanges, type Acknowledgements } from '../../shared/log/acknowledgements';
import type { StoredAbove, Watermarks } from '../../shared/protocol/rest-events';
import type { DayWindow } from '../../shared/reports/day-takings';
import type { Db } from './database';
import type { AppendOutcome, AppendResult, CanonicalLog, ReadResult, ValidEvent } from './canonical-log';

/**
 * SQLite canonical store. better-sqlite3 is synchronous, so a batch runs as one
 * transaction without interleaving: concurrent posts of the same batch are serialised
 * and the second one sees the first one's rows (duplicates, never double inserts).
 *
 * Watermarks are kept incrementally: `watermarks` holds the contiguous high mark per
 * terminal, `watermark_gaps` the stored n above it; accepting n = mark + 1 advances the
 * mark through the gaps. Cost per event is O(1) amortised, never a scan of the log. The gaps
 * are also kept in memory as ranges per location (read once, at its first batch or question,
 * then kept by `advance`): every answer names the lowest of them (`storedAbove`), and a writer
 * stuck below an n never stored gains a gap row per event for good (OUT8).
 */
/**
 * What `ticket_ends` counts of a ticket's event (database.ts, SRV28): its opening, its ends, and
 * the resolutions that may undo one: only a `reopen` does (any other settles money or keeps
 * the end, and would keep the ticket in every report for good).
 */
function ticketEndsOf(event: EventEnvelope): { ends: number; resolutions: number } | undefined {
  if (event.aggregate.type !== 'ticket') return undefined;
  switch (event.type) {
    case 'ticket.opened':
      return { ends: 0, resolutions: 0 };
    case 'ticket.closed':
    case 'ticket.voided':
      return { ends: 1, resolutions: 0 };
    case 'conflict.resolved':
      return (event.payload as { resolution?: { kind?: unknown } }).resolution?.kind === 'reopen' ? { ends: 0, resolutions: 1 } : undefined;
    default:
      return undefined;
  }
}


/**
 * Cursors are taken from the server's clock (ms × 100, then +1 within a batch), never below the
 * last given: a database restored from a backup gives its next events cursors above every one it
 * handed out before (its `sqlite_sequence` went back with it), so a back office following the log
 * by cursor skips none of them (SRV38). 15 digits until the year 2286.
 */
const CURSORS_PER_MS = 100;
/**
 * A clock read beyond this (year 2286) is not taken: one such cursor would pass the 15 digits a
 * reader may send back, for good. Kept about 10¹⁰ ms below the last ms of 15-digit cursors: the cursors
 * going on from such a read (+1 each) stay 15 digits for the next 10¹² events, not 99.
 */
const LATEST_CURSOR_MS = 9_990_000_000_000;

export class SqliteCanonicalLog implements CanonicalLog {
  private readonly insert: Statement;
  private readonly countEnds: Statement;
  private readonly byId: Statement;
  private readonly byOrigin: Statement;
  private readonly getMark: Statement;
  private readonly setMark: Statement;
  private readonly addGap: Statement;
  private readonly takeGap: Statement;
  private readonly allMarks: Statement;
  private readonly gapsOf: Statement;
  private readonly allWriters: Statement;
  private readonly after: Statement;
  private readonly lastCursor: Statement;
  private readonly all: Statement;
  private readonly ofAggregate: Statement;
  private readonly ofWriter: Statement;
  private readonly ofTakings: Statement;
  private readonly count: Statement;
  private readonly runBatch: (location: string, events: readonly ValidEvent[], receivedAt: number) => AppendOutcome[];
  /** location → terminal → the n stored above its mark, as sorted ranges (rangesAbove). */
  private readonly above = new Map<string, Map<string, [number, number][]>>();

  constructor(db: Db) {
    this.insert = db.prepare(
      `INSERT OR IGNORE INTO events (cursor, location, id, terminal, n, aggregate_type, aggregate_id, type, at, json, received_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.countEnds = db.prepare(
      `INSERT INTO ticket_ends (location, ticket_id, ends, resolutions) VALUES (?, ?, ?, ?)
       ON CONFLICT (location, ticket_id) DO UPDATE SET ends = ends + excluded.ends, resolutions = resolutions + excluded.resolutions`,
    );
    this.byId = db.prepare('SELECT json FROM events WHERE location = ? AND id = ?').pluck();
    this.byOrigin = db.prepare('SELECT id FROM events WHERE location = ? AND terminal = ? AND n = ?').pluck();
    this.getMark = db.prepare('SELECT n FROM watermarks WHERE location = ? AND terminal = ?').pluck();
    this.setMark = db.prepare(
      `INSERT INTO watermarks (location, terminal, n) VALUES (?, ?, ?)
       ON CONFLICT(location, terminal) DO UPDATE SET n = excluded.n WHERE excluded.n > watermarks.n`,
    );
    this.addGap = db.prepare('INSERT OR IGNORE INTO watermark_gaps (location, terminal, n) VALUES (?, ?, ?)');
    this.takeGap = db.prepare('DELETE FROM watermark_gaps WHERE location = ? AND terminal = ? AND n = ?');
    this.allMarks = db.prepare('SELECT terminal, n FROM watermarks WHERE location = ?');
    this.gapsOf = db.prepare('SELECT terminal, n FROM watermark_gaps WHERE location = ? ORDER BY terminal, n');
    // A writer's stored events are at or below its mark, or gaps above it: the two small tables name them all.
    this.allWriters = db
      .prepare('SELECT terminal FROM watermarks WHERE location = ? UNION SELECT terminal FROM watermark_gaps WHERE location = ? ORDER BY terminal')
      .pluck();
    this.after = db.prepare(
      'SELECT cursor, json FROM events WHERE location = ? AND cursor > ? ORDER BY cursor LIMIT ?',
    );
    this.all = db.prepare('SELECT json FROM events WHERE location = ? ORDER BY cursor').pluck();
    // AUTOINCREMENT: the highest cursor ever given, kept in sqlite_sequence (no event is ever deleted).
    this.lastCursor = db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'events'").pluck();
    this.ofAggregate = db.prepare('SELECT json FROM events WHERE location = ? AND aggregate_id = ? ORDER BY cursor').pluck();
    this.ofWriter = db.prepare('SELECT json FROM events WHERE location = ? AND terminal = ? AND n > ? AND n <= ? ORDER BY n').pluck();
    // The tickets first, then their events by aggregate (CROSS JOIN keeps that order: the planner
    // would rather walk the location's whole log by cursor). `ticket_ends` is kept by appendOne (ticketEndsOf).
    this.ofTakings = db
      .prepare(
        `WITH chosen(id) AS (
           SELECT aggregate_id FROM events WHERE location = @location AND aggregate_type = 'ticket' AND at >= @from AND at < @to
           UNION SELECT ticket_id FROM ticket_ends INDEXED BY ticket_ends_maybe_open WHERE location = @location AND (ends = 0 OR resolutions > 0)
         )
         SELECT e.json FROM chosen CROSS JOIN events AS e ON e.location = @location AND e.aggregate_id = chosen.id ORDER BY e.cursor`,
      )
      .pluck();
    this.count = db.prepare('SELECT COUNT(*) FROM events WHERE location = ?').pluck();
    this.runBatch = db.transaction((location: string, events: readonly ValidEvent[], receivedAt: number) => {
      const accepted = new Map<string, number[]>();
      const fromClock = Math.floor(Math.min(receivedAt, LATEST_CURSOR_MS)) * CURSORS_PER_MS;
      const cursors = { next: Math.max(((this.lastCursor.get() as number | undefined) ?? 0) + 1, fromClock) };
      const outcomes = events.map((e) => this.appendOne(location, e, receivedAt, accepted, cursors));
      for (const [terminal, ns] of accepted) this.advance(location, terminal, ns);
      return outcomes;
    });
  }

  async appendBatch(location: string, events: readonly ValidEvent[], receivedAt: number): Promise<AppendResult> {
    // Read before the batch's gaps are written: `advance` adds those.
    this.rangesAbove(location);
    let outcomes: AppendOutcome[];
    try {
      outcomes = this.runBatch(location, events, receivedAt);
    } catch (err) {
      // Rolled back: the ranges `advance` kept may name what was not stored.
      this.above.delete(location);
      throw err;
    }
    return { outcomes, watermarks: this.readMarks(location), storedAbove: this.storedAbove(location) };
  }

  async storedJson(location: string, ids: readonly string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const id of ids) {
      const json = this.byId.get(location, id) as string | undefined;
      if (json !== undefined) out.set(id, json);
    }
    return out;
  }

  async readAfter(location: string, cursor: number, limit: number): Promise<ReadResult> {
    // One extra row tells whether another page exists without a COUNT.
    const rows = this.after.all(location, cursor, limit + 1) as { cursor: number; json: string }[];
    return { events: rows.slice(0, limit), hasMore: rows.length > limit, lastCursor: (this.lastCursor.get() as number | undefined) ?? 0 };
  }

  async readAll(location: string): Promise<string[]> {
    return this.all.all(location) as string[];
  }

  async readWriter(location: string, terminal: string, after: number, upTo: number): Promise<string[]> {
    return this.ofWriter.all(location, terminal, after, upTo) as string[];
  }

  async readAggregate(location: string, aggregateId: string): Promise<string[]> {
    return this.ofAggregate.all(location, aggregateId) as string[];
  }

  async readTakingsTickets(location: string, window: DayWindow): Promise<string[]> {
    return this.ofTakings.all({ location, from: window.from, to: window.to }) as string[];
  }

  async watermarks(location: string): Promise<Watermarks> {
    return this.readMarks(location);
  }

  async acknowledgements(location: string): Promise<Acknowledgements> {
    return { marks: this.readMarks(location), above: this.storedAbove(location) };
  }

  async writers(location: string): Promise<string[]> {
    return this.allWriters.all(location, location) as string[];
  }

  async countEvents(location: string): Promise<number> {
    return this.count.get(location) as number;
  }

  close(): void {
    // The database handle is owned by whoever opened it (shared with the room store).
  }

  private appendOne(
    location: string,
    { event, canonical }: ValidEvent,
    receivedAt: number,
    accepted: Map<string, number[]>,
    cursors: { next: number },
  ): AppendOutcome {
    const { terminal, n } = event.origin;
    const info = this.insert.run(
      cursors.next,
      location,
      event.id,
      terminal,
      n,
      event.aggregate.type,
      event.aggregate.id,
      event.type,
      event.at,
      canonical,
      receivedAt,
    );
    if (info.changes === 1) {
      cursors.next++;
      const ends = ticketEndsOf(event);
      if (ends !== undefined) this.countEnds.run(location, event.aggregate.id, ends.ends, ends.resolutions);
      const ns = accepted.get(terminal);
      if (ns === undefined) accepted.set(terminal, [n]);
      else ns.push(n);
      return { id: event.id, status: 'accepted' };
    }
    const stored = this.byId.get(location, event.id) as string | undefined;
    if (stored !== undefined) {
      return stored === canonical
        ? { id: event.id, status: 'duplicate' }
        : {
            id: event.id,
            status: 'rejected',
            field: 'id',
            reason: 'id already stored with different content (events are never edited)',
          };
    }
    const holder = this.byOrigin.get(location, terminal, n) as string | undefined;
    return {
      id: event.id,
      status: 'rejected',
      field: 'origin.n',
      reason: `origin ${terminal}#${n} already belongs to event ${holder ?? '?'}`,
    };
  }

  /**
   * Advances one terminal's mark by the n this batch stored (once per terminal per batch:
   * one read and at most one write of the mark, instead of per event). In ascending order,
   * n = mark + 1 advances the mark and then through the stored gaps; any other n is a gap.
   * A gap skipped here can never be reached later in the same pass (the mark moves by one
   * step at a time, through stored n only), so recording it at once is exact. For the same
   * reason only gaps stored by earlier batches can extend the mark: when the terminal has
   * none (the usual case: a terminal uploads in order), no n is looked up in the gaps at all
   * (that lookup, one DELETE per accepted event, was a quarter of the batch's SQLite time).
   */
  private advance(location: string, terminal: string, accepted: number[]): void {
    const before = (this.getMark.get(location, terminal) as number | undefined) ?? 0;
    const byLocation = this.rangesAbove(location);
    let ranges = byLocation.get(terminal);
    const hadGaps = ranges !== undefined;
    let mark = before;
    for (const n of accepted.sort((a, b) => a - b)) {
      // n <= mark cannot happen: (terminal, n) is unique and every n <= mark is stored.
      if (n !== mark + 1) {
        this.addGap.run(location, terminal, n);
        if (ranges === undefined) byLocation.set(terminal, (ranges = []));
        addToRanges(ranges, n);
        continue;
      }
      mark = n;
      if (hadGaps) while (this.takeGap.run(location, terminal, mark + 1).changes === 1) mark += 1;
    }
    if (mark > before) this.setMark.run(location, terminal, mark);
    if (ranges !== undefined && mark > before) {
      dropThrough(ranges, mark);
      if (ranges.length === 0) byLocation.delete(terminal);
    }
  }

  /** The location's ranges above the marks, read from `watermark_gaps` at its first use. */
  private rangesAbove(location: string): Map<string, [number, number][]> {
    let byTerminal = this.above.get(location);
    if (byTerminal !== undefined) return byTerminal;
    byTerminal = new Map();
    for (const { terminal, n } of this.gapsOf.iterate(location) as IterableIterator<{ terminal: string; n: number }>) {
      let ranges = byTerminal.get(terminal);
      if (ranges === undefined) byTerminal.set(terminal, (ranges = []));
      addToRanges(ranges, n);
    }
    this.above.set(location, byTerminal);
    return byTerminal;
  }

  private storedAbove(location: string): StoredAbove {
    return Object.fromEntries([...this.rangesAbove(location)].map(([terminal, ranges]) => [terminal, lowestRanges(ranges)]));
  }

  private readMarks(location: string): Watermarks {
    const out: Watermarks = {};
    for (const row of this.allMarks.all(location) as { terminal: string; n: number }[]) out[row.terminal] = row.n;
    return out;
  }
}
