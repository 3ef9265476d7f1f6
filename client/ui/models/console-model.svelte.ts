import type { CompactionReport, EventStore } from '../../store/event-store';
import type { CompactionScheduler, StorageStatus } from '../../store/compaction-scheduler';
import type { EventEnvelope } from '../../../shared/events/envelope';
import type { AggregateView, HistoryEntry } from '../../../shared/projection/views';
import type { LiveLog } from './live-log.svelte';
import type { SyncModel } from './sync-model.svelte';

export interface InspectedEvent {
  event: EventEnvelope;
  /** What the projection did with it (applied, superseded, duplicate, escalated…). */
  history: HistoryEntry | null;
  /** Part of a concurrent group (same seq from different terminals) or of a conflict. */
  conflictMarker: string | null;
}

export interface StorageInfo {
  usage: number | null;
  quota: number | null;
  persisted: boolean | null;
  storedBytes: number | null;
}

const MAX_ROWS = 300;

/**
 * Each event's text as the search reads it, made once: events never change, and stringifying
 * 100k of them again for every key typed took 0.2–0.3 s a pass.
 */
const searchText = new WeakMap<EventEnvelope, string>();
function searchTextOf(event: EventEnvelope): string {
  let text = searchText.get(event);
  if (text === undefined) searchText.set(event, (text = JSON.stringify(event).toLowerCase()));
  return text;
}

/** A clock offset as the console shows it: (server time − this device's clock), its sign said in words. */
export function clockOffsetText(ms: number | null): string {
  if (ms === null) return '— (not measured yet)';
  const rounded = Math.round(ms);
  if (rounded === 0) return '0 ms (in step with the server)';
  return rounded > 0 ? `+${rounded} ms (server ahead)` : `${rounded} ms (server behind)`;
}

/** The technical console: sync state, storage, and an inspector over every event held. */
export class ConsoleModel {
  aggregateFilter = $state('');
  typeFilter = $state('');
  terminalFilter = $state('');
  search = $state('');
  selectedEventId = $state<string | null>(null);
  storage = $state<StorageInfo>({ usage: null, quota: null, persisted: null, storedBytes: null });
  /** The log's own storage figures and the last compaction (idle, threshold or manual). */
  logStorage = $state<StorageStatus | null>(null);

  /** Every event held, newest first, with the projection's verdict on it. */
  readonly allEvents = $derived.by((): InspectedEvent[] => {
    const out: InspectedEvent[] = [];
    for (const view of this.log.all()) out.push(...this.rowsOf(view));
    return out.sort((a, b) => b.event.at - a.event.at || (b.event.id < a.event.id ? -1 : 1));
  });

  /**
   * An aggregate's rows, made again only when its view is (a fold rebuilds its view on any
   * change): every event of every till re-ran them all, new objects re-rendering every row of the
   * inspector, and a tablet left on the console kept its main thread busy through a service.
   */
  private readonly rowsByView = new WeakMap<AggregateView, InspectedEvent[]>();
  private rowsOf(view: AggregateView): InspectedEvent[] {
    let rows = this.rowsByView.get(view);
    if (rows !== undefined) return rows;
    const byId = new Map(this.log.history(view.id).map((h) => [h.eventId, h]));
    const concurrent = new Set(view.concurrent.flatMap((g) => g.eventIds));
    rows = this.log.events(view.id).map((event) => {
      const history = byId.get(event.id) ?? null;
      return { event, history, conflictMarker: history?.conflictId ?? (concurrent.has(event.id) ? `concurrent at seq ${event.seq}` : null) };
    });
    this.rowsByView.set(view, rows);
    return rows;
  }

  readonly types = $derived([...new Set(this.allEvents.map((e) => e.event.type))].sort());
  readonly terminals = $derived([...new Set(this.allEvents.map((e) => e.event.origin.terminal))].sort());

  readonly filtered = $derived.by((): InspectedEvent[] => {
    const agg = this.aggregateFilter.trim().toLowerCase();
    const q = this.search.trim().toLowerCase();
    return this.allEvents.filter(({ event }) => {
      if (agg && !`${event.aggregate.type}:${event.aggregate.id}`.toLowerCase().includes(agg)) return false;
      if (this.typeFilter && event.type !== this.typeFilter) return false;
      if (this.terminalFilter && event.origin.terminal !== this.terminalFilter) return false;
      if (q && !searchTextOf(event).includes(q)) return false;
      return true;
    });
  });

  readonly shown = $derived(this.filtered.slice(0, MAX_ROWS));

  readonly selected = $derived(this.allEvents.find((e) => e.event.id === this.selectedEventId) ?? null);

  constructor(
    private readonly log: LiveLog,
    readonly sync: SyncModel,
    private readonly store: EventStore,
    private readonly compaction: CompactionScheduler,
  ) {
    compaction.subscribe((s) => (this.logStorage = s));
  }

  /** Compacts now (closed, acknowledged, old tickets leave this device) and shows what it freed. */
  async compactNow(): Promise<CompactionReport | null> {
    try {
      const report = await this.compaction.compactNow();
      await this.refreshStorage();
      return report;
    } catch {
      // In the scheduler's status (lastFailure, or waitingForServerTime), which the console shows.
      this.logStorage = this.compaction.status();
      return null;
    }
  }

  get persistence() {
    void this.log.changes;
    return this.store.persistence;
  }

  get unreadable() {
    void this.log.changes;
    return this.store.unreadable;
  }

  /** Events stamped beyond the bound ahead of server time (SYN10), newest first: judged again when events arrive or the clock is calibrated (a sync status). */
  get clockSuspects(): EventEnvelope[] {
    void this.log.changes;
    void this.sync.status;
    return [...this.store.clockSuspects].sort((a, b) => b.at - a.at);
  }

  get maxRows(): number {
    return MAX_ROWS;
  }

  async refreshStorage(): Promise<void> {
    const storage = globalThis.navigator?.storage;
    const estimate = storage?.estimate ? await storage.estimate().catch(() => null) : null;
    const persisted = storage?.persisted ? await storage.persisted().catch(() => null) : null;
    this.storage = {
      usage: estimate?.usage ?? null,
      quota: estimate?.quota ?? null,
      persisted,
      storedBytes: this.store.storedBytes(),
    };
    // Nothing is published when the clock is calibrated (waitingForServerTime): read it again.
    this.logStorage = this.compaction.status();
  }
}
