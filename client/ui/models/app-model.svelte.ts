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
  readonly router = new Router();
  /** The automatic update waits while a screen holds typed work: a ticket, a payment, a menu or table change, the receipt details. */
  readonly shell = new ShellModel(() => {
    if (this.phase.name !== 'ready') return false;
    const { tickets, menu, tables, locationDetails } = this.phase.screens;
    return tickets.hasDrafts || (menu?.hasDrafts ?? false) || (tables?.hasDrafts ?? false) || (locationDetails?.edited ?? false);
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
    pairing.writer = await chooseWriter(pairing, stored, () => fetchServerWriters(pairing.token));
    await savePairing(pairing);
    this.router.replace('tickets');
    if (current) {
      // Another location or terminal: start clean rather than swap a live store and its writer lock.
      location.reload();
      return;
    }
    await this.open(pairing);
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
          tickets: new TicketsModel(log, session.commands, session.menuCommands, manager),
          kitchen: new KitchenModel(log, session.commands, session.menuCommands, this.now),
          console: new ConsoleModel(log, sync, session.store, session.compaction),
          devices: manager ? new DevicesModel(new DeviceAdmin(api, `${location.origin}${location.pathname}`)) : null,
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
