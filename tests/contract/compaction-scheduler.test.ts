import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { EventStore } from '../../client/store/event-store';
import { StorageFullError } from '../../client/store/storage-errors';
import { CompactionScheduler } from '../../client/store/compaction-scheduler';
import { HybridClock } from '../../shared/clock/hybrid-clock';
import { acksOf } from '../../shared/log/log-doc';
import { DEFAULT_RETENTION } from '../../shared/compaction/retention-policy';
import { ManualTimers } from '../helpers/manual-timers';
import { closeAll } from '../helpers/event-stores';
import { until } from '../helpers/until';

const DAY = 24 * 60 * 60_000;
const opened: { close(): void | Promise<void> }[] = [];
afterEach(() => closeAll(opened));

let seq = 0;
/** A store with closed, acknowledged tickets; its clock calibrated (offset 0) unless `calibrated` is false. */
async function storeWithClosedTickets(timers: ManualTimers, tickets: number, { calibrated = true } = {}): Promise<EventStore> {
  const clock = new HybridClock({ wallNow: timers.now, ...(calibrated ? { offsetMs: 0 } : {}) });
  const store = await EventStore.open({ location: `sched-${++seq}`, terminal: 'till-1', crossTab: false, clock, now: timers.now });
  opened.push(store);
  for (let i = 1; i <= tickets; i++) {
    const aggregate = { id: `t${i}`, type: 'ticket' };
    await store.append('ticket.opened', { number: `A-${String(i).padStart(3, '0')}` }, { aggregate });
    await store.append('ticket.item_added', { lineId: 'l1', menuItemId: 'cola', name: 'Cola', unitPriceCents: 350, quantity: 2 }, { aggregate });
    await store.append('ticket.payment_recorded', { paymentId: `p${i}`, method: 'card', amountCents: 700 }, { aggregate });
    await store.append('ticket.closed', { totalCents: 700 }, { aggregate });
  }
  // The server's acknowledgement, as it arrives in the room doc from the relay.
  const server = new Y.Doc();
  acksOf(server).set('till-1', tickets * 4);
  Y.applyUpdate(store.doc, Y.encodeStateAsUpdate(server), 'relay');
  return store;
}

