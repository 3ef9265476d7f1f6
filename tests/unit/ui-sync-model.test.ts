import { describe, expect, it } from 'vitest';
import type { SyncManager } from '../../client/sync/sync-manager';
import type { SyncStatus } from '../../client/sync/sync-status';
import { cleanUpAfterEach, model } from '../helpers/ui-models';

type SyncMod = typeof import('../../client/ui/models/sync-model.svelte');
const { SyncModel } = await model<SyncMod>('sync-model');

cleanUpAfterEach();

/** Just the SyncManager the model talks to: a fixed status, a scripted "Sync now", releases recorded. */
function fakeManager(role: SyncManager['role'], syncNowSays: string | null) {
  const released: string[] = [];
  const manager = {
    role,
    status: {} as SyncStatus,
    subscribe: () => () => {},
    syncNow: async () => syncNowSays,
    releaseQuarantine: (ids: Iterable<string>) => void released.push(...ids),
  };
  return { manager: manager as unknown as SyncManager, released };
}

describe('Sync status (SyncModel)', () => {
  it('[SYN23] "Sync now" shows why the server was not reached, and clears it once it answers', async () => {
    const down = new SyncModel(fakeManager('terminal', 'Server not reachable (network)').manager);
    await down.syncNow();
    // Before, a failed "Sync now" threw nothing and showed nothing.
    expect(down.lastError).toBe('Server not reachable (network)');
    const up = new SyncModel(fakeManager('terminal', null).manager);
    await up.syncNow();
    expect(up.lastError).toBeNull();
  });

  it('[OUT12] a manager releases a quarantined event for upload; a terminal cannot', () => {
    const manager = fakeManager('manager', null);
    const m = new SyncModel(manager.manager);
    expect(m.mayReleaseQuarantined).toBe(true);
    m.releaseQuarantined('e-1');
    expect(manager.released).toEqual(['e-1']);

    const till = fakeManager('terminal', null);
    const t = new SyncModel(till.manager);
    expect(t.mayReleaseQuarantined).toBe(false);
    t.releaseQuarantined('e-1');
    expect(till.released).toEqual([]);
  });
});
