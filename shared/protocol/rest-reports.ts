import { z } from 'zod';
import { DayTakings } from '../reports/day-takings';

/** The widest window GET /api/reports/takings answers: a month of business days. */
// 31 business days, one of them the 25 hours of an autumn clock change.
export const MAX_TAKINGS_WINDOW_MS = (31 * 24 + 1) * 60 * 60_000;

/** A query parameter holding ms since the epoch (query strings are text). */
const EpochMs = z
  .string({ error: (issue) => (issue.input === undefined ? 'required (ms since the epoch)' : 'one integer (ms since the epoch)') })
  .regex(/^\d{1,15}$/, 'an integer (ms since the epoch)')
  .transform(Number);

/** GET /api/reports/takings?from=<ms>&to=<ms>: the window [from, to), at most MAX_TAKINGS_WINDOW_MS. */
export const TakingsQuery = z
  .object({ from: EpochMs, to: EpochMs })
  .refine((q) => q.to > q.from, { path: ['to'], message: 'must be after from' })
  .refine((q) => q.to - q.from <= MAX_TAKINGS_WINDOW_MS, { path: ['to'], message: 'the window is at most 31 days' });
export type TakingsQuery = z.infer<typeof TakingsQuery>;

/** The report over the server's projection of the caller's location (shared/reports/day-takings.ts). */
export const TakingsResponse = z.object({
  takings: DayTakings,
  serverTime: z.number(),
});
export type TakingsResponse = z.infer<typeof TakingsResponse>;
