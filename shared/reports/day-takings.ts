import { z } from 'zod';
import { PaymentMethod } from '../domain/ticket-events';
import { TaxLine, addTaxLines, sortedTaxLines } from '../domain/tax';
import { chargedQuantity, compedQuantity, hasEnded, owedCents, refundShares, ticketTaxes, type AggregateView, type RefundShares, type TicketConflict, type TicketLine, type TicketView, type UndoneClose } from '../projection/views';

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

/**
 * The closes a manager's reopening took off in the window (by the decision's `at`), whichever
 * day they were made, as they were: how many and their totals, the discounts and guests on
 * them, the tax in them rate by rate and what they sold. The net sales are `closed` less these.
 * (A server from before it answers without it: read as none; an older build drops it.)
 */
export const ReopenedCloses = MoneyCount.extend({ discounted: MoneyCount, guests: MoneyCount, taxes: z.array(TaxLine), itemsSold: z.array(ItemSold) });
export type ReopenedCloses = z.infer<typeof ReopenedCloses>;

export const DayTakings = DayWindow.extend({
  /**
   * The closes made in the window (by their `at`), with the totals they were closed with — a
   * close a manager reopened later too, as it was: it stays on its day, and comes off in
   * `reopened` on the day of the reopening (the same day too), as a hand-back does. Closed,
   * reopened and closed again, a ticket has two closes here and one in `reopened`.
   */
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
   * refunds them; held cash may be in the drawer meanwhile. A payment held or handed back on a
   * later day stays here if it was held that day, else in `taken`: a day's figures stay as they were.
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
   * `sales` in the totals of the closes made in the window (`reopened` apart), `refunds` in the money handed
   * back in it (refundShares: a refund for a line at that line's rate, one for the whole ticket
   * shared over its rates). What is owed is
   * the tax on sales less the tax in the closes reopened (`reopened.taxes`) and on refunds.
   */
  taxes: z.object({ sales: z.array(TaxLine), refunds: z.array(TaxLine) }).default({ sales: [], refunds: [] }),
  /** What the closes made in the window sold, item by item: most sold first (then by value, name, id). */
  itemsSold: z.array(ItemSold),
  /** The closes reopened in the window, taken off the sales (`closed`, `taxes.sales`, `itemsSold` are before it). */
  reopened: ReopenedCloses.default(() => emptyReopened()),
});
export type DayTakings = z.infer<typeof DayTakings>;

