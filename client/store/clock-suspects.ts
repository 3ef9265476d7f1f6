import type { EventEnvelope } from '../../shared/events/envelope';
import type { HybridClock } from '../../shared/clock/hybrid-clock';
import { deviceStorage, keepOnDevice } from './device-storage';

/** The newest suspects kept: a device meets a handful, if any. */
const KEEP = 500;

/**
 * Which event stamps the clock follows (SYN10): every stamp it did not issue itself, unless
 * stamped beyond the bound ahead of server time (those it followed before calibration, and its
 * own stamped after them, are judged then). Those are listed for review (EventStore's
 * `clockSuspects`) and kept suspects across reloads (ClockSuspectIds) until the calibrated
 * clock finds them within the bound after all.
 */
export class ClockSuspects {
  /** Events stamped implausibly far in the future: shown for review, not followed by the clock. */
  readonly events: EventEnvelope[] = [];
  private readonly ids: ClockSuspectIds;

  constructor(
    location: string,
    private readonly clock: HybridClock,
    /** How far ahead of server time a stamp may be before it is suspect (EventStoreOptions.clockBoundMs). */
    private readonly boundMs: number,
  ) {
    this.ids = new ClockSuspectIds(`rms:${location}:clock-suspects`);
  }

  /** Follows a stamp this tab's clock did not issue (another replica's, another tab's, one read from disk), or lists it for review. */
  judge(e: EventEnvelope): void {
    // A suspect stays one after a reload, when the clock cannot judge it until calibrated again.
    if (this.isPlausible(e) && !this.ids.has(e.id)) this.clock.observe(e.at);
    else {
      this.events.push(e);
      this.ids.add([e.id]);
    }
  }

  /**
   * A register write this tab stamped (EventStore.registerStamp): lifted beyond the bound
   * (above a stamp the clock does not follow), after a reload, uncalibrated, the clock must
   * not follow it either, as another's suspect.
   */
  judgeOwn(e: EventEnvelope): void {
    if (e.at > this.clock.physicalNow() + this.boundMs) this.ids.add([e.id]);
  }

  /** Compacted away (EventStore.onLogRemoved): the console cannot show an event the store no longer holds. */
  forget(id: string): void {
    const listed = this.events.findIndex((e) => e.id === id);
    if (listed >= 0) this.events.splice(listed, 1);
    this.ids.delete(id);
  }

  /**
   * The clock knows the server's time now (again): what it issued or followed beyond the bound
   * (its wall clock ran ahead before, or it followed a checkpoint's or our own events' stamps
   * from then) is not followed any more, as another terminal's suspect is not (HLC4); the
   * events `held` stamped beyond it are suspects from now on (a far-ahead event the relay synced
   * before the server's first answer, and what this tab stamped after it), or a reload,
   * uncalibrated, would follow them again; suspects that are within the bound after all (this
   * device's own clock was the one off) are followed, and suspects no more.
   */
  calibrated(held: () => Iterable<EventEnvelope>): void {
    const bound = this.clock.physicalNow() + this.boundMs;
    // Beyond the bound it stamps from server time again, not minutes ahead (a sale at 03:58 on its day).
    if (this.clock.peek() > bound) {
      this.clock.capAt(this.clock.physicalNow());
      // Only then can it have followed one (a device whose own wall clock was behind never does).
      // The highest stamps kept, should there be more than KEEP.
      const followed = [...held()].filter((e) => e.at > bound && !this.ids.has(e.id)).sort((a, b) => a.at - b.at).slice(-KEEP);
      this.events.push(...followed);
      this.ids.add(followed.map((e) => e.id));
    }
    for (let i = this.events.length - 1; i >= 0; i--) {
      const e = this.events[i]!;
      if (e.at > bound) continue;
      this.clock.observe(e.at);
      this.events.splice(i, 1);
      this.ids.delete(e.id);
    }
  }

  /** Implausible = stamped beyond the bound ahead of server time, as far as we know it. */
  private isPlausible(e: EventEnvelope): boolean {
    return !this.clock.calibrated || e.at <= this.clock.physicalNow() + this.boundMs;
  }
}

/**
 * Ids of events this device judged stamped too far ahead of server time (ClockSuspects),
 * kept on the device (localStorage, which survives a reload; in memory
 * where there is none). After a reload the clock is not calibrated until the server answers,
 * and would otherwise follow them when the log is read: its stamps would run hours ahead, win
 * every LWW write and be saved so in the next checkpoint (SYN10).
 */
class ClockSuspectIds {
  private ids: Set<string>;
  private readonly storage = deviceStorage();
  constructor(private readonly key: string) {
    this.ids = this.read();
  }

  has(id: string): boolean {
    return this.ids.has(id);
  }

  add(ids: readonly string[]): void {
    const added = ids.filter((id) => !this.ids.has(id));
    if (added.length > 0) this.change((kept) => added.forEach((id) => kept.add(id)));
  }

  /** Judged again (the clock calibrated since): no longer a suspect. */
  delete(id: string): void {
    if (this.ids.has(id)) this.change((ids) => ids.delete(id));
  }

  /** Read, change and write back: other tabs of this device share the list. */
  private change(how: (ids: Set<string>) => void): void {
    const ids = this.storage === undefined ? this.ids : this.read();
    how(ids);
    const kept = [...ids].slice(-KEEP);
    this.ids = new Set(kept);
    // Called while an update is indexed: a full device keeps the list in memory, never half an update.
    keepOnDevice(this.storage, this.key, JSON.stringify(kept));
  }

  private read(): Set<string> {
    let stored: unknown = [];
    try {
      stored = JSON.parse(this.storage?.getItem(this.key) ?? '[]');
    } catch {
      // An unreadable list is an empty one: the calibrated clock flags them again.
    }
    return new Set(Array.isArray(stored) ? stored.filter((id): id is string => typeof id === 'string') : []);
  }
}
