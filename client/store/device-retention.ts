import { DEFAULT_RETENTION, type RetentionPolicy } from '../../shared/compaction/retention-policy';

/**
 * The retention policy in this device's time zone: a business day ends at 04:00 where the
 * restaurant is, not at 04:00 UTC. The Takings screen's days and what compaction keeps use
 * the same days, so yesterday is still whole on the device. The offset is the one in force at
 * `at` (summer time moves it).
 */
export function deviceRetention(at: number): RetentionPolicy {
  return { ...DEFAULT_RETENTION, utcOffsetMinutes: -new Date(at).getTimezoneOffset() };
}