describe('CompactionScheduler', () => {
  it('[CMP5] compacts once the terminal has been idle, not while it is busy, and reports what it freed; still idle, it does not run again', async () => {
    const timers = new ManualTimers();
    const store = await storeWithClosedTickets(timers, 30);
    const scheduler = new CompactionScheduler(store, timers, { idleMs: 60_000, checkEveryMs: 30_000, maxStoredBytes: 1e9 });
    opened.push({ close: () => scheduler.stop() });
    timers.advance(60_000); // idle for a minute, but nothing is old enough yet
    await until(() => scheduler.status().lastCompaction !== null && !scheduler.status().running, 'a compaction run finished');
    expect(scheduler.status().lastCompaction).toMatchObject({ trigger: 'idle', aggregates: 0 });
    const firstRun = scheduler.status().lastCompaction!.at;
    // Busy: a change just now means the next check does not count as idle.
    await store.append('ticket.opened', { number: 'A-900' }, { aggregate: { id: 'busy', type: 'ticket' } });
    timers.advance(30_000);
    // A check that compacts marks itself running before it awaits anything: none started.
    expect(scheduler.status().running).toBe(false);
    expect(scheduler.status().lastCompaction!.at).toBe(firstRun);
    timers.advance(2 * DAY); // the retention window passes; the app sat idle meanwhile
    await until(() => !scheduler.status().running, 'no compaction running');
    timers.advance(30_000); // the next check
    await until(() => scheduler.status().lastCompaction?.aggregates === 30, 'a compaction of the 30 closed tickets');
    const last = scheduler.status().lastCompaction!;
    expect(last).toMatchObject({ trigger: 'idle', aggregates: 30, events: 120 });
    expect(last.storedBytesAfter!).toBeLessThan(last.storedBytesBefore!);
    expect(scheduler.status()).toMatchObject({ eventsHeld: 1, aggregatesHeld: 1 }); // the open ticket stays
    for (let check = 0; check < 3; check++) {
      timers.advance(30_000);
      await until(() => !scheduler.status().running, 'no compaction running');
    }
    expect(scheduler.status().lastCompaction).toBe(last);
  });

  it('[APP20] compaction reads server-corrected time, as the events are stamped: a device clock running fast does not let tickets go early', async () => {
    const timers = new ManualTimers();
    const store = await storeWithClosedTickets(timers, 3);
    // The server says this device's clock is 45 minutes fast.
    store.clock.setOffset(-45 * 60_000);
    const scheduler = new CompactionScheduler(store, timers, { idleMs: 60_000, checkEveryMs: 30_000, maxStoredBytes: 1e9 });
    opened.push({ close: () => scheduler.stop() });
    // By the device's clock the retention window has passed; by the server's, not for 45 minutes.
    const keptUntil = DEFAULT_RETENTION.keptUntil(store.getByAggregate('t3').at(-1)!.at);
    timers.advance(keptUntil - timers.now() + 10 * 60_000);
    await until(() => !scheduler.status().running, 'no compaction running'); // the idle checks' run, started back then
    await scheduler.compactNow();
    expect(store.isArchived('t3')).toBe(false);
    timers.advance(40 * 60_000);
    await until(() => !scheduler.status().running, 'no compaction running');
    await scheduler.compactNow();
    expect(store.isArchived('t3')).toBe(true);
  });

  it('[CMP6] compacts when stored bytes pass the threshold, however little', async () => {
    const timers = new ManualTimers();
    const store = await storeWithClosedTickets(timers, 10);
    timers.advance(2 * DAY);
    const scheduler = new CompactionScheduler(store, timers, { idleMs: 10 * DAY, checkEveryMs: 1_000, maxStoredBytes: store.storedBytes()! - 1 });
    opened.push({ close: () => scheduler.stop() });
    timers.advance(1_000);
    await until(() => scheduler.status().lastCompaction !== null, 'a compaction run');
    expect(scheduler.status().lastCompaction).toMatchObject({ trigger: 'threshold', aggregates: 10 });
  });

  it('[CMP5] "Compact now" asked while a run is going joins it, rather than starting a second one over the same log', async () => {
    const timers = new ManualTimers();
    const store = await storeWithClosedTickets(timers, 3);
    const scheduler = new CompactionScheduler(store, timers, { idleMs: 10 * DAY, checkEveryMs: 10 * DAY, maxStoredBytes: 1e9 });
    opened.push({ close: () => scheduler.stop() });
    const first = scheduler.compactNow();
    expect(scheduler.compactNow()).toBe(first);
    await first;
  });

  it('[CMP7] a scheduled compaction that fails is in the status (no unhandled rejection); the next check rewrites the log and clears it', async () => {
    const timers = new ManualTimers();
    const store = await storeWithClosedTickets(timers, 10);
    timers.advance(2 * DAY);
    const scheduler = new CompactionScheduler(store, timers, { idleMs: 10 * DAY, checkEveryMs: 1_000, maxStoredBytes: 1_000 });
    opened.push({ close: () => scheduler.stop() });
    const clear = IDBObjectStore.prototype.clear;
    IDBObjectStore.prototype.clear = () => {
      throw new DOMException('the disk failed', 'UnknownError');
    };
    try {
      timers.advance(1_000);
      await until(() => scheduler.status().lastFailure !== null && !scheduler.status().running, 'a failed compaction run finished');
    } finally {
      IDBObjectStore.prototype.clear = clear;
    }
    expect(scheduler.status().lastFailure).toMatchObject({ trigger: 'threshold', message: expect.stringMatching(/the disk failed/) });
    expect(scheduler.status().lastCompaction).toBeNull();
    const storedAfterFailure = store.storedBytes()!;
    timers.advance(1_000);
    await until(() => scheduler.status().lastCompaction !== null && !scheduler.status().running, 'a compaction run finished');
    expect(scheduler.status().lastFailure).toBeNull();
    // The aggregates left the doc in the failed run; this one shrinks the log it could not.
    expect(scheduler.status().lastCompaction).toMatchObject({ trigger: 'threshold', aggregates: 0 });
    expect(store.storedBytes()!).toBeLessThan(storedAfterFailure);
    expect(store.persistence.mode).toBe('indexeddb');
  });
});

