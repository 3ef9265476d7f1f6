import { openSession, type Session } from '../../app/session';
import { chooseWriter, fetchServerWriters, isStaleLinkFor, isManager, loadPairing, pairingFromQuery, savePairing, forgetPairing, type Pairing } from '../../app/pairing';
import { message } from '../format';
import { LiveLog } from './live-log.svelte';
import { Router } from './router.svelte';
import { ShellModel } from './shell-model.svelte';
import { SyncModel } from './sync-model.svelte';
import { TicketsModel } from './tickets-model.svelte';
import { KitchenModel } from './kitchen-model.svelte';
import { ConsoleModel } from './console-model.svelte';
import { ConflictsModel } from './conflicts-model.svelte';
import { Now } from './now.svelte';
import { DevicesModel } from './devices-model.svelte';
import { DeviceAdmin } from '../../app/device-admin';
import { ServerTakings } from '../../app/server-takings';
import { ManagerApi } from '../../app/manager-api';
import { TakingsModel } from './takings-model.svelte';
import { StaffModel } from './staff-model.svelte';
import { MenuEditorModel } from './menu-editor-model.svelte';
import { TablesEditorModel } from './tables-editor-model.svelte';
import { LocationDetailsModel } from './location-details-model.svelte';
import { appEndpoints } from '../../sync/endpoints';
import { deviceStorage, keepOnDevice } from '../../store/device-storage';

/**
 * The app's top-level state machine:
 *
 *   starting ──no pairing──► unpaired ──pairing link──► opening ──► ready
 *       └──────paired───────────────────────────────────┘   └─error─► failed
 */
export type Phase =
  | { name: 'starting' }
  | { name: 'unpaired'; error: string | null }
  | { name: 'opening'; pairing: Pairing }
  | { name: 'ready'; screens: Screens }
  | { name: 'failed'; pairing: Pairing; error: string };

export interface Screens {
  session: Session;
  log: LiveLog;
  sync: SyncModel;
  tickets: TicketsModel;
  kitchen: KitchenModel;
  conflicts: ConflictsModel;
  console: ConsoleModel;
  /** Pairing and revoking devices: managers only. */
  devices: DevicesModel | null;
  /** The day's takings (cash-up): managers only. */
  takings: TakingsModel | null;
  /** Adding, repricing and retiring menu items: managers only. */
  menu: MenuEditorModel | null;
  tables: TablesEditorModel | null;
  /** What receipts say about the business (on the Menu screen): managers only. */
  locationDetails: LocationDetailsModel | null;
  /** Who is serving on this device. */
  staff: StaffModel;
  manager: boolean;
}

export class AppModel {
  phase = $state.raw<Phase>({ name: 'starting' });
  /** Why a pairing link opened on a paired device was not used (it keeps its session); null when none. */
  pairingNotice = $state<string | null>(null);
  /** A link for another location held back while this till owes events: `switchAnyway` takes it (shown while starting, too). */
  heldPairing = $state.raw<Pairing | null>(null);
  readonly router = new Router();
  /** The update waits while a screen holds typed work: a ticket, a payment, a menu or table change, the receipt details. */
  readonly shell = new ShellModel({
    drafts: () => {
      if (this.phase.name !== 'ready') return false;
      const { tickets, menu, tables, locationDetails } = this.phase.screens;
      return tickets.hasDrafts || (menu?.hasDrafts ?? false) || (tables?.hasDrafts ?? false) || (locationDetails?.edited ?? false);
    },
    saveTicketNote: async () => {
      if (this.phase.name === 'ready' && this.phase.screens.tickets.noteDraft !== null) await this.phase.screens.tickets.saveNote();
    },
  });
  readonly now = new Now();

  constructor() {
    window.addEventListener('hashchange', () => {
      if (this.router.route.name === 'pair') void this.pair(this.router.route.query);
    });
  }

  async start(): Promise<void> {
    this.now.start();
    if (this.router.route.name === 'pair') return this.pair(this.router.route.query);
    const pairing = await loadPairing();
    if (!pairing) {
      this.phase = { name: 'unpaired', error: null };
      return;
    }
    await this.open(pairing);
  }

