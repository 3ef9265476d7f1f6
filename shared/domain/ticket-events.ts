import { z } from 'zod';
import { Cents, EntityId, Note, PositiveCents, Quantity, ShortText } from './common';
import { TaxBasisPoints } from './tax';
import { TICKET_NUMBER_PATTERN } from './ticket-number';

/** Tickets (a guest check): aggregate type 'ticket'. */
export const TICKET_AGGREGATE = 'ticket';

/** How many guests a ticket serves ("covers"). */
export const Covers = z.number().int().positive().max(99);

export const TicketOpenedV1 = z.strictObject({
  /** Staff-readable number, fixed at opening so it never changes after sync (see ticket-number.ts). */
  number: z.string().regex(TICKET_NUMBER_PATTERN, 'number looks like A-017'),
  tableId: EntityId.optional(),
  covers: Covers.optional(),
});
export type TicketOpenedV1 = z.infer<typeof TicketOpenedV1>;

/**
 * v1, as written by the first terminals: price in decimal currency units and no line id,
 * so a line could not be addressed by later edits. Lifted to v2 by upcasters.ts.
 */
export const TicketItemAddedV1 = z.strictObject({
  menuItemId: EntityId,
  name: ShortText,
  price: z.number().nonnegative().max(1_000_000),
  qty: Quantity,
  note: Note.optional(),
});
export type TicketItemAddedV1 = z.infer<typeof TicketItemAddedV1>;

export const TicketItemAddedV2 = z.strictObject({
  lineId: EntityId,
  menuItemId: EntityId,
  name: ShortText,
  /** Copied from the menu when added: a later repricing does not change an open ticket. */
  unitPriceCents: Cents,
  quantity: Quantity,
  note: Note.optional(),
});
export type TicketItemAddedV2 = z.infer<typeof TicketItemAddedV2>;

/**
 * v3: the sales tax included in the line's price, copied from the menu when added (a later
 * change of rate does not change an open ticket). A line without one is still written as v2.
 */
export const TicketItemAddedV3 = TicketItemAddedV2.extend({ taxBasisPoints: TaxBasisPoints.optional() });
export type TicketItemAddedV3 = z.infer<typeof TicketItemAddedV3>;

export const TicketItemRemovedV1 = z.strictObject({ lineId: EntityId });
export type TicketItemRemovedV1 = z.infer<typeof TicketItemRemovedV1>;

export const TicketQuantityChangedV1 = z.strictObject({ lineId: EntityId, quantity: Quantity });
export type TicketQuantityChangedV1 = z.infer<typeof TicketQuantityChangedV1>;

export const TicketNoteSetV1 = z.strictObject({ note: Note });
export type TicketNoteSetV1 = z.infer<typeof TicketNoteSetV1>;

export const TicketTableAssignedV1 = z.strictObject({ tableId: EntityId });
export type TicketTableAssignedV1 = z.infer<typeof TicketTableAssignedV1>;

/**
 * v2: without a table the ticket leaves its table (the party takes it away), as a ticket
 * opened without one. A move to a table is still written as v1, so older tills read it.
 */
export const TicketTableAssignedV2 = TicketTableAssignedV1.partial();
export type TicketTableAssignedV2 = z.infer<typeof TicketTableAssignedV2>;

/** The guests at the table, as a waiter counts them (the opening guessed the table's seats). */
export const TicketCoversSetV1 = z.strictObject({ covers: Covers });
export type TicketCoversSetV1 = z.infer<typeof TicketCoversSetV1>;

/** The most lines one send names: a banquet's ticket goes to the kitchen in several (TicketCommands). */
export const MAX_LINES_PER_SEND = 200;

export const TicketSentToKitchenV1 = z.strictObject({ lineIds: z.array(EntityId).min(1).max(MAX_LINES_PER_SEND) });
export type TicketSentToKitchenV1 = z.infer<typeof TicketSentToKitchenV1>;

export const TicketKitchenItemBumpedV1 = z.strictObject({ lineId: EntityId });
/**
 * v2 adds how many the kitchen made: the quantity its card showed. A till that had not seen
 * the send may raise the quantity meanwhile; the rest is then still to make.
 */
export const TicketKitchenItemBumpedV2 = z.strictObject({ lineId: EntityId, quantity: Quantity.optional() });
/**
 * v3 says what the kitchen's card showed: `stopped` when it showed the line VOIDED or
 * CANCELLED (the kitchen saw it stop, and made nothing more of it), else the kitchen made it.
 * The fold no longer guesses that from whether the ticket is voided where the bump folds: a
 * void undone at once, a bump racing a void, a close holding the void back all folded it
 * wrong. This build always writes it; without it (v1, v2) the fold guesses as before.
 */
export const TicketKitchenItemBumpedV3 = z.strictObject({ lineId: EntityId, quantity: Quantity.optional(), stopped: z.boolean().optional() });

/**
 * A line held back from the kitchen (a main course, until the starters are eaten) or let go:
 * "Send to kitchen" leaves held lines, "Fire" sends them. A write to the line's register (the
 * latest holds); once the line is sent it no longer matters.
 */
export const TicketLineHeldV1 = z.strictObject({ lineId: EntityId, held: z.boolean() });
export type TicketLineHeldV1 = z.infer<typeof TicketLineHeldV1>;
export type TicketKitchenItemBumpedV1 = z.infer<typeof TicketKitchenItemBumpedV1>;
export type TicketKitchenItemBumpedV2 = z.infer<typeof TicketKitchenItemBumpedV2>;
export type TicketKitchenItemBumpedV3 = z.infer<typeof TicketKitchenItemBumpedV3>;

