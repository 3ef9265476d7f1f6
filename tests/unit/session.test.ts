import 'fake-indexeddb/auto';
import { describe, expect, it, vi } from 'vitest';
import { loadPairing, type Pairing } from '../../client/app/pairing';
import { openSession } from '../../client/app/session';
import type { TokenRenewalOptions } from '../../client/app/token-renewal';
import { installLocalStorage } from '../helpers/device-storage';

/**
 * What openSession (client/app/session.ts) wires between its parts, its collaborators mocked to
 * record what they are told: a renewed token reaches sync and the pairing, kept (SYN16),
 * and close() stops the renewal, then compaction, then sync, and closes the store last, so
 * nothing stopped later writes to a closed store or sends for an unpaired device (SYN12).
 */
const calls: string[] = [];
const renewals: TokenRenewalOptions[] = [];
const sync = {
  renewToken: vi.fn(),
  setStaff: () => {},
  acknowledgements: () => ({ marks: {}, above: {} }),
  stop: () => void calls.push('sync.stop'),
};
vi.mock('../../client/sync/sync-manager', () => ({ SyncManager: { start: () => sync } }));
vi.mock('../../client/store/event-store', () => ({
  EventStore: {
    open: async () => ({ useAcknowledgements: () => {}, clock: { physicalNow: () => Date.now() }, close: () => void calls.push('store.close') }),
  },
}));
vi.mock('../../client/store/compaction-scheduler', () => ({
  DEFAULT_COMPACTION_SCHEDULE: {},
  CompactionScheduler: class {
    stop() {
      calls.push('compaction.stop');
    }
  },
}));
vi.mock('../../client/sync/endpoints', () => ({ appEndpoints: () => ({ apiBase: 'http://127.0.0.1:9', syncEndpoint: 'ws://127.0.0.1:9/sync' }) }));
vi.mock('../../client/app/token-renewal', () => ({
  TokenRenewal: class {
    constructor(options: TokenRenewalOptions) {
      renewals.push(options);
    }
    start() {}
    stop() {
      calls.push('renewal.stop');
    }
  },
}));

/** An unsigned token of till-1 at location A (the device only reads its claims). */
function tokenExpiring(exp: number): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'HS256', typ: 'JWT' })}.${part({ location: 'A', role: 'terminal', terminal: 'till-1', exp })}.sig`;
}

describe('openSession', () => {
  it('[SYN16][SYN12] a renewed token reaches sync and the pairing, kept; close() stops the renewal, compaction and sync before it closes the store', async () => {
    const storage = installLocalStorage();
    vi.stubGlobal('window', new EventTarget()); // the browser's online/offline events
    try {
      const pairing: Pairing = { token: tokenExpiring(2_000_000_000), location: 'A', terminal: 'till-1', writer: 'till-1', role: 'terminal', expiresAt: 2_000_000_000_000, pairedAt: 0 };
      const session = await openSession(pairing);

      const renewed = tokenExpiring(2_100_000_000);
      await renewals[0]!.onRenewed(renewed);
      expect(sync.renewToken).toHaveBeenCalledWith(renewed);
      expect(session.pairing).toMatchObject({ token: renewed, expiresAt: 2_100_000_000_000 });
      expect((await loadPairing())?.token).toBe(renewed); // what the next start reads

      session.close();
      expect(calls).toEqual(['renewal.stop', 'compaction.stop', 'sync.stop', 'store.close']);
    } finally {
      vi.unstubAllGlobals();
      storage.restore();
    }
  });
});
