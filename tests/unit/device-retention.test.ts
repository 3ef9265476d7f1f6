import { afterEach, describe, expect, it } from 'vitest';
import { deviceRetention } from '../../client/store/device-retention';
import { businessDay } from '../../shared/reports/day-takings';
import { businessDayEnd } from '../../shared/compaction/retention-policy';

const zone = process.env.TZ;
afterEach(() => {
  // Node reads TZ again whenever it is assigned.
  if (zone === undefined) delete process.env.TZ;
  else process.env.TZ = zone;
});

describe('deviceRetention: business days in the device\'s time zone', () => {
  it('[APP20] a device in New York ends its business day at 04:00 New York time, summer time included; the Takings day and compaction agree', () => {
    process.env.TZ = 'America/New_York';
    const winter = Date.parse('2026-11-26T12:00:00Z');
    expect(deviceRetention(winter).utcOffsetMinutes).toBe(-300);
    expect(businessDay(winter, deviceRetention(winter))).toEqual({ from: Date.parse('2026-11-26T09:00:00Z'), to: Date.parse('2026-11-27T09:00:00Z') });
    // 02:00 local on the 27th is still the 26th's service.
    const lateNight = Date.parse('2026-11-27T07:00:00Z');
    expect(businessDayEnd(lateNight, deviceRetention(lateNight))).toBe(Date.parse('2026-11-27T09:00:00Z'));
    const summer = Date.parse('2026-07-01T12:00:00Z');
    expect(businessDay(summer, deviceRetention(summer)).from).toBe(Date.parse('2026-07-01T08:00:00Z'));
  });

  it('[APP20] a device on UTC keeps the default day (04:00 UTC)', () => {
    process.env.TZ = 'UTC';
    const at = Date.parse('2026-11-26T12:00:00Z');
    expect(businessDay(at, deviceRetention(at))).toEqual({ from: Date.parse('2026-11-26T04:00:00Z'), to: Date.parse('2026-11-27T04:00:00Z') });
  });
});
