import { EventStore } from '../store/event-store';
import { TicketCommands } from '../commands/ticket-commands';
import { MenuCommands } from '../commands/menu-commands';
import { LocationCommands } from '../commands/location-commands';
import { TableCommands } from '../commands/table-commands';
import { StaffOnDuty } from './staff-on-duty';
import { SyncManager } from '../sync/sync-manager';
import { realTimers } from '../sync/timers';
import { CompactionScheduler, DEFAULT_COMPACTION_SCHEDULE } from '../store/compaction-scheduler';
import { DEVICE_RETENTION } from '../store/device-retention';
import { appEndpoints } from '../sync/endpoints';
import { readTokenClaims, savePairing, type Pairing } from './pairing';
import { TokenRenewal } from './token-renewal';

/**
 * Everything a paired device runs: the location's event log (IndexedDB), the staff
 * commands on it, and the sync layer (relay + uploader). Screens reach these only through
 * the view-models in client/ui/models.
 */
export interface Session {
  /** The pairing now: its token changes when renewed (see TokenRenewal). */
  readonly pairing: Pairing;
  /** Told when the pairing changed (a renewed token). */
  onPairingChanged(listener: (pairing: Pairing) => void): void;
  readonly store: EventStore;
  readonly commands: TicketCommands;
  /** Sold out ("86") and back; adding, repricing and retiring items (managers). */
  readonly menuCommands: MenuCommands;
  /** The tables staff open tickets at (managers). */
  readonly tableCommands: TableCommands;
  /** What receipts say about the business (managers). */
  readonly locationCommands: LocationCommands;
  /** Who is signed in on this device: the commands stamp it on every event. */
  readonly staff: StaffOnDuty;
  readonly sync: SyncManager;
  readonly compaction: CompactionScheduler;
  close(): void;
}

export async function openSession(pairing: Pairing): Promise<Session> {
  const store = await EventStore.open({ location: pairing.location, terminal: pairing.writer, retention: DEVICE_RETENTION });
  const staff = StaffOnDuty.forLocation(pairing.location);
  const commandContext = { store, role: pairing.role, staff: () => staff.current };
  const commands = new TicketCommands(commandContext);
  const menuCommands = new MenuCommands(commandContext);
  const tableCommands = new TableCommands(commandContext);
  const locationCommands = new LocationCommands(commandContext);
  const endpoints = appEndpoints();
  const sync = SyncManager.start({
    ...endpoints,
    staff: staff.current,
    store,
    location: pairing.location,
    token: pairing.token,
    role: pairing.role,
    // online/offline events: offline pauses the relay and uploads at once, online resumes them.
    browser: window,
  });
  // Every compaction (idle, over-threshold, manual, a full disk's) goes by sync's acknowledgements:
  // those from uploads count too, acks found stale after a server restore do not.
  store.useAcknowledgements(() => sync.acknowledgements());
  const compaction = new CompactionScheduler(store, realTimers, { ...DEFAULT_COMPACTION_SCHEDULE, policy: DEVICE_RETENTION });
  let current = pairing;
  const pairingListeners = new Set<(pairing: Pairing) => void>();
  const renewal = new TokenRenewal({
    token: pairing.token,
    apiBase: endpoints.apiBase,
    timers: realTimers,
    browser: window,
    serverNow: () => store.clock.physicalNow(),
    async onRenewed(token) {
      current = { ...current, token, expiresAt: readTokenClaims(token).expiresAt };
      sync.renewToken(token);
      for (const listener of pairingListeners) listener(current);
      await savePairing(current);
    },
  });
  renewal.start();
  const stopTellingStaff = staff.onChange((name) => sync.setStaff(name));
  return {
    get pairing() {
      return current;
    },
    onPairingChanged: (listener) => void pairingListeners.add(listener),
    store,
    commands,
    menuCommands,
    tableCommands,
    locationCommands,
    staff,
    sync,
    compaction,
    close() {
      stopTellingStaff();
      staff.close();
      renewal.stop();
      compaction.stop();
      sync.stop();
      store.close();
    },
  };
}
