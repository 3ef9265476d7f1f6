import { z } from 'zod';
import { PaymentMethod } from '../domain/ticket-events';
import { TaxLine, addTaxLines, sortedTaxLines } from '../domain/tax';
import { chargedQuantity, compedQuantity, hasEnded, owedCents, refundShares, ticketTaxes, type AggregateView, type RefundShares, type TicketLine, type TicketView } from '../projection/views';

/**
 * The day's takings (cash-up): what the manager counts the drawer against at the end of a
 * service. Pure: the same views give the same report on a terminal (its local projection)
 * and on the server (the canonical log), so the two can be compared figure by figure.
 *
 * Windows are half-open, [from, to), in hybrid-clock ms (server-corrected time, the `at`
 * of the events). Money is integer cents.
 */

/** A business day, or any window the report covers: [from, to). */
export const DayWindow = z.object({ from: z.number().int(), to: z.number().int() });
export type DayWindow = z.infer<typeof DayWindow>;

const Cents = z.number().int();
const Count = z.number().int().nonnegative();

export const MoneyCount = z.object({ count: Count, amountCents: Cents });
export type MoneyCount = z.infer<typeof MoneyCount>;

/** Payments of one state, in all and per method (every method PaymentMethod holds, zero included). */
export const PaymentTotals = MoneyCount.extend({ byMethod: z.record(PaymentMethod, MoneyCount) });
export type PaymentTotals = z.infer<typeof PaymentTotals>;

/** One menu item's sales on the tickets closed in the window (the product mix). */
export const ItemSold = z.object({
  menuItemId: z.string(),
  name: z.string(),
  /** Charged (comped parts apart). */
  quantity: Count,
  compedQuantity: Count,
  /** What the charged quantity came to at the prices on the tickets, before any ticket discount. */
  amountCents: Cents,
});
export type ItemSold = z.infer<typeof ItemSold>;

export const DayTakings = DayWindow.extend({
  /** Tickets closed in the window (by `closedAt`), with the totals they were closed with. */
  closed: MoneyCount,
  /** Of those, the ones closed with a discount, and what their discounts took off (in no total). */
  discounted: MoneyCount,
  /**
   * The guests of the tickets closed in the window (`count`: their covers when they closed; a
   * ticket without a count adds none) and those tickets' closed totals (`amountCents`): the spend
   * per guest is the one over the other. (A server from before guests and taxes answers without
   * them: read as none.)
   */
  guests: MoneyCount.default({ count: 0, amountCents: 0 }),
  /** Payments taken in the window (by their `at`) that count: state 'applied'. */
  taken: PaymentTotals,
  /** Change handed back on the cash payments taken (tendered − amount). */
  changeGivenCents: Cents,
  /**
   * Card tips on the payments taken (charged with them, owed to staff): in no ticket's total
   * and not in `taken`. (Tips on held payments are in neither, as their payments are not.)
   */
  tips: MoneyCount,
  /**
   * Money handed back in the window (by the refund's `at`, whichever day the sale was), per
   * method: refunds that count (state 'applied'). A refund held as `over_refund` counts once a
   * manager accepts it; its ticket is in `ticketsWithOpenConflicts` meanwhile.
   */
  refunded: PaymentTotals,
  /**
   * Cash the drawer should hold from the window's sales (the float aside): the cash payments'
   * amounts less the cash refunds and the cash handed back (`handedBack`). `amountCents` is already net of change (the reducer records
   * the cash handed over as `tenderedCents` and the change as tendered − amount), so change is
   * not taken off again.
   */
  cashExpectedCents: Cents,
  /**
   * Payments taken in the window that are held for a manager (a payment on a voided ticket,
   * or one that no longer fits the total): not in the takings until a manager accepts or
   * refunds them; held cash may be in the drawer meanwhile. A payment handed back on a later
   * day stays here, or in `taken` if it was held later still: a day's figures stay as they were.
   */
  held: PaymentTotals,
  /**
   * Payments a manager handed back in the window (by the decision's `at`), taken on an earlier
   * day, with their card tips, less the refunds given on an earlier day that were part of them (`count`: the payments):
   * money out of the drawer or back to the card. (A payment taken and handed back the same day,
   * and the refunds of that day that were part of it, count nowhere. A server from before it
   * answers without it: read as none.)
   */
  handedBack: PaymentTotals.default(() => emptyTotals()),
  /**
   * Tickets voided in the window (by `voidedAt`) and what the guest would have paid for their
   * lines (the total: comped parts excluded, and counted in no `comped` either, which leaves
   * voided tickets out). Lines cannot change after a void (a change is held as a conflict), so
   * the total is the one at the void.
   */
  voided: MoneyCount,
  /**
   * Lines a manager comped ("on the house") in the window (by `comped.at`) and the value given
   * away (unit price × the quantity comped), on tickets not voided: given away, so in no ticket's total. A
   * comp of a closed or voided ticket is held as a conflict, so it is not counted until applied.
   */
  comped: MoneyCount,
  /**
   * Tickets neither closed nor voided now, opened before the window's end, and what is left
   * to take on them (total − paid; a ticket paid over its total owes nothing).
   */
  open: MoneyCount,
  /** Tickets counted above that have an open conflict: until they are settled the figures are not final. */
  ticketsWithOpenConflicts: Count,
  /**
   * The sales tax in the prices (tax included), rate by rate, lowest first, no rate last:
   * `sales` in the totals of the tickets closed in the window, `refunds` in the money handed
   * back in it (refundShares: a refund for a line at that line's rate, one for the whole ticket
   * shared over its rates). What is owed is
   * the tax on sales less the tax on refunds.
   */
  taxes: z.object({ sales: z.array(TaxLine), refunds: z.array(TaxLine) }).default({ sales: [], refunds: [] }),
  /** What the tickets closed in the window sold, item by item: most sold first (then by value, name, id). */
  itemsSold: z.array(ItemSold),
});
export type DayTakings = z.infer<typeof DayTakings>;

