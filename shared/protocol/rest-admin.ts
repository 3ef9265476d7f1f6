import { z } from 'zod';

/** GET /api/admin/stats (admin) — how the token's location stands on the server. */
export const AdminStatsResponse = z.object({
  location: z.string(),
  /** Events in the canonical log. */
  events: z.number(),
  /** Per writer: the highest contiguous origin.n stored. */
  watermarks: z.record(z.string(), z.number()),
  /** The relay's room, when it is loaded (null: no one connected, unloaded). */
  room: z.object({ loaded: z.literal(true), connections: z.number() }).nullable(),
  serverTime: z.number(),
});
export type AdminStatsResponse = z.infer<typeof AdminStatsResponse>;
