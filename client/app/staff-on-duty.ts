import { StaffName } from '../../shared/events/envelope';
import { deviceStorage } from '../store/device-storage';

/** Names offered for a quick sign-in on this device, most recent first. */
const RECENT_MAX = 8;

/**
 * Who is working on this device: the name staff sign in with, stamped as `origin.staff` on
 * every event written here (the device is `origin.terminal`), so a ticket's history, the
 * ticket list and the kitchen say who did what. Kept on the device (localStorage) with the
 * names signed in lately, for a one-tap switch at a shared till. No PIN: the role (manager
 * or not) still comes from the device's token, never from the name.
 */
export class StaffOnDuty {
  private state: { current: string | null; recent: string[] };
  private readonly listeners = new Set<(current: string | null) => void>();
  private readonly storage = deviceStorage();

  constructor(private readonly key: string) {
    this.state = readState(this.storage?.getItem(key) ?? null);
    // Another tab of this device signed someone in: this tab's events carry that name too.
    if (typeof window !== 'undefined') window.addEventListener('storage', this.onStorage);
  }

  /** Stops following the other tabs (the session closed). */
  close(): void {
    if (typeof window !== 'undefined') window.removeEventListener('storage', this.onStorage);
    this.listeners.clear();
  }

  private readonly onStorage = (e: StorageEvent): void => {
    if (e.key !== this.key) return;
    this.state = readState(e.newValue);
    this.tell();
  };

  static forLocation(location: string): StaffOnDuty {
    return new StaffOnDuty(`rms:${location}:staff-on-duty`);
  }

  get current(): string | null {
    return this.state.current;
  }

  get recent(): readonly string[] {
    return this.state.recent;
  }

  /** Signs `name` in (trimmed); throws with the reason when the events could not carry it. */
  signIn(name: string): void {
    const parsed = StaffName.safeParse(name.trim());
    if (!parsed.success) throw new Error(name.trim() === '' ? 'Type your name to sign in.' : 'A name is at most 64 characters.');
    const current = parsed.data;
    this.update({ current, recent: [current, ...this.state.recent.filter((n) => n !== current)].slice(0, RECENT_MAX) });
  }

  signOut(): void {
    this.update({ ...this.state, current: null });
  }

  onChange(listener: (current: string | null) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Stored first: if the device refuses it (storage full), nothing changed and the caller is told. */
  private update(state: { current: string | null; recent: string[] }): void {
    this.storage?.setItem(this.key, JSON.stringify(state));
    this.state = state;
    this.tell();
  }

  private tell(): void {
    for (const listener of this.listeners) listener(this.state.current);
  }
}

/** What localStorage held; anything unreadable is no one signed in (never a failed start). */
function readState(stored: string | null): { current: string | null; recent: string[] } {
  try {
    const raw = JSON.parse(stored ?? 'null') as { current?: unknown; recent?: unknown } | null;
    const valid = (n: unknown): n is string => StaffName.safeParse(n).success;
    const recent = Array.isArray(raw?.recent) ? raw.recent.filter(valid).slice(0, RECENT_MAX) : [];
    return { current: valid(raw?.current) ? raw.current : null, recent };
  } catch {
    return { current: null, recent: [] };
  }
}
