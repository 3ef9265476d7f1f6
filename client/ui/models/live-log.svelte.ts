import type { EventStore, PersistenceState, StoreChange } from '../../store/event-store';
import type { EventEnvelope } from '../../../shared/events/envelope';
import { hasEnded, type AggregateView, type HistoryEntry, type LocationView, type MenuItemView, type TableView, type TicketView } from '../../../shared/projection/views';
import { LOCATION_DETAILS_ID } from '../../../shared/domain/location-events';
import { MENU_ITEM_AGGREGATE } from '../../../shared/domain/menu-events';
import { TABLE_AGGREGATE } from '../../../shared/domain/table-events';
import { TICKET_AGGREGATE } from '../../../shared/domain/ticket-events';
import { isInUse } from '../../commands/table-commands';
import { compareNames } from '../format';

/**
 * The event log as reactive state for the screens. The store's projection is plain data
 * and rebuilt views are new objects, so it is enough to count changes: any getter that
 * reads `changes` re-runs when the store reports one (local append, relay, other tab,
 * disk), and reads the projection itself, never a copy.
 */
export class LiveLog {
  changes = $state(0);
  lastOrigin = $state<StoreChange['origin'] | null>(null);
  readonly store: EventStore;
  private readonly unsubscribe: () => void;

  constructor(store: EventStore) {
    this.store = store;
    this.unsubscribe = store.subscribe((change) => {
      this.lastOrigin = change.origin;
      this.changes++;
    });
  }

  /** Where the log is kept (IndexedDB or memory only); re-read at every change: it can fall back to memory after opening. */
  get persistence(): PersistenceState {
    void this.changes;
    return this.store.persistence;
  }

  // Screens take the views restored so far: right after a restart, settled aggregates
  // (closed tickets) arrive a moment after the first screen, as a change.
  views<V extends AggregateView>(type: string): V[] {
    void this.changes;
    return this.store.views(type, { partial: true }) as V[];
  }

  view(id: string): AggregateView | undefined {
    void this.changes;
    return this.store.view(id, { partial: true });
  }

  events(aggregateId: string): readonly EventEnvelope[] {
    void this.changes;
    return this.store.getByAggregate(aggregateId);
  }

  /** The aggregate's audit history: every event held and what the fold did with it. */
  history(aggregateId: string): HistoryEntry[] {
    void this.changes;
    return this.store.history(aggregateId);
  }

  /**
   * The items on the menu (defined — named, priced and in a category: a change or a price
   * alone, ahead of its definition, is no item yet — and not retired: a retired item is gone
   * for good), by name.
   */
  menuItems(): MenuItemView[] {
    return this.views<MenuItemView>(MENU_ITEM_AGGREGATE)
      .filter((item) => !item.retired && item.name !== null && item.priceCents !== null && item.category !== null)
      .sort((a, b) => compareNames(a.name ?? '', b.name ?? ''));
  }

  /** The tables in use (labelled, not retired: a retired table is off the floor for good), by label. */
  tables(): TableView[] {
    return this.views<TableView>(TABLE_AGGREGATE)
      .filter(isInUse)
      .sort((a, b) => compareNames(a.label ?? '', b.label ?? ''));
  }

  /**
   * Tickets neither closed nor voided at a table: those at it, and those at a table of the same
   * name (a table taken off the floor and added again keeps its open tickets on the old one,
   * shown under that name: the party is still sitting there).
   */
  openTicketsAt(tableId: string): readonly TicketView[] {
    return this.openByTable.get(this.tableKey(tableId)) ?? [];
  }

  /** Open tickets by their table's name (lower case; its id when it has none): made once a change, read per table. */
  private readonly openByTable = $derived.by(() => {
    const out = new Map<string, TicketView[]>();
    for (const t of this.views<TicketView>(TICKET_AGGREGATE)) {
      if (t.tableId === null || hasEnded(t)) continue;
      const key = this.tableKey(t.tableId);
      out.set(key, [...(out.get(key) ?? []), t]);
    }
    return out;
  });

  private tableKey(tableId: string): string {
    const t = this.view(tableId);
    return t?.kind === 'table' && t.label !== null ? `name:${t.label.toLocaleLowerCase()}` : `id:${tableId}`;
  }

  /** The location's details (what receipts say about the business); undefined until a manager sets them. */
  locationDetails(): LocationView | undefined {
    const view = this.view(LOCATION_DETAILS_ID);
    return view?.kind === 'location' ? view : undefined;
  }

  /** Late events of aggregates this device archived (EventStore.lateOnArchived): no view shows them. */
  lateOnArchived(): EventEnvelope[] {
    void this.changes;
    return this.store.lateOnArchived();
  }

  /** Every aggregate, every type. */
  all(): AggregateView[] {
    void this.changes;
    return this.store.views();
  }

  dispose(): void {
    this.unsubscribe();
  }
}
