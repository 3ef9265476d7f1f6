import { z } from 'zod';
import { Cents, EntityId } from './common';

/**
 * The sale handed to the back office when a ticket closes. Written on the ticket's
 * aggregate with key `sale-${ticketId}`, so if two offline terminals both close and
 * record it, the projection (and the back office) count it once.
 */
export const SaleRecordedV1 = z.strictObject({
  ticketId: EntityId,
  totalCents: Cents,
  paidCents: Cents,
  /** Hybrid-clock ms of the close. */
  closedAt: z.number().int().nonnegative(),
});
export type SaleRecordedV1 = z.infer<typeof SaleRecordedV1>;

export function saleKey(ticketId: string): string {
  return `sale-${ticketId}`;
}