export const PaymentMethod = z.enum(['cash', 'card']);
export type PaymentMethod = z.infer<typeof PaymentMethod>;

const paymentFields = {
  paymentId: EntityId,
  method: PaymentMethod,
  /** What goes toward the ticket's total. */
  amountCents: PositiveCents,
  /** Cash handed over; the change due is tendered - amount. */
  tenderedCents: PositiveCents.optional(),
};

/** The cash handed over covers the amount, and only cash is handed over. */
function tenderChecked<T extends z.ZodType<{ method: PaymentMethod; amountCents: number; tenderedCents?: number | undefined }>>(schema: T): T {
  return schema
    .refine((p) => p.tenderedCents === undefined || p.tenderedCents >= p.amountCents, {
      path: ['tenderedCents'],
      message: 'tenderedCents must be at least amountCents',
    })
    .refine((p) => p.tenderedCents === undefined || p.method === 'cash', {
      path: ['tenderedCents'],
      message: 'tenderedCents only applies to cash',
    });
}

/** A tip is the card's only: cash tips go straight to the staff, unrecorded. */
function tipChecked<T extends z.ZodType<{ method: PaymentMethod; tipCents?: number | undefined }>>(schema: T): T {
  return schema.refine((p) => p.tipCents === undefined || p.method === 'card', { path: ['tipCents'], message: 'tipCents only applies to card' });
}

export const TicketPaymentRecordedV1 = tenderChecked(z.strictObject(paymentFields));
export type TicketPaymentRecordedV1 = z.infer<typeof TicketPaymentRecordedV1>;

/**
 * v2: a card payment can carry a tip, charged on the card with the amount and owed to staff:
 * not toward the ticket's total. (Cash tips go straight to the staff, unrecorded.) A v1 payment
 * had none; v1 builds see v2 as needs_update and keep it, where a v1 schema would have refused
 * the new field as invalid.
 */
export const TicketPaymentRecordedV2 = tipChecked(tenderChecked(z.strictObject({ ...paymentFields, tipCents: PositiveCents.optional() })));
export type TicketPaymentRecordedV2 = z.infer<typeof TicketPaymentRecordedV2>;

/**
 * v3: a payment can name the lines it was taken for (separate checks: a guest pays for their
 * own dishes), so the till shows them paid and offers the rest. The amount is what was taken
 * all the same: the lines only say what it was for. Written as v3 only when it names lines.
 */
export const TicketPaymentRecordedV3 = tipChecked(
  tenderChecked(
    z.strictObject({
      ...paymentFields,
      tipCents: PositiveCents.optional(),
      lineIds: z
        .array(EntityId)
        .min(1)
        .max(200)
        .refine((ids) => new Set(ids).size === ids.length, { message: 'lineIds must not repeat a line' })
        .optional(),
    }),
  ),
);
export type TicketPaymentRecordedV3 = z.infer<typeof TicketPaymentRecordedV3>;

export const TicketClosedV1 = z.strictObject({ totalCents: Cents });
export type TicketClosedV1 = z.infer<typeof TicketClosedV1>;

export const TicketVoidedV1 = z.strictObject({ reason: ShortText });
export type TicketVoidedV1 = z.infer<typeof TicketVoidedV1>;

/** A manager gives a line away ("on the house"): the kitchen still makes it, the guest does not pay for it. */
export const TicketLineCompedV1 = z.strictObject({
  lineId: EntityId,
  reason: ShortText,
  /** How many the manager gave away (the line's quantity on their screen): a till's concurrent raise stays charged. */
  quantity: Quantity,
});
export type TicketLineCompedV1 = z.infer<typeof TicketLineCompedV1>;

/**
 * A manager hands money back on a ticket (a guest overcharged, a dish sent back after paying),
 * in cash from the drawer or onto the card. It changes neither the lines nor the total: the
 * sale stands, and the refund is counted on its own day in the takings. The refunds of a
 * ticket never exceed what was taken on it (the fold holds one that would, as `over_refund`).
 */
export const TicketRefundedV1 = z.strictObject({
  refundId: EntityId,
  method: PaymentMethod,
  amountCents: PositiveCents,
  reason: ShortText,
});
export type TicketRefundedV1 = z.infer<typeof TicketRefundedV1>;

/**
 * v2: the line the money is for, when it is for one (a dish sent back): its tax is then that
 * line's rate, not shared over the ticket's. A refund for none is still written as v1.
 */
export const TicketRefundedV2 = TicketRefundedV1.extend({ lineId: EntityId.optional() });
export type TicketRefundedV2 = z.infer<typeof TicketRefundedV2>;

/** A discount on the whole ticket: a share of what its lines charge, or an amount off it. */
export const TicketDiscount = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('percent'), percent: z.number().int().min(1).max(100), reason: ShortText }),
  z.strictObject({ kind: z.literal('amount'), amountCents: PositiveCents, reason: ShortText }),
]);
export type TicketDiscount = z.infer<typeof TicketDiscount>;

/**
 * A manager sets (or, with null, takes off) the ticket's discount (a staff meal, a voucher, a
 * happy hour): one per ticket, the latest write holding. It comes off the lines' charge: the
 * ticket's total is what is left.
 */
export const TicketDiscountSetV1 = z.strictObject({ discount: TicketDiscount.nullable() });
export type TicketDiscountSetV1 = z.infer<typeof TicketDiscountSetV1>;
