import { describe, expect, it } from 'vitest';
import { CONFLICT_LABEL, acceptedTotal, age, choiceLabel, clockTime, keptOverSaleCents, lineNames, money, parseMoney, parseTaxPercent, resolutionLabel, statusLabel, takenOff, taxPercent, taxRate, wholePercent } from '../../client/ui/format';
import type { TicketLine, TicketPayment, TicketRefund } from '../../shared/projection/views';

const line = (sentAt: number | null, bumpedAt: number | null) => ({ sentAt, bumpedAt }) as never;

describe('what staff read', () => {
  it('times of day run 00:00 to 23:59, never "24:05" after midnight', () => {
    expect(clockTime(new Date(2024, 0, 1, 0, 5, 9).getTime())).toMatch(/^00:05:09$/);
    expect(clockTime(new Date(2024, 0, 1, 23, 59, 0).getTime())).toMatch(/^23:59:00$/);
  });

  it('a waiting time reads in seconds under a minute, in minutes from one ("1m 00s", never "60s")', () => {
    expect([age(59_999), age(60_000), age(61_000)]).toEqual(['59s', '1m 00s', '1m 01s']);
  });

  it('[APP27] lines of one item are named by their place, so each button names one line', () => {
    const names = lineNames([
      { lineId: 'a', name: 'Steak' },
      { lineId: 'b', name: 'Soup' },
      { lineId: 'c', name: 'Steak' },
    ]);
    expect([...names.values()]).toEqual(['Steak (1st line)', 'Soup', 'Steak (2nd line)']);
  });

  it('[APP26] a typed amount: any number of whole digits (one too large is the caller\'s "at most …"), ".5" and "5."; never a sign, an exponent, hex or a currency symbol', () => {
    expect(['12', ' 12.5 ', '12,50', '.5', ',05', '5.', '999999999', '1000000,01'].map(parseMoney)).toEqual([1200, 1250, 1250, 50, 5, 500, 99_999_999_900, 100_000_001]);
    expect(['', '.', '1e3', '-1', '+1', '0x32', '€5', '5 €', '1.234', '1 000'].map(parseMoney)).toEqual(Array(10).fill(null));
  });

  it('money from integer cents', () => {
    expect(money(2650)).toBe('26.50');
    expect(money(-5)).toBe('−0.05');
  });

  it('[APP31] tax rates: basis points read as a percentage, and a typed percentage (0–100, two decimals at most) back', () => {
    expect([2000, 550, 1025, 0, 10_000].map(taxRate)).toEqual(['20 %', '5.5 %', '10.25 %', '0 %', '100 %']);
    expect(taxPercent(770)).toBe('7.7');
    expect(['20', ' 5.5 ', '7,7', '10.25%', '0', '100'].map(parseTaxPercent)).toEqual([2000, 550, 770, 1025, 0, 10_000]);
    for (const bad of ['', 'twenty', '-5', '100.01', '5.555', '1000']) expect(parseTaxPercent(bad), bad).toBeNull();
  });

  it('a sent ticket is "In kitchen" until the kitchen bumped every line sent, then "Served"', () => {
    expect(statusLabel({ status: 'sent', lines: [line(1, null), line(1, 2)] })).toBe('In kitchen');
    expect(statusLabel({ status: 'sent', lines: [line(1, 2), line(null, null)] })).toBe('Served');
    expect(statusLabel({ status: 'paid', lines: [line(1, 2)] })).toBe('Paid');
  });

  it('[APP42] a ticket paid or closed while a send is still only on this till says so: the kitchen has not got it; a voided one does not', () => {
    const sending = [line(1, null)];
    expect(statusLabel({ status: 'sent', lines: sending }, true)).toBe('Sending to kitchen…');
    expect(statusLabel({ status: 'paid', lines: sending }, true)).toBe('Paid · sending to kitchen…');
    expect(statusLabel({ status: 'closed', lines: sending }, true)).toBe('Closed · sending to kitchen…');
    expect(statusLabel({ status: 'voided', lines: sending }, true)).toBe('Voided');
    expect(statusLabel({ status: 'closed', lines: sending })).toBe('Closed');
  });

  it('[PRJ26] a hand-back says how much goes back, and how: the payments and their tips less the refunds the card carries, never below 0.00; several payments in the plural', () => {
    const payment = (paymentId: string, method: 'cash' | 'card', amountCents: number, conflictId: string, tipCents = 0) => ({ paymentId, method, amountCents, tipCents, conflictId }) as TicketPayment;
    const refund = (refundId: string, amountCents: number, conflictId: string, state: TicketRefund['state']) => ({ refundId, method: 'cash', amountCents, conflictId, state }) as TicketRefund;
    const ticket = {
      payments: [payment('p1', 'cash', 1000, 'cf-a'), payment('p2', 'cash', 800, 'cf-a'), payment('p3', 'card', 1450, 'cf-b', 200), payment('p4', 'cash', 1000, 'cf-c')],
      refunds: [refund('r1', 1200, 'cf-a', 'held'), refund('r2', 300, null as never, 'applied'), refund('r3', 1200, 'cf-c', 'held')],
    };
    const grouped = { conflictId: 'cf-a', kind: 'payment_after_void' };
    expect(choiceLabel(ticket, grouped, 'refund_payment')).toBe('Refund the payments, keep the void: hand back 6.00 in cash');
    expect(choiceLabel(ticket, grouped, 'reopen')).toBe('Reopen the ticket, keep the payments');
    expect(choiceLabel(ticket, { conflictId: 'cf-b', kind: 'payment_after_void' }, 'refund_payment')).toBe('Refund the payment, keep the void: hand back 16.50 to the card');
    expect(choiceLabel(ticket, { conflictId: 'cf-b', kind: 'over_payment' }, 'refund_payment')).toBe('Refund the payment that does not fit: hand back 16.50 to the card');
    // Refunds carried beyond the payment hand back nothing more, not a negative.
    expect(choiceLabel(ticket, { conflictId: 'cf-c', kind: 'payment_after_void' }, 'refund_payment')).toBe('Refund the payment, keep the void: hand back 0.00 in cash');
    expect(choiceLabel(ticket, { conflictId: 'cf-x', kind: 'change_after_close' }, 'reopen')).toBe('Reopen the ticket and apply the change');
  });

  it('a resolution is named for the conflict it settles: reopening a voided ticket is how it keeps its payment', () => {
    expect(resolutionLabel('payment_after_void', 'reopen')).toBe('Reopen the ticket, keep the payment');
    expect(resolutionLabel('change_after_close', 'reopen')).toBe('Reopen the ticket and apply the change');
    expect(resolutionLabel('close_total_mismatch', 'reopen')).toBe('Reopen the ticket');
    // One terminal may have both closed and voided: the label does not say "another".
    expect(CONFLICT_LABEL.closed_and_voided).not.toMatch(/another/);
  });

  it('[APP28] keeping an over-payment reads as keeping it until the extra is refunded, not as the restaurant keeping the guest\'s money', () => {
    expect(resolutionLabel('over_payment', 'accept_payment')).toBe('Keep the payment (then refund what is over)');
    const twice = { payments: [{ conflictId: 'cf' }, { conflictId: 'cf' }] as TicketPayment[], refunds: [] };
    expect(choiceLabel(twice, { conflictId: 'cf', kind: 'over_payment' }, 'accept_payment')).toBe('Keep the payments (then refund what is over)');
  });

  it('[APP28] what a ticket keeps above what it sells (a kept over-payment) is its payments less its sale less what refunds gave back of it; a refund for a dish takes nothing off it; nothing while a payment is held', () => {
    const applied = [{ state: 'applied' }] as TicketPayment[];
    const refund = (amountCents: number, aboveSaleCents: number, lineId?: string) =>
      ({ state: 'applied', amountCents, aboveSaleCents, line: lineId ? { lineId, name: 'Cola', taxBasisPoints: null, drawnCents: amountCents - aboveSaleCents } : null }) as TicketRefund;
    const lines = [{ lineId: 'l-cola', unitPriceCents: 1800, quantity: 1, comped: null }] as TicketLine[];
    const ticket = { paidCents: 3600, totalCents: 1800, closedTotalCents: null, payments: applied, lines, refunds: [] as TicketRefund[] };
    expect(keptOverSaleCents(ticket)).toBe(1800);
    expect(keptOverSaleCents({ ...ticket, closedTotalCents: 2000 })).toBe(1600);
    expect(keptOverSaleCents({ ...ticket, refunds: [refund(1000, 1000)] })).toBe(800);
    expect(keptOverSaleCents({ ...ticket, refunds: [refund(1800, 1800), refund(600, 0)] })).toBe(0);
    // A refund for the cola (compensation, for good): the over-payment is still all to give back.
    expect(keptOverSaleCents({ ...ticket, refunds: [refund(350, 0, 'l-cola')] })).toBe(1800);
    expect(keptOverSaleCents({ ...ticket, payments: [...applied, { state: 'held' }] as TicketPayment[] })).toBe(0);
  });
});

