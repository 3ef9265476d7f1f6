import { describe, expect, it } from 'vitest';
import { render } from 'svelte/server';
import { component, textOf } from '../helpers/ui-components';
import type { SyncStatus } from '../../client/sync/sync-status';

const HOUR = 3_600_000;

/** What the status bar says for this sync status, on a device whose clock is `offsetMs` off the server's (server − device). */
async function statusBarText(status: Partial<SyncStatus>, options: { expiresAt?: number; offsetMs?: number } = {}): Promise<string> {
  const StatusBar = await component('StatusBar');
  const full = {
    connection: { name: 'online', latencyMs: 20 },
    relay: 'connected',
    owed: 0,
    oldestOwedAt: null,
    lastSyncAt: Date.now(),
    roomReceivedAt: Date.now(),
    inFlight: false,
    quarantined: [],
    authProblem: null,
    uploadsRefused: null,
    awaitingServerUpdate: 0,
    ...status,
  };
  const props = {
    sync: { status: full },
    log: { persistence: { mode: 'indexeddb' }, store: { clock: { getOffset: () => options.offsetMs ?? 0 } } },
    pairing: { expiresAt: options.expiresAt ?? null },
    now: { value: Date.now() },
  };
  return textOf(render(StatusBar, { props: props as never }).body).replace(/\s+/g, ' ');
}

describe('status bar (StatusBar)', () => {
  it('[OUT14] events waiting for the server to be updated are said, with how many: the owed count that does not drain has its reason', async () => {
    const text = await statusBarText({ owed: 2, awaitingServerUpdate: 2 });
    expect(text).toMatch(/The server needs an update for 2 events this app wrote/);
    expect(await statusBarText({ owed: 2 })).not.toMatch(/needs an update/);
  });

  it('[APP16] a token is judged expired by server time: a device clock two hours fast does not say so of a token good for another hour', async () => {
    const expired = /token has expired/;
    // The device's clock reads two hours ahead of the server (its offset is −2 h): server time is now − 2 h.
    const server = Date.now() - 2 * HOUR;
    expect(await statusBarText({}, { expiresAt: server + HOUR, offsetMs: -2 * HOUR })).not.toMatch(expired);
    expect(await statusBarText({}, { expiresAt: server - 1000, offsetMs: -2 * HOUR })).toMatch(expired);
    expect(await statusBarText({}, { expiresAt: Date.now() - 1000 })).toMatch(expired);
  });
});
