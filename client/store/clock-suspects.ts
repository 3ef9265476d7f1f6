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
  private readonly ids: string[];
  private readonly storage = typeof localStorage !== 'undefined' ? localStorage : undefined;

  constructor(private readonly key: string) {
    let stored: unknown = [];
    try {
      stored = JSON.parse(this.storage?.getItem(key) ?? '[]');
    } catch {
      // An unreadable list is an empty one: the calibrated clock flags them again.
    }
    this.ids = Array.isArray(stored) ? stored.filter((id): id is string => typeof id === 'string') : [];
  }

  has(id: string): boolean {
    return this.ids.includes(id);
  }

  add(id: string): void {
    if (this.has(id)) return;
    this.ids.push(id);
    if (this.ids.length > KEEP) this.ids.splice(0, this.ids.length - KEEP);
    this.storage?.setItem(this.key, JSON.stringify(this.ids));
  }
}