describe('discount form (DiscountForm)', () => {
  it('[APP29] a percentage is whole digits, with or without "%": "20 %" is 20; "1e1", "0x32", "12.5" and "-5" are no percentage', () => {
    expect(['20', ' 20% ', '20 %', '100', '7'].map(wholePercent)).toEqual([20, 20, 20, 100, 7]);
    expect(['1e1', '0x32', '12.5', '-5', '', '%', '20 %%', '1000'].map(wholePercent)).toEqual(Array(8).fill(null));
  });
});

describe('conflict card (ConflictCard)', () => {
  it('[APP27] a total typed to accept is an amount up to the maximum: a slip or an absurd total is said (a 20-digit one offered "at most 90071992547409.91", a 320-digit one "Accept total Infinity.NaN")', () => {
    const problem = (text: string) => acceptedTotal(text).problem;
    expect(['', ' ', '12.50', '12,5', '1000000'].map(problem)).toEqual([null, null, null, null, null]);
    expect(problem('twelve')).toBe('Enter the total as an amount (e.g. 12.50)');
    for (const absurd of ['1000000.01', '99999999999999999999', '9'.repeat(320)]) expect(problem(absurd), absurd).toBe('At most 1000000.00 a total');
  });

  it('[APP27] the total accepted is the one typed, in cents; none (the lines\' total offered) when nothing or no amount is typed', () => {
    expect(['12.50', ' 12,5 ', '1000000'].map((t) => acceptedTotal(t).cents)).toEqual([1250, 1250, 100_000_000]);
    expect(['', ' ', 'twelve', '1000000.01'].map((t) => acceptedTotal(t).cents)).toEqual([null, null, null, null]);
  });
});

describe('takings (TakingsScreen, TakingsModel)', () => {
  it('[APP20] what reopened closes take off the day reads as a negative, counts and money alike; nothing taken off as none', () => {
    expect([takenOff(3), takenOff(0)]).toEqual(['−3', '0']);
    expect([takenOff(2300, money), takenOff(5, money), takenOff(0, money)]).toEqual([money(-2300), '−0.05', '0.00']);
  });
});
