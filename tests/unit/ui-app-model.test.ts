import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Pairing } from '../../client/app/pairing';
import type { Session } from '../../client/app/session';
import type { SyncStatus } from '../../client/sync/sync-status';
import { cleanUpAfterEach, model, till } from '../helpers/ui-models';

/*
 * The app's pairing decisions (AppModel.pair, APP41) over a stand-in for the browser (location,
 * history, localStorage) and for openSession: each session opened is recorded, its sync a fake
 * whose status the test publishes.
 */
const opened = vi.hoisted(() => [] as { pairing: Pairing; publish: (status: Partial<SyncStatus>) => void }[]);
vi.mock('../../client/app/session', () => ({ openSession: (pairing: Pairing) => fakeSession(pairing) }));

type AppMod = typeof import('../../client/ui/models/app-model.svelte');
const { AppModel } = await model<AppMod>('app-model');

cleanUpAfterEach();

/** localStorage in a Map; `full` makes the owed counts' writes throw as a full disk's would. */
class FakeStorage {
  readonly items = new Map<string, string>();
  full = false;
  getItem(key: string): string | null {
    return this.items.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    if (this.full && key.startsWith('rms:owed:')) throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
    this.items.set(key, value);
  }
  removeItem(key: string): void {
    this.items.delete(key);
  }
}

let storage: FakeStorage;
let reloads: number;

beforeEach(() => {
  opened.length = 0;
  storage = new FakeStorage();
  reloads = 0;
  const page = { hash: '#/tickets', pathname: '/', search: '', origin: 'http://127.0.0.1:9', reload: () => void reloads++ };
  vi.stubGlobal('localStorage', storage);
  vi.stubGlobal('window', new EventTarget());
  vi.stubGlobal('location', page);
  vi.stubGlobal('history', { replaceState: (_: unknown, __: string, url: string) => (page.hash = url.slice(url.indexOf('#'))) });
  // The server cannot be asked which writers it holds: a fresh writer is chosen.
  vi.stubGlobal('fetch', () => Promise.reject(new Error('offline')));
});

afterEach(() => {
  vi.unstubAllGlobals();
});

function token(location: string, terminal: string, role: Pairing['role'] = 'terminal'): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'none' })}.${part({ location, terminal, role, iat: Math.floor(Date.now() / 1000) })}.x`;
}

function pairedAs(location: string, terminal: string, role: Pairing['role'] = 'terminal'): void {
  const pairing: Pairing = { token: token(location, terminal, role), location, terminal, writer: terminal, role, expiresAt: null, pairedAt: 1 };
  storage.setItem('rms:pairing', JSON.stringify(pairing));
}

function linkFor(location: string, terminal: string): string {
  return `#/pair?${new URLSearchParams({ token: token(location, terminal), location, terminal })}`;
}

/** A session over an in-memory store; its sync publishes what the test says (owed, refused). */
async function fakeSession(pairing: Pairing): Promise<Session> {
  const { store, commands, menuCommands } = await till({ location: `${pairing.location}-${opened.length}`, terminal: pairing.writer });
  const listeners = new Set<(status: SyncStatus) => void>();
  let status = { owed: null, quarantined: [], connection: { name: 'offline', since: 0 } } as unknown as SyncStatus;
  const sync = {
    role: pairing.role,
    get status() {
      return status;
    },
    subscribe(fn: (s: SyncStatus) => void) {
      listeners.add(fn);
      fn(status);
      return () => listeners.delete(fn);
    },
  };
  opened.push({
    pairing,
    publish(change) {
      status = { ...status, ...change };
      for (const fn of listeners) fn(status);
    },
  });
  return {
    pairing,
    onPairingChanged: () => {},
    store,
    commands,
    menuCommands,
    staff: { current: null, recent: [], onChange: () => () => {} },
    sync,
    compaction: { subscribe: () => () => {} },
  } as unknown as Session;
}

const refused = { eventId: 'e-1', type: 'ticket.opened', aggregateId: 't1', terminal: 'till-1', n: 1, reason: 'invalid', field: null, at: 0 };

describe('Pairing links on a paired till (AppModel, APP41)', () => {
  it('[APP41] events the server refused do not hold back a link for another location, running or on a cold start', async () => {
    pairedAs('demo', 'till-1');
    const running = new AppModel();
    await running.start();
    expect(running.phase.name).toBe('ready');
    opened[0]!.publish({ owed: 0, quarantined: [refused] });

    await running.pair(new URLSearchParams(linkFor('other', 'till-1').slice('#/pair?'.length)));
    expect(running.heldPairing).toBeNull();
    expect(running.pairingNotice).toBeNull();
    expect(reloads).toBe(1);

    // A cold start on the link: the count remembered for demo leaves the refused event out too.
    pairedAs('demo', 'till-1');
    location.hash = linkFor('other', 'till-1');
    const cold = new AppModel();
    await cold.start();
    expect(cold.heldPairing).toBeNull();
    expect(opened.at(-1)!.pairing.location).toBe('other');
  });

  it('[APP41] events owed still hold back a link for another location, on a cold start too (a code scanned with the app closed), and one for another terminal of the same location is taken', async () => {
    pairedAs('demo', 'till-1');
    const app = new AppModel();
    await app.start();
    opened[0]!.publish({ owed: 2, quarantined: [] });

    await app.pair(new URLSearchParams(linkFor('other', 'till-1').slice('#/pair?'.length)));
    expect(app.heldPairing?.location).toBe('other');
    expect(app.pairingNotice).toMatch(/^This till still owes 2 events to demo:/);

    // A cold start on the link: the count remembered for demo holds it back before the sync knows it.
    location.hash = linkFor('other', 'till-1');
    const cold = new AppModel();
    await cold.start();
    expect(cold.heldPairing?.location).toBe('other');
    expect(cold.pairingNotice).toMatch(/^This till still owes 2 events to demo:/);
    expect(opened.at(-1)!.pairing.location).toBe('demo');

    await app.pair(new URLSearchParams(linkFor('demo', 'till-2').slice('#/pair?'.length)));
    expect(app.heldPairing).toBeNull();
    expect(reloads).toBe(1);
  });

  it('[APP41] a full localStorage does not break the sync status listener: the session opens and its counts keep coming', async () => {
    storage.full = true;
    pairedAs('demo', 'till-1');
    const app = new AppModel();
    await app.start();
    expect(app.phase.name).toBe('ready');
    expect(() => opened[0]!.publish({ owed: 3 })).not.toThrow();
    // The running session's count still decides.
    await app.pair(new URLSearchParams(linkFor('other', 'till-1').slice('#/pair?'.length)));
    expect(app.pairingNotice).toMatch(/^This till still owes 3 events to demo:/);
  });
});

describe('Typed work an update waits for (AppModel, APP8)', () => {
  it('[APP8] "Reload now" asks first while a manager is typing a new table', async () => {
    pairedAs('demo', 'till-1', 'manager');
    const app = new AppModel();
    await app.start();
    if (app.phase.name !== 'ready') throw new Error(`the app is ${app.phase.name}`);
    app.phase.screens.tables!.label = 'Terrace 4';
    const apply = vi.fn(async () => {});
    app.shell.updateReady(apply);
    await app.shell.reloadNow();
    expect(apply).not.toHaveBeenCalled();
    expect(app.shell.confirmingLoss).toBe(true);
  });
});