  /** Handles a pairing link: keeps the pairing and opens that location's log. */
  async pair(query: URLSearchParams): Promise<void> {
    let pairing: Pairing;
    const current = this.phase.name === 'ready' ? this.phase.screens.session.pairing : null;
    this.heldPairing = null;
    try {
      pairing = pairingFromQuery(query);
    } catch (err) {
      this.router.replace('tickets');
      // A paired device keeps its session: a bad link (an old bookmark, another terminal's) says so only.
      if (current === null) this.phase = { name: 'unpaired', error: message(err) };
      else this.pairingNotice = `This pairing link was not used: ${message(err)}`;
      return;
    }
    const stored = current ?? (await loadPairing());
    if (stored !== null && isStaleLinkFor(stored, pairing)) {
      this.router.replace('tickets');
      if (current === null) await this.open(stored);
      return;
    }
    // Another location: this one's log (kept per location) is not opened nor synced again, so
    // what it still owes the server would stay on this device unsent. Held back until it is 0.
    // Another terminal at this location reopens the same log and sends what it owes: taken.
    const owed = stored === null || stored.location === pairing.location ? 0 : this.owedUnder(stored);
    if (stored !== null && owed > 0) {
      this.router.replace('tickets');
      this.heldPairing = pairing;
      this.pairingNotice =
        `This till still owes ${owed} event${owed === 1 ? '' : 's'} to ${stored.location}: ` +
        'bring it online until "Owed to server" reads 0, then open the link again ' +
        '(events the server refused are not counted: a manager settles them in the console). ' +
        `"Switch anyway" leaves them on this device, not sent until it is paired with ${stored.location} again.`;
      if (current === null) await this.open(stored);
      return;
    }
    await this.take(pairing, stored, current !== null);
  }

  /** Takes the pairing link held back (heldPairing): what the current location owes stays on the device until it is paired there again. */
  async switchAnyway(): Promise<void> {
    const pairing = this.heldPairing;
    if (pairing === null) return;
    this.heldPairing = null;
    this.pairingNotice = null;
    await this.take(pairing, this.phase.name === 'ready' ? this.phase.screens.session.pairing : await loadPairing(), true);
  }

  /** Keeps the pairing and opens its log: after a reload when a session is open. */
  private async take(pairing: Pairing, stored: Pairing | null, sessionOpen: boolean): Promise<void> {
    pairing.writer = await chooseWriter(pairing, stored, () => fetchServerWriters(pairing.token));
    await savePairing(pairing);
    this.router.replace('tickets');
    if (sessionOpen) {
      // Another location or terminal, or a session that never opened: start clean rather than swap a live store and its writer lock.
      location.reload();
      return;
    }
    await this.open(pairing);
  }

  /**
   * What the pairing's location log owes the server: its open session's count, else the last one
   * remembered. Refused events do not count: a terminal cannot release them, and "Owed to
   * server" leaves them out, so a hold on them could never be lifted.
   */
  private owedUnder(pairing: Pairing): number {
    const owed = this.phase.name === 'ready' ? this.phase.screens.sync.status.owed : null;
    return owed ?? rememberedOwed(pairing.location);
  }

  async unpair(): Promise<void> {
    await forgetPairing();
    location.reload();
  }

  private async open(pairing: Pairing): Promise<void> {
    this.phase = { name: 'opening', pairing };
    try {
      const session = await openSession(pairing);
      // A renewed token: the status bar reads the pairing's expiry again.
      session.onPairingChanged(() => {
        if (this.phase.name === 'ready') this.phase = { ...this.phase };
      });
      const log = new LiveLog(session.store);
      const sync = new SyncModel(session.sync);
      session.sync.subscribe((status) => {
        if (status.owed !== null) rememberOwed(pairing.location, status.owed);
      });
      const manager = isManager(pairing.role);
      const conflicts = new ConflictsModel(log, session.commands, manager);
      const api = new ManagerApi({ apiBase: appEndpoints().apiBase, token: () => session.pairing.token });
      this.phase = {
        name: 'ready',
        screens: {
          session,
          log,
          sync,
          manager,
          conflicts,
          tickets: new TicketsModel(log, session.commands, session.menuCommands, manager, sync),
          kitchen: new KitchenModel(log, session.commands, session.menuCommands, this.now),
          console: new ConsoleModel(log, sync, session.store, session.compaction),
          devices: manager ? new DevicesModel(new DeviceAdmin(api, `${location.origin}${location.pathname}`), pairing.terminal) : null,
          takings: manager ? new TakingsModel(log, sync, new ServerTakings(api), this.now) : null,
          staff: new StaffModel(session.staff),
          menu: manager ? new MenuEditorModel(log, session.menuCommands) : null,
          tables: manager ? new TablesEditorModel(log, session.tableCommands) : null,
          locationDetails: manager ? new LocationDetailsModel(log, session.locationCommands) : null,
        },
      };
    } catch (err) {
      this.phase = { name: 'failed', pairing, error: message(err) };
    }
  }
}

/**
 * What each location's log last owed the server (every writer's events in it), kept for a link
 * opened on a cold start (no session open to ask): `rms:owed:<location>`.
 */
const owedKey = (locationId: string): string => `rms:owed:${locationId}`;

/** Runs in a sync status listener: a full localStorage must not throw out of it (the running session's count still decides). */
function rememberOwed(locationId: string, owed: number): void {
  const storage = deviceStorage();
  const key = owedKey(locationId);
  // A full localStorage keeps the count last kept.
  if (storage?.getItem(key) !== String(owed)) keepOnDevice(storage, key, String(owed));
}

function rememberedOwed(locationId: string): number {
  return Number(deviceStorage()?.getItem(owedKey(locationId)) ?? 0) || 0;
}
