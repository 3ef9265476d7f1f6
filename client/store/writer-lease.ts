import { claimTabSlot } from './tab-slots';
import { deviceStorage, keepOnDevice } from './device-storage';

/**
 * Several tabs of one terminal must never hand out the same origin.n. Each tab takes
 * its own writer id for its lifetime: slot 1 writes as the terminal id itself, slot k>1
 * as `${terminal}.${k}`. A slot is an exclusive Web Lock held until the tab closes, so
 * two live tabs never share a writer, and a tab opened later reuses a freed slot (and
 * continues its counter from the log plus the reservation below).
 *
 * The counter itself is reserved in localStorage before an event can leave the tab (before
 * the task's appended events are written into the doc, see EventStore): a tab that
 * crashed after relaying an event but before IndexedDB committed it cannot make the next
 * holder of its slot reuse that n.
 *
 * Web Locks exist only in secure contexts, and a LAN server is plain http: there the tabs
 * agree on slots over a BroadcastChannel instead (tab-slots.ts).
 */
export const MAX_WRITER_SLOTS = 16;

/** This tab no longer holds its writer (TabSlot.held): an append would reuse another tab's origin.n. */
export class WriterLostError extends Error {
  override readonly name = 'WriterLostError';
  constructor(writer: string) {
    super(`This tab was asleep and another tab of this terminal now writes as ${writer}: reload this tab (nothing was lost)`);
  }
}

export interface WriterLease {
  readonly writer: string;
  /** False once another tab took this writer (only without Web Locks, see TabSlot.held). */
  held(): boolean;
  /** Highest n ever reserved for this writer on this device (0 if none). */
  reserved(): number;
  reserve(n: number): void;
  /**
   * Frees the slot once `done` settles (the store's last writes on disk, STO17): until then
   * no other tab gets it, and a lease of it taken meanwhile in this page waits for it.
   */
  release(done?: Promise<unknown>): void;
}

/**
 * Slots of this page whose store is closing: settles once its last writes are on disk and
 * the slot is free. A store opened before then would load the log without those writes
 * and hand out their origin.n again.
 */
const closing = new Map<string, Promise<void>>();

/** `crossTab`: other tabs of this terminal may be open (a store alone waits for no answers). */
export async function acquireWriterLease(location: string, terminal: string, options: { crossTab: boolean }): Promise<WriterLease> {
  const locks = typeof navigator !== 'undefined' ? navigator.locks : undefined;
  if (!locks) {
    if (options.crossTab && typeof BroadcastChannel !== 'undefined') return tabSlotLease(location, terminal);
    await closing.get(slotName(location, terminal));
    return counterLease(location, terminal, { release: () => {}, freed: Promise.resolve() });
  }
  for (let slot = 1; slot <= MAX_WRITER_SLOTS; slot++) {
    const writer = writerOf(terminal, slot);
    const name = slotName(location, writer);
    await closing.get(name);
    const held = await holdLock(locks, name);
    if (held) return counterLease(location, writer, held);
  }
  throw allSlotsTaken(terminal);
}

async function tabSlotLease(location: string, terminal: string): Promise<WriterLease> {
  // A slot this page is closing stays taken until its last writes are on disk (STO17); then
  // it is free again, and reused rather than a new one taken.
  for (let slot = 1; slot <= MAX_WRITER_SLOTS; slot++) await closing.get(slotName(location, writerOf(terminal, slot)));
  const held = await claimTabSlot(`rms:${location}:writer-slots:${terminal}`, MAX_WRITER_SLOTS);
  if (!held) throw allSlotsTaken(terminal);
  return counterLease(location, writerOf(terminal, held.slot), { release: () => held.release(), freed: Promise.resolve() }, () => held.held());
}

function writerOf(terminal: string, slot: number): string {
  return slot === 1 ? terminal : `${terminal}.${slot}`;
}

/** A writer slot's Web Lock name, and its key in `closing`. */
function slotName(location: string, writer: string): string {
  return `rms:${location}:writer:${writer}`;
}

function allSlotsTaken(terminal: string): Error {
  return new Error(`All ${MAX_WRITER_SLOTS} writer slots of terminal ${terminal} are taken: close some tabs`);
}

interface HeldLock {
  release: () => void;
  /** Resolves once the lock is actually released (the request's promise settled). */
  freed: Promise<void>;
}

/** Resolves with the held lock if it was free, or null if another tab holds it. */
function holdLock(locks: LockManager, name: string): Promise<HeldLock | null> {
  return new Promise((resolve) => {
    let markFreed: () => void = () => {};
    const freed = new Promise<void>((r) => (markFreed = r));
    void locks
      .request(name, { ifAvailable: true }, (lock) => {
        if (!lock) {
          resolve(null);
          return undefined;
        }
        return new Promise<void>((release) => resolve({ release: () => release(), freed }));
      })
      .then(markFreed, markFreed);
  });
}

/**
 * A counter that only grows, kept on this device (localStorage, which survives a crashed
 * tab and is shared by tabs; in memory where there is none, e.g. Node). Read from storage each
 * time: another tab may have raised it.
 */
export class DeviceCounter {
  private value: number;
  private readonly storage = deviceStorage();

  constructor(private readonly key: string) {
    this.value = this.stored();
  }

  get(): number {
    this.value = Math.max(this.value, this.stored());
    return this.value;
  }

  /** Kept in this tab even when the device refuses the write (storage full): the log written next holds `n` too. */
  raiseTo(n: number): void {
    if (n <= this.get()) return;
    this.value = n;
    keepOnDevice(this.storage, this.key, String(n));
  }

  private stored(): number {
    return Number(this.storage?.getItem(this.key) ?? 0) || 0;
  }
}

function counterLease(location: string, writer: string, lock: HeldLock, held: () => boolean = () => true): WriterLease {
  const counter = new DeviceCounter(`rms:${location}:n:${writer}`);
  const name = slotName(location, writer);
  return {
    writer,
    held,
    reserved: () => counter.get(),
    reserve: (n) => counter.raiseTo(n),
    release: (done) => {
      const free = (): Promise<void> => {
        lock.release();
        return lock.freed;
      };
      const freed = (done ?? Promise.resolve()).then(free, free);
      closing.set(name, freed);
      void freed.then(() => {
        if (closing.get(name) === freed) closing.delete(name);
      });
    },
  };
}
