import { describe, expect, it, vi } from 'vitest';
import { burger, cleanUpAfterEach, cola, exchange, paymentMod, soup, ticketOf, till } from '../helpers/ui-models';

cleanUpAfterEach();
let n = 0; // numbers the locations a test names itself

// The tickets screen's payment panel (PaymentForm); the rest of the screen is in ui-tickets-model.test.ts.
/** A burger and a cola on one ticket, open on its payment panel, on a till (or a manager's). */
async function burgerAndCola(role: 'terminal' | 'manager' = 'terminal') {
  const t = await till({ role });
  const id = await t.commands.openTicket();
  await t.commands.addItem(id, burger);
  await t.commands.addItem(id, cola);
  t.tickets.select(id);
  return { t, id, pay: t.tickets.payment };
}

/** Burgers (`burgers` of them), a cola and a soup on one ticket of till-1, open on its payment panel; till-2 of the same location beside it. */
async function dinnerOnTwoTills(burgers: number) {
  const location = `ui-${++n}`;
  const a = await till({ location, terminal: 'till-1' });
  const b = await till({ location, terminal: 'till-2' });
  const id = await a.commands.openTicket();
  await a.commands.addItem(id, burger, burgers);
  await a.commands.addItem(id, cola);
  await a.commands.addItem(id, soup);
  a.tickets.select(id);
  return { a, b, id, pay: a.tickets.payment };
}

