import { z } from 'zod';
import { Cents, Note } from './common';

/**
 * How a manager settles an escalated conflict. One kind per decision; which kinds fit
 * which conflict is declared in ../projection/merge-policy.ts (CONFLICT_RESOLUTIONS).
 */
export const ConflictResolution = z.discriminatedUnion('kind', [
  /** Count the disputed payment (e.g. a real over-payment kept as credit). */
  z.strictObject({ kind: z.literal('accept_payment') }),
  /** Do not count the disputed payment: it is handed back to the guest. */
  z.strictObject({ kind: z.literal('refund_payment') }),
  /** Count the disputed refund: the money was handed back. */
  z.strictObject({ kind: z.literal('accept_refund') }),
  /** The void stands; the later close (or change) is dropped. */
  z.strictObject({ kind: z.literal('keep_void') }),
  /** The close stands; the later void is dropped. */
  z.strictObject({ kind: z.literal('keep_closed') }),
  /** Drop a change made after close/void (or a refund that was not given); the ticket stays as it was. */
  z.strictObject({ kind: z.literal('discard_change') }),
  /** Reopen the ticket and apply what was held back. */
  z.strictObject({ kind: z.literal('reopen') }),
  /** Settle two different closing totals on this one. */
  z.strictObject({ kind: z.literal('accept_total'), totalCents: Cents }),
]);
export type ConflictResolution = z.infer<typeof ConflictResolution>;
export type ConflictResolutionKind = ConflictResolution['kind'];

/** Written on the aggregate the conflict belongs to. */
export const ConflictResolvedV1 = z.strictObject({
  conflictId: z.string().min(1).max(200),
  resolution: ConflictResolution,
  note: Note.optional(),
});
export type ConflictResolvedV1 = z.infer<typeof ConflictResolvedV1>;

/**
 * v2: a hand-back (`refund_payment`) names the refunds its card carried ("…, 2.00 of it
 * refunded already"): only those are part of it. A refund that reached the ticket after the
 * manager decided (given offline meanwhile), or moved onto this card since, is not: it was
 * given, or handed back, apart. Only a hand-back carries it; one without is written as v1.
 */
export const ConflictResolvedV2 = ConflictResolvedV1.extend({ refundIds: z.array(z.string().min(1).max(200)).max(200).optional() });
export type ConflictResolvedV2 = z.infer<typeof ConflictResolvedV2>;
