import { BUSINESS_DAY_END_HOUR, type RetentionPolicy } from '../../shared/compaction/retention-policy';
import type { DayWindow } from '../../shared/reports/day-takings';

/**
 * Business days in this device's time zone: a day ends at 04:00 where the restaurant is, not
 * at 04:00 UTC. The Takings screen's days and what compaction keeps use the same days, so
 * yesterday is still whole on the device.
 */

/**
 * What compaction keeps, by this device's business days (each with its own summer time): until
 * the end of the second business day after the ticket's. One day would do where every device
 * keeps the restaurant's time; the second is for one that does not (a tablet left on UTC in
 * Los Angeles): its compaction reaches every device, and must not take tickets of the others'
 * yesterday from their Takings screens.
 */
export const DEVICE_RETENTION: RetentionPolicy = {
  keptUntil: (at) => localBusinessDay(localBusinessDay(localBusinessDay(at).to).to).to,
};

/**
 * The business day holding `at`: from the end hour on its local calendar date (the date before,
 * if `at` is earlier) to the end hour on the next date. Built from the calendar, not as 24 hours,
 * so the days around a clock change (23 and 25 hours) neither overlap nor leave a gap, and the
 * day before `from` is the previous calendar day.
 */
export function localBusinessDay(at: number, endHour = BUSINESS_DAY_END_HOUR): DayWindow {
  const t = new Date(at);
  let start = new Date(t.getFullYear(), t.getMonth(), t.getDate(), endHour);
  if (start.getTime() > at) start = new Date(t.getFullYear(), t.getMonth(), t.getDate() - 1, endHour);
  const end = new Date(start.getFullYear(), start.getMonth(), start.getDate() + 1, endHour);
  return { from: start.getTime(), to: end.getTime() };
}