describe('tickets screen (TicketsModel)', () => {
  it('[APP5] cash handed over is checked in the payment panel: at least the amount, at most the amount + 1000.00 (and the schema maximum)', async () => {
    const t = await till();
    const id = await t.commands.openTicket();
    await t.commands.addItem(id, { id: 'x', name: 'Set menu', priceCents: 1000 });
    t.tickets.select(id);
    const pay = t.tickets.payment;
    pay.method = 'cash';
    expect(pay.amount).toBe(1000);
    for (const [text, problem] of [
      ['99999', /more cash than.*10\.00.*at most 1010\.00/i],
      ['2000000', /more cash than/i],
      ['9.99', /less cash handed over than the amount/i],
      ['abc', /enter the cash handed over/i],
    ] as const) {
      pay.tenderedText = text;
      expect(pay.problem, text).toMatch(problem);
      expect(pay.problemField, text).toBe('cash');
      expect(await pay.record(), text).toBe(false);
    }
    expect(ticketOf(t.store, id).payments).toHaveLength(0);
    pay.tenderedText = '1010';
    expect(pay.problem).toBeNull();
    pay.tenderedText = '50';
    expect(pay.change).toBe(4000);
    expect(await pay.record()).toBe(true);
    expect(pay.lastChange).toBe(4000);
    expect(ticketOf(t.store, id).payments.map((p) => [p.amountCents, p.tenderedCents])).toEqual([[1000, 5000]]);
    expect(pay.hasDraft).toBe(false);
    // Near the schema maximum, it caps the cash handed over below the amount + 1000.00.
    const large = await t.commands.openTicket();
    await t.commands.addItem(large, { id: 'x', name: 'Set menu', priceCents: 99_990_000 });
    t.tickets.select(large);
    pay.method = 'cash';
    pay.tenderedText = '1000500';
    expect([pay.problem, pay.problemField]).toEqual(['More cash than anyone hands over for 999900.00: check the cash handed over (at most 1000000.00)', 'cash']);
  });

  it('[APP24] a card payment takes a tip (typed or a percentage of the amount), not toward the total; a tip over the amount or on cash is not offered', async () => {
    const t = await till();
    const id = await t.commands.openTicket();
    await t.commands.addItem(id, { id: 'x', name: 'Set menu', priceCents: 1000 });
    t.tickets.select(id);
    const pay = t.tickets.payment;
    expect(pay.method).toBe('card');
    pay.tipText = '15';
    expect(pay.problem).toMatch(/a tip of 15\.00 on 10\.00/i);
    expect(pay.problemField).toBe('tip');
    expect(await pay.record()).toBe(false);
    pay.tipText = 'x';
    expect(pay.problem).toMatch(/enter the tip as an amount/i);
    // A percentage is rounded to the nearest cent: 15 % of 3.50 (0.525) is 0.53.
    pay.typeAmount('3.50');
    pay.tipPercent(15);
    expect(pay.tipText).toBe('0.53');
    pay.typeAmount('10.00');
    pay.tipPercent(15);
    expect(pay.tipText).toBe('1.50');
    expect(pay.problem).toBeNull();
    expect(pay.hasDraft).toBe(true);
    // Cash: the tip field is the card's only (staff keep cash tips); a tip typed before is not sent,
    // nor, back on the card, the cash handed over typed meanwhile.
    pay.method = 'cash';
    expect(pay.tip).toBeNull();
    pay.tenderedText = '20';
    pay.method = 'card';
    expect([pay.tendered, pay.change]).toEqual([null, null]);
    expect(await pay.record()).toBe(true);
    const ticket = ticketOf(t.store, id);
    expect(ticket.payments.map((p) => [p.method, p.amountCents, p.tipCents, p.tenderedCents ?? null])).toEqual([['card', 1000, 150, null]]);
    expect([ticket.paidCents, ticket.totalCents, ticket.status]).toEqual([1000, 1000, 'paid']);
    expect(pay.tipText).toBe('');
  });

  it('[APP24] a tip typed as 0 is no tip, and a tip of the whole amount is no slip: both payments record', async () => {
    const { t, id, pay } = await burgerAndCola();
    pay.typeAmount('12.50');
    pay.tipText = '0';
    expect(await pay.record()).toBe(true);
    pay.tipText = '3.50';
    expect(pay.problem).toBeNull();
    expect(await pay.record()).toBe(true);
    expect(ticketOf(t.store, id).payments.map((p) => [p.amountCents, p.tipCents])).toEqual([
      [1250, 0],
      [350, 350],
    ]);
  });

  it('[APP34] a guest pays for their own dishes: the amount follows the lines chosen, the payment names them, and they are offered no more', async () => {
    const { a, b, id, pay } = await dinnerOnTwoTills(2);
    const [burgers, colaLine, soupLine] = ticketOf(a.store, id).lines.map((l) => l.lineId);
    expect(pay.payableLines.map((p) => [p.line.name, p.cents])).toEqual([
      ['Cheeseburger', 2500],
      ['Cola', 350],
      ['Tomato soup', 650],
    ]);
    pay.amountText = '5';
    pay.toggleLine(burgers!);
    pay.toggleLine(colaLine!);
    // Choosing lines replaces a typed amount; taking one off lowers it.
    expect([pay.amountText, pay.amount, pay.hasDraft]).toEqual([null, 2850, true]);
    pay.toggleLine(colaLine!);
    expect(pay.amount).toBe(2500);
    expect(await pay.record()).toBe(true);
    expect(ticketOf(a.store, id).payments.map((p) => [p.amountCents, p.lineIds])).toEqual([[2500, [burgers]]]);
    expect([pay.lineIds, pay.hasDraft]).toEqual([[], false]);
    expect(pay.payableLines.map((p) => p.line.lineId)).toEqual([colaLine, soupLine]);
    // Till B, meanwhile, took the soup's payment: chosen here, it drops out and is not sent again
    // (nor is the rest of the bill taken in its place: the guest chooses again).
    pay.toggleLine(soupLine!);
    expect(pay.amount).toBe(650);
    exchange(a.store, b.store);
    await b.commands.recordPayment(id, { method: 'cash', amountCents: 650, lineIds: [soupLine!] });
    exchange(a.store, b.store);
    expect([pay.chosenLines, pay.amount, pay.payableLines.length]).toEqual([[], null, 1]);
    expect(pay.problem).toMatch(/choose again/);
    // Part of what a line comes to does not pay for it: the line is offered still.
    pay.toggleLine(colaLine!);
    pay.amountText = '1.00';
    expect(await pay.record()).toBe(true);
    expect(ticketOf(a.store, id).payments.at(-1)?.lineIds).toEqual([]);
    expect(pay.payableLines.map((p) => p.line.lineId)).toEqual([colaLine]);
    // An even split is for an amount, not for lines.
    pay.toggleLine(colaLine!);
    pay.split(2);
    expect([pay.lineIds, pay.amount]).toEqual([[], 125]);
  });

  it('[APP34] a line worth more than is still due (the rest paid by amount) is charged what is due, and the payment does not name it (the money was another guest\'s)', async () => {
    const { t, id, pay } = await burgerAndCola();
    pay.amountText = '12.50';
    expect(await pay.record()).toBe(true);
    await vi.waitFor(() => expect(pay.justRecorded).toBe(false), { timeout: 3 * paymentMod.RECORD_HOLD_MS });
    const burgerLine = ticketOf(t.store, id).lines[0]!.lineId;
    pay.toggleLine(burgerLine);
    expect(pay.amount).toBe(350);
    expect(await pay.record()).toBe(true);
    expect(ticketOf(t.store, id).payments.map((p) => [p.amountCents, p.lineIds])).toEqual([
      [1250, []],
      [350, []],
    ]);
  });

  it('[APP34] lines chosen that another till removed leave no amount to take (not the whole bill): the guest chooses again', async () => {
    const { a, b, id, pay } = await dinnerOnTwoTills(1);
    const [burgerLine, colaLine] = ticketOf(a.store, id).lines.map((l) => l.lineId);
    pay.toggleLine(burgerLine!);
    expect(pay.amount).toBe(1250);
    exchange(a.store, b.store);
    await b.commands.removeItem(id, burgerLine!);
    exchange(a.store, b.store);
    expect([pay.amount, pay.due]).toEqual([null, 1000]);
    expect(pay.problem).toMatch(/items chosen were removed.*choose again/i);
    expect(await pay.record()).toBe(false);
    expect(ticketOf(a.store, id).payments).toHaveLength(0);
    pay.toggleLine(colaLine!);
    expect([pay.amount, pay.problem]).toEqual([350, null]);
  });

  it('[APP34] a comped line (charging nothing) is not offered to pay for; a ticket paid in full offers no items, no split and no amount', async () => {
    const { t, id, pay } = await burgerAndCola('manager');
    await t.commands.compLine(id, ticketOf(t.store, id).lines[1]!.lineId, 'spilt');
    expect(pay.payableLines.map((p) => [p.line.name, p.cents])).toEqual([['Cheeseburger', 1250]]);
    expect(await pay.record()).toBe(true);
    expect(pay.due).toBe(0);
    expect(pay.payableLines).toEqual([]);
    expect([pay.amount, pay.problem, pay.problemField]).toEqual([0, 'Enter an amount', 'amount']);
    pay.split(2);
    expect([pay.splitOf, pay.splitLeft, pay.hasDraft]).toEqual([null, null, false]);
  });

  it('[APP5] the share of a split follows the amount due: a line another till removes or a payment it takes meanwhile changes the next guest\'s share', async () => {
    const { a, b, id, pay } = await dinnerOnTwoTills(1);
    pay.split(3);
    expect(pay.amount).toBe(750);
    expect(await pay.record()).toBe(true);
    expect([pay.splitLeft, pay.amount, pay.hasDraft]).toEqual([2, 750, true]);
    exchange(a.store, b.store);
    await b.commands.removeItem(id, ticketOf(b.store, id).lines[2]!.lineId); // the soup, 6.50
    exchange(a.store, b.store);
    expect([pay.due, pay.amount, pay.problem]).toEqual([850, 425, null]);
    await b.commands.recordPayment(id, { method: 'card', amountCents: 100 });
    exchange(a.store, b.store);
    expect([pay.due, pay.amount, pay.problem]).toEqual([750, 375, null]);
    await vi.waitFor(() => expect(pay.justRecorded).toBe(false), { timeout: 3 * paymentMod.RECORD_HOLD_MS });
    expect(await pay.record()).toBe(true);
    expect([pay.splitLeft, pay.amount]).toEqual([1, 375]);
    expect(ticketOf(a.store, id).payments.map((p) => p.amountCents)).toEqual([750, 100, 375]);
  });

  it('[APP5] cash counted for a share another till\'s payment then changed is not recorded at the new share unasked: Record waits until the cashier confirms (Use, or ÷n again)', async () => {
    const { a, b, id, pay } = await dinnerOnTwoTills(1); // 22.50
    pay.method = 'cash';
    pay.split(3);
    pay.tenderedText = '20';
    expect([pay.amount, pay.change, pay.problem]).toEqual([750, 1250, null]);
    // Another till takes 5.00 while the cash is counted: the share is now ceil(17.50 / 3).
    exchange(a.store, b.store);
    await b.commands.recordPayment(id, { method: 'card', amountCents: 500 });
    exchange(a.store, b.store);
    expect([pay.amount, pay.amountWas]).toEqual([584, 750]);
    expect(pay.problem).toBe('The amount due changed on another till (7.50 → 5.84): check the amount and the change');
    expect(await pay.record()).toBe(false);
    expect(ticketOf(a.store, id).payments.map((p) => p.amountCents)).toEqual([500]);
    // More cash typed is no confirmation; Use is.
    pay.tenderedText = '10';
    expect(pay.amountWas).toBe(750);
    pay.useAmountNow();
    expect([pay.problem, pay.change]).toEqual([null, 416]);
    expect(await pay.record()).toBe(true);
    expect(ticketOf(a.store, id).payments.map((p) => p.amountCents)).toEqual([500, 584]);
    // The next guest's share, not acted on yet, follows what is due; tapping ÷3 again confirms a change.
    await vi.waitFor(() => expect(pay.justRecorded).toBe(false), { timeout: 3 * paymentMod.RECORD_HOLD_MS });
    pay.tenderedText = '20';
    await b.commands.recordPayment(id, { method: 'card', amountCents: 100 });
    exchange(a.store, b.store);
    expect(pay.problem).toMatch(/changed on another till \(5\.83 → 5\.33\)/);
    pay.split(3);
    expect([pay.problem, pay.amount, pay.change]).toEqual([null, 533, 1467]);
  });

  it('[APP5] the amount due acted on (method changed, a tip typed) and then changed on another till asks first; untouched, it follows; a typed amount confirms it', async () => {
    const { a, b, id, pay } = await dinnerOnTwoTills(1); // 22.50
    exchange(a.store, b.store);
    await b.commands.addItem(id, cola);
    exchange(a.store, b.store);
    expect([pay.amount, pay.problem]).toEqual([2600, null]);
    pay.tipText = '2';
    await b.commands.addItem(id, cola);
    exchange(a.store, b.store);
    expect(pay.problem).toBe('The amount due changed on another till (26.00 → 29.50): check the amount');
    expect(await pay.record()).toBe(false);
    pay.typeAmount('29.50');
    expect(pay.problem).toBeNull();
    expect(await pay.record()).toBe(true);
    // Cash chosen for the rest (nothing typed else): another till's payment changes it, and Record waits.
    const rest = await a.commands.openTicket();
    await a.commands.addItem(rest, soup);
    a.tickets.select(rest);
    pay.method = 'cash';
    exchange(a.store, b.store);
    await b.commands.recordPayment(rest, { method: 'card', amountCents: 150 });
    exchange(a.store, b.store);
    expect(pay.problem).toMatch(/changed on another till \(6\.50 → 5\.00\)/);
    expect(await pay.record()).toBe(false);
    expect(ticketOf(a.store, rest).payments).toHaveLength(1);
  });

  it('[APP5] "Change due" stays up until the form is changed for the next guest (method, amount, cash handed over, lines, split)', async () => {
    const t = await till();
    const id = await t.commands.openTicket();
    await t.commands.addItem(id, burger, 4);
    await t.commands.addItem(id, cola);
    t.tickets.select(id);
    const pay = t.tickets.payment;
    const colaLine = ticketOf(t.store, id).lines[1]!.lineId;
    const changes: Array<(p: typeof pay) => void> = [
      (p) => (p.method = 'card'),
      (p) => p.typeAmount('1.00'),
      (p) => (p.tenderedText = '5'),
      (p) => p.toggleLine(colaLine),
      (p) => p.split(2),
    ];
    for (const [i, change] of changes.entries()) {
      pay.method = 'cash';
      pay.typeAmount('10.00');
      pay.tenderedText = '20';
      expect(await pay.record()).toBe(true);
      // Not only while Record waits: until the next guest's payment is typed.
      if (i === 0) await vi.waitFor(() => expect(pay.justRecorded).toBe(false), { timeout: 3 * paymentMod.RECORD_HOLD_MS });
      expect(pay.lastChange, change.toString()).toBe(1000);
      change(pay);
      expect(pay.lastChange, change.toString()).toBeNull();
    }
    // The exact cash: no change, and no "Change due" of 0.00.
    pay.typeAmount('3.50');
    pay.tenderedText = '3.50';
    expect([pay.change, pay.problem]).toEqual([0, null]);
    expect(await pay.record()).toBe(true);
    expect(pay.lastChange).toBeNull();
    expect(ticketOf(t.store, id).payments.at(-1)).toMatchObject({ amountCents: 350, tenderedCents: 350 });
  });

  it('[APP5] "Change due" goes once the payment it was for is held for a manager (a paid line removed): that change no longer stands', async () => {
    const { t, id, pay } = await burgerAndCola('manager');
    pay.method = 'cash';
    pay.tenderedText = '20';
    expect(await pay.record()).toBe(true);
    expect(pay.lastChange).toBe(400);
    await t.commands.removeItem(id, ticketOf(t.store, id).lines[0]!.lineId);
    expect(ticketOf(t.store, id).payments.map((p) => p.state)).toEqual(['held']);
    expect(pay.lastChange).toBeNull();
  });

  it('[APP5] ÷3 is kept for the next guests: each pays an even share of what is left, and together exactly the bill', async () => {
    const t = await till();
    const id = await t.commands.openTicket();
    await t.commands.addItem(id, { id: 'x', name: 'Set menu', priceCents: 1000 });
    t.tickets.select(id);
    const pay = t.tickets.payment;
    const shares: number[] = [];
    for (let guest = 0; guest < 3; guest++) {
      await vi.waitFor(() => expect(pay.justRecorded).toBe(false), { timeout: 3 * paymentMod.RECORD_HOLD_MS });
      pay.split(3); // each guest's ÷3 (tapped again, or not: the same)
      expect(pay.splitOf).toBe(3);
      shares.push(pay.amount!);
      expect(await pay.record()).toBe(true);
    }
    expect(shares).toEqual([334, 333, 333]);
    expect(ticketOf(t.store, id).paidCents).toBe(1000);
    expect([pay.splitLeft, pay.splitOf, pay.amountText]).toEqual([null, null, null]);

    // An amount typed for one guest: the split ends, nothing is left over as a draft.
    const other = await t.commands.openTicket();
    await t.commands.addItem(other, { id: 'x', name: 'Set menu', priceCents: 1000 });
    t.tickets.select(other);
    pay.split(2);
    // ÷3 tapped after ÷2 (a slip corrected) is a third, not a half.
    pay.split(3);
    expect([pay.splitOf, pay.splitLeft, pay.amount]).toEqual([3, 3, 334]);
    pay.typeAmount('9.98');
    expect(pay.splitLeft).toBeNull();
    expect(await pay.record()).toBe(true);
    expect([pay.amountText, pay.hasDraft]).toEqual([null, false]);

    // Nothing left due ends the split too, before every guest paid: ÷3 of 0.02 is 0.01 twice.
    pay.split(3);
    for (const guest of [1, 2]) {
      await vi.waitFor(() => expect(pay.justRecorded).toBe(false), { timeout: 3 * paymentMod.RECORD_HOLD_MS });
      expect(pay.amount, `guest ${guest}`).toBe(1);
      expect(await pay.record()).toBe(true);
    }
    expect(pay.due).toBe(0);
    expect([pay.splitLeft, pay.splitOf, pay.hasDraft]).toEqual([null, null, false]);
  });

  it('[APP30] a payment panel left open takes no payment while another is held for a manager; a change recorded for one ticket is not shown on the next', async () => {
    const { t, id, pay } = await burgerAndCola('manager');
    pay.amountText = '10';
    expect(await pay.record()).toBe(true);
    // The burger comped: the 10.00 no longer fits the 3.50 total, and is held.
    await t.commands.compLine(id, ticketOf(t.store, id).lines[0]!.lineId, 'flat');
    expect(ticketOf(t.store, id).payments.map((p) => p.state)).toEqual(['held']);
    expect(pay.problem).toMatch(/a payment is held for a manager/i);
    expect(await pay.record()).toBe(false);
    expect(ticketOf(t.store, id).payments).toHaveLength(1);

    const other = await t.commands.openTicket();
    await t.commands.addItem(other, soup);
    const next = await t.commands.openTicket();
    t.tickets.select(other);
    pay.method = 'cash';
    pay.tenderedText = '10';
    const recording = pay.record();
    t.tickets.select(next);
    expect(await recording).toBe(true);
    expect(ticketOf(t.store, other).paidCents).toBe(650);
    expect(t.tickets.payment.lastChange).toBeNull();
  });

  it('[APP36] a double tap on Record after a part payment records it once: the rest of the bill is not taken as a second payment', async () => {
    const t = await till();
    const id = await t.commands.openTicket();
    await t.commands.addItem(id, burger, 2);
    t.tickets.select(id);
    const pay = t.tickets.payment;
    pay.split(2);
    expect(await pay.record()).toBe(true);
    // The amount is back to the rest due (12.50): the second tap must not take it.
    expect(pay.amount).toBe(1250);
    expect(pay.justRecorded).toBe(true);
    expect(await pay.record()).toBe(false);
    expect(ticketOf(t.store, id).payments.map((p) => p.amountCents)).toEqual([1250]);
    // A moment later the second guest pays.
    await vi.waitFor(() => expect(pay.justRecorded).toBe(false), { timeout: 3 * paymentMod.RECORD_HOLD_MS });
    expect(await pay.record()).toBe(true);
    expect(ticketOf(t.store, id).payments.map((p) => p.amountCents)).toEqual([1250, 1250]);

    // A change to the form is meant: it is taken at once.
    const next = await t.commands.openTicket();
    await t.commands.addItem(next, burger, 2);
    t.tickets.select(next);
    pay.split(2);
    expect(await pay.record()).toBe(true);
    expect(pay.justRecorded).toBe(true);
    pay.method = 'cash';
    expect(pay.justRecorded).toBe(false);
    expect(await pay.record()).toBe(true);
    expect(ticketOf(t.store, next).payments.map((p) => [p.method, p.amountCents])).toEqual([['card', 1250], ['cash', 1250]]);
  });

  it('[APP43] a payment waits until the cashier says they checked ("charge anyway"), for each payment', async () => {
    const t = await till();
    const id = await t.commands.openTicket();
    await t.commands.addItem(id, burger, 2); // 25.00
    // What this till shows of a ticket an updated till wrote to: the events it cannot read are
    // counted (needsUpdate), maybe a payment, and the ticket shows as owing all of it.
    let newer = 1;
    const view = () => {
      void t.log.changes; // as the app's selected ticket: read again when the log changes
      return { ...ticketOf(t.store, id), needsUpdate: newer };
    };
    const pay = new paymentMod.PaymentForm(
      () => t.tickets.dueOf(view()),
      async (payment) => ((await t.commands.recordPayment(id, payment)).payload as { paymentId: string }).paymentId,
      view,
    );
    pay.split(2);
    expect(pay.problem).toBeNull();
    expect(await pay.record()).toBe(false);
    expect(ticketOf(t.store, id).payments).toHaveLength(0);
    expect(pay.uncheckedNewer).toBe(true);

    pay.chargeAnyway = true;
    expect(pay.uncheckedNewer).toBe(false);
    expect(await pay.record()).toBe(true);
    // The next guest's payment is asked about again.
    expect(pay.uncheckedNewer).toBe(true);
    expect(ticketOf(t.store, id).payments.map((p) => p.amountCents)).toEqual([1250]);

    // Checked, then the updated till writes again (maybe the second guest paid there): asked again.
    pay.chargeAnyway = true;
    newer = 2;
    await t.commands.setNote(id, 'arrived from the updated till');
    expect(pay.chargeAnyway).toBe(false);
    expect(await pay.record()).toBe(false);
    expect(ticketOf(t.store, id).payments).toHaveLength(1);
  });
});
