import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StaffOnDuty } from '../../client/app/staff-on-duty';

/** localStorage as a browser has it (Node has none): what a reload reads back. */
class MemoryStorage {
  readonly items = new Map<string, string>();
  getItem(key: string): string | null {
    return this.items.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.items.set(key, value);
  }
}

const global = globalThis as unknown as { localStorage?: MemoryStorage };
beforeEach(() => {
  global.localStorage = new MemoryStorage();
});
afterEach(() => {
  delete global.localStorage;
});

describe('StaffOnDuty: who is serving on this device', () => {
  it('[APP23] signs a trimmed name in, keeps it and the recent names across a reload, most recent first; signing out keeps the recent names', () => {
    const seen: (string | null)[] = [];
    const first = StaffOnDuty.forLocation('demo');
    first.onChange((name) => seen.push(name));
    expect(first.current).toBeNull();
    first.signIn('  Ana ');
    first.signIn('Ben');
    first.signIn('Ana');
    expect(seen).toEqual(['Ana', 'Ben', 'Ana']);

    const reloaded = StaffOnDuty.forLocation('demo');
    expect(reloaded.current).toBe('Ana');
    expect(reloaded.recent).toEqual(['Ana', 'Ben']);
    reloaded.signOut();
    expect(StaffOnDuty.forLocation('demo').current).toBeNull();
    expect(StaffOnDuty.forLocation('demo').recent).toEqual(['Ana', 'Ben']);
    // Another location's device state is its own.
    expect(StaffOnDuty.forLocation('other').recent).toEqual([]);
  });

  it('[APP23] keeps the 8 most recent names', () => {
    const staff = StaffOnDuty.forLocation('demo');
    for (let i = 1; i <= 10; i++) staff.signIn(`Server ${i}`);
    expect(staff.recent).toEqual(['Server 10', 'Server 9', 'Server 8', 'Server 7', 'Server 6', 'Server 5', 'Server 4', 'Server 3']);
  });

  it('[APP23] refuses a name the events could not carry, with the reason, and keeps who was signed in', () => {
    const staff = StaffOnDuty.forLocation('demo');
    staff.signIn('Ana');
    expect(() => staff.signIn('   ')).toThrow('Type your name to sign in.');
    expect(() => staff.signIn('x'.repeat(65))).toThrow('A name is at most 64 characters.');
    expect(staff.current).toBe('Ana');
  });

  it('[APP23] a sign-in in another tab of the device is this tab\'s too (the storage event); a name the device cannot store changes nothing', () => {
    const tabs = new EventTarget();
    (globalThis as unknown as { window?: EventTarget }).window = tabs;
    try {
      const here = StaffOnDuty.forLocation('demo');
      const seen: (string | null)[] = [];
      here.onChange((name) => seen.push(name));
      // The other tab wrote the record; the browser tells this one.
      const record = JSON.stringify({ current: 'Ben', recent: ['Ben'] });
      global.localStorage!.setItem('rms:demo:staff-on-duty', record);
      tabs.dispatchEvent(Object.assign(new Event('storage'), { key: 'rms:demo:staff-on-duty', newValue: record }));
      expect([here.current, seen]).toEqual(['Ben', ['Ben']]);
      tabs.dispatchEvent(Object.assign(new Event('storage'), { key: 'rms:other:staff-on-duty', newValue: JSON.stringify({ current: 'Eve', recent: [] }) }));
      expect(here.current).toBe('Ben');

      global.localStorage!.setItem = () => {
        throw new Error('QuotaExceededError');
      };
      expect(() => here.signIn('Cleo')).toThrow('QuotaExceededError');
      expect([here.current, seen]).toEqual(['Ben', ['Ben']]);

      // Closed with its session, it no longer follows the other tabs.
      here.close();
      tabs.dispatchEvent(Object.assign(new Event('storage'), { key: 'rms:demo:staff-on-duty', newValue: JSON.stringify({ current: 'Dan', recent: ['Dan'] }) }));
      expect([here.current, seen]).toEqual(['Ben', ['Ben']]);
    } finally {
      delete (globalThis as unknown as { window?: EventTarget }).window;
    }
  });

  it('[APP23] what the device held is read leniently: an unreadable record is no one signed in, bad names are dropped', () => {
    global.localStorage!.setItem('rms:demo:staff-on-duty', '{not json');
    expect(StaffOnDuty.forLocation('demo').current).toBeNull();
    global.localStorage!.setItem('rms:demo:staff-on-duty', JSON.stringify({ current: '', recent: ['Ana', 7, 'x'.repeat(65), 'Ben'] }));
    const staff = StaffOnDuty.forLocation('demo');
    expect(staff.current).toBeNull();
    expect(staff.recent).toEqual(['Ana', 'Ben']);
  });
});
