import * as Y from 'yjs';
import { parseEnvelope, type AggregateRef, type EventEnvelope } from '../../shared/events/envelope';
import { newEventId } from '../../shared/events/event-id';
import { EventValidationError, validatePayload } from '../../shared/events/catalog';
import { CLOCK_BOUND_MS, HybridClock } from '../../shared/clock/hybrid-clock';
import { LocationProjection, type AggregateView } from '../../shared/projection/location-projection';
import { isRegisterWrite } from '../../shared/projection/merge-policy';
import type { HistoryEntry } from '../../shared/projection/views';
import { acknowledges, storedAboveOf, type Acknowledgements } from '../../shared/log/acknowledgements';
import { SegmentWriter, ackRangesOf, acksOf, compactedOf, numberedOf, observeLog, readAllEventJson } from '../../shared/log/log-doc';
import { parseTicketNumber } from '../../shared/domain/ticket-number';
import { eventIdOf } from '../../shared/log/event-head';
import { applyCompaction, planCompaction, type CompactionResult } from '../../shared/compaction/compaction-plan';
import { DEFAULT_RETENTION, type RetentionPolicy } from '../../shared/compaction/retention-policy';
import { COMPACTION, LOCAL, originKind, type TransactionOrigin } from './origins';
import type { StoredCheckpoint } from './idb-persistence';
import { CheckpointWriter } from './checkpoint-writer';
import { StorePersistence, describe, type PersistenceState } from './store-persistence';
import { TabChannel } from './tab-channel';
import { acquireWriterLease, WriterLostError, type WriterLease } from './writer-lease';
import { ClockSuspects } from './clock-suspects';
import { HeldEvents } from './held-events';
import { LogReading, parseStoredEvent, whenIdle } from './log-reading';
import { NotSavedError } from './storage-errors';

export type { PersistenceState } from './store-persistence';

export interface EventStoreOptions {
  location: string;
  /** The device's writer id (Pairing.writer), which is not always its terminal id: see EventStore.terminal. */
  terminal: string;
  /** 'memory' skips IndexedDB (benchmarks, tests); default tries IndexedDB. */
  persistence?: 'indexeddb' | 'memory';
  /** Sync with other tabs of this terminal over BroadcastChannel (default: in browsers). */
  crossTab?: boolean;
  clock?: HybridClock;
  /**
   * An event stamped further than this ahead of our (server-corrected) time is listed in
   * `clockSuspects` for review, and our clock does not follow it (default 5 min).
   */
  clockBoundMs?: number;
  /** Wall clock for bookkeeping (when an event was first held); injectable for tests. */
  now?: () => number;
  /** How many events a compaction removed are remembered at most (REMOVED_MAX; whole aggregates kept). */
  removedRememberedMax?: number;
  /**
   * What compaction keeps when no run names a policy (a full disk compacts by itself): the
   * device's business days (DEVICE_RETENTION); default days ending 04:00 UTC.
   */
  retention?: RetentionPolicy;
}

/** Time one slice of background event reading may take before yielding to the page. */
const INDEX_SLICE_MS = 12;
/**
 * How long events a compaction removed (this tab's, another tab's, or another device's followed
 * here) are remembered, in case the server turns out to have forgotten what it acknowledged
 * (writeBackRemovedUnacknowledged): a till cut off through a restore compacts on the old
 * server's word and learns of it when it reaches the server again, hours later maybe; and how
 * many at most (the latest removals', whole aggregates), held in memory only: a reload forgets them.
 */
const REMOVED_KEPT_MS = 24 * 60 * 60_000;
const REMOVED_MAX = 20_000;

export interface AppendOptions {
  aggregate: AggregateRef;
  key?: string;
  staff?: string;
}

export interface StoreChange {
  aggregates: ReadonlySet<string>;
  events: readonly EventEnvelope[];
  origin: TransactionOrigin['kind'] | 'remote';
}