export function dayTakings(views: readonly AggregateView[], day: DayWindow): DayTakings {
  const within = (at: number | null): boolean => at !== null && at >= day.from && at < day.to;
  const closed = emptyCount();
  const discounted = emptyCount();
  const guests = emptyCount();
  const voided = emptyCount();
  const comped = emptyCount();
  const open = emptyCount();
  const taken = emptyTotals();
  const held = emptyTotals();
  const refunded = emptyTotals();
  const handedBack = emptyTotals();
  const tips = emptyCount();
  let changeGivenCents = 0;
  let ticketsWithOpenConflicts = 0;
  const items = new Map<string, ItemSold>();
  const salesTax = new Map<number | null, TaxLine>();
  const refundsTax = new Map<number | null, TaxLine>();

  for (const view of views) {
    if (view.kind !== 'ticket') continue;
    let counted = false;
    if (view.status === 'closed' && within(view.closedAt)) {
      add(closed, view.closedTotalCents ?? 0);
      // What the discount took off at the close: a discount changed after it is held, not counted.
      if ((view.closedDiscountCents ?? 0) > 0) add(discounted, view.closedDiscountCents!);
      // The guests at the close, like its total and discount: a count changed since leaves the day as it was.
      if (view.closedCovers !== null) {
        guests.count += view.closedCovers;
        guests.amountCents += view.closedTotalCents ?? 0;
      }
      for (const line of view.lines) addItemSold(items, line);
      addTaxLines(salesTax, ticketTaxes(view));
      counted = true;
    } else if (view.status === 'voided' && within(view.voidedAt)) {
      add(voided, view.totalCents);
      counted = true;
    } else if (!hasEnded(view) && (view.openedAt ?? view.lastEventAt) < day.to) {
      // (openedAt is null only while the opening has not arrived: its other events date it.)
      add(open, owedCents(view));
      counted = true;
    }
    if (view.status !== 'voided') {
      for (const line of view.lines) {
        if (line.comped === null || !within(line.comped.at)) continue;
        add(comped, line.unitPriceCents * compedQuantity(line));
        counted = true;
      }
    }
    for (const payment of view.payments) {
      const back = payment.state === 'refunded' ? handBackOf(view, payment.conflictId) : null;
      if (back !== null && within(back.at) && !within(payment.at)) {
        // A card's tip was charged with it, and goes back with it.
        addByMethod(handedBack, { method: payment.method, amountCents: payment.amountCents + payment.tipCents });
        counted = true;
      }
      // Handed back: on its own day as it ended then (taken, or held), unless handed back that day too.
      if (!within(payment.at) || (payment.state === 'refunded' && (back === null || within(back.at)))) continue;
      counted = true;
      if (payment.state === 'held' || (back !== null && within(back.heldAt))) {
        addByMethod(held, payment);
        continue;
      }
      addByMethod(taken, payment);
      changeGivenCents += payment.changeCents; // 0 but for cash handed over
      if (payment.tipCents > 0) add(tips, payment.tipCents);
    }
    // Shared over the ticket's lines in fold order (refundShares), made only for a ticket with a refund in the window.
    let shares: RefundShares | undefined;
    for (const refund of view.refunds) {
      // Part of a hand-back: given on its own day (as it ended then), and taken off the hand-back on a later one.
      const partOf = refund.state === 'settled' ? handBackOf(view, refund.conflictId) : null;
      if (partOf !== null && within(partOf.at) && !within(refund.at)) {
        handedBack.amountCents -= refund.amountCents;
        handedBack.byMethod[refund.method].amountCents -= refund.amountCents;
        counted = true;
      }
      if (refund.state === 'discarded' || !within(refund.at) || (refund.state === 'settled' && (partOf === null || within(partOf.at)))) continue;
      counted = true;
      if (refund.state === 'held') continue;
      addByMethod(refunded, refund);
      shares ??= refundShares(view);
      addTaxLines(refundsTax, shares.taxes.get(refund.refundId) ?? []);
    }
    if (counted && view.openConflicts > 0) ticketsWithOpenConflicts++;
  }

  return {
    from: day.from,
    to: day.to,
    closed,
    discounted,
    guests,
    taken,
    changeGivenCents,
    tips,
    refunded,
    cashExpectedCents: taken.byMethod.cash.amountCents - refunded.byMethod.cash.amountCents - handedBack.byMethod.cash.amountCents,
    held,
    handedBack,
    voided,
    comped,
    open,
    ticketsWithOpenConflicts,
    taxes: { sales: sortedTaxLines(salesTax.values()), refunds: sortedTaxLines(refundsTax.values()) },
    itemsSold: [...items.values()].sort((a, b) => b.quantity - a.quantity || b.amountCents - a.amountCents || byCodeUnits(a.name, b.name) || byCodeUnits(a.menuItemId, b.menuItemId)),
  };
}

