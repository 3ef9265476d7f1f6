import { z } from 'zod';

/** GET /api/aggregates/:type/:id — the server's projection of one aggregate. */
export const AggregateResponse = z.object({
  aggregate: z.object({ id: z.string(), type: z.string() }),
  state: z.unknown(),
  events: z.array(z.unknown()),
  serverTime: z.number(),
});
export type AggregateResponse = z.infer<typeof AggregateResponse>;