export interface CompactionReport {
  at: number;
  aggregates: number;
  events: number;
  /** Tombstones dropped, TOMBSTONE_KEPT_MS after their compaction (CMP8). */
  tombstones: number;
  /** IndexedDB bytes (null in memory mode) and Yjs state bytes, before and after. */
  storedBytesBefore: number | null;
  storedBytesAfter: number | null;
  stateBytesBefore: number;
  stateBytesAfter: number;
}

/** An entry of the doc that is not a valid event envelope: kept in the doc, listed here. */
export interface UnreadableEntry {
  json: string;
  reason: string;
}

/**
 * The terminal's event log: one Y.Doc per location, persisted in IndexedDB (StorePersistence).
 *
 * Data path: append → validate → stamp (id, seq, at, origin) → HeldEvents (which the
 * outbox reads) and the projection, which re-folds the touched aggregate → listeners; at
 * the end of the task, every event appended in it is written into this writer's segment in
 * one transaction (`local` origin) → resolve once IndexedDB has committed. Events arriving
 * from the relay, from other tabs or from disk take the same ingest path from the doc
 * observer; ClockSuspects judges their stamps.
 *
 * Cold load: when IndexedDB holds a projection checkpoint of this doc — the stored doc
 * itself (same state vector), or an earlier state of it with no compaction since, whose
 * late events' aggregates are refolded ('caught-up', CheckpointWriter.eventsSince) — the
 * views come from it and the events are read afterwards, in slices (`indexed`); anything
 * that needs them before that reads the rest at once. Otherwise every event is read and
 * folded during open, and a checkpoint is written soon after.
 */
export class EventStore {
  readonly doc: Y.Doc;
  readonly projection = new LocationProjection();
  readonly unreadable: UnreadableEntry[] = [];
  private readonly writerSegments: SegmentWriter;
  /** The events held, by writer, key and when first held: what append and the outbox read. */
  private readonly held: HeldEvents;
  private readonly suspects: ClockSuspects;
  private readonly listeners = new Set<(change: StoreChange) => void>();
  /** IndexedDB and the projection checkpoint, or memory: see `persistence`. */
  private readonly storage: StorePersistence;
  /** What the server acknowledges, as sync knows it (see useAcknowledgements); null: the doc's. */
  private acknowledgementSource: (() => Acknowledgements) | null = null;
  /** Events a compaction (this tab's, another tab's or another device's) removed here lately, by id: see writeBackRemovedUnacknowledged. */
  private readonly removedLately = new Map<string, { json: string; aggregate: string; terminal: string; n: number; at: number }>();
  private tabs: TabChannel | null = null;
  private stopObserving: () => void = () => {};
  /** Set while the events behind a restored checkpoint are still being read. */
  private reading: LogReading | null = null;
  /** Resolves once every event held is read and indexed (at once unless restored from a checkpoint). */
  indexed: Promise<void> = Promise.resolve();
  /**
   * Resolves once every view is readable: at once, or, restored from a checkpoint, once its
   * settled aggregates are restored too (or, needed sooner, folded from their events).
   */
  restored: Promise<void> = Promise.resolve();
  /** JSON of the events appended in this task, not yet in the doc (see writeAppended). */
  private unwritten: string[] = [];
  /** Highest origin.n among `unwritten`. */
  private unwrittenUpTo = 0;
  /** Settles once the events appended so far are in the doc. */
  private written: Promise<void> = Promise.resolve();
  /** Set by close(): settles once the last writes are on disk. */
  private closing: Promise<void> | null = null;

  private constructor(
    readonly location: string,
    /**
     * The device's writer id (Pairing.writer, given as EventStoreOptions.terminal): the terminal
     * id, or a fresh `${terminal}.r…` for a re-paired device. Its tabs write as `writer`s of it
     * (`.k`, see acquireWriterLease).
     */
    readonly terminal: string,
    private readonly lease: WriterLease,
    readonly clock: HybridClock,
    clockBoundMs: number,
    private readonly now: () => number,
    private readonly retention: RetentionPolicy,
    private readonly removedMax: number,
  ) {
    this.doc = new Y.Doc({ gc: true });
    this.writerSegments = new SegmentWriter(this.doc, lease.writer);
    this.held = new HeldEvents(lease.writer);
    this.suspects = new ClockSuspects(location, clock, clockBoundMs);
    this.storage = new StorePersistence(
      () => this.compact({ rewriteLog: true }),
      () => this.notify({ aggregates: new Set(), events: [], origin: 'persistence' }),
    );
  }

