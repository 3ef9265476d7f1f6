import { deviceStorage, keepOnDevice } from './device-storage';

/** The newest suspects kept: a device meets a handful, if any. */
const KEEP = 500;

/**
 * Ids of events this device judged stamped too far ahead of server time (EventStore's
 * `clockSuspects`), kept on the device (localStorage, which survives a reload; in memory
 * where there is none). After a reload the clock is not calibrated until the server answers,
 * and would otherwise follow them when the log is read: its stamps would run hours ahead, win
 * every LWW write and be saved so in the next checkpoint (SYN10).
 */
export class ClockSuspectIds {
  private ids: Set<string>;
  private readonly storage = deviceStorage();
  constructor(private readonly key: string) {
    this.ids = this.read();
  }

  has(id: string): boolean {
    return this.ids.has(id);
  }

  add(id: string): void {
    if (this.ids.has(id)) return;
    this.change((ids) => ids.add(id));
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
