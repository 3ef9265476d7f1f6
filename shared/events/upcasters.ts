import type { EventEnvelope } from './envelope';
import type { TicketItemAddedV1, TicketItemAddedV2, TicketItemAddedV3, TicketKitchenItemBumpedV1, TicketKitchenItemBumpedV2, TicketKitchenItemBumpedV3, TicketPaymentRecordedV1, TicketPaymentRecordedV2, TicketPaymentRecordedV3, TicketRefundedV1, TicketRefundedV2, TicketTableAssignedV1, TicketTableAssignedV2 } from '../domain/ticket-events';
import type { MenuItemDefinedV1, MenuItemDefinedV2 } from '../domain/menu-events';
import type { SaleRecordedV1, SaleRecordedV2 } from '../domain/sale-events';
import type { TableDefinedV1, TableDefinedV2 } from '../domain/table-events';
import type { ConflictResolvedV1, ConflictResolvedV2 } from '../domain/conflict-events';

/**
 * Upcasters lift a payload one version up: UPCASTERS[type][v] turns a valid v payload
 * into a v+1 payload. They run on read (decodeEvent), never on the stored event, which
 * stays the fact it was. They must be pure and deterministic: every replica upcasts the
 * same old event to the same new payload, or the projections would diverge.
 */
export type Upcaster = (payload: unknown, event: EventEnvelope) => unknown;

export const UPCASTERS: Readonly<Record<string, Readonly<Record<number, Upcaster>>>> = {
  'ticket.item_added': {
    1: (payload, event): TicketItemAddedV2 => {
      const p = payload as TicketItemAddedV1;
      return {
        // v1 lines had no id; the event id is unique and the same on every replica.
        lineId: event.id,
        menuItemId: p.menuItemId,
        name: p.name,
        // v1 stored decimal units (12.5); round once, here, to integer cents.
        unitPriceCents: Math.round(p.price * 100),
        quantity: p.qty,
        ...(p.note !== undefined ? { note: p.note } : {}),
      };
    },
    // v3 added the line's tax rate: a v2 line had none (no tax counted), and is otherwise the same.
    2: (payload): TicketItemAddedV3 => payload as TicketItemAddedV2,
  },
  'menu.item_defined': {
    // v2 added the tax rate: a v1 item had none.
    1: (payload): MenuItemDefinedV2 => payload as MenuItemDefinedV1,
  },
  'table.defined': {
    // v2 made each field optional: a v1 definition carries both.
    1: (payload): TableDefinedV2 => payload as TableDefinedV1,
  },
  'ticket.payment_recorded': {
    // v2 added the card tip: a v1 payment had none, and is otherwise the same.
    1: (payload): TicketPaymentRecordedV2 => payload as TicketPaymentRecordedV1,
    // v3 added the lines a payment was for: a v2 payment was for an amount.
    2: (payload): TicketPaymentRecordedV3 => payload as TicketPaymentRecordedV2,
  },
  'ticket.kitchen_item_bumped': {
    // v2 added how many the kitchen made: a v1 bump made the whole line, as the fold has it then.
    1: (payload): TicketKitchenItemBumpedV2 => payload as TicketKitchenItemBumpedV1,
    // v3 added what the card showed: a v2 bump does not say (the fold guesses, as it did).
    2: (payload): TicketKitchenItemBumpedV3 => payload as TicketKitchenItemBumpedV2,
  },
  'ticket.table_assigned': {
    // v2 made the table optional (none: off its table): a v1 move names one.
    1: (payload): TicketTableAssignedV2 => payload as TicketTableAssignedV1,
  },
  'ticket.refunded': {
    // v2 added the line a refund is for: a v1 refund was for the whole ticket.
    1: (payload): TicketRefundedV2 => payload as TicketRefundedV1,
  },
  'conflict.resolved': {
    // v2 lets a hand-back name the refunds its card carried: a v1 one names none (the fold settles those the card holds when it folds).
    1: (payload): ConflictResolvedV2 => payload as ConflictResolvedV1,
  },
  'sale.recorded': {
    // v2 added the close a later sale records: a v1 sale is a ticket's first, and names none.
    1: (payload): SaleRecordedV2 => payload as SaleRecordedV1,
  },
};

/** The upcaster from `fromV` to `fromV + 1`, if one is declared. */
export function upcasterFor(type: string, fromV: number): Upcaster | undefined {
  return UPCASTERS[type]?.[fromV];
}
