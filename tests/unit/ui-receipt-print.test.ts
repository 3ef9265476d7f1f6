import { describe, expect, it } from 'vitest';
import { render } from 'svelte/server';
import { cleanUpAfterEach, exchange, model, ticketOf, till } from '../helpers/ui-models';
import { component, textOf } from '../helpers/ui-components';
import type { TicketView } from '../../shared/projection/views';

cleanUpAfterEach();
let n = 0; // numbers the locations a test names itself

type ConflictsMod = typeof import('../../client/ui/models/conflicts-model.svelte');
const burger = { id: 'burger', name: 'Cheeseburger', priceCents: 1450, taxBasisPoints: 1000 };
const cola = { id: 'cola', name: 'Cola', priceCents: 350, taxBasisPoints: 2000 };

/** What the receipt of a ticket puts on paper. */
async function receiptOf(ticket: TicketView): Promise<string> {
  const ReceiptPrint = await component('ReceiptPrint');
  return textOf(render(ReceiptPrint, { props: { ticket, tableLabel: 'T1', printedAt: 0, locationDetails: undefined } }).body);
}

/**
 * A burger and a cola (18.00) paid in full on two tills at once (36.00 by card) and closed: the
 * 18.00 over the total is held for a manager (over_payment); `keep` keeps both payments.
 */
async function chargedTwice(keep: boolean) {
  const { ConflictsModel } = await model<ConflictsMod>('conflicts-model');
  const location = `ui-${++n}`;
  const a = await till({ role: 'manager', location });
  const b = await till({ location, terminal: 'till-2' });
  const id = await a.commands.openTicket();
  await a.commands.addItem(id, burger);
  await a.commands.addItem(id, cola);
  exchange(a.store, b.store);
  await a.commands.recordPayment(id, { method: 'card', amountCents: 1800 });
  await b.commands.recordPayment(id, { method: 'card', amountCents: 1800 });
  exchange(a.store, b.store);
  await a.commands.close(id);
  const overPaid = ticketOf(a.store, id).conflicts.find((c) => c.kind === 'over_payment' && c.status === 'open')!;
  if (keep) await a.commands.resolveConflict(id, overPaid.conflictId, { kind: 'accept_payment' });
  const conflicts = new ConflictsModel(a.log, a.commands, true);
  return { a, id, conflicts };
}

