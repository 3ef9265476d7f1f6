import { keptIfUnsaved, type TicketCommands } from '../../commands/ticket-commands';
import type { MenuCommands } from '../../commands/menu-commands';
import { waitsInKitchen, type MenuItemView, type TicketLine, type TicketView } from '../../../shared/projection/views';
import { MENU_ITEM_AGGREGATE } from '../../../shared/domain/menu-events';
import { TICKET_AGGREGATE } from '../../../shared/domain/ticket-events';
import type { NotSavedError } from '../../store/storage-errors';
import { deviceStorage, keepOnDevice } from '../../store/device-storage';
import { compareNames, message } from '../format';
import type { LiveLog } from './live-log.svelte';
import type { Now } from './now.svelte';

/** One send of a ticket to the kitchen (a card: the mains fired later are a card of their own). */
export interface KitchenTicket {
  ticket: TicketView;
  /** Unique among the cards: the ticket and its send. */
  key: string;
  /** Which send of the ticket it is (1 the first), whatever of the others was bumped. */
  send: number;
  /** Sent with this send and not yet bumped, in the ticket's order (during a hold, also those just bumped: see `justBumped`). */
  lines: TicketLine[];
  /** When they were sent (hybrid-clock ms). */
  since: number;
  /** Lines of `lines` removed at a till after they were sent: shown as cancelled until bumped. */
  cancelled: ReadonlySet<string>;
  /** The ticket was voided after lines were sent: every line is cancelled (stop cooking). */
  voided: boolean;
  /** Lines of this station the till holds back, to be fired later (the mains): coming, not to start yet (on the ticket's last card). */
  held: TicketLine[];
}

/** A ticket the kitchen has bumped, for a recall: its bumped lines and when the last was bumped. */
export interface BumpedTicket {
  ticket: TicketView;
  lines: TicketLine[];
  /** The last bump (hybrid-clock ms). */
  at: number;
}

/**
 * After a bump the queue stays as it was, the bumped card or line greyed in its place, for
 * this long: a second tap of a double tap lands on the greyed (disabled) button, not on the
 * next ticket sliding under the finger. Each bump restarts it.
 */
export const BUMP_HOLD_MS = 600;

/** One item of "All day": how many the waiting tickets still need of it with this note. */
export interface AllDayItem {
  /** The item and the note: two items of one name are two rows. */
  key: string;
  name: string;
  note: string | null;
  quantity: number;
}

/** Where a kitchen screen keeps the station it shows (this device's choice, not the location's). */
export interface StationChoice {
  get(): string | null;
  set(station: string | null): void;
}

const STATION_CHOICE_KEY = 'rms:kitchen-station';

/** The choice kept in this browser's localStorage; in memory only where there is none or it is full. */
export function localStationChoice(): StationChoice {
  const storage = deviceStorage();
  let held = storage?.getItem(STATION_CHOICE_KEY) ?? null;
  return {
    get: () => held,
    set(station) {
      held = station;
      if (station === null) storage?.removeItem(STATION_CHOICE_KEY);
      else keepOnDevice(storage, STATION_CHOICE_KEY, station);
    },
  };
}

/**
 * The kitchen display: every ticket with lines sent and not yet bumped, oldest first.
 * It reads the local log only, so it keeps working with no network; lines sent from other
 * tills appear as the relay brings them.
 *
 * Bumping is final in the log (`ticket.kitchen_item_bumped` records how many the kitchen
 * made, and only a quantity raised above that, by a till that had not seen the send, puts a
 * line back in the queue), so a recall shows a bumped ticket again on this screen, read from
 * its bumped lines; it writes nothing and puts nothing back in any queue.
 *
 * A screen may show one station (the menu item's `station`: grill, bar…): only the lines
 * its items are prepared at, and "Bump ticket" bumps those, leaving the ticket on the other
 * stations' screens. Items of no station show on the all-stations screen only.
 */
export class KitchenModel {
  error = $state<string | null>(null);
  /** The station chosen on this device (null: every station). */
  private chosenStation = $state<string | null>(null);
  /**
   * The station this screen shows (null: every station): the one chosen, spelled as the menu
   * spells it now (a manager corrected "grill" to "Grill" on the Menu screen: the screen keeps
   * showing its lines, not an empty "grill" beside a new "Grill").
   */
  readonly station = $derived.by((): string | null => {
    const chosen = this.chosenStation;
    if (chosen === null || this.stations.includes(chosen)) return chosen;
    return this.stations.find((s) => s.toLocaleLowerCase() === chosen.toLocaleLowerCase()) ?? chosen;
  });
  /** The queue as it was shown at the last bump, and the lines bumped since (see BUMP_HOLD_MS). */
  private hold = $state.raw<{ queue: KitchenTicket[]; lineIds: ReadonlySet<string> } | null>(null);
  private holdTimer: ReturnType<typeof setTimeout> | null = null;
  /**
   * The bumped ticket the recall shows (null: none): pinned by id, so a bump on another kitchen
   * screen, which reorders the bumped tickets, does not swap it under the cook.
   */
  private recalledId = $state<string | null>(null);

