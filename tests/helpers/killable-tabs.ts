import { AsyncLocalStorage } from 'node:async_hooks';
import { installWebLocks } from './web-locks';

/**
 * Tabs of one device in one Node thread (fake-indexeddb installed by the test file), each of
 * which can be killed (power lost, the OS reclaiming it). What a tab opens while it runs
 * `tab.run(…)` — or anything that starts, later — is that tab's: IndexedDB connections,
 * BroadcastChannels, intervals and, with `webLocks`, Web Locks (see installWebLocks).
 * `tab.kill()` does to them what a browser does to a tab whose process is gone: its connections
 * are cut (every transaction not yet committed aborts, nothing it asks later is written), its
 * channels neither send nor hear, its intervals stop, its locks are released — and nothing of it
 * is closed or flushed. What it sent before then has left it.
 */
export interface KillableTab {
  run<T>(fn: () => T): T;
  kill(): void;
}

interface TabResources {
  connections: IDBDatabase[];
  channels: BroadcastChannel[];
  intervals: ReturnType<typeof setInterval>[];
  locks: (() => void)[];
}

export function installKillableTabs(options: { webLocks: boolean }): { tab(): KillableTab; restore(): void } {
  const current = new AsyncLocalStorage<TabResources>();
  const openTransactions = new Map<IDBDatabase, Set<IDBTransaction>>();
  const dead = new WeakSet<IDBDatabase>();

  const open = IDBFactory.prototype.open;
  const transaction = IDBDatabase.prototype.transaction;
  const OriginalChannel = globalThis.BroadcastChannel;
  const originalSetInterval = globalThis.setInterval;
  IDBFactory.prototype.open = function (this: IDBFactory, name: string, version?: number) {
    const tab = current.getStore();
    const req = open.call(this, name, version);
    if (tab) req.addEventListener('success', () => tab.connections.push(req.result));
    return req;
  };
  IDBDatabase.prototype.transaction = function (this: IDBDatabase, ...args: Parameters<IDBDatabase['transaction']>) {
    if (dead.has(this)) throw new DOMException('the tab is gone', 'InvalidStateError');
    const tx = transaction.apply(this, args);
    let live = openTransactions.get(this);
    if (!live) openTransactions.set(this, (live = new Set()));
    live.add(tx);
    const done = () => live.delete(tx);
    tx.addEventListener('complete', done);
    tx.addEventListener('abort', done);
    return tx;
  } as IDBDatabase['transaction'];
  globalThis.BroadcastChannel = class extends OriginalChannel {
    constructor(name: string) {
      super(name);
      current.getStore()?.channels.push(this);
    }
  };
  globalThis.setInterval = ((...args: Parameters<typeof setInterval>) => {
    const id = originalSetInterval(...args);
    current.getStore()?.intervals.push(id);
    return id;
  }) as typeof setInterval;
  const restoreLocks = options.webLocks ? installWebLocks((release) => current.getStore()?.locks.push(release)) : () => {};

  return {
    tab() {
      const resources: TabResources = { connections: [], channels: [], intervals: [], locks: [] };
      return {
        run: (fn) => current.run(resources, fn),
        kill() {
          for (const db of resources.connections.filter((db) => !dead.has(db))) {
            dead.add(db);
            for (const tx of openTransactions.get(db) ?? []) {
              try {
                tx.abort();
              } catch {
                // committing or done already: on disk
              }
            }
          }
          for (const channel of resources.channels) channel.close();
          for (const id of resources.intervals) clearInterval(id);
          for (const release of resources.locks) release();
        },
      };
    },
    restore() {
      IDBFactory.prototype.open = open;
      IDBDatabase.prototype.transaction = transaction;
      globalThis.BroadcastChannel = OriginalChannel;
      globalThis.setInterval = originalSetInterval;
      restoreLocks();
    },
  };
}
