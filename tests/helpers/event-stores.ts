import * as Y from 'yjs';
import { EventStore, type EventStoreOptions } from '../../client/store/event-store';
import { canonicalJson } from '../../shared/events/envelope';

/** The stores openStore opened, for `afterEach(() => closeAll(openedStores))`; a test that closed them itself may empty it. */
export const openedStores: EventStore[] = [];

/** A store of till-1 without a cross-tab channel, unless `options` say otherwise; kept in openedStores. */
export async function openStore(options: Partial<EventStoreOptions> & { location: string }): Promise<EventStore> {
  const store = await EventStore.open({ terminal: 'till-1', crossTab: false, ...options });
  openedStores.push(store);
  return store;
}

/**
 * Closes and forgets everything in `opened`, awaiting each close: a store's last writes and the
 * release of its writer slot finish before the next test starts. A close that fails belonged to the
 * test that ended (a failing disk, say), so it is not reported against the next one.
 */
export async function closeAll(opened: { close(): void | Promise<void> }[]): Promise<void> {
  await Promise.allSettled(opened.splice(0).map(async (o) => o.close()));
}

/** Every view a store holds, in id order, as one string: two stores that agree give the same one. */
export function allViews(store: EventStore): string {
  return canonicalJson(store.views().sort((a, b) => (a.id < b.id ? -1 : 1)));
}

/** Gives each of two stores what the other holds and it lacks, as the relay would. */
export function exchange(a: EventStore, b: EventStore): void {
  Y.applyUpdate(b.doc, Y.encodeStateAsUpdate(a.doc, Y.encodeStateVector(b.doc)), 'relay');
  Y.applyUpdate(a.doc, Y.encodeStateAsUpdate(b.doc, Y.encodeStateVector(a.doc)), 'relay');
}
