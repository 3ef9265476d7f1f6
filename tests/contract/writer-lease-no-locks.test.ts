import 'fake-indexeddb/auto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EventStore } from '../../client/store/event-store';
import { HEARTBEAT_MS, SETTLE_MS, STALE_MS } from '../../client/store/tab-slots';
import { acquireWriterLease, type WriterLease } from '../../client/store/writer-lease';
import { allViews } from '../helpers/event-stores';
import { until } from '../helpers/until';

/**
 * A browser on plain http (a LAN server): BroadcastChannel but no Web Locks, as in Node 20.
 * Each lease or store opened here (crossTab) is one tab. Every BroadcastChannel is recorded, so a test can silence a tab (busy, or crashed).
 * localStorage (Node 20 has none) is a fresh one per test, shared by its tabs.
 */
const channels: BroadcastChannel[] = [];
class RecordedChannel extends BroadcastChannel {
  constructor(name: string) {
    super(name);
    channels.push(this);
  }
}

class MemoryStorage {
  private readonly items = new Map<string, string>();
  get length(): number {
    return this.items.size;
  }
  key(index: number): string | null {
    return [...this.items.keys()][index] ?? null;
  }
  getItem(key: string): string | null {
    return this.items.get(key) ?? null;
  }
  /** A device whose storage is full refuses every write. */
  full = false;
  setItem(key: string, value: string): void {
    if (this.full) throw new DOMException('localStorage is full', 'QuotaExceededError');
    this.items.set(key, String(value));
  }
  removeItem(key: string): void {
    this.items.delete(key);
  }
  clear(): void {
    this.items.clear();
  }
}

let seq = 0;
const newLocation = () => `no-locks-${++seq}`;
const leases: WriterLease[] = [];
const stores: EventStore[] = [];