  /**
   * Cards with lines waiting, from the log: one per send of a ticket, so lines sent later (an
   * add-on, the mains fired) come as a card of their own, with their own age, and "Bump
   * ticket" on the first card never takes them. A ticket voided after its lines were sent
   * stays, every line cancelled, until the kitchen bumps it: it must not vanish while being cooked.
   */
  private readonly waiting = $derived.by((): KitchenTicket[] => {
    const out: KitchenTicket[] = [];
    const here = this.atThisStation;
    for (const ticket of this.log.views<TicketView>(TICKET_AGGREGATE)) {
      const voided = ticket.status === 'voided';
      const cancelled = ticket.cancelledLines.filter((l) => l.bumpedAt === null && here(l));
      const lines = ticket.lines.filter((l) => waitsInKitchen(ticket, l) && here(l)).concat(cancelled);
      if (lines.length === 0) continue;
      // By send (two tills' sends stamped in the same millisecond are two cards), aged from its first line.
      const bySend = new Map<number, TicketLine[]>();
      for (const line of lines) bySend.set(line.send ?? 1, [...(bySend.get(line.send ?? 1) ?? []), line]);
      const waitingSends = [...bySend.keys()].sort((a, b) => a - b);
      const held = voided ? [] : ticket.lines.filter((l) => l.sentAt === null && l.held && here(l));
      const cancelledIds = new Set((voided ? lines : cancelled).map((l) => l.lineId));
      for (const send of waitingSends) {
        const last = send === waitingSends.at(-1);
        const lines = bySend.get(send)!;
        const since = Math.min(...lines.map((l) => l.sentAt!));
        out.push({ ticket, key: `${ticket.id}:${send}`, send, lines, since, cancelled: cancelledIds, voided, held: last ? held : [] });
      }
    }
    return out.sort((a, b) => a.since - b.since);
  });

  /** What the screen shows: the waiting tickets, or, right after a bump, the queue as it was. */
  readonly queue = $derived(this.hold?.queue ?? this.waiting);

  /**
   * "All day": how many of each item the waiting tickets still need (cancelled lines left
   * out), so a cook can start six burgers at once; by name, so each item keeps its place as
   * counts change. By item and note: "medium rare" is not the same steak. Named as its newest
   * line is (the queue is oldest first): an item renamed since the first was sent reads as the
   * card of the newest says.
   */
  readonly allDay = $derived.by((): AllDayItem[] => {
    const counts = new Map<string, AllDayItem>();
    for (const entry of this.waiting) {
      for (const line of entry.lines) {
        if (entry.cancelled.has(line.lineId)) continue;
        const key = `${line.menuItemId}\u0000${line.note ?? ''}`;
        const count = counts.get(key) ?? { key, name: line.name, note: line.note, quantity: 0 };
        count.name = line.name;
        count.quantity += line.quantity - line.bumpedQuantity; // a line partly made needs the rest
        counts.set(key, count);
      }
    }
    return [...counts.values()].sort((a, b) => compareNames(a.name, b.name) || compareNames(a.note ?? '', b.note ?? ''));
  });

  /** Tickets with bumped lines, the most recently bumped first (voided ones left out). */
  private readonly bumped = $derived.by((): BumpedTicket[] => {
    const out: BumpedTicket[] = [];
    const here = this.atThisStation;
    for (const ticket of this.log.views<TicketView>(TICKET_AGGREGATE)) {
      if (ticket.status === 'voided') continue;
      const lines = ticket.lines.filter((l) => l.bumpedAt !== null && here(l));
      if (lines.length === 0) continue;
      lines.sort((a, b) => a.sentAt! - b.sentAt!);
      out.push({ ticket, lines, at: Math.max(...lines.map((l) => l.bumpedAt!)) });
    }
    return out.sort((a, b) => b.at - a.at);
  });

  /** The ticket bumped last (on this screen or another kitchen screen), for the recall button. */
  readonly lastBumped = $derived(this.bumped[0] ?? null);

  /** The bumped ticket the recall shows, or null. */
  readonly recalled = $derived(this.recalledId === null ? null : (this.bumped.find((b) => b.ticket.id === this.recalledId) ?? null));

  /** Whether the recall can go one ticket further back. */
  readonly canRecallEarlier = $derived(this.recalled !== null && this.bumped.indexOf(this.recalled) < this.bumped.length - 1);

  /** Each menu item's station (null: none), and every station the menu names, in order. */
  private readonly menuStations = $derived.by(() => {
    const of = new Map<string, string | null>();
    const names = new Set<string>();
    for (const item of this.log.views<MenuItemView>(MENU_ITEM_AGGREGATE)) {
      of.set(item.id, item.station);
      if (!item.retired && item.station !== null) names.add(item.station);
    }
    return { of, names: [...names].sort(compareNames) };
  });