/**
 * When a manager handed back the money of a conflict (`refund_payment`), and when the conflict
 * held it (`heldAt`); null when its payments did not go back so.
 */
function handBackOf(view: TicketView, conflictId: string | null): { at: number; heldAt: number } | null {
  const c = conflictId === null ? undefined : view.conflicts.find((x) => x.conflictId === conflictId);
  return c?.resolution?.kind === 'refund_payment' ? { at: c.resolution.at, heldAt: c.detectedAt } : null;
}

/** The same order everywhere (a locale's collation may differ between a tablet and the server). */
function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Adds a closed ticket's line to its item's sales; one item's lines may carry different names (a rename): the first by sort order is kept. */
function addItemSold(items: Map<string, ItemSold>, line: TicketLine): void {
  const charged = chargedQuantity(line);
  const comped = compedQuantity(line);
  let item = items.get(line.menuItemId);
  if (item === undefined) {
    item = { menuItemId: line.menuItemId, name: line.name, quantity: 0, compedQuantity: 0, amountCents: 0 };
    items.set(line.menuItemId, item);
  } else if (line.name < item.name) {
    item.name = line.name;
  }
  item.quantity += charged;
  item.compedQuantity += comped;
  item.amountCents += line.unitPriceCents * charged;
}


function emptyCount(): MoneyCount {
  return { count: 0, amountCents: 0 };
}

function emptyTotals(): PaymentTotals {
  const byMethod = Object.fromEntries(PaymentMethod.options.map((m) => [m, emptyCount()])) as Record<PaymentMethod, MoneyCount>;
  return { ...emptyCount(), byMethod };
}

function add(total: MoneyCount, cents: number): void {
  total.count++;
  total.amountCents += cents;
}

/** A payment or a refund, in all and under its method. */
function addByMethod(totals: PaymentTotals, money: { method: PaymentMethod; amountCents: number }): void {
  add(totals, money.amountCents);
  add(totals.byMethod[money.method], money.amountCents);
}
