import { z } from 'zod';
import { PaymentMethod } from '../../shared/domain/ticket-events';
import { TaxLine } from '../../shared/domain/tax';

/*
 * The takings report as builds from before a reopened close had a block of its own read it
 * (shared/reports/day-takings.ts before 89e0a5f, its doc comments left out): every count at or
 * above zero, and no `reopened` (zod drops a key it does not know). A build of that time must
 * still read a newer server's answer: a manager's app checks its figures with whatever server
 * the location runs.
 */
const Cents = z.number().int();
const Count = z.number().int().nonnegative();
const MoneyCount = z.object({ count: Count, amountCents: Cents });
const PaymentTotals = MoneyCount.extend({ byMethod: z.record(PaymentMethod, MoneyCount) });
const ItemSold = z.object({ menuItemId: z.string(), name: z.string(), quantity: Count, compedQuantity: Count, amountCents: Cents });
const none = { count: 0, amountCents: 0 };

export const DayTakingsBeforeReopened = z.object({
  from: z.number().int(),
  to: z.number().int(),
  closed: MoneyCount,
  discounted: MoneyCount,
  guests: MoneyCount.default(none),
  taken: PaymentTotals,
  changeGivenCents: Cents,
  tips: MoneyCount,
  refunded: PaymentTotals,
  cashExpectedCents: Cents,
  held: PaymentTotals,
  handedBack: PaymentTotals.default(() => ({ ...none, byMethod: Object.fromEntries(PaymentMethod.options.map((m) => [m, { ...none }])) as Record<PaymentMethod, typeof none> })),
  voided: MoneyCount,
  comped: MoneyCount,
  open: MoneyCount,
  ticketsWithOpenConflicts: Count,
  taxes: z.object({ sales: z.array(TaxLine), refunds: z.array(TaxLine) }).default({ sales: [], refunds: [] }),
  itemsSold: z.array(ItemSold),
});

/** The answer of GET /api/reports/takings as those builds parse it (shared/protocol/rest-reports.ts then). */
export const TakingsResponseBeforeReopened = z.object({ takings: DayTakingsBeforeReopened, serverTime: z.number() });