  /** The stations a screen can choose from. */
  readonly stations = $derived(this.menuStations.names);

  /** The items this screen can mark sold out: those of its station (every item on all stations), by name. */
  readonly menu = $derived.by((): MenuItemView[] => {
    const station = this.station;
    return this.log.menuItems().filter((item) => station === null || item.station === station);
  });

  /** Whether a line is shown on this screen (its item's station, or every line with none chosen). */
  private readonly atThisStation = $derived.by(() => {
    const station = this.station;
    const of = this.menuStations.of;
    return (line: TicketLine): boolean => station === null || of.get(line.menuItemId) === station;
  });

  constructor(
    private readonly log: LiveLog,
    private readonly commands: TicketCommands,
    private readonly menuCommands: MenuCommands,
    private readonly now: Now,
    private readonly stationChoice: StationChoice = localStationChoice(),
  ) {
    this.chosenStation = stationChoice.get();
  }

  /** Shows one station (null: all), remembered on this device. */
  showStation(station: string | null): void {
    this.clearHold();
    this.recalledId = null;
    this.chosenStation = station;
    this.stationChoice.set(station);
  }

  /**
   * How long ago `since` (a hybrid-clock stamp) was, on the same clock: the server-corrected
   * time of this device (wall + the offset sync measured), re-read on every tick of `now`.
   * The tablet's own clock would show every card at 0s when it runs slow.
   */
  ageOf(since: number): number {
    void this.now.value;
    return this.log.store.clock.physicalNow() - since;
  }

  /** Bumped in the last moment: still shown, greyed, where it was. */
  justBumped(lineId: string): boolean {
    return this.hold?.lineIds.has(lineId) ?? false;
  }

  /** Bumps the line as the card shows it: made (its quantity), or stopped (VOIDED, CANCELLED). */
  bumpLine(entry: KitchenTicket, line: TicketLine) {
    if (this.justBumped(line.lineId)) return Promise.resolve();
    this.holdAfterBump([line.lineId]);
    return this.run(() => this.commands.bumpItem(entry.ticket.id, line.lineId, asShown(entry, line)));
  }

  /** Bumps every waiting line of the card (a second tap on it while it is held does nothing). */
  bumpTicket(entry: KitchenTicket) {
    const lines = entry.lines.filter((l) => !this.justBumped(l.lineId));
    if (lines.length === 0) return Promise.resolve();
    this.holdAfterBump(lines.map((l) => l.lineId));
    return this.run(async () => {
      // A bump this device could not save is written all the same (held and synced): the rest of the card goes on.
      const unsaved: NotSavedError[] = [];
      for (const line of lines) await keptIfUnsaved(this.commands.bumpItem(entry.ticket.id, line.lineId, asShown(entry, line)), unsaved);
      if (unsaved.length > 0) throw unsaved[0];
    });
  }

  /** Marks an item sold out ("86") or available again, on every terminal of the location. */
  setSoldOut(item: MenuItemView, soldOut: boolean) {
    return this.run(() => this.menuCommands.setAvailability(item.id, !soldOut));
  }

  /** Shows the last bumped ticket again; pressed again, the one bumped before it. */
  recall(): void {
    const shown = this.recalled === null ? -1 : this.bumped.indexOf(this.recalled);
    const next = this.bumped[Math.min(shown + 1, this.bumped.length - 1)];
    if (next !== undefined) this.recalledId = next.ticket.id;
  }

  dismissRecall(): void {
    this.recalledId = null;
  }

  /** Keeps the queue as shown (read before the bump lands) for BUMP_HOLD_MS after the last bump. */
  private holdAfterBump(lineIds: string[]): void {
    const queue = this.hold?.queue ?? this.waiting;
    this.hold = { queue, lineIds: new Set([...(this.hold?.lineIds ?? []), ...lineIds]) };
    if (this.holdTimer !== null) clearTimeout(this.holdTimer);
    this.holdTimer = setTimeout(() => this.clearHold(), BUMP_HOLD_MS);
  }

  private clearHold(): void {
    if (this.holdTimer !== null) clearTimeout(this.holdTimer);
    this.holdTimer = null;
    this.hold = null;
  }

  private async run(action: () => Promise<unknown>): Promise<void> {
    this.error = null;
    try {
      await action();
    } catch (err) {
      this.error = message(err);
    }
  }
}

/** What a bump of `line` on the card says: the card showed it stopped (VOIDED, CANCELLED), or it was made (its quantity). */
function asShown(entry: KitchenTicket, line: TicketLine): { stopped: boolean; made?: number } {
  return entry.cancelled.has(line.lineId) ? { stopped: true } : { stopped: false, made: line.quantity };
}