export function dayTakings(views: readonly AggregateView[], day: DayWindow): DayTakings {
  const within = (at: number | null): boolean => at !== null && at >= day.from && at < day.to;
  const sales = emptySales();
  const reopened = emptySales();
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
  const refundsTax = new Map<number | null, TaxLine>();

  for (const view of views) {
    if (view.kind !== 'ticket') continue;
    let counted = false;
    if (view.status === 'closed' && within(view.closedAt)) {
      addSale(sales, { totalCents: view.closedTotalCents ?? 0, discountCents: view.closedDiscountCents ?? 0, covers: view.closedCovers, lines: view.lines });
      counted = true;
    } else if (view.status === 'voided' && within(view.voidedAt)) {
      add(voided, view.totalCents);
      counted = true;
    } else if (!hasEnded(view) && (view.openedAt ?? view.lastEventAt) < day.to) {
      // (openedAt is null only while the opening has not arrived: its other events date it.)
      add(open, owedCents(view));
      counted = true;
    }
    // A close a manager reopened: on its own day as it was, taken off on the reopening's.
    for (const { resolution } of view.conflicts) {
      if (resolution === null || resolution.undidClose === null) continue;
      if (within(resolution.undidClose.closedAt)) {
        addSale(sales, resolution.undidClose);
        counted = true;
      }
      if (within(resolution.at)) {
        addSale(reopened, resolution.undidClose);
        counted = true;
      }
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
      // Held by the day's end (held now, or until handed back): held that day. Held only later
      // (a void the next day), it was taken that day, and leaves on the decision's if handed back.
      const heldAt = payment.state === 'held' ? heldSince(view, conflictOf(view, payment.conflictId)) : (back?.heldAt ?? null);
      if (heldAt !== null && heldAt < day.to) {
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
      // Held only after the day (with the payments a later void held), it was given that day.
      if (refund.state === 'held' && heldSince(view, conflictOf(view, refund.conflictId)) < day.to) continue;
      addByMethod(refunded, refund);
      shares ??= refundShares(view);
      addTaxLines(refundsTax, shares.taxes.get(refund.refundId) ?? []);
    }
    if (counted && view.openConflicts > 0) ticketsWithOpenConflicts++;
  }

  return {
    from: day.from,
    to: day.to,
    closed: sales.closed,
    discounted: sales.discounted,
    guests: sales.guests,
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
    taxes: { sales: sortedTaxLines(sales.taxes.values()), refunds: sortedTaxLines(refundsTax.values()) },
    itemsSold: sortedItems(sales.items),
    reopened: { ...reopened.closed, discounted: reopened.discounted, guests: reopened.guests, taxes: sortedTaxLines(reopened.taxes.values()), itemsSold: sortedItems(reopened.items) },
  };
}

/** Most sold first, then by value, name, id. */
function sortedItems(items: Map<string, ItemSold>): ItemSold[] {
  return [...items.values()].sort((a, b) => b.quantity - a.quantity || b.amountCents - a.amountCents || byCodeUnits(a.name, b.name) || byCodeUnits(a.menuItemId, b.menuItemId));
}

/** What the takings count of a close: its total, discount and guests then, and its lines (what it sold, the tax in it). */
type Sale = Pick<UndoneClose, 'totalCents' | 'discountCents' | 'covers' | 'lines'>;

/** The figures of closes (made, or reopened, in the window): rate → tax line, menu item id → its sales. */
interface Sales {
  closed: MoneyCount;
  discounted: MoneyCount;
  guests: MoneyCount;
  items: Map<string, ItemSold>;
  taxes: Map<number | null, TaxLine>;
}

function emptySales(): Sales {
  return { closed: emptyCount(), discounted: emptyCount(), guests: emptyCount(), items: new Map(), taxes: new Map() };
}

function emptyReopened(): ReopenedCloses {
  return { ...emptyCount(), discounted: emptyCount(), guests: emptyCount(), taxes: [], itemsSold: [] };
}

function addSale(sales: Sales, sale: Sale): void {
  add(sales.closed, sale.totalCents);
  // What the discount took off at the close: a discount changed after it is held, not counted.
  if (sale.discountCents > 0) add(sales.discounted, sale.discountCents);
  // The guests at the close, like its total and discount: a count changed since leaves the day as it was.
  if (sale.covers !== null) {
    sales.guests.count += sale.covers;
    sales.guests.amountCents += sale.totalCents;
  }
  for (const line of sale.lines) addItemSold(sales.items, line);
  addTaxLines(sales.taxes, ticketTaxes({ lines: sale.lines, totalCents: sale.totalCents, closedTotalCents: sale.totalCents }));
}

function conflictOf(view: TicketView, conflictId: string | null): TicketConflict | undefined {
  return conflictId === null ? undefined : view.conflicts.find((x) => x.conflictId === conflictId);
}

/**
 * When a manager handed back the money of a conflict (`refund_payment`), and when the conflict
 * held it (`heldAt`); null when its payments did not go back so.
 */
function handBackOf(view: TicketView, conflictId: string | null): { at: number; heldAt: number } | null {
  const c = conflictOf(view, conflictId);
  return c?.resolution?.kind === 'refund_payment' ? { at: c.resolution.at, heldAt: heldSince(view, c) } : null;
}

/**
 * Since when a conflict held its money (-Infinity without one: held all along): a void's
 * payments from the void on, also when a manager's decision held them later (the void kept over
 * a close made with it, or a payment kept on a voided ticket).
 */
function heldSince(view: TicketView, c: TicketConflict | undefined): number {
  if (c === undefined) return -Infinity;
  return c.kind === 'payment_after_void' && view.voidedAt !== null ? Math.min(c.detectedAt, view.voidedAt) : c.detectedAt;
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
