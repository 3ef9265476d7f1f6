import { describe, expect, it, vi } from 'vitest';
import type { SyncManager } from '../../client/sync/sync-manager';
import type { SyncStatus } from '../../client/sync/sync-status';
import { cleanUpAfterEach, model } from '../helpers/ui-models';

type SyncMod = typeof import('../../client/ui/models/sync-model.svelte');
const { SyncModel } = await model<SyncMod>('sync-model');

cleanUpAfterEach();

/** Just the SyncManager the model talks to: statuses published by the test, a scripted "Sync now", releases recorded. */
function fakeManager(role: SyncManager['role'], syncNowSays: string | null) {
  const released: string[] = [];
  const listeners = new Set<(s: SyncStatus) => void>();
  const manager = {
    role,
    status: {} as SyncStatus,
    subscribe: (fn: (s: SyncStatus) => void) => (listeners.add(fn), () => listeners.delete(fn)),
    syncNow: async () => syncNowSays,
    releaseQuarantine: (ids: Iterable<string>) => void released.push(...ids),
  };
  const publish = (s: Pick<SyncStatus, 'connection' | 'lastSyncAt'> & Partial<Pick<SyncStatus, 'uploadsRefused'>>) => {
    for (const fn of listeners) fn({ uploadsRefused: null, ...s } as SyncStatus);
  };
  return { manager: manager as unknown as SyncManager, released, publish };
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

  it('[SYN23] what "Sync now" said is cleared once the server answers: in sync since, or the connection online', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(1_000_000);
      const fake = fakeManager('terminal', 'Server not reachable (network)');
      const m = new SyncModel(fake.manager);
      await m.syncNow();
      fake.publish({ connection: { name: 'intermittent', recentFailures: 1 }, lastSyncAt: 990_000 });
      expect(m.lastError).toBe('Server not reachable (network)');
      vi.setSystemTime(1_005_000);
      // Before, it stayed on screen for good, the server answering or not.
      fake.publish({ connection: { name: 'intermittent', recentFailures: 1 }, lastSyncAt: 1_004_000 });
      expect(m.lastError).toBeNull();

      await m.syncNow();
      fake.publish({ connection: { name: 'offline', since: 1_005_000 }, lastSyncAt: 1_004_000 });
      expect(m.lastError).toBe('Server not reachable (network)');
      fake.publish({ connection: { name: 'online', latencyMs: 40 }, lastSyncAt: 1_004_000 });
      expect(m.lastError).toBeNull();
    } finally {
      vi.useRealTimers();
    }
  });

  it('[SYN23] what "Sync now" said of uploads refused whole (a proxy between) stands while they are, the connection online or not', async () => {
    const said = 'Uploads refused (HTTP 413, not by this app\'s server: a proxy in between?). What is owed stays here and is tried again.';
    const fake = fakeManager('terminal', said);
    const m = new SyncModel(fake.manager);
    await m.syncNow();
    // The clock probe and the relay answer: the connection reads online, the sales are still refused.
    fake.publish({ connection: { name: 'online', latencyMs: 40 }, lastSyncAt: Date.now() - 60_000, uploadsRefused: 'HTTP 413' });
    expect(m.lastError).toBe(said);
    fake.publish({ connection: { name: 'online', latencyMs: 40 }, lastSyncAt: Date.now() + 1, uploadsRefused: null });
    expect(m.lastError).toBeNull();
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
