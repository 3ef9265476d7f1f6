import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it } from 'vitest';
import { EventStore, type EventStoreOptions } from '../../client/store/event-store';
import { SEGMENT_SIZE } from '../../shared/log/log-doc';
import { installWebLocks } from '../helpers/web-locks';

let seq = 0;
const open: EventStore[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close().catch(() => undefined)));
});

async function openStore(options: Partial<EventStoreOptions> & { location: string }): Promise<EventStore> {
  const store = await EventStore.open({ terminal: 'till-1', crossTab: false, ...options });
  open.push(store);
  return store;
}

const ticket = (id: string) => ({ aggregate: { id, type: 'ticket' } });
const num = (i: number) => `A-${String(i).padStart(3, '0')}`;

describe('Store lifecycle', () => {
  it('[STO17] a closed store keeps its writer slot until its last writes are on disk: a store reopened at once continues after them', async () => {
    const restore = installWebLocks();
    try {
      const location = `slot-${++seq}`;
      const first = await EventStore.open({ location, terminal: 'till-1', crossTab: false });
      // A full segment, so the next write opens the writer's second one.
      await Promise.all(Array.from({ length: SEGMENT_SIZE }, (_, i) => first.append('ticket.opened', { number: num(i) }, ticket(`t${i}`))));
      // Earlier work still being written when the session closes (a checkpoint here).
      void (first as unknown as { checkpoints: { flush(): Promise<void> } }).checkpoints.flush();
      const last = first.append('ticket.opened', { number: num(900) }, ticket('t900'));
      const closed = first.close();
      await new Promise((r) => setTimeout(r, 0)); // Web Locks release asynchronously
      const second = await openStore({ location });
      const next = await second.append('ticket.opened', { number: num(901) }, ticket('t901'));
      const lastEvent = await last;
      await closed;
      // Another slot while the first is still writing, or the same one continuing after it.
      expect(`${next.origin.terminal}#${next.origin.n}`).not.toBe(`${lastEvent.origin.terminal}#${lastEvent.origin.n}`);
      await second.close();
      open.length = 0;

      const reloaded = await openStore({ location });
      expect(reloaded.getByAggregate('t900')).toEqual([lastEvent]);
      expect(reloaded.getByAggregate('t901')).toEqual([next]);
      expect(reloaded.projection.size).toBe(SEGMENT_SIZE + 2);
      // Once closed, the slot is free again and its counter continues.
      expect(reloaded.writer).toBe('till-1');
      const after = await reloaded.append('ticket.opened', { number: num(902) }, ticket('t902'));
      expect(after.origin.n).toBe(Math.max(lastEvent.origin.n, next.origin.terminal === 'till-1' ? next.origin.n : 0) + 1);
    } finally {
      restore();
    }
  });
});

describe('A full disk, then room again', () => {
  it('[STO18] writes refused while the disk was full are written once there is room: every later append is there after a reload', async () => {
    const location = `full-${++seq}`;
    const store = await openStore({ location });
    const first = await store.append('ticket.opened', { number: num(1) }, ticket('t1'));
    const add = IDBObjectStore.prototype.add;
    let full = true;
    // As browsers report it: the transaction aborts with QuotaExceededError (fake-indexeddb's own abort step).
    IDBObjectStore.prototype.add = function (this: IDBObjectStore, ...args: Parameters<IDBObjectStore['add']>) {
      const req = add.apply(this, args);
      const tx = this.transaction as IDBTransaction & { _abort(name: string): void };
      if (full) queueMicrotask(() => tx._abort('QuotaExceededError'));
      return req;
    };
    try {
      const refused = store.append('ticket.item_added', { lineId: 'l1', menuItemId: 'cola', name: 'Cola', unitPriceCents: 350, quantity: 1 }, ticket('t1'));
      await expect(refused).rejects.toThrow(/storage is full/);
      expect(store.persistence.mode).toBe('memory');
      full = false; // room again (another site's data was evicted, a photo deleted)
      const later = await store.append('ticket.opened', { number: num(2) }, ticket('t2'));
      await store.close();
      open.length = 0;

      const reloaded = await openStore({ location });
      expect(reloaded.getByAggregate('t2')).toEqual([later]);
      expect(reloaded.getByAggregate('t1').map((e) => e.id)).toEqual([first.id, store.getByAggregate('t1')[1]!.id]);
    } finally {
      IDBObjectStore.prototype.add = add;
    }
  });
});
