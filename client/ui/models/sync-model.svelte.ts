import type { SyncManager } from '../../sync/sync-manager';
import type { DeliveryState, SyncStatus } from '../../sync/sync-status';
import type { EventEnvelope } from '../../../shared/events/envelope';
import { isManager } from '../../app/pairing';
import { message } from '../format';

/** The sync layer's published status as reactive state, and its manual actions. */
export class SyncModel {
  status: SyncStatus;
  syncing = $state(false);
  /** Why the last "Sync now" did not reach the server (no network, no answer, token refused) or its uploads were refused; cleared once it answers (stores one). */
  lastError = $state<string | null>(null);
  /** When lastError was set (wall clock, as lastSyncAt). */
  private lastErrorAt = 0;
  /** Managers may let quarantined events be uploaded again (e.g. after a server update). */
  readonly mayReleaseQuarantined: boolean;
  private readonly unsubscribe: () => void;

  constructor(private readonly manager: SyncManager) {
    this.status = $state.raw(manager.status);
    this.mayReleaseQuarantined = isManager(manager.role);
    this.unsubscribe = manager.subscribe((s) => {
      this.status = s;
      // Uploads a proxy refuses are answered too: what Sync now said of them stands until one is stored.
      if (this.lastError !== null && answeredSince(s, this.lastErrorAt) && s.uploadsRefused === null) this.lastError = null;
    });
  }

  async syncNow(): Promise<void> {
    this.syncing = true;
    this.lastError = null;
    try {
      this.lastError = await this.manager.syncNow();
    } catch (err) {
      this.lastError = message(err);
    } finally {
      this.lastErrorAt = Date.now();
      this.syncing = false;
    }
  }

  /** Lets one quarantined event be uploaded again (managers only). */
  releaseQuarantined(eventId: string): void {
    if (this.mayReleaseQuarantined) this.manager.releaseQuarantine([eventId]);
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

/** The server answered after `at`: in sync since, or the connection reads online or slow (no failure recent). */
function answeredSince(s: SyncStatus, at: number): boolean {
  return (s.lastSyncAt !== null && s.lastSyncAt > at) || s.connection.name === 'online' || s.connection.name === 'slow';
}
