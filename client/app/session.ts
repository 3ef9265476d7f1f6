import { EventStore } from '../store/event-store';
import { TicketCommands } from '../commands/ticket-commands';
import { SyncManager } from '../sync/sync-manager';
import { realTimers } from '../sync/timers';
import { CompactionScheduler } from '../store/compaction-scheduler';
import type { Pairing } from './pairing';

/**
 * Everything a paired device runs: the location's event log (IndexedDB), the staff
 * commands on it, and the sync layer (relay + uploader). Screens reach these only through
 * the view-models in client/ui/models.
 */
export interface Session {
  readonly pairing: Pairing;
  readonly store: EventStore;
  readonly commands: TicketCommands;
  readonly sync: SyncManager;
  readonly compaction: CompactionScheduler;
  close(): void;
}

export async function openSession(pairing: Pairing): Promise<Session> {
  const store = await EventStore.open({ location: pairing.location, terminal: pairing.writer });
  const commands = new TicketCommands({ store, role: pairing.role });
  const sync = SyncManager.start({
    store,
    location: pairing.location,
    token: pairing.token,
    role: pairing.role,
    // online/offline events: offline pauses the relay and uploads at once, online resumes them.
    browser: window,
  });
  // Idle, over-threshold and manual compaction; acknowledgements from uploads count too.
  const compaction = new CompactionScheduler(store, realTimers, () => sync.watermarks());
  return {
    pairing,
    store,
    commands,
    sync,
    compaction,
    close() {
      compaction.stop();
      sync.stop();
      store.close();
    },
  };
}
