import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CLOCK_BOUND_MS, HybridClock } from '../../shared/clock/hybrid-clock';
import { EVENT_ID_PATTERN, eventIdTime, newEventId } from '../../shared/events/event-id';
import {
  TICKET_NUMBER_PATTERN,
  formatTicketNumber,
  nextTicketOrdinal,
  parseTicketNumber,
  writerLabelFor,
} from '../../shared/domain/ticket-number';

describe('hybrid clock', () => {
  it('[HLC1] stamps strictly increase even when the wall clock jumps back', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -600_000, max: 600_000 }), { minLength: 1, maxLength: 200 }), (jumps) => {
        let wall = 1_700_000_000_000;
        const clock = new HybridClock({ wallNow: () => wall });
        let prev = -1;
        for (const j of jumps) {
          wall += j;
          const t = clock.now();
          expect(t).toBeGreaterThan(prev);
          prev = t;
        }
      }),
    );
  });

  it('[HLC2] after observing a stamp, every new stamp is greater, even 10 minutes behind', () => {
    const ahead = new HybridClock({ wallNow: () => 1_700_000_600_000 });
    const behind = new HybridClock({ wallNow: () => 1_700_000_000_000 });
    const seen = ahead.now();
    behind.observe(seen);
    expect(behind.now()).toBeGreaterThan(seen);
    expect(behind.peek()).toBe(seen + 1);
  });

  it('[HLC3] the offset corrects the wall clock towards server time', () => {
    const clock = new HybridClock({ wallNow: () => 1000, offsetMs: 250 });
    expect(clock.physicalNow()).toBe(1250);
    expect(clock.now()).toBe(1250);
    clock.setOffset(-500);
    expect(clock.getOffset()).toBe(-500);
    expect(clock.physicalNow()).toBe(500);
    // Monotonic still: a smaller offset never moves stamps back.
    expect(clock.now()).toBe(1251);
  });

  it('[HLC3] a wall clock or an offset with a fraction of a millisecond still stamps whole milliseconds (an event\'s `at` is an integer)', () => {
    const clock = new HybridClock({ wallNow: () => 1000.7, offsetMs: 0.4 });
    expect(clock.now()).toBe(1001);
    expect(clock.now()).toBe(1002);
  });

  it('[HLC4] capped once calibrated, a clock that ran ahead stamps from physical time again; below the cap nothing changes', () => {
    let wall = 1_700_000_000_000;
    const clock = new HybridClock({ wallNow: () => wall });
    wall += 2 * 24 * 60 * 60_000; // booted two days ahead
    const ahead = clock.now();
    wall -= 2 * 24 * 60 * 60_000; // the wall clock set right; the clock still follows its last stamp
    expect(clock.now()).toBe(ahead + 1);
    clock.capAt(clock.physicalNow());
    expect(clock.now()).toBe(wall + 1);
    wall += 10;
    expect(clock.now()).toBe(wall);
    // Above the clock's last stamp the cap changes nothing: stamps stay monotonic (HLC1, HLC3).
    const near = new HybridClock({ wallNow: () => 1000, offsetMs: 250 });
    expect(near.now()).toBe(1250);
    near.setOffset(-500);
    near.capAt(near.physicalNow() + CLOCK_BOUND_MS);
    expect(near.now()).toBe(1251);
  });
});

describe('event ids', () => {
  it('[EVT5] ids are UUIDv7, carry their time and sort by it', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 47 }), fc.integer({ min: 1, max: 2 ** 40 }), (t, d) => {
        const a = newEventId(t);
        const b = newEventId(t + d);
        expect(a).toMatch(EVENT_ID_PATTERN);
        expect(eventIdTime(a)).toBe(t);
        expect(a < b).toBe(true);
      }),
    );
    const ids = Array.from({ length: 1000 }, () => newEventId(5));
    expect(new Set(ids).size).toBe(1000);
  });
});

describe('ticket numbers', () => {
  it('[TKN1] numbers read like CRD-017 and parse back', () => {
    expect(formatTicketNumber('CRD', 17)).toBe('CRD-017');
    expect(formatTicketNumber('A', 17)).toBe('A-017');
    expect(formatTicketNumber('KX', 1234)).toBe('KX-1234');
    expect(parseTicketNumber('KX-1234')).toEqual({ writerLabel: 'KX', k: 1234 });
    // Up to six digits: a busy terminal's 100,000th ticket is numbered.
    expect([100_000, 999_999].map((k) => formatTicketNumber('CRD', k))).toEqual(['CRD-100000', 'CRD-999999']);
    expect(() => formatTicketNumber('CRD', 1_000_000)).toThrow(RangeError);
    expect(parseTicketNumber('17')).toBeUndefined();
    expect(() => formatTicketNumber('a', 1)).toThrow(RangeError);
    expect(() => formatTicketNumber('A', 0)).toThrow(RangeError);
  });

  it('[TKN2] terminals with different labels never produce the same number, a 3-letter label and a 4-letter one included', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.stringMatching(/^[a-z0-9-]{1,20}$/), { minLength: 2, maxLength: 30 }), fc.integer({ min: 1, max: 50 }), (terminals, k) => {
        const labels = new Set(terminals.flatMap((t) => [writerLabelFor(t, 3), writerLabelFor(t, 4)]));
        const numbers = new Set<string>();
        for (const label of labels) {
          for (let i = 1; i <= k; i++) numbers.add(formatTicketNumber(label, i));
        }
        expect(numbers.size).toBe(labels.size * k);
        for (const n of numbers) expect(n).toMatch(TICKET_NUMBER_PATTERN);
      }),
    );
  });

  it('[TKN3] a terminal id always gives the same short label', () => {
    expect(writerLabelFor('till-1', 2)).toBe(writerLabelFor('till-1', 2));
    expect(writerLabelFor('till-1', 2)).toMatch(/^[A-Z]{2}$/);
    expect(writerLabelFor('till-1', 3)).toMatch(/^[A-Z]{3}$/);
  });

  it('[TKN3] a terminal id gives the same label in every release (numbers already written carry it)', () => {
    const labels = (id: string) => [1, 2, 3, 4].map((n) => writerLabelFor(id, n));
    expect(labels('till-1')).toEqual(['C', 'CR', 'CRD', 'CRDA']);
    expect(labels('kds-1')).toEqual(['D', 'DY', 'DYX', 'DYXX']);
    expect(labels('')).toEqual(['D', 'DR', 'DRJ', 'DRJM']);
    expect(labels('Ü-terminal-é')).toEqual(['A', 'AP', 'APK', 'APKG']);
  });

  it('[TKN4] the next ordinal follows the highest used by this writer, and the persisted high-water mark', () => {
    expect(nextTicketOrdinal('A', ['A-001', 'B-009', 'A-004'])).toBe(5);
    expect(nextTicketOrdinal('A', ['A-001'], 12)).toBe(13);
    expect(nextTicketOrdinal('C', [])).toBe(1);
  });
});