beforeEach(() => {
  vi.stubGlobal('BroadcastChannel', RecordedChannel);
  vi.stubGlobal('localStorage', new MemoryStorage());
});
afterEach(async () => {
  for (const lease of leases.splice(0)) lease.release();
  await Promise.all(stores.splice(0).map((s) => s.close()));
  for (const channel of channels.splice(0)) channel.close();
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

/**
 * Heartbeats beat, and records age, only as the test moves this clock on (vi.advanceTimersByTime
 * beats, vi.setSystemTime does not: a crashed tab's heartbeat has stopped). Answers stay on real setTimeout.
 */
const fakeClock = () => vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'] });

/** The heartbeat record of a slot of till-1, as tab-slots keeps it in localStorage. */
const recordOf = (loc: string, slot: number) =>
  JSON.parse(localStorage.getItem(`rms:${loc}:writer-slots:till-1:${slot}`) ?? 'null') as { tab: string; at: number } | null;

async function lease(loc: string): Promise<WriterLease> {
  const taken = await acquireWriterLease(loc, 'till-1', { crossTab: true });
  leases.push(taken);
  return taken;
}

/**
 * A tab that goes silent: its channels close, as when it is busy or has crashed. Its lease is
 * not released by the test's end (a crashed tab never releases it).
 */
async function silencedTab(loc: string): Promise<{ lease: WriterLease; silence: () => void }> {
  const before = channels.length;
  const taken = await acquireWriterLease(loc, 'till-1', { crossTab: true });
  const own = channels.slice(before);
  return { lease: taken, silence: () => own.forEach((c) => c.close()) };
}

/** A lease frees its slot once its store's writes are done (a promise): that settles before the next task. */
const released = () => new Promise((r) => setTimeout(r, 0));

const num = (prefix: string, i: number) => `${prefix}-${String(i).padStart(3, '0')}`;
const writers = (count: number) => Array.from({ length: count }, (_, i) => (i === 0 ? 'till-1' : `till-1.${i + 1}`));

describe('Writer lease without Web Locks', () => {
  for (const count of [2, 5]) {
    it(`[STO22] ${count} tabs opened at the same moment (a browser restoring them) take distinct writers in one round, not one per tab`, async () => {
      const loc = newLocation();
      const start = performance.now();
      const taken = await Promise.all(Array.from({ length: count }, () => lease(loc)));
      expect(taken.map((l) => l.writer).sort()).toEqual(writers(count).sort());
      expect(performance.now() - start).toBeLessThan(3.5 * SETTLE_MS);
    });
  }

  it('[STO22] tabs opened one after another while others are still choosing take distinct writers, the lowest slots (no gaps)', async () => {
    for (let round = 0; round < 3; round++) {
      const loc = newLocation();
      const opening: Promise<WriterLease>[] = [];
      for (let i = 0; i < 4; i++) {
        opening.push(lease(loc));
        await new Promise((r) => setTimeout(r, SETTLE_MS / 2));
      }
      const taken = await Promise.all(opening);
      expect(taken.map((l) => l.writer).sort()).toEqual(writers(4).sort());
    }
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
    let chosen: string | null = null;
    const next = lease(loc).then((l) => (chosen = l.writer));
    // A tab of another terminal, opened just after, waits for no closing store: its rounds of
    // SETTLE_MS run on timers started after those a tab that did not wait would have, so once
    // it holds a slot, such a tab would hold one too.
    leases.push(await acquireWriterLease(loc, 'till-2', { crossTab: true }));
    expect(chosen).toBeNull();
    writesDone();
    expect(await next).toBe('till-1');
  });

  it('[STO17] a store whose last writes failed (a full disk) still frees its slot: the page can open the log again', async () => {
    const loc = newLocation();
    const first = await acquireWriterLease(loc, 'till-1', { crossTab: false });
    const failed = Promise.reject(new Error('disk full'));
    failed.catch(() => undefined);
    first.release(failed);
    expect((await lease(loc)).writer).toBe('till-1');
  });

  it('[STO22] an unreadable slot record (another build\'s, edited by hand) is no claim: the tab still opens', async () => {
    const loc = newLocation();
    localStorage.setItem(`rms:${loc}:writer-slots:till-1:1`, '{not json');
    expect((await lease(loc)).writer).toBe('till-1');
  });

  it('[STO22] a slot record stamped in the future (the clock set back since a crashed tab wrote it) is no claim: the slot is taken', async () => {
    const loc = newLocation();
    localStorage.setItem(`rms:${loc}:writer-slots:till-1:1`, JSON.stringify({ tab: 'crashed', at: Date.now() + 2 * STALE_MS }));
    expect((await lease(loc)).writer).toBe('till-1');
  });

  it('[STO22] a tab whose claim another tab (a lower id) claims too backs off and takes the next slot', async () => {
    const loc = newLocation();
    // The rival tab: it claims slot 1 as soon as it hears this tab's claim, then holds it.
    const rival = new BroadcastChannel(`rms:${loc}:writer-slots:till-1`);
    let claimed = false;
    rival.onmessage = ({ data: msg }: MessageEvent<{ type: string; slot?: number; held?: boolean }>) => {
      if (msg.type === 'slot' && msg.slot === 1 && msg.held === false && !claimed) {
        claimed = true;
        rival.postMessage({ type: 'slot', tab: '0', slot: 1, held: false });
      } else if (msg.type === 'ask' && claimed) rival.postMessage({ type: 'slot', tab: '0', slot: 1, held: true });
    };
    const taken = await lease(loc);
    expect(claimed).toBe(true);
    expect(taken.writer).toBe('till-1.2');
  });

  it('[STO22] a crashed tab no longer holds its slot', async () => {
    fakeClock();
    const loc = newLocation();
    const crashed = await silencedTab(loc);
    const live = await lease(loc);
    expect([crashed.lease.writer, live.writer]).toEqual(['till-1', 'till-1.2']);
    crashed.silence();
    // Its heartbeat has stopped too: STALE_MS on, its record is stale.
    vi.setSystemTime(Date.now() + STALE_MS);
    const next = await lease(loc);
    expect(next.writer).toBe('till-1');
  });

  it('[STO22] with localStorage full, a crashed tab\'s stale record does not take the slot from the tab that claims it (every append refused, reload or not), and a frozen one waking knows it lost it', async () => {
    fakeClock();
    const loc = newLocation();
    const crashed = await silencedTab(loc);
    crashed.silence();
    vi.setSystemTime(Date.now() + STALE_MS);
    (localStorage as unknown as MemoryStorage).full = true;
    const next = await lease(loc);
    expect(next.writer).toBe('till-1');
    expect(next.held()).toBe(true);
    vi.advanceTimersByTime(3 * HEARTBEAT_MS);
    expect(next.held()).toBe(true);
    expect(recordOf(loc, 1)).toBeNull(); // no record: the slot rests on the channel's answers
    // Had it only been frozen, waking it finds its record gone: the slot was taken (else both held till-1).
    expect(crashed.lease.held()).toBe(false);
  });

  it('[STO22] a holder keeps its slot when localStorage fills up under it: its own record, an older beat, stays', async () => {
    fakeClock();
    const loc = newLocation();
    const held = await lease(loc);
    (localStorage as unknown as MemoryStorage).full = true;
    vi.advanceTimersByTime(3 * HEARTBEAT_MS);
    expect(recordOf(loc, 1)).not.toBeNull();
    expect(held.held()).toBe(true);
  });

  it('[STO22] a busy tab keeps its slot: it cannot answer, but its heartbeat record is fresh', async () => {
    fakeClock();
    const loc = newLocation();
    const busy = await silencedTab(loc);
    busy.silence();
    const next = await lease(loc);
    expect([busy.lease.writer, next.writer]).toEqual(['till-1', 'till-1.2']);
  });

  it('[STO22] a holder\'s heartbeat keeps its record fresh for as long as it holds the slot', async () => {
    fakeClock();
    const loc = newLocation();
    const holder = await silencedTab(loc);
    vi.advanceTimersByTime(2 * STALE_MS);
    holder.silence();
    const next = await lease(loc);
    expect([holder.lease.writer, next.writer]).toEqual(['till-1', 'till-1.2']);
  });

  it('[STO22] a silent tab whose record has gone stale loses its slot, and its late release leaves the new holder\'s record', async () => {
    fakeClock();
    const loc = newLocation();
    const stopped = await silencedTab(loc);
    stopped.silence();
    expect((await lease(loc)).writer).toBe('till-1.2');
    vi.setSystemTime(Date.now() + STALE_MS);
    const next = await lease(loc);
    expect(next.writer).toBe('till-1');
    const nextRecord = recordOf(loc, 1);
    stopped.lease.release();
    await released();
    expect(recordOf(loc, 1)).toEqual(nextRecord);
  });

  it('[STO24] a tab frozen while another took its slot knows it lost it: its store refuses to append, and numbers go on in the new holder', async () => {
    fakeClock();
    const loc = newLocation();
    const before = channels.length;
    const frozen = await EventStore.open({ location: loc, terminal: 'till-1', crossTab: true });
    stores.push(frozen);
    const frozenChannels = channels.slice(before);
    const ticket = (id: string) => ({ aggregate: { id, type: 'ticket' } });
    await frozen.append('ticket.opened', { number: 'A-001' }, ticket('a1'));
    // Frozen: it neither answers nor beats (fake intervals do not run), while time passes.
    frozenChannels.forEach((c) => (c.onmessage = null));
    vi.setSystemTime(Date.now() + STALE_MS);
    const next = await EventStore.open({ location: loc, terminal: 'till-1', crossTab: true });
    stores.push(next);
    expect([frozen.writer, next.writer]).toEqual(['till-1', 'till-1']);
    await expect(frozen.append('ticket.opened', { number: 'A-002' }, ticket('a2'))).rejects.toThrow(/another tab of this terminal now writes as till-1: reload this tab/);
    const taken = await next.append('ticket.opened', { number: 'A-002' }, ticket('b1'));
    expect(taken.origin).toEqual({ terminal: 'till-1', n: 2 });
    // Its heartbeat, when it runs again, leaves the new holder's record.
    const record = recordOf(loc, 1);
    vi.advanceTimersByTime(HEARTBEAT_MS);
    expect(recordOf(loc, 1)).toEqual({ ...record, at: expect.any(Number) });
    expect(recordOf(loc, 1)!.tab).toBe(record!.tab);
  });

  it('[STO24] a holder alone whose heartbeat came STALE_MS late (the screen off) keeps its slot: the record is still its own, and it writes it again', async () => {
    fakeClock();
    const loc = newLocation();
    const before = channels.length;
    const store = await EventStore.open({ location: loc, terminal: 'till-1', crossTab: true });
    stores.push(store);
    channels.slice(before).forEach((c) => (c.onmessage = null)); // asleep: no answers, no beats
    vi.setSystemTime(Date.now() + 2 * STALE_MS);
    const monotonic = performance.now();
    vi.spyOn(performance, 'now').mockImplementation(() => monotonic + 2 * STALE_MS);
    const after = await store.append('ticket.opened', { number: 'A-001' }, { aggregate: { id: 't1', type: 'ticket' } });
    expect(after.origin).toEqual({ terminal: 'till-1', n: 1 });
    vi.advanceTimersByTime(HEARTBEAT_MS);
    expect(recordOf(loc, 1)!.at).toBe(Date.now());
    vi.restoreAllMocks();
  });

  it('[STO24] a counter another tab raised is read before a number is handed out', async () => {
    const loc = newLocation();
    const held = await lease(loc);
    expect(held.reserved()).toBe(0);
    localStorage.setItem(`rms:${loc}:n:till-1`, '7');
    held.reserve(5); // never lowers it, read or not since
    expect(localStorage.getItem(`rms:${loc}:n:till-1`)).toBe('7');
    expect(held.reserved()).toBe(7);
  });

  it('[STO22] release removes the slot\'s record and stops its heartbeat', async () => {
    fakeClock();
    const loc = newLocation();
    const held = await lease(loc);
    expect(recordOf(loc, 1)).toEqual({ tab: expect.any(String), at: Date.now() });
    held.release();
    await released();
    expect(recordOf(loc, 1)).toBeNull();
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(2 * HEARTBEAT_MS);
    expect(recordOf(loc, 1)).toBeNull();
  });

  it('[STO22] a page closed or reloaded frees its slot at once; one kept for going back keeps its record', async () => {
    const page = new EventTarget();
    vi.stubGlobal('addEventListener', page.addEventListener.bind(page));
    vi.stubGlobal('removeEventListener', page.removeEventListener.bind(page));
    const pageHide = (persisted: boolean) => page.dispatchEvent(Object.assign(new Event('pagehide'), { persisted }));
    const loc = newLocation();
    const kept = await silencedTab(loc);
    pageHide(true);
    expect(recordOf(loc, 1)).not.toBeNull();
    kept.lease.release();
    const closed = await silencedTab(loc);
    pageHide(false);
    expect(recordOf(loc, 1)).toBeNull();
    closed.silence();
    expect((await lease(loc)).writer).toBe('till-1');
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
    await until(() => tabA.projection.size === 50 && tabB.projection.size === 50, 'each tab holding both tabs\' 50 tickets');
    const stamps = tabA.views().flatMap((v) => tabA.getByAggregate(v.id).map((e) => `${e.origin.terminal}#${e.origin.n}`));
    expect(new Set(stamps).size).toBe(50);
    expect(allViews(tabA)).toEqual(allViews(tabB));
    expect([tabA.writer, tabB.writer].sort()).toEqual(['till-1', 'till-1.2']);
  });
});