  /** Opens the location's log: takes a writer slot, loads from IndexedDB, joins other tabs. */
  static async open(options: EventStoreOptions): Promise<EventStore> {
    const crossTab = options.crossTab ?? typeof window !== 'undefined';
    const lease = await acquireWriterLease(options.location, options.terminal, { crossTab });
    const store = new EventStore(
      options.location,
      options.terminal,
      lease,
      options.clock ?? new HybridClock(),
      options.clockBoundMs ?? CLOCK_BOUND_MS,
      options.now ?? (() => Date.now()),
      options.retention ?? DEFAULT_RETENTION,
      options.removedRememberedMax ?? REMOVED_MAX,
    );
    if (options.persistence !== 'memory') {
      const ready = (): boolean => store.reading === null && store.unwritten.length === 0;
      await store.storage.open(`rms:${options.location}`, store.doc, store.projection, store.clock, ready);
    } else store.storage.state = { mode: 'memory', reason: 'memory persistence requested' };
    store.readLoadedLog(store.storage.takeCheckpoint());
    store.stopObserving = observeLog(store.doc, {
      onAdded: (jsons, origin) => store.onLogAdded(jsons, origin),
      onRemoved: (jsons, origin) => store.onLogRemoved(jsons, originKind(origin)),
      // The store's own writes are ingested by append itself, without re-parsing.
      ignoreOrigins: [LOCAL],
    });
    if (crossTab && typeof BroadcastChannel !== 'undefined') {
      store.tabs = new TabChannel(`rms:${options.location}:${options.terminal}`, store.doc);
    }
    return store;
  }

  /** This tab's writer id (origin.terminal of the events it writes). */
  get writer(): string {
    return this.lease.writer;
  }

  /** Where the log is kept: IndexedDB (and whether the browser keeps it for good), or memory and why. */
  get persistence(): PersistenceState {
    return this.storage.state;
  }

  /** Events stamped implausibly far in the future: shown for review, not followed by our clock (SYN10). */
  get clockSuspects(): readonly EventEnvelope[] {
    return this.suspects.events;
  }

  /** The clock knows the server's time now (again): see ClockSuspects.calibrated. */
  clockCalibrated(): void {
    const before = this.clock.peek();
    // What it holds: an event not read yet was never followed.
    this.suspects.calibrated(() => [...this.held.byWriter().values()].flat());
    // A checkpoint taken before keeps the stamps followed ahead: a reload, uncalibrated, would follow them again.
    if (this.clock.peek() < before) this.storage.scheduleCheckpoint();
  }

  /**
   * Validates, stamps and writes one event. Readable at once (`getByAggregate`, views)
   * and resolved once durable. The same `key` twice returns the first event, writing nothing.
   */
  async append(type: string, payload: unknown, options: AppendOptions): Promise<EventEnvelope> {
    // After close nothing records the doc: an append would resolve unsaved (STO20).
    if (this.closing !== null) throw new Error(`The event log of ${this.location} is closed: the change was not saved`);
    this.readRemainingLog();
    const existing = options.key === undefined ? undefined : this.held.firstWithKey(options.key);
    if (existing) return this.saved(existing);
    const event = this.stamp(type, payload, options);
    this.queueWrite(event);
    this.ingest([event], 'local');
    return this.saved(event);
  }

  /** `event` once it is on disk; if it cannot be, it is written all the same (held and synced) and the caller learns which. */
  private async saved(event: EventEnvelope): Promise<EventEnvelope> {
    try {
      await this.durable();
    } catch (err) {
      throw err instanceof NotSavedError ? err.of(event) : new NotSavedError(describe(err), event);
    }
    return event;
  }

