import { afterEach, describe, expect, it } from 'vitest';
import { DEVICE_RETENTION, localBusinessDay } from '../../client/store/device-retention';
import { EventStore } from '../../client/store/event-store';
import { HybridClock } from '../../shared/clock/hybrid-clock';
import { DEFAULT_RETENTION, retentionOf } from '../../shared/compaction/retention-policy';
import { acksOf } from '../../shared/log/log-doc';
import { marksOnly } from '../helpers/acknowledgements';

const zone = process.env.TZ;
afterEach(() => {
  // Node reads TZ again whenever it is assigned.
  if (zone === undefined) delete process.env.TZ;
  else process.env.TZ = zone;
});

const at = (iso: string): number => Date.parse(iso);
const window = (from: string, to: string) => ({ from: at(from), to: at(to) });

describe('business days in the device\'s time zone (client/store/device-retention.ts)', () => {
  it('[APP20] a day runs from 04:00 to 04:00: 03:59 belongs to the day before, 04:00 starts the next', () => {
    process.env.TZ = 'UTC';
    const nov26 = window('2026-11-26T04:00:00Z', '2026-11-27T04:00:00Z');
    expect(localBusinessDay(at('2026-11-26T12:00:00Z'))).toEqual(nov26);
    expect(localBusinessDay(at('2026-11-27T03:59:00Z'))).toEqual(nov26);
    expect(localBusinessDay(at('2026-11-27T04:00:00Z'))).toEqual(window('2026-11-27T04:00:00Z', '2026-11-28T04:00:00Z'));
  });

  it('[APP20] a device in New York ends its day at 04:00 New York time, summer time included; compaction keeps the same days', () => {
    process.env.TZ = 'America/New_York';
    expect(localBusinessDay(at('2026-11-26T12:00:00Z'))).toEqual(window('2026-11-26T09:00:00Z', '2026-11-27T09:00:00Z'));
    expect(localBusinessDay(at('2026-07-01T12:00:00Z')).from).toBe(at('2026-07-01T08:00:00Z'));
    // 02:00 local on the 27th is still the 26th's service, for compaction too.
    const lateNight = at('2026-11-27T07:00:00Z');
    expect(DEVICE_RETENTION.keptUntil(lateNight)).toBe(localBusinessDay(localBusinessDay(localBusinessDay(lateNight).to).to).to);
  });

  it('[APP20] around a clock change the days are 23 and 25 hours: one day follows the other with no overlap and no gap, and the day before is the previous date', () => {
    process.env.TZ = 'Europe/Paris';
    // Spring: clocks go forward on Sunday 29 March 2026 (02:00 → 03:00), so Saturday's day is 23 hours.
    const saturday = localBusinessDay(at('2026-03-28T12:00:00Z'));
    expect(saturday).toEqual(window('2026-03-28T03:00:00Z', '2026-03-29T02:00:00Z'));
    expect(localBusinessDay(saturday.to).from).toBe(saturday.to);
    expect(localBusinessDay(saturday.from - 1).to).toBe(saturday.from);
    // Autumn: back on Sunday 25 October 2026 (03:00 → 02:00), so Saturday's day is 25 hours.
    const autumn = localBusinessDay(at('2026-10-24T12:00:00Z'));
    expect(autumn).toEqual(window('2026-10-24T02:00:00Z', '2026-10-25T03:00:00Z'));
    // Walking back a week from Monday, one day at a time: each is the date before, end to end.
    let day = localBusinessDay(at('2026-10-26T12:00:00Z'));
    const starts: string[] = [];
    for (let i = 0; i < 7; i++) {
      const before = localBusinessDay(day.from - 1);
      expect(before.to).toBe(day.from);
      starts.push(new Date(before.from).toISOString());
      day = before;
    }
    expect(starts).toEqual([
      '2026-10-25T03:00:00.000Z', // Sunday 04:00 winter time
      '2026-10-24T02:00:00.000Z', // Saturday 04:00 summer time
      '2026-10-23T02:00:00.000Z',
      '2026-10-22T02:00:00.000Z',
      '2026-10-21T02:00:00.000Z',
      '2026-10-20T02:00:00.000Z',
      '2026-10-19T02:00:00.000Z',
    ]);
  });

  it('[APP20] a ticket closed on the Saturday of a clock change is kept by Saturday\'s day (its summer time), not by the offset in force when compaction runs', () => {
    process.env.TZ = 'Europe/Berlin';
    // Saturday 24 October 2026, 04:30 summer time; clocks go back on Sunday at 03:00.
    const closedAt = new Date(2026, 9, 24, 4, 30).getTime();
    const sundayMorning = new Date(2026, 9, 25, 5, 0).getTime();
    // Kept until the end of Monday's business day (Tuesday 04:00), Saturday's being 25 hours long.
    // And a ticket of the Thursday before (2024): until the end of that 25-hour Saturday, Sunday 04:00 winter time.
    expect(DEVICE_RETENTION.keptUntil(new Date(2024, 9, 24, 20, 0).getTime())).toBe(new Date(2024, 9, 27, 4, 0).getTime());
    expect(DEVICE_RETENTION.keptUntil(closedAt)).toBe(new Date(2026, 9, 27, 4, 0).getTime());
    const view = { kind: 'ticket', status: 'closed', openConflicts: 0, needsUpdate: 0, lastEventAt: closedAt, aggregateType: 'ticket' } as never;
    expect(retentionOf(view, [], marksOnly({}), sundayMorning, DEVICE_RETENTION)).toEqual({ compactable: false, reason: expect.stringMatching(/^kept until/) });
    // To the ms: kept until Tuesday 04:00, free to leave from then on.
    const keptUntil = DEVICE_RETENTION.keptUntil(closedAt);
    expect(retentionOf(view, [], marksOnly({}), keptUntil - 1, DEVICE_RETENTION)).toEqual({ compactable: false, reason: expect.stringMatching(/^kept until/) });
    expect(retentionOf(view, [], marksOnly({}), keptUntil, DEVICE_RETENTION)).toEqual({ compactable: true });
  });

  it('[CMP1] a device whose time zone is not the restaurant\'s (a tablet left on UTC in Los Angeles, or one on Tokyo time) keeps every ticket at least as long as the restaurant\'s own devices: its compaction never takes their yesterday', () => {
    const hour = 3_600_000;
    const start = at('2026-10-30T00:00:00Z'); // a week over the US clock change of Nov 1
    const closes = Array.from({ length: 7 * 24 * 4 }, (_, i) => start + i * (hour / 4));
    process.env.TZ = 'America/Los_Angeles';
    const restaurant = closes.map((t) => localBusinessDay(localBusinessDay(t).to).to);
    for (const other of ['UTC', 'Asia/Tokyo', 'Pacific/Honolulu']) {
      process.env.TZ = other;
      const early = closes.filter((t, i) => DEVICE_RETENTION.keptUntil(t) < restaurant[i]!);
      expect(early.map((t) => new Date(t).toISOString()), other).toEqual([]);
    }
  });

  it('[CMP1] without the device\'s days (the server\'s fallback, UTC) a ticket is kept until the end of the business day after its own: 04:00 UTC two dates on', () => {
    expect(DEFAULT_RETENTION.keptUntil(at('2026-11-20T12:00:00Z'))).toBe(at('2026-11-22T04:00:00Z'));
    expect(DEFAULT_RETENTION.keptUntil(at('2026-11-20T03:59:00Z'))).toBe(at('2026-11-21T04:00:00Z')); // still the 19th's day
  });

  it('[CMP3] the compaction a full disk runs by itself keeps the device\'s business days (a store opened with them), not UTC days', async () => {
    process.env.TZ = 'America/New_York';
    let wall = new Date(2026, 2, 2, 21, 30).getTime(); // Monday 21:30: dinner service
    const clock = new HybridClock({ wallNow: () => wall });
    const T = { aggregate: { id: 'ticket-1', type: 'ticket' } };
    for (const retention of [DEVICE_RETENTION, undefined]) {
      const store = await EventStore.open({ location: `q-${retention ? 'device' : 'utc'}`, terminal: 'till-1', persistence: 'memory', crossTab: false, clock, now: () => wall, ...(retention ? { retention } : {}) });
      wall = new Date(2026, 2, 2, 21, 30).getTime();
      await store.append('ticket.opened', { number: 'A-001' }, T);
      await store.append('ticket.closed', { totalCents: 0 }, T);
      store.doc.transact(() => acksOf(store.doc).set('till-1', 2), 'server');
      wall = new Date(2026, 2, 3, 23, 30).getTime(); // Tuesday 23:30: Monday is yesterday, kept until Wednesday 04:00
      // What the recovery from a full disk runs: no policy named.
      const report = await store.compact({ rewriteLog: true });
      expect(report.aggregates, retention ? 'device days' : 'UTC days').toBe(retention ? 0 : 1);
      await store.close();
    }
  });
});
