import { parseEnvelope, type EventEnvelope } from '../../shared/events/envelope';
import type { CheckpointRecord, LocationProjection } from '../../shared/projection/location-projection';
import { MAX_ENTRY_LENGTH, aggregateIdOf, parseEntry } from '../../shared/log/event-head';
import { MAX_JSON_DEPTH, nestsDeeperThan } from '../../shared/json-depth';
import type { StoredCheckpoint } from './idb-persistence';

/** What a reading fills: the store's projection, its own indexes, its listeners. */
export interface LogReadingTarget {
  readonly projection: LocationProjection;
  /** Parses stored entries, listing the unreadable ones. */
  parse(jsons: readonly string[]): EventEnvelope[];
  /** Adds one restored event to the store's own indexes (the projection keeps its own). */
  index(e: EventEnvelope, heldAt: number): void;
  /** Tells listeners that these aggregates' views changed. */
  viewsChanged(aggregates: ReadonlySet<string>): void;
}

/** The events behind a restored checkpoint, read in slices: parsed, attached to their folds, indexed. */
export class LogReading {
  private parsed = 0;
  private attached = 0;
  private indexed = 0;
  /** The checkpoint's settled aggregates: still decompressing, restored, or folded from events instead. */
  settled: 'pending' | 'restored' | 'skipped' = 'pending';
  private settledDone?: () => void;
  /** Each event once (a doc may hold two copies: the server bridges uploads into the room). */
  private readonly events: EventEnvelope[] = [];
  private readonly seen = new Set<string>();
  private readonly byAggregate = new Map<string, EventEnvelope[]>();
  private groupList: [string, EventEnvelope[]][] | null = null;
  /** Aggregates whose view changed (refolded, new or gone): listeners hear of them at the end. */
  readonly changed = new Set<string>();
  /** Log additions observed meanwhile, ingested after. */
  readonly arrived: { jsons: string[]; origin: unknown }[] = [];
  done?: () => void;

  constructor(
    private readonly jsons: readonly string[],
    /** When this replica is taken to have first held the restored events of other writers. */
    private readonly heldAt: number,
    private readonly target: LogReadingTarget,
  ) {}

  /**
   * Restores the projection from the checkpoint's records, except the aggregates of the
   * events it does not know (`late`: written in its last seconds, or arrived since): those
   * are folded from all their events now.
   */
  restoreCheckpoint(records: readonly CheckpointRecord[], late: readonly string[]): void {
    const touched = new Set<string>();
    for (const json of late) {
      const id = aggregateIdOf(json);
      if (id !== null) touched.add(id);
    }
    this.target.projection.restore(records.filter((r) => !touched.has(r.id)));
    if (touched.size === 0) return;
    const theirs: EventEnvelope[] = [];
    for (const json of this.jsons) {
      const id = aggregateIdOf(json);
      if (id === null || !touched.has(id)) continue;
      const event = parseStoredEvent(json);
      if (typeof event !== 'string') theirs.push(event);
    }
    // Into the projection only: the reading indexes every event, these included, and
    // every reader of the indexes (append, the outbox) has the reading finished first.
    this.target.projection.apply(theirs);
    for (const id of touched) this.changed.add(id);
  }

  /** Restores the checkpoint's settled aggregates once the page is idle; resolves once restored or skipped. */
  restoreSettledWhenIdle(settled: NonNullable<StoredCheckpoint['settled']>): Promise<void> {
    return new Promise<void>((resolve) => {
      this.settledDone = resolve;
      whenIdle(() => void settled().then((records) => this.restoreSettled(records)));
    });
  }

  /**
   * Works through the restored log for about `budgetMs`: parse every event, then hand
   * the restored folds theirs, then index them. Returns whether it is done.
   */
  readFor(budgetMs: number): boolean {
    const until = performance.now() + budgetMs;
    const step = 500;
    while (performance.now() < until) {
      if (this.parsed < this.jsons.length) {
        const end = Math.min(this.jsons.length, this.parsed + step);
        for (const e of this.target.parse(this.jsons.slice(this.parsed, end))) this.add(e);
        this.parsed = end;
      } else if (this.attached < this.groups.length) {
        this.skipSettled();
        const end = Math.min(this.groups.length, this.attached + step / 10);
        for (const id of this.target.projection.attach(this.groups.slice(this.attached, end))) this.changed.add(id);
        this.attached = end;
      } else if (this.indexed < this.events.length) {
        const end = Math.min(this.events.length, this.indexed + step);
        for (let i = this.indexed; i < end; i++) this.target.index(this.events[i]!, this.heldAt);
        this.indexed = end;
      } else {
        return true;
      }
    }
    return false;
  }

  /**
   * The settled aggregates of the restored checkpoint, decompressed after the first screen.
   * Too late if the events were attached meanwhile (something needed them all): they were
   * folded from their events then.
   */
  private restoreSettled(records: CheckpointRecord[] | null): void {
    if (this.settled !== 'pending') return;
    this.settled = 'restored';
    const ids = this.target.projection.restore(records ?? []);
    if (ids.length > 0) this.target.viewsChanged(new Set(ids));
    this.settledDone?.();
  }

  /** Attaching starts without the settled aggregates' folds: they are folded from their events. */
  skipSettled(): void {
    if (this.settled !== 'pending') return;
    this.settled = 'skipped';
    this.settledDone?.();
  }

  private add(e: EventEnvelope): void {
    if (this.seen.has(e.id)) return;
    this.seen.add(e.id);
    this.events.push(e);
    const list = this.byAggregate.get(e.aggregate.id);
    if (list) list.push(e);
    else this.byAggregate.set(e.aggregate.id, [e]);
  }

  /** The events by aggregate, once all are parsed. */
  private get groups(): readonly [string, EventEnvelope[]][] {
    this.groupList ??= [...this.byAggregate];
    return this.groupList;
  }
}

/** Parses one stored entry; returns the reason as a string when it is not a valid envelope. */
export function parseStoredEvent(json: string): EventEnvelope | string {
  // An entry longer than any event is not parsed at all: its parse could block the till for seconds (SRV31).
  const raw = parseEntry(json);
  if (raw === undefined) {
    if (json.length > MAX_ENTRY_LENGTH) return `too long to be an event (${json.length} characters)`;
    return nestsDeeperThan(json, MAX_JSON_DEPTH) ? `nested deeper than ${MAX_JSON_DEPTH} levels` : 'not JSON';
  }
  const parsed = parseEnvelope(raw);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  return `invalid envelope: ${issue ? `${issue.path.join('.')}: ${issue.message}` : 'unknown'}`;
}

/** Runs `fn` when the page is idle (after it has rendered), or soon where there is no such notion. */
export function whenIdle(fn: () => void): void {
  if (typeof requestIdleCallback === 'function') requestIdleCallback(fn, { timeout: 500 });
  else setTimeout(fn, 0);
}