  getByAggregate(aggregateId: string): readonly EventEnvelope[] {
    this.readRemainingLog();
    return this.projection.eventsOf(aggregateId);
  }

  /** Every event of the aggregate with what the fold did with it (audit history). */
  history(aggregateId: string): HistoryEntry[] {
    this.readRemainingLog();
    return this.projection.historyOf(aggregateId);
  }

  /**
   * The aggregate's view; undefined once it was compacted away (archived). Right after a
   * restore from a checkpoint, settled aggregates (closed tickets) follow the others:
   * `partial` answers without them meanwhile (a change is reported when they arrive),
   * otherwise the rest of the log is read now.
   */
  view(aggregateId: string, options: { partial?: boolean } = {}): AggregateView | undefined {
    if (this.isArchived(aggregateId)) return undefined;
    const view = this.projection.get(aggregateId);
    if (view !== undefined || options.partial === true || this.reading?.settled !== 'pending') return view;
    this.readRemainingLog();
    return this.projection.get(aggregateId);
  }

  /** Every view (of one aggregate type if given); `partial` as for `view`. */
  views(type?: string, options: { partial?: boolean } = {}): AggregateView[] {
    if (options.partial !== true && this.reading?.settled === 'pending') this.readRemainingLog();
    const archived = compactedOf(this.doc);
    return this.projection.all(type).filter((v) => !archived.has(v.id));
  }

  isArchived(aggregateId: string): boolean {
    return compactedOf(this.doc).has(aggregateId);
  }

  /**
   * Events held for aggregates this device archived: late ones (a refund or a change a till
   * wrote offline, not yet knowing of the compaction). The views leave them out, as their
   * aggregate's earlier events are gone here; the server's log has the whole of it.
   */
  lateOnArchived(): EventEnvelope[] {
    this.readRemainingLog();
    const out: EventEnvelope[] = [];
    for (const id of compactedOf(this.doc).keys()) out.push(...this.projection.eventsOf(id));
    return out;
  }

  /** Ticket numbers of archived tickets (and, per label, the highest of those whose tombstones ended): never handed out again. */
  archivedTicketNumbers(): string[] {
    const out: string[] = [];
    for (const stone of compactedOf(this.doc).values()) if (stone.number) out.push(stone.number);
    for (const [key, k] of numberedOf(this.doc)) {
      const number = `${key.slice(0, key.indexOf('/'))}-${String(k).padStart(3, '0')}`;
      // Only what a number can be: a faulty replica's entry must not stop tickets opening.
      if (parseTicketNumber(number) !== undefined) out.push(number);
    }
    return out;
  }

  /**
   * What every compaction judges "acknowledged" by when its run names none — the scheduled
   * ones and a full disk's alike: sync's (the doc's `acks` and `ackRanges` with upload answers,
   * less acks it found stale after a server restore, SYN20). Without a source, the doc's,
   * which would let a full disk delete events the restored server lacks.
   */
  useAcknowledgements(source: () => Acknowledgements): void {
    this.acknowledgementSource = source;
  }