describe('the bill and the receipt (ReceiptPrint, TicketDetail)', () => {
  it('[APP31] under each refund the receipt prints the tax in it at each rate, with the rate\'s letter, as Takings books it', async () => {
    const t = await till({ role: 'manager', location: `ui-${++n}` });
    const id = await t.commands.openTicket();
    await t.commands.addItem(id, burger);
    await t.commands.addItem(id, cola);
    await t.commands.recordPayment(id, { method: 'cash', amountCents: 1800 });
    await t.commands.close(id);
    const burgerLine = ticketOf(t.store, id).lines[0]!.lineId;
    await t.commands.refund(id, { method: 'cash', amountCents: 650, reason: 'cold', lineId: burgerLine });
    await t.commands.refund(id, { method: 'cash', amountCents: 900, reason: 'late' });
    const receipt = (await receiptOf(ticketOf(t.store, id))).split('\n');
    const after = (row: string) => receipt.slice(receipt.indexOf(row) + 1);
    expect(receipt).toContain('A: incl. tax 10 % on 14.50 (net 13.18) 1.32');
    expect(after('Refund in cash for the Cheeseburger: cold −6.50').slice(0, 2)).toEqual(['A: incl. tax 10 % on 6.50 (net 5.91) −0.59', 'Refund in cash: late −9.00']);
    // The whole ticket's refund shares out over what each line has left (8.00 and 3.50), rate by rate.
    expect(after('Refund in cash: late −9.00').slice(0, 3)).toEqual(['A: incl. tax 10 % on 6.26 (net 5.69) −0.57', 'B: incl. tax 20 % on 2.74 (net 2.28) −0.46', 'Thank you!']);
  });

  it('[APP21] while a close at another total than the lines\' is disputed, the till offers no bill or receipt (it would list the disputed dish and spread that total\'s tax over it) and says why; settled, it prints again', async () => {
    const { ConflictsModel } = await model<ConflictsMod>('conflicts-model');
    const TicketDetail = await component('TicketDetail');
    const location = `ui-${++n}`;
    const a = await till({ role: 'manager', location });
    const b = await till({ location, terminal: 'till-2' });
    const id = await a.commands.openTicket();
    await a.commands.addItem(id, cola);
    exchange(a.store, b.store);
    await a.commands.recordPayment(id, { method: 'cash', amountCents: 350 });
    await b.commands.addItem(id, burger); // offline: it has not seen the payment or the close
    await a.commands.close(id);
    exchange(a.store, b.store);
    const conflicts = new ConflictsModel(a.log, a.commands, true);
    const screen = () => textOf(render(TicketDetail, { props: { ticket: ticketOf(a.store, id), tickets: a.tickets, conflicts } }).body);
    const disputed = ticketOf(a.store, id).conflicts.find((c) => c.status === 'open')!;
    expect(disputed.kind).toBe('close_total_mismatch');
    expect(screen()).not.toMatch(/Print (bill|receipt)|Receipt of ticket/);
    expect(screen()).toContain('No receipt until a manager settles the closing totals (the conflict above).');

    await a.commands.resolveConflict(id, disputed.conflictId, { kind: 'accept_total', totalCents: 350 });
    expect(screen()).toContain('Print receipt');
    expect(screen()).not.toContain('No receipt until');
  });

  it('[APP31] a refund partly of money kept above the sale adds up on paper: its taxed part at each rate, and the rest as no tax', async () => {
    const { a, id } = await chargedTwice(true);
    await a.commands.refund(id, { method: 'card', amountCents: 2400, reason: 'charged twice' });
    const receipt = (await receiptOf(ticketOf(a.store, id))).split('\n');
    const after = (row: string) => receipt.slice(receipt.indexOf(row) + 1);
    // 18.00 of it gives back the second charge; the other 6.00 is shared over the dishes (4.83 and 1.17).
    expect(after('Refund to card: charged twice −24.00').slice(0, 3)).toEqual([
      'A: incl. tax 10 % on 4.83 (net 4.39) −0.44',
      'B: incl. tax 20 % on 1.17 (net 0.97) −0.20',
      'of which 18.00 over the sale: no tax',
    ]);
  });

  it('[APP28] a ticket that keeps an over-payment says how much it keeps over the total, and the refund form offers that much back, not the whole payment', async () => {
    const TicketDetail = await component('TicketDetail');
    const RefundForm = await component('RefundForm');
    const { a, id, conflicts } = await chargedTwice(true);
    const screen = () => textOf(render(TicketDetail, { props: { ticket: ticketOf(a.store, id), tickets: a.tickets, conflicts } }).body);
    expect(screen()).toContain('Kept over the total: 18.00 — refund it to the guest (Refund…).');
    const form = render(RefundForm, { props: { ticket: ticketOf(a.store, id), tickets: a.tickets, done: () => {} } }).body;
    expect(form).toMatch(/<input inputmode="decimal" value="18\.00"/);
    expect(textOf(form)).toContain('up to 36.00 can go back, 18.00 of it kept over the total.');

    await a.commands.refund(id, { method: 'card', amountCents: 1800, reason: 'charged twice' });
    expect(screen()).not.toContain('Kept over the total');
    // Nothing over any more: the form offers all that is left, as for any refund.
    expect(render(RefundForm, { props: { ticket: ticketOf(a.store, id), tickets: a.tickets, done: () => {} } }).body).toMatch(/<input inputmode="decimal" value="18\.00"/);
  });

  it('[APP21] while a payment on a closed ticket is held for a manager, the till offers no receipt and says why', async () => {
    const TicketDetail = await component('TicketDetail');
    const { a, id, conflicts } = await chargedTwice(false);
    const screen = () => textOf(render(TicketDetail, { props: { ticket: ticketOf(a.store, id), tickets: a.tickets, conflicts } }).body);
    expect(ticketOf(a.store, id).payments.map((p) => p.state)).toContain('held');
    expect(screen()).not.toMatch(/Print (bill|receipt)|Kept over the total/);
    expect(screen()).toContain('No receipt until a manager settles the payment held (the conflict above).');
  });
});
