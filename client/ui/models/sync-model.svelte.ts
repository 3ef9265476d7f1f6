import type { SyncManager } from '../../sync/sync-manager';
import type { DeliveryState, SyncStatus } from '../../sync/sync-status';
import type { EventEnvelope } from '../../../shared/events/envelope';
import { message } from '../format';

/** The sync layer's published status as reactive state, and its one manual action. */
export class SyncModel {
  status: SyncStatus;
  syncing = $state(false);
  lastError = $state<string | null>(null);
  private readonly unsubscribe: () => void;

  constructor(private readonly manager: SyncManager) {
    this.status = $state.raw(manager.status);
    this.unsubscribe = manager.subscribe((s) => (this.status = s));
  }

  async syncNow(): Promise<void> {
    this.syncing = true;
    this.lastError = null;
    try {
      await this.manager.syncNow();
    } catch (err) {
      this.lastError = message(err);
    } finally {
      this.syncing = false;
    }
  }

  /** Re-evaluated whenever the status changes (watermarks, relay). */
  deliveryState(event: EventEnvelope): DeliveryState {
    void this.status;
    return this.manager.deliveryState(event);
  }

  dispose(): void {
    this.unsubscribe();
  }
}