  /**
   * Removes closed, acknowledged, old aggregates (see shared/compaction/retention-policy.ts)
   * from the doc, then rewrites IndexedDB as one state update so the stored bytes shrink.
   * `acknowledgements`: what the server acknowledges; without it, the source given to useAcknowledgements.
   */
  async compact(
    options: {
      now?: number;
      policy?: RetentionPolicy;
      acknowledgements?: Acknowledgements;
      /** Rewrite the IndexedDB log even if nothing was compacted (it still merges it). */
      rewriteLog?: boolean;
    } = {},
  ): Promise<CompactionReport> {
    this.readRemainingLog();
    this.writeAppended();
    // Server-corrected time, as the events are stamped and the retention reads them.
    const at = options.now ?? this.clock.physicalNow();
    // The stored figures include the checkpoint: bring it up to date first, so before and after compare alike.
    await this.storage.flushCheckpoint();
    // Read once flushed: what sync believes may have changed meanwhile (a stale ack found, SYN20).
    const acks = options.acknowledgements ?? this.acknowledgementSource?.() ?? {
      marks: acksOf(this.doc).toJSON() as Record<string, number>,
      above: storedAboveOf(ackRangesOf(this.doc).entries()),
    };
    const storedBytesBefore = this.storedBytes();
    const stateBytesBefore = Y.encodeStateAsUpdate(this.doc).byteLength;
    const plan = planCompaction(this.projection, acks, new Map(compactedOf(this.doc).entries()), at, options.policy ?? this.retention);
    let result: CompactionResult = { aggregates: 0, events: 0, tombstones: 0 };
    const changes = plan.aggregates.length > 0 || plan.expired.length > 0;
    if (changes) {
      this.doc.transact(() => {
        result = applyCompaction(this.doc, plan, this.writer, at);
      }, COMPACTION);
    }
    if (changes || options.rewriteLog === true) {
      await this.storage.rewriteLog();
      // The checkpoint drops the archived aggregates now too, rather than in a moment
      // (failing only costs speed, see CheckpointWriter).
      await this.storage.flushCheckpoint();
    }
    return {
      at,
      ...result,
      storedBytesBefore,
      storedBytesAfter: this.storedBytes(),
      stateBytesBefore,
      stateBytesAfter: Y.encodeStateAsUpdate(this.doc).byteLength,
    };
  }

  /** Events held per writer (origin.terminal), each list sorted by origin.n. */
  eventsByWriter(): ReadonlyMap<string, readonly EventEnvelope[]> {
    this.readRemainingLog();
    return this.held.byWriter();
  }

  /** When this replica first held an event (0 for its own: held since written). */
  firstHeldAt(eventId: string): number {
    this.readRemainingLog();
    return this.held.firstHeldAt(eventId);
  }

  /** False while events behind a restored checkpoint are still being read (see `indexed`). */
  get isIndexed(): boolean {
    return this.reading === null;
  }

