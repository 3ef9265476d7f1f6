import { z } from 'zod';
import { Cents, EntityId } from './common';

/**
 * The sale handed to the back office when a ticket closes, on the ticket's aggregate. If two
 * offline terminals both close and record it, the projection (and the back office) count it
 * once: the first folded; a later first sale replaces it only when it records the close that
 * holds (the ticket reopened and closed again by a till that never saw the first close).
 */
const saleFields = {
  ticketId: EntityId,
  totalCents: Cents,
  paidCents: Cents,
  /** Hybrid-clock ms of the close. */
  closedAt: z.number().int().nonnegative(),
};
export const SaleRecordedV1 = z.strictObject(saleFields);
export type SaleRecordedV1 = z.infer<typeof SaleRecordedV1>;

/**
 * v2: a ticket sold already is sold again when a manager reopened it (a conflict's `reopen`) and
 * it closed again, or accepted another closing total (`accept_total`): that sale names the close
 * it records (`closeEventId`) and replaces the earlier one while that close holds at its total.
 * The first sale of a ticket is still written as v1: old builds fold it.
 */
export const SaleRecordedV2 = z.strictObject({ ...saleFields, closeEventId: EntityId.optional() });
export type SaleRecordedV2 = z.infer<typeof SaleRecordedV2>;

/**
 * The idempotency key of a ticket's sale: per event that sells it (its close, or the resolution
 * that accepted a total). Earlier builds keyed a first sale by the ticket alone (`by` absent).
 */
export function saleKey(ticketId: string, by?: string): string {
  return by === undefined ? `sale-${ticketId}` : `sale-${ticketId}-${by}`;
}