describe('CompactionScheduler before the clock is calibrated', () => {
  it('[CMP9] no scheduled run until the server\'s time is known (a till rebooted offline days ahead keeps today\'s tickets); a manual run says why; then it runs', async () => {
    const timers = new ManualTimers();
    const store = await storeWithClosedTickets(timers, 5, { calibrated: false });
    timers.advance(2 * DAY); // by this device's wall clock the retention window has passed
    const scheduler = new CompactionScheduler(store, timers, { idleMs: 60_000, checkEveryMs: 30_000, maxStoredBytes: 1_000 });
    opened.push({ close: () => scheduler.stop() });
    timers.advance(30_000); // a check: idle and over the threshold, but not calibrated
    await until(() => !scheduler.status().running, 'no compaction running');
    expect(scheduler.status().lastCompaction).toBeNull();
    expect(store.isArchived('t1')).toBe(false);
    await expect(scheduler.compactNow()).rejects.toThrow(/server's time/);
    // Said as waiting, not as a failure (a failure makes the next run rewrite the whole log).
    expect(scheduler.status()).toMatchObject({ waitingForServerTime: true, lastFailure: null });
    expect(store.isArchived('t1')).toBe(false);
    // The server answers: the wall clock was right after all.
    store.clock.setOffset(0);
    store.clockCalibrated();
    expect(scheduler.status().waitingForServerTime).toBe(false);
    timers.advance(30_000);
    await until(() => scheduler.status().lastCompaction !== null && !scheduler.status().running, 'a compaction run finished');
    expect(scheduler.status().lastCompaction).toMatchObject({ trigger: 'threshold', aggregates: 5 });
    expect(scheduler.status().lastFailure).toBeNull();
  });
});

describe('A full disk', () => {
  it('[CMP3] a quota error on write compacts, and the write then succeeds; if nothing helps it fails loudly', async () => {
    const timers = new ManualTimers();
    const store = await storeWithClosedTickets(timers, 20);
    timers.advance(2 * DAY);
    const add = IDBObjectStore.prototype.add;
    let failures = 1;
    IDBObjectStore.prototype.add = function (this: IDBObjectStore, ...args: Parameters<IDBObjectStore['add']>) {
      if (failures-- > 0) throw new DOMException('quota exceeded', 'QuotaExceededError');
      return add.apply(this, args);
    };
    try {
      const event = await store.append('ticket.opened', { number: 'A-100' }, { aggregate: { id: 't100', type: 'ticket' } });
      expect(store.isArchived('t1')).toBe(true); // compaction ran to make room
      expect(store.persistence.mode).toBe('indexeddb');
      store.close();
      opened.length = 0;
      const reloaded = await EventStore.open({ location: `sched-${seq}`, terminal: 'till-1', crossTab: false });
      opened.push(reloaded);
      expect(reloaded.getByAggregate('t100')).toEqual([event]);

      failures = Infinity;
      const refused = reloaded.append('ticket.opened', { number: 'A-101' }, { aggregate: { id: 't101', type: 'ticket' } });
      await expect(refused).rejects.toBeInstanceOf(StorageFullError);
      expect(reloaded.persistence).toEqual({ mode: 'memory', reason: expect.stringMatching(/storage is full/) });
      expect(reloaded.view('t101')).toBeDefined(); // kept in memory (and synced), never silently dropped
    } finally {
      IDBObjectStore.prototype.add = add;
    }
  });
});
