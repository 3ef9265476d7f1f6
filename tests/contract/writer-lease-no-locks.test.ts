import 'fake-indexeddb/auto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EventStore } from '../../client/store/event-store';
import { SETTLE_MS } from '../../client/store/tab-slots';
import { acquireWriterLease, type WriterLease } from '../../client/store/writer-lease';
import { canonicalJson } from '../../shared/events/envelope';

/**
 * A browser on plain http (a LAN server): BroadcastChannel but no Web Locks, as in Node 20.
 * Each lease or store opened here (crossTab) is one tab. Every BroadcastChannel is recorded, so a test can silence a tab (a crash).
 */
const channels: BroadcastChannel[] = [];
class RecordedChannel extends BroadcastChannel {
  constructor(name: string) {
    super(name);
    channels.push(this);
  }
}

let seq = 0;
const newLocation = () => `no-locks-${++seq}`;
const leases: WriterLease[] = [];
const stores: EventStore[] = [];

beforeEach(() => {
  vi.stubGlobal('BroadcastChannel', RecordedChannel);
});
afterEach(async () => {
  for (const lease of leases.splice(0)) lease.release();
  await Promise.all(stores.splice(0).map((s) => s.close()));
  for (const channel of channels.splice(0)) channel.close();
  vi.unstubAllGlobals();
});

async function lease(loc: string): Promise<WriterLease> {
  const taken = await acquireWriterLease(loc, 'till-1', { crossTab: true });
  leases.push(taken);
  return taken;
}

/** A tab that crashes: its lease is never released, its channels just go silent. */
async function crashingTab(loc: string): Promise<{ lease: WriterLease; crash: () => void }> {
  const before = channels.length;
  const taken = await acquireWriterLease(loc, 'till-1', { crossTab: true });
  const own = channels.slice(before);
  return { lease: taken, crash: () => own.forEach((c) => c.close()) };
}

const num = (prefix: string, i: number) => `${prefix}-${String(i).padStart(3, '0')}`;
const writers = (count: number) => Array.from({ length: count }, (_, i) => (i === 0 ? 'till-1' : `till-1.${i + 1}`));

describe('Writer lease without Web Locks', () => {
  for (const count of [2, 5]) {
    it(`[STO22] ${count} tabs opened at the same moment take distinct writers`, async () => {
      const loc = newLocation();
      const taken = await Promise.all(Array.from({ length: count }, () => lease(loc)));
      expect(taken.map((l) => l.writer).sort()).toEqual(writers(count).sort());
    });
  }

  it('[STO22] tabs opened one after another while others are still choosing take distinct writers', async () => {
    const loc = newLocation();
    const opening: Promise<WriterLease>[] = [];
    for (let i = 0; i < 6; i++) {
      opening.push(lease(loc));
      await new Promise((r) => setTimeout(r, SETTLE_MS / 2));
    }
    const taken = await Promise.all(opening);
    expect(new Set(taken.map((l) => l.writer)).size).toBe(6);
  });

  it('[STO22] a released slot is reused by the next tab', async () => {
    const loc = newLocation();
    const first = await lease(loc);
    const second = await lease(loc);
    expect([first.writer, second.writer]).toEqual(['till-1', 'till-1.2']);
    first.release();
    const next = await lease(loc);
    expect(next.writer).toBe('till-1');
  });

  it('[STO22] a closing store\'s slot is taken again once its last writes are done (STO17)', async () => {
    const loc = newLocation();
    const closingTab = await lease(loc);
    const liveTab = await lease(loc);
    expect([closingTab.writer, liveTab.writer]).toEqual(['till-1', 'till-1.2']);
    let writesDone: () => void = () => {};
    closingTab.release(new Promise<void>((r) => (writesDone = r)));
    const next = lease(loc);
    // Long enough for a tab that did not wait to have taken another slot.
    await new Promise((r) => setTimeout(r, 3 * SETTLE_MS));
    writesDone();
    expect((await next).writer).toBe('till-1');
  });

  it('[STO22] a crashed tab no longer holds its slot', async () => {
    const loc = newLocation();
    const crashed = await crashingTab(loc);
    const live = await lease(loc);
    expect([crashed.lease.writer, live.writer]).toEqual(['till-1', 'till-1.2']);
    crashed.crash();
    const next = await lease(loc);
    expect(next.writer).toBe('till-1');
  });

  it('[STO22] tabs opened at the same moment never hand out the same origin.n and keep each other\'s writes', async () => {
    const loc = newLocation();
    const open = () => EventStore.open({ location: loc, terminal: 'till-1', crossTab: true });
    const [tabA, tabB] = await Promise.all([open(), open()]);
    stores.push(tabA, tabB);
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < 25; i++) {
      writes.push(tabA.append('ticket.opened', { number: num('A', i) }, { aggregate: { id: `a${i}`, type: 'ticket' } }));
      writes.push(tabB.append('ticket.opened', { number: num('B', i) }, { aggregate: { id: `b${i}`, type: 'ticket' } }));
    }
    await Promise.all(writes);
    await until(() => tabA.projection.size === 50 && tabB.projection.size === 50);
    const stamps = tabA.views().flatMap((v) => tabA.getByAggregate(v.id).map((e) => `${e.origin.terminal}#${e.origin.n}`));
    expect(new Set(stamps).size).toBe(50);
    expect(allViews(tabA)).toEqual(allViews(tabB));
    expect([tabA.writer, tabB.writer].sort()).toEqual(['till-1', 'till-1.2']);
  });
});

function allViews(store: EventStore): string {
  return canonicalJson(store.views().sort((a, b) => (a.id < b.id ? -1 : 1)));
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(condition()).toBe(true);
}