  subscribe(listener: (change: StoreChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private notify(change: StoreChange): void {
    for (const listener of this.listeners) listener(change);
  }

  /** Resolves once everything written so far is committed to IndexedDB (at once in memory mode). */
  durable(): Promise<void> {
    return this.storage.durable(this.written);
  }

  storedBytes(): number | null {
    return this.storage.storedBytes();
  }

  /** Closes the store; resolves once its last writes (log and checkpoint) are on disk. */
  close(): Promise<void> {
    this.closing ??= this.closeNow();
    return this.closing;
  }

  private closeNow(): Promise<void> {
    this.writeAppended();
    // Taken now and queued before the database closes, which waits for it.
    void this.storage.flushCheckpoint();
    this.reading?.skipSettled();
    this.reading = null;
    this.stopObserving();
    this.tabs?.close();
    const closed = this.storage.close();
    // The writer slot is freed only once the last writes are on disk (STO17): a store that
    // took it before loaded the log without them and reused their origin.n.
    this.lease.release(closed);
    this.doc.destroy();
    return closed;
  }

  private stamp(type: string, payload: unknown, options: AppendOptions): EventEnvelope {
    if (!this.lease.held()) throw new WriterLostError(this.writer);
    const { v, payload: valid } = validatePayload(type, payload);
    // Held events are in (seq, …) order, so the last one carries the highest seq.
    const seq = this.projection.lastSeqOf(options.aggregate.id) + 1;
    // Compaction may have removed our newest events, but only acknowledged ones: the
    // server's watermark for us covers them.
    const n = Math.max(this.held.lastN(this.writer), this.lease.reserved(), acksOf(this.doc).get(this.writer) ?? 0) + 1;
    const register = isRegisterWrite(type);
    const at = register ? this.registerStamp(options.aggregate.id) : this.clock.now();
    const event: EventEnvelope = {
      id: newEventId(at),
      seq,
      at,
      type,
      v,
      aggregate: { id: options.aggregate.id, type: options.aggregate.type },
      origin: options.staff === undefined ? { terminal: this.writer, n } : { terminal: this.writer, n, staff: options.staff },
      payload: valid,
    };
    if (options.key !== undefined) event.key = options.key;
    // What came from the options (aggregate, key, staff) and the counters, as every replica
    // and the server check them: an envelope they refuse would be shown here, then lost.
    const checked = parseEnvelope(event);
    if (!checked.success) {
      throw new EventValidationError(`${type} envelope`, checked.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })));
    }
    // Lifted beyond the bound, it must stay unfollowed after a reload too (SYN10).
    if (register) this.suspects.judgeOwn(event);
    return event;
  }

  /**
   * An LWW write's stamp: above every event held of its aggregate, so a write made after seeing
   * another wins (SYN8) even over one stamped ahead of server time that the clock does not
   * follow (a suspect, or our own stamps capped at calibration). The clock itself does not
   * move there; state-machine events keep its stamp (a close's `at` is its sale's business day).
   */
  private registerStamp(aggregateId: string): number {
    let at = this.clock.now();
    for (const e of this.projection.eventsOf(aggregateId)) if (e.at >= at) at = e.at + 1;
    return at;
  }

  /** Queues the event for writeAppended at the end of this task. */
  private queueWrite(event: EventEnvelope): void {
    if (this.unwritten.length === 0) {
      this.written = new Promise<void>((resolve, reject) =>
        queueMicrotask(() => {
          try {
            this.writeAppended();
            resolve();
          } catch (err) {
            reject(err instanceof Error ? err : new Error(String(err)));
          }
        }),
      );
    }
    this.unwritten.push(JSON.stringify(event));
    this.unwrittenUpTo = event.origin.n;
  }

  /**
   * Writes the events appended in this task into the doc, in one transaction: one Yjs
   * update, one IndexedDB record, one relay frame and one counter reservation per task
   * rather than per event (a till's action appends several; a batch, dozens). Until then
   * the events are in the projection and indexes but nowhere outside this tab, so the
   * reservation still comes first: relay and other tabs send on the doc's update.
   * Everything that reads the doc itself (compaction, close, checkpoints) writes first.
   */
  private writeAppended(): void {
    if (this.unwritten.length === 0) return;
    this.lease.reserve(this.unwrittenUpTo);
    const jsons = this.unwritten;
    this.unwritten = [];
    this.doc.transact(() => this.writerSegments.append(jsons), LOCAL);
  }

  private onLogAdded(jsons: string[], origin: unknown): void {
    if (this.reading) {
      // Ingested once the restored events are read (ingest needs their ids).
      this.reading.arrived.push({ jsons, origin });
      return;
    }
    this.ingest(this.parseAll(jsons), originKind(origin));
  }

  private parseAll(jsons: readonly string[]): EventEnvelope[] {
    const events: EventEnvelope[] = [];
    for (const json of jsons) {
      const event = parseStoredEvent(json);
      if (typeof event === 'string') this.unreadable.push({ json, reason: event });
      else events.push(event);
    }
    return events;
  }

  /**
   * Right after the doc is loaded: restore the projection from the checkpoint if it
   * describes this doc or an earlier state of it with no compaction since (refolding the
   * aggregates of the events it does not know), and read the events in the background;
   * otherwise read and fold them all now.
   */
  private readLoadedLog(checkpoint: StoredCheckpoint | null): void {
    const jsons = readAllEventJson(this.doc);
    const late = checkpoint === null || jsons.length === 0 ? null : CheckpointWriter.eventsSince(checkpoint, this.doc);
    // For DevTools' performance panel and the benchmarks: how this open started its projection.
    const mode = late === null ? (checkpoint === null ? 'none' : 'stale') : late.length === 0 ? 'restored' : 'caught-up';
    performance.mark('rms:log-loaded', { detail: { events: jsons.length, checkpoint: mode, late: late?.length ?? 0 } });
    if (jsons.length === 0) return;
    if (checkpoint === null || late === null) {
      this.ingest(this.parseAll(jsons), 'persistence');
      this.storage.scheduleCheckpoint();
      return;
    }
    const reading = new LogReading(jsons, this.now(), {
      projection: this.projection,
      parse: (entries) => this.parseAll(entries),
      index: (e, heldAt) => this.index(e, 'persistence', heldAt),
      viewsChanged: (aggregates) => this.notify({ aggregates, events: [], origin: 'persistence' }),
    });
    this.reading = reading;
    reading.restoreCheckpoint(checkpoint.records, late);
    this.clock.observe(checkpoint.meta.clock);
    const settled = checkpoint.settled;
    if (settled === null) reading.settled = 'restored';
    else this.restored = reading.restoreSettledWhenIdle(settled);
    // The events are read in idle slices once every view is readable: parsing them
    // meanwhile only delayed the settled aggregates (by 0.3–0.5 s at 100k events in Node).
    this.indexed = new Promise<void>((resolve) => {
      reading.done = resolve;
      const slice = (): void => {
        if (this.reading !== reading) return resolve();
        if (reading.readFor(INDEX_SLICE_MS)) this.finishReading(reading);
        else whenIdle(slice);
      };
      void this.restored.then(() => whenIdle(slice));
    });
  }

  /** Finishes reading the restored log now: called by everything that needs the events. */
  private readRemainingLog(): void {
    const reading = this.reading;
    if (reading === null) return;
    reading.readFor(Infinity);
    this.finishReading(reading);
  }

  /** Drops what no event backs, tells listeners what changed, then ingests what arrived meanwhile. */
  private finishReading(reading: LogReading): void {
    this.reading = null;
    reading.skipSettled();
    for (const id of this.projection.dropDetached()) reading.changed.add(id);
    if (reading.changed.size > 0) {
      this.notify({ aggregates: reading.changed, events: [], origin: 'persistence' });
      this.storage.scheduleCheckpoint();
    }
    for (const { jsons, origin } of reading.arrived) this.onLogAdded(jsons, origin);
    reading.done?.();
  }

  /**
   * Events deleted from the doc (compaction, here or on another replica): forget them.
   * Their aggregates are refolded from what is left — late events of an archived
   * aggregate stay held (and owed) until they are acknowledged and compacted in turn.
   */
  private onLogRemoved(jsons: string[], origin: StoreChange['origin']): void {
    this.readRemainingLog();
    const gone = new Map<string, string>();
    for (const json of jsons) {
      const id = eventIdOf(json);
      if (id !== null) gone.set(id, json);
    }
    this.keepCopiesHeld(gone);
    if (origin === 'remote') this.keepUnacknowledged(gone);
    const touched = new Set<string>();
    for (const id of gone.keys()) {
      const event = this.findHeld(id);
      if (event) touched.add(event.aggregate.id);
    }
    const leftovers: EventEnvelope[] = [];
    const at = this.now();
    for (const aggregateId of touched) {
      for (const e of this.projection.eventsOf(aggregateId)) {
        if (!gone.has(e.id)) leftovers.push(e);
        else {
          this.held.remove(e);
          this.suspects.forget(e.id);
          this.removedLately.set(e.id, { json: gone.get(e.id)!, aggregate: aggregateId, terminal: e.origin.terminal, n: e.origin.n, at });
        }
      }
    }
    this.forgetOldRemovals(at);
    this.projection.remove(touched);
    this.projection.apply(leftovers);
    this.notify({ aggregates: touched, events: [], origin });
  }

  /**
   * A deleted event of which the doc still holds another copy stays held, as a device reading
   * the doc afresh would hold it: a copy the same transaction adds (the server undoing a
   * compaction, met by a till that was away as one update), or one another device wrote back
   * (keepUnacknowledged) that the compacting device had not seen, which survives its deletion.
   * One pass over the doc per deletion of held events (a compaction, here or on another device: a
   * few a day; ~50 ms at 100k events held).
   */
  private keepCopiesHeld(gone: Map<string, string>): void {
    if (![...gone.keys()].some((id) => this.projection.has(id))) return;
    for (const json of readAllEventJson(this.doc)) {
      const id = eventIdOf(json);
      // Only an entry that reads as the event is a copy (not a faulty replica's junk that starts with its id).
      if (id !== null && gone.has(id) && typeof parseStoredEvent(json) !== 'string') gone.delete(id);
    }
  }

  /**
   * Another device's deletion of events this one does not know the server holds is not followed:
   * they are written back, to be uploaded. A till that compacted against a server since restored
   * from an older backup deletes what the restored server lacks; its deletions can reach the room
   * with the entries already deleted, which the room's guard (SRV16) cannot put back. As for this
   * device's own compactions, what counts is sync's knowledge (useAcknowledgements), read now:
   * the acks that came in the same update as the deletion count. A store with no sync follows
   * every deletion.
   */
  private keepUnacknowledged(gone: Map<string, string>): void {
    if (this.acknowledgementSource === null) return;
    const acks = this.acknowledgementSource();
    const kept: string[] = [];
    for (const [id, json] of gone) {
      const event = this.findHeld(id);
      if (event === undefined || acknowledges(acks, event.origin.terminal, event.origin.n)) continue;
      gone.delete(id);
      kept.push(json);
    }
    if (kept.length > 0) this.doc.transact(() => this.writerSegments.append(kept), LOCAL);
  }

  /**
   * Sync learned that the server forgot what it acknowledged (restored from a backup, SYN20),
   * from the room's acks or a REST answer: what a compaction removed here in the last
   * REMOVED_KEPT_MS on the old server's word is written back where `acknowledgements` (the new
   * word) does not hold it, to be uploaded. This device's own compaction, run while it could not
   * know of the restore (cut off from the server through it), or another device's followed here
   * (its deletion is relayed before the room's guard writes the restored acks).
   */
  writeBackRemovedUnacknowledged(acknowledgements: Acknowledgements): number {
    this.readRemainingLog();
    this.forgetOldRemovals(this.now());
    const back: string[] = [];
    for (const [id, removed] of this.removedLately) {
      if (this.projection.has(id) || acknowledges(acknowledgements, removed.terminal, removed.n)) continue;
      this.removedLately.delete(id);
      back.push(removed.json);
    }
    if (back.length === 0) return 0;
    this.doc.transact(() => this.writerSegments.append(back), LOCAL);
    // Written as this tab's own (not read back by the log observer), but other writers' events too.
    this.ingest(this.parseAll(back), 'remote');
    return back.length;
  }

  private forgetOldRemovals(now: number): void {
    let last: string | null = null;
    for (const [id, removed] of this.removedLately) {
      // In removal order (one aggregate's events together): the first one recent enough ends the
      // scan, unless it is of the aggregate forgotten last (never half a ticket written back).
      if (now - removed.at < REMOVED_KEPT_MS && this.removedLately.size <= this.removedMax && removed.aggregate !== last) break;
      last = removed.aggregate;
      this.removedLately.delete(id);
    }
  }

  private findHeld(eventId: string): EventEnvelope | undefined {
    // The projection indexes ids by aggregate; look the event up through its aggregate.
    const aggregateId = this.projection.aggregateOf(eventId);
    return aggregateId === undefined ? undefined : this.projection.eventsOf(aggregateId).find((e) => e.id === eventId);
  }

  private ingest(events: EventEnvelope[], origin: StoreChange['origin']): void {
    // A local event is new by construction (its id was just made). Another may come twice in
    // one update: in its writer's segment and in the server's bridged copy.
    const seen = new Set<string>();
    const fresh = origin === 'local' ? events : events.filter((e) => !this.projection.has(e.id) && !seen.has(e.id) && seen.add(e.id));
    if (fresh.length === 0) return;
    const heldAt = this.now();
    for (const e of fresh) this.index(e, origin, heldAt);
    const aggregates = this.projection.apply(fresh);
    this.notify({ aggregates, events: fresh, origin });
  }

  /** The store's own indexes of one new event (the projection keeps its own). */
  private index(e: EventEnvelope, origin: StoreChange['origin'], heldAt: number): void {
    // A local event was stamped by our clock (a register write above it is not followed: registerStamp).
    if (origin !== 'local') this.suspects.judge(e);
    this.held.add(e, heldAt);
  }
}
