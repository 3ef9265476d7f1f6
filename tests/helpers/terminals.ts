import WebSocket from 'ws';
import { EventStore } from '../../client/store/event-store';
import { SyncManager, type SyncOptions } from '../../client/sync/sync-manager';
import { HybridClock } from '../../shared/clock/hybrid-clock';
import { mint } from './server-clients';

/**
 * A terminal as the tests drive it: a real EventStore (memory persistence, as IndexedDB
 * is covered by the contract tests) and a real SyncManager talking HTTP and websockets
 * to a real server, possibly through a fault-injecting proxy.
 */
export interface TestTerminal {
  store: EventStore;
  sync: SyncManager;
  /**
   * Stops syncing and closes the store; what it returns settles once the store's last writes are
   * on disk and its writer slot is free (void from a test's own wrapper that closes only once).
   */
  close(): Promise<void> | void;
}

export interface DeferredTerminal {
  store: EventStore;
  startSync(): TestTerminal;
}

export interface TerminalOptions {
  location: string;
  terminal: string;
  /** The writer id its events carry, when not the terminal id (a re-paired device, see chooseWriter). */
  writer?: string;
  apiBase: string;
  syncEndpoint: string;
  /** Wall-clock skew of this terminal, ms (negative = behind). */
  skewMs?: number;
  otherWritersGraceMs?: number;
  sync?: Partial<SyncOptions>;
  /** Default memory; 'indexeddb' needs fake-indexeddb installed by the test file. */
  persistence?: 'memory' | 'indexeddb';
  /** A tab of a device whose other tabs may be open (EventStoreOptions.crossTab; default false). */
  crossTab?: boolean;
  /** Wall clock of this terminal (default: real time + skewMs). */
  wallNow?: () => number;
  /** Open the store but do not start syncing yet (see startSync). */
  deferSync?: boolean;
  /** The token it syncs with (default: one minted now for the terminal). */
  token?: string;
}

export async function startTerminal(options: TerminalOptions): Promise<TestTerminal> {
  return (await openTerminal(options)).startSync();
}

export async function openTerminal(options: TerminalOptions): Promise<DeferredTerminal> {
  const skew = options.skewMs ?? 0;
  const store = await EventStore.open({
    location: options.location,
    terminal: options.writer ?? options.terminal,
    persistence: options.persistence ?? 'memory',
    crossTab: options.crossTab ?? false,
    clock: new HybridClock({ wallNow: options.wallNow ?? (() => Date.now() + skew) }),
  });
  const token = options.token ?? (await mint(options.location, 'terminal', options.terminal));
  return { store, startSync: () => syncTerminal(store, token, options) };
}

function syncTerminal(store: EventStore, token: string, options: TerminalOptions): TestTerminal {
  const sync = SyncManager.start({
    store,
    location: options.location,
    token,
    role: 'terminal',
    apiBase: options.apiBase,
    syncEndpoint: options.syncEndpoint,
    WebSocketImpl: WebSocket as unknown as typeof globalThis.WebSocket,
    ...(options.otherWritersGraceMs === undefined ? {} : { otherWritersGraceMs: options.otherWritersGraceMs }),
    ...options.sync,
  });
  return {
    store,
    sync,
    close() {
      sync.stop();
      return store.close();
    },
  };
}

/** Every event of a location in the canonical store, paging GET /api/events. */
export async function serverEvents(apiBase: string, location: string): Promise<{ id: string; origin: { terminal: string; n: number } }[]> {
  const token = await mint(location, 'manager', 'inspector');
  const out: { id: string; origin: { terminal: string; n: number } }[] = [];
  let after = '';
  for (let page = 0; page < 10_000; page++) {
    const res = await fetch(`${apiBase}/api/events?after=${after}&limit=1000`, { headers: { authorization: `Bearer ${token}` } });
    const body = (await res.json()) as { events: { id: string; origin: { terminal: string; n: number } }[]; next: string; hasMore: boolean };
    out.push(...body.events);
    after = body.next;
    if (!body.hasMore) break;
  }
  return out;
}

/** What a terminal's sync is doing, for the error of a wait that timed out. */
export function describeSync(name: string, t: TestTerminal): string {
  const s = t.sync.status;
  const held = [...t.store.eventsByWriter()].map(([writer, events]) => `${writer} ${events.map((e) => e.origin.n).join(',')}`);
  return `${name}: ${JSON.stringify({
    owed: s.owed,
    inFlight: s.inFlight,
    relay: s.relay,
    relayInStep: t.sync.relayInStep,
    connection: s.connection.name,
    attempt: s.attempt,
    nextAttemptInMs: s.nextAttemptAt === null ? null : s.nextAttemptAt - Date.now(),
    uploads: { attempts: s.metrics.attempts, successes: s.metrics.successes, failures: s.metrics.failuresByCause },
    watermarks: s.watermarks,
    quarantined: s.quarantined.map((q) => `${q.terminal}:${q.n}`),
    held,
  })}`;
}
