import { describe, expect, it, vi } from 'vitest';
import { burger, cleanUpAfterEach, cola, exchange, kitchenMod, nowMod, soup, ticketOf, till } from '../helpers/ui-models';
import { TicketCommands } from '../../client/commands/ticket-commands';
import { HybridClock } from '../../shared/clock/hybrid-clock';
import { isSettled, type MenuItemView } from '../../shared/projection/views';
import { age } from '../../client/ui/format';

cleanUpAfterEach();

/** Two tickets with lines in the kitchen, the first sent first. */
async function kitchenWithTwo() {
  const t = await till();
  const first = await t.commands.openTicket();
  await t.commands.addItem(first, burger);
  await t.commands.addItem(first, cola);
  await t.commands.sendToKitchen(first);
  const second = await t.commands.openTicket();
  await t.commands.addItem(second, soup);
  await t.commands.sendToKitchen(second);
  const kitchen = new kitchenMod.KitchenModel(t.log, t.commands, t.menuCommands, new nowMod.Now());
  expect(kitchen.queue.map((e) => e.ticket.id)).toEqual([first, second]);
  return { ...t, kitchen, first, second };
}

describe('kitchen display (KitchenModel)', () => {
  it('[APP1] a line removed at a till after it was sent stays on its card as cancelled until the kitchen bumps it', async () => {
    const { store, commands, kitchen, first, second } = await kitchenWithTwo();
    const cola = ticketOf(store, first).lines.find((l) => l.name === 'Cola')!;
    await commands.removeItem(first, cola.lineId);
    const card = kitchen.queue.find((e) => e.ticket.id === first)!;
    expect(card.lines.map((l) => l.name)).toEqual(['Cheeseburger', 'Cola']);
    expect([...card.cancelled]).toEqual([cola.lineId]);
    await kitchen.bumpTicket(card);
    await vi.waitFor(() => expect(kitchen.queue.map((e) => e.ticket.id)).toEqual([second]), { timeout: 3 * kitchenMod.BUMP_HOLD_MS });
    expect(ticketOf(store, first).cancelledLines[0]!.bumpedAt).not.toBeNull();
  });

  /** Two burgers sent and paid by card, then the ticket voided (a wrong ticket): the kitchen still shows its card. */
  async function voidedWithPayment() {
    const t = await till({ role: 'manager' });
    const kitchen = new kitchenMod.KitchenModel(t.log, t.commands, t.menuCommands, new nowMod.Now());
    const id = await t.commands.openTicket();
    await t.commands.addItem(id, burger, 2);
    await t.commands.sendToKitchen(id);
    await t.commands.recordPayment(id, { method: 'card', amountCents: 1000 });
    await t.commands.void(id, 'wrong ticket');
    return { t, kitchen, id };
  }

  it('[APP1][PRJ24] the kitchen bumping a VOIDED card saw the void, it made nothing: a manager reopening the ticket brings its dishes back to the kitchen', async () => {
    const { t, kitchen, id } = await voidedWithPayment();
    expect(kitchen.queue.map((e) => [e.voided, e.lines.map((l) => l.quantity)])).toEqual([[true, [2]]]);
    await kitchen.bumpTicket(kitchen.queue[0]!);
    await vi.waitFor(() => expect(kitchen.queue).toEqual([]), { timeout: 3 * kitchenMod.BUMP_HOLD_MS });
    expect(isSettled(ticketOf(t.store, id))).toBe(false); // the payment the void held is still to settle
    expect(ticketOf(t.store, id).lines[0]).toMatchObject({ bumpedAt: null, bumpedQuantity: 0 });
    // The bump says the card showed the line stopped, wherever it folds (PRJ24).
    const bumps = t.store.getByAggregate(id).filter((e) => e.type === 'ticket.kitchen_item_bumped');
    expect(bumps.map((e) => e.payload)).toEqual([{ lineId: ticketOf(t.store, id).lines[0]!.lineId, stopped: true }]);
    // The wrong ticket: reopened from the payment's card, its burgers are to make again.
    const held = ticketOf(t.store, id).conflicts.find((c) => c.kind === 'payment_after_void')!;
    await t.commands.resolveConflict(id, held.conflictId, { kind: 'reopen' });
    expect(kitchen.queue.map((e) => [e.voided, e.lines.map((l) => `${l.quantity}× ${l.name}`)])).toEqual([[false, ['2× Cheeseburger']]]);
  });

  it('[APP1][PRJ24] a kitchen screen of an older build bumping a VOIDED card (its bump does not say what the card showed) saw the void: reopened, the dishes are to make again', async () => {
    const { t, kitchen, id } = await voidedWithPayment();
    const lineId = ticketOf(t.store, id).lines[0]!.lineId;
    // An earlier build's bump: no `stopped`, taken as a stop on a voided ticket.
    const bump = await t.store.append('ticket.kitchen_item_bumped', { lineId }, { aggregate: { id, type: 'ticket' } });
    expect(ticketOf(t.store, id).lines[0]).toMatchObject({ voidSeenAt: bump.at, bumpedAt: null, bumpedQuantity: 0 });
    const held = ticketOf(t.store, id).conflicts.find((c) => c.kind === 'payment_after_void')!;
    await t.commands.resolveConflict(id, held.conflictId, { kind: 'reopen' });
    expect(kitchen.queue.map((e) => [e.voided, e.lines.map((l) => `${l.quantity}× ${l.name}`)])).toEqual([[false, ['2× Cheeseburger']]]);
  });

  it('[APP1][PRJ24] two kitchen screens bumping a VOIDED card offline: the first to fold says when the void was seen, the other is superseded', async () => {
    const t = await till({ location: 'void-seen-twice', terminal: 'till-a', role: 'manager' });
    const id = await t.commands.openTicket();
    await t.commands.addItem(id, burger);
    await t.commands.sendToKitchen(id);
    await t.commands.void(id, 'guest left');
    const screens = [await till({ location: 'void-seen-twice', terminal: 'kds-1' }), await till({ location: 'void-seen-twice', terminal: 'kds-2' })];
    for (const k of screens) {
      exchange(t.store, k.store);
      const kitchen = new kitchenMod.KitchenModel(k.log, k.commands, k.menuCommands, new nowMod.Now());
      await kitchen.bumpTicket(kitchen.queue[0]!);
    }
    for (const k of screens) exchange(t.store, k.store);
    const bumps = t.store.getByAggregate(id).filter((e) => e.type === 'ticket.kitchen_item_bumped');
    const folded = t.store.history(id).filter((h) => h.type === 'ticket.kitchen_item_bumped');
    expect(folded.map((h) => [h.status, h.reason])).toEqual([
      ['applied', 'the kitchen saw the void'],
      ['superseded', 'the void was seen already'],
    ]);
    expect(ticketOf(t.store, id).lines[0]!.voidSeenAt).toBe(bumps.find((e) => e.id === folded[0]!.eventId)!.at);
  });

  it('[APP38][PRJ24] a send naming only a line another till removed unseen still went to the kitchen (its card shows it cancelled): the next send is a card of its own', async () => {
    // The remover's id sorts first: in the same millisecond its removal still folds before the send.
    const sender = await till({ location: 'send-of-removed', terminal: 'till-b' });
    const remover = await till({ location: 'send-of-removed', terminal: 'till-a' });
    const id = await sender.commands.openTicket();
    await sender.commands.addItem(id, cola);
    exchange(sender.store, remover.store);
    const colaId = ticketOf(sender.store, id).lines[0]!.lineId;
    await remover.commands.removeItem(id, colaId);
    await sender.commands.sendToKitchen(id);
    exchange(sender.store, remover.store);
    expect(ticketOf(sender.store, id).cancelledLines).toMatchObject([{ lineId: colaId, send: 1 }]);
    await sender.commands.addItem(id, burger);
    await sender.commands.sendToKitchen(id);
    const kitchen = new kitchenMod.KitchenModel(sender.log, sender.commands, sender.menuCommands, new nowMod.Now());
    expect(kitchen.queue.map((e) => [e.send, e.lines.map((l) => l.name)])).toEqual([
      [1, ['Cola']],
      [2, ['Cheeseburger']],
    ]);
  });

  it('[APP38] two sends stamped in the same millisecond (two tills) are two cards', async () => {
    const t = await till();
    const kitchen = new kitchenMod.KitchenModel(t.log, t.commands, t.menuCommands, new nowMod.Now());
    const id = await t.commands.openTicket();
    await t.commands.addItem(id, burger);
    await t.commands.sendToKitchen(id);
    await t.commands.addItem(id, soup);
    await t.commands.sendToKitchen(id);
    const lines = ticketOf(t.store, id).lines;
    expect(lines.map((l) => l.send)).toEqual([1, 2]);
    // As if stamped at once: the cards still follow the sends.
    const sameMoment = { ...ticketOf(t.store, id), lines: lines.map((l) => ({ ...l, sentAt: lines[0]!.sentAt })) };
    vi.spyOn(t.log, 'views').mockReturnValue([sameMoment] as never);
    expect(kitchen.queue.map((e) => [e.send, e.lines.map((l) => l.name)])).toEqual([[1, ['Cheeseburger']], [2, ['Tomato soup']]]);
  });

  it('[APP1] a recall stays on the ticket it shows when another kitchen screen bumps one meanwhile (the bumped tickets reorder)', async () => {
    const a = await till({ location: 'recall-pin', terminal: 'till-a' });
    const b = await till({ location: 'recall-pin', terminal: 'kds-b' });
    for (const item of [burger, soup, cola]) {
      const id = await a.commands.openTicket();
      await a.commands.addItem(id, item);
      await a.commands.sendToKitchen(id);
    }
    exchange(a.store, b.store);
    const here = new kitchenMod.KitchenModel(a.log, a.commands, a.menuCommands, new nowMod.Now());
    const there = new kitchenMod.KitchenModel(b.log, b.commands, b.menuCommands, new nowMod.Now());
    await here.bumpTicket(here.queue[0]!); // the burger's, by mistake
    here.recall();
    expect(here.recalled?.lines.map((l) => l.name)).toEqual(['Cheeseburger']);
    await there.bumpTicket(there.queue[1]!);
    exchange(a.store, b.store);
    expect(here.recalled?.lines.map((l) => l.name)).toEqual(['Cheeseburger']);
  });

  it('[APP14] "All day" keeps two items of one name apart (each its own row, by item and note)', async () => {
    const t = await till();
    const kitchen = new kitchenMod.KitchenModel(t.log, t.commands, t.menuCommands, new nowMod.Now());
    const id = await t.commands.openTicket();
    await t.commands.addItem(id, { id: 'cola', name: 'Cola', priceCents: 350 });
    await t.commands.addItem(id, { id: 'kids-cola', name: 'Cola', priceCents: 250 });
    await t.commands.sendToKitchen(id);
    const rows = kitchen.allDay.map((i) => [i.name, i.quantity, i.key]);
    expect(rows).toHaveLength(2);
    expect(new Set(rows.map((r) => r[2])).size).toBe(2);
  });

  it('[APP14][APP26] "All day" names an item renamed since its first line was sent as the newest card does', async () => {
    const t = await till();
    const kitchen = new kitchenMod.KitchenModel(t.log, t.commands, t.menuCommands, new nowMod.Now());
    const first = await t.commands.openTicket();
    await t.commands.addItem(first, { id: 'burger', name: 'Cheeseburger', priceCents: 1450 });
    await t.commands.sendToKitchen(first);
    const second = await t.commands.openTicket();
    await t.commands.addItem(second, { id: 'burger', name: 'Classic burger', priceCents: 1450 });
    await t.commands.sendToKitchen(second);
    expect(kitchen.queue.map((e) => e.lines.map((l) => l.name))).toEqual([['Cheeseburger'], ['Classic burger']]);
    expect(kitchen.allDay.map((i) => [i.name, i.quantity])).toEqual([['Classic burger', 2]]);
  });

  it('[APP35] lines a till holds back are not cooked yet: the ticket\'s last card says they are to come, and a ticket with only held lines is not shown; fired, they are a card of their own', async () => {
    const t = await till();
    const kitchen = new kitchenMod.KitchenModel(t.log, t.commands, t.menuCommands, new nowMod.Now());
    const id = await t.commands.openTicket();
    await t.commands.addItem(id, soup);
    await t.commands.addItem(id, burger, 2);
    const [soupLine, burgerLine] = ticketOf(t.store, id).lines.map((l) => l.lineId);
    await t.commands.holdLine(id, burgerLine!, true);
    await t.commands.holdLine(id, soupLine!, true);
    expect(kitchen.queue).toEqual([]);
    await t.commands.holdLine(id, soupLine!, false);
    await t.commands.sendToKitchen(id);
    const card = () => kitchen.queue.find((e) => e.ticket.id === id)!;
    expect(card().lines.map((l) => l.name)).toEqual(['Tomato soup']);
    expect(card().held.map((l) => [l.quantity, l.name])).toEqual([[2, 'Cheeseburger']]);
    expect(kitchen.allDay.map((i) => i.name)).toEqual(['Tomato soup']);
    // A drink sent meanwhile is the ticket's last card: the mains are to come on it, not on the soup's too.
    await t.commands.addItem(id, cola);
    await t.commands.sendToKitchen(id);
    const cards = () => kitchen.queue.filter((e) => e.ticket.id === id).map((e) => [e.send, e.lines.map((l) => l.name), e.held.map((l) => l.name)]);
    expect(cards()).toEqual([
      [1, ['Tomato soup'], []],
      [2, ['Cola'], ['Cheeseburger']],
    ]);
    await t.commands.fireHeld(id);
    // Fired: a card of its own (send 3), nothing more to come.
    expect(cards()).toEqual([
      [1, ['Tomato soup'], []],
      [2, ['Cola'], []],
      [3, ['Cheeseburger'], []],
    ]);
  });

  it('[APP38] a line sent later is a card of its own, with its own age: "Bump ticket" on the first card never bumps it', async () => {
    let wall = Date.now();
    const t = await till({ clock: new HybridClock({ wallNow: () => wall }), role: 'manager' }); // takes off a line the kitchen made
    const kitchen = new kitchenMod.KitchenModel(t.log, t.commands, t.menuCommands, new nowMod.Now());
    const id = await t.commands.openTicket();
    await t.commands.addItem(id, burger);
    await t.commands.sendToKitchen(id);
    wall += 5 * 60_000;
    await t.commands.addItem(id, cola);
    await t.commands.sendToKitchen(id);
    const cards = kitchen.queue.filter((e) => e.ticket.id === id);
    expect(cards.map((e) => [e.send, e.lines.map((l) => l.name)])).toEqual([
      [1, ['Cheeseburger']],
      [2, ['Cola']],
    ]);
    expect(cards[1]!.since - cards[0]!.since).toBeGreaterThan(4 * 60_000);
    expect(new Set(kitchen.queue.map((e) => e.key)).size).toBe(kitchen.queue.length);
    await kitchen.bumpTicket(cards[0]!);
    expect(ticketOf(t.store, id).lines.map((l) => [l.name, l.bumpedAt !== null])).toEqual([
      ['Cheeseburger', true],
      ['Cola', false],
    ]);
    // Numbered as sent, whatever was bumped or removed since.
    await vi.waitFor(() => expect(kitchen.queue.filter((e) => e.ticket.id === id).map((e) => e.send)).toEqual([2]), { timeout: 3 * kitchenMod.BUMP_HOLD_MS });
    await t.commands.removeItem(id, ticketOf(t.store, id).lines[0]!.lineId);
    expect(kitchen.queue.filter((e) => e.ticket.id === id).map((e) => [e.send, e.lines.map((l) => l.name)])).toEqual([[2, ['Cola']]]);
  });

  it('[APP38][PRJ24] a line the kitchen made part of stays on its card, and All day counts only the rest; its Bump takes all it shows off', async () => {
    const t = await till();
    const kitchen = new kitchenMod.KitchenModel(t.log, t.commands, t.menuCommands, new nowMod.Now());
    const id = await t.commands.openTicket();
    await t.commands.addItem(id, burger, 3);
    await t.commands.sendToKitchen(id);
    await t.commands.bumpItem(id, ticketOf(t.store, id).lines[0]!.lineId, { stopped: false, made: 1 }); // the card showed 1× (a raise it had not seen)
    expect(kitchen.queue.map((e) => e.lines.map((l) => [l.quantity, l.bumpedQuantity]))).toEqual([[[3, 1]]]);
    expect(kitchen.allDay.map((i) => [i.name, i.quantity])).toEqual([['Cheeseburger', 2]]);
    const card = kitchen.queue[0]!;
    await kitchen.bumpLine(card, card.lines[0]!);
    expect(ticketOf(t.store, id).lines.map((l) => [l.quantity, l.bumpedQuantity])).toEqual([[3, 3]]);
  });

  it('[APP37] a ticket paid and closed with the mains held stays on the tickets list, and on the kitchen card as to come, until they are fired and cooked', async () => {
    const t = await till();
    const kitchen = new kitchenMod.KitchenModel(t.log, t.commands, t.menuCommands, new nowMod.Now());
    const id = await t.commands.openTicket();
    await t.commands.addItem(id, soup);
    await t.commands.addItem(id, burger);
    const [soupLine, burgerLine] = ticketOf(t.store, id).lines;
    await t.commands.holdLine(id, burgerLine!.lineId, true);
    await t.commands.sendToKitchen(id);
    await t.commands.recordPayment(id, { method: 'card', amountCents: ticketOf(t.store, id).totalCents });
    await t.commands.close(id);
    t.tickets.select(null);
    const listed = () => t.tickets.tickets.some((x) => x.id === id);
    const cardOf = () => kitchen.queue.find((e) => e.ticket.id === id)!;
    await kitchen.bumpLine(cardOf(), soupLine!);
    expect(ticketOf(t.store, id).status).toBe('closed');
    expect(listed()).toBe(true);
    expect(isSettled(ticketOf(t.store, id))).toBe(false);
    expect(kitchen.queue.find((e) => e.ticket.id === id)?.held.map((l) => l.name)).toEqual(['Cheeseburger']);
    await t.commands.fireHeld(id); // on the closed ticket
    expect(listed()).toBe(false);
    expect(isSettled(ticketOf(t.store, id))).toBe(false); // cooking
    await kitchen.bumpLine(cardOf(), ticketOf(t.store, id).lines[1]!);
    expect(isSettled(ticketOf(t.store, id))).toBe(true);

    // A coffee at the counter is never sent: its ticket, closed, goes like any other.
    const counter = await t.commands.openTicket();
    await t.commands.addItem(counter, cola);
    await t.commands.recordPayment(counter, { method: 'cash', amountCents: 350 });
    await t.commands.close(counter);
    expect(t.tickets.tickets.some((x) => x.id === counter)).toBe(false);
    expect(isSettled(ticketOf(t.store, counter))).toBe(true);
  });

  it('[APP1] a ticket voided after it was sent stays on the kitchen display, every line cancelled, until the kitchen bumps it', async () => {
    const { store, kitchen, first, second } = await kitchenWithTwo();
    const manager = new TicketCommands({ store, role: 'manager' });
    await manager.void(first, 'guest left');
    const card = kitchen.queue.find((e) => e.ticket.id === first)!;
    expect(card.voided).toBe(true);
    expect(card.ticket.voidReason).toBe('guest left');
    expect(card.lines.map((l) => l.name)).toEqual(['Cheeseburger', 'Cola']);
    expect([...card.cancelled].sort()).toEqual(card.lines.map((l) => l.lineId).sort());
    expect(kitchen.queue.find((e) => e.ticket.id === second)!.voided).toBe(false);
    await kitchen.bumpTicket(card);
    await vi.waitFor(() => expect(kitchen.queue.map((e) => e.ticket.id)).toEqual([second]), { timeout: 3 * kitchenMod.BUMP_HOLD_MS });
    // Bumping a voided ticket's lines is the kitchen saying it saw the void: no conflict.
    expect(ticketOf(store, first).openConflicts).toBe(0);
  });

  it('[APP1] a double tap on "Bump ticket" bumps one ticket: the bumped card stays where it was for a moment, the next one does not slide under the finger', async () => {
    const { store, kitchen, first, second } = await kitchenWithTwo();
    // Two taps at the same spot: each acts on the card shown there at that moment.
    const tap1 = kitchen.bumpTicket(kitchen.queue[0]!);
    const tap2 = kitchen.bumpTicket(kitchen.queue[0]!);
    await Promise.all([tap1, tap2]);
    expect(ticketOf(store, first).lines.every((l) => l.bumpedAt !== null)).toBe(true);
    expect(ticketOf(store, second).lines.every((l) => l.bumpedAt === null)).toBe(true);
    // Held in place, shown as bumped, then it leaves the queue.
    expect(kitchen.queue.map((e) => e.ticket.id)).toEqual([first, second]);
    expect(kitchen.queue[0]!.lines.every((l) => kitchen.justBumped(l.lineId))).toBe(true);
    await vi.waitFor(() => expect(kitchen.queue.map((e) => e.ticket.id)).toEqual([second]), { timeout: 3 * kitchenMod.BUMP_HOLD_MS });
    expect(kitchen.justBumped(ticketOf(store, first).lines[0]!.lineId)).toBe(false);
  });

  it('[APP1] a double tap on a line\'s "Bump" bumps that line only; another card can still be bumped during the hold', async () => {
    const { store, kitchen, first, second } = await kitchenWithTwo();
    const line = kitchen.queue[0]!.lines[0]!;
    const written = store.getByAggregate(first).length;
    await Promise.all([kitchen.bumpLine(kitchen.queue[0]!, line), kitchen.bumpLine(kitchen.queue[0]!, line)]);
    await kitchen.bumpLine(kitchen.queue[0]!, kitchen.queue[0]!.lines[0]!);
    expect(ticketOf(store, first).lines.filter((l) => l.bumpedAt !== null).map((l) => l.lineId)).toEqual([line.lineId]);
    expect(store.getByAggregate(first)).toHaveLength(written + 1);
    // A deliberate tap on the other card, where it is shown, is not swallowed.
    await kitchen.bumpTicket(kitchen.queue[1]!);
    expect(ticketOf(store, second).lines.every((l) => l.bumpedAt !== null)).toBe(true);
    await vi.waitFor(() => expect(kitchen.queue.map((e) => e.ticket.id)).toEqual([first]), { timeout: 3 * kitchenMod.BUMP_HOLD_MS });
    expect(kitchen.queue[0]!.lines.map((l) => l.name)).toEqual(['Cola']);
  });

  it('[APP1] the last bumped ticket can be recalled (from the bumped lines in the log: no new event), then the one before while there is one; a voided ticket is not', async () => {
    const { store, kitchen, first, second } = await kitchenWithTwo();
    expect(kitchen.lastBumped).toBeNull();
    await kitchen.bumpTicket(kitchen.queue[1]!);
    await kitchen.bumpTicket(kitchen.queue[0]!);
    expect(kitchen.lastBumped?.ticket.id).toBe(first);
    expect(kitchen.lastBumped?.lines.map((l) => l.name)).toEqual(['Cheeseburger', 'Cola']);
    const events = store.getByAggregate(first).length;
    kitchen.recall();
    expect([kitchen.recalled?.ticket.id, kitchen.canRecallEarlier]).toEqual([first, true]);
    kitchen.recall(); // one further back
    expect([kitchen.recalled?.ticket.id, kitchen.canRecallEarlier]).toEqual([second, false]);
    kitchen.dismissRecall();
    expect(kitchen.recalled).toBeNull();
    expect(store.getByAggregate(first).length).toBe(events);
    await new TicketCommands({ store, role: 'manager' }).void(first, 'walked out');
    expect(kitchen.lastBumped?.ticket.id).toBe(second);
  });

  it('[APP1] the last bumped ticket is the one whose last line was bumped last, not the one bumped first', async () => {
    const { kitchen, first, second } = await kitchenWithTwo();
    const card = kitchen.queue[0]!;
    await kitchen.bumpLine(card, card.lines[0]!);
    await kitchen.bumpTicket(kitchen.queue.find((e) => e.ticket.id === second)!);
    await kitchen.bumpLine(card, card.lines[1]!);
    expect(kitchen.lastBumped?.ticket.id).toBe(first);
  });

  it('[APP13] a station screen shows the lines made there; its "Bump ticket" bumps those, leaving the ticket to the other stations; the choice is kept on the device', async () => {
    const t = await till();
    const define = (item: { id: string; name: string; priceCents: number }, station?: string) =>
      t.store.append('menu.item_defined', { menuItemId: item.id, name: item.name, category: 'Any', priceCents: item.priceCents, ...(station ? { station } : {}) }, { aggregate: { type: 'menu_item', id: item.id } });
    const bread = { id: 'bread', name: 'Bread basket', priceCents: 300 };
    await define(burger, 'grill');
    await define(cola, 'bar');
    await define(soup, 'kitchen');
    await define(bread);
    await t.store.append('menu.item_retired', { menuItemId: 'soup' }, { aggregate: { type: 'menu_item', id: 'soup' } });
    const id = await t.commands.openTicket();
    for (const item of [burger, cola, bread]) await t.commands.addItem(id, item);
    await t.commands.sendToKitchen(id);

    const kept: Array<string | null> = [];
    const choice = { get: () => kept.at(-1) ?? null, set: (station: string | null) => void kept.push(station) };
    const kitchen = new kitchenMod.KitchenModel(t.log, t.commands, t.menuCommands, new nowMod.Now(), choice);
    const shown = () => kitchen.queue.map((e) => e.lines.map((l) => l.name).sort());
    expect(kitchen.stations).toEqual(['bar', 'grill']);
    expect(shown()).toEqual([['Bread basket', 'Cheeseburger', 'Cola']]);

    kitchen.showStation('grill');
    expect(shown()).toEqual([['Cheeseburger']]);
    await kitchen.bumpTicket(kitchen.queue[0]!);
    expect(ticketOf(t.store, id).lines.filter((l) => l.bumpedAt !== null).map((l) => l.name)).toEqual(['Cheeseburger']);
    await vi.waitFor(() => expect(shown()).toEqual([]), { timeout: 3 * kitchenMod.BUMP_HOLD_MS });
    expect(kitchen.lastBumped?.lines.map((l) => l.name)).toEqual(['Cheeseburger']);

    kitchen.showStation('bar');
    expect(shown()).toEqual([['Cola']]);
    expect(kitchen.lastBumped).toBeNull();
    kitchen.showStation(null);
    expect(shown()).toEqual([['Bread basket', 'Cola']]);
    kitchen.showStation('bar');
    expect(kept).toEqual(['grill', 'bar', null, 'bar']);
    // The next kitchen screen opened on this device starts at the bar.
    expect(new kitchenMod.KitchenModel(t.log, t.commands, t.menuCommands, new nowMod.Now(), choice).station).toBe('bar');
  });

  it('[APP13] the station kept in localStorage: a reload starts there; a full localStorage does not throw out of the choice, which holds for this screen', () => {
    const items = new Map<string, string>();
    let full = false;
    const storage = {
      getItem: (key: string) => items.get(key) ?? null,
      setItem(key: string, value: string) {
        if (full) throw new DOMException('quota exceeded', 'QuotaExceededError');
        items.set(key, value);
      },
      removeItem: (key: string) => void items.delete(key),
    };
    vi.stubGlobal('localStorage', storage);
    try {
      kitchenMod.localStationChoice().set('grill');
      const reloaded = kitchenMod.localStationChoice();
      expect(reloaded.get()).toBe('grill');
      full = true;
      reloaded.set('bar');
      expect(reloaded.get()).toBe('bar');
      expect(kitchenMod.localStationChoice().get()).toBe('grill');
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it('[APP13][APP26] a screen on a station a manager respells on the Menu screen ("grill" → "Grill") shows its lines under the new spelling, not an empty old one', async () => {
    const t = await till({ role: 'manager' });
    const id = await t.menuCommands.define({ name: 'Cheeseburger', category: 'Mains', priceCents: 1450, station: 'grill' });
    const ticket = await t.commands.openTicket();
    await t.commands.addItem(ticket, { id, name: 'Cheeseburger', priceCents: 1450 });
    await t.commands.sendToKitchen(ticket);
    const kept: Array<string | null> = ['grill'];
    const kitchen = new kitchenMod.KitchenModel(t.log, t.commands, t.menuCommands, new nowMod.Now(), { get: () => kept.at(-1) ?? null, set: (s) => void kept.push(s) });
    expect([kitchen.station, kitchen.queue.length]).toEqual(['grill', 1]);
    await t.menuCommands.redefine(id, { station: 'Grill' });
    expect(kitchen.stations).toEqual(['Grill']);
    expect([kitchen.station, kitchen.queue.length]).toEqual(['Grill', 1]);
  });

  it('[APP19] the kitchen marks an item of its station sold out: the tills\' menu shows it sold out and refuses it; available again, it is added', async () => {
    const t = await till();
    const define = (item: { id: string; name: string; priceCents: number }, station: string) =>
      t.store.append('menu.item_defined', { menuItemId: item.id, name: item.name, category: 'Any', priceCents: item.priceCents, station }, { aggregate: { type: 'menu_item', id: item.id } });
    await define(burger, 'grill');
    await define(cola, 'bar');
    await define(soup, 'grill');
    await t.store.append('menu.item_retired', { menuItemId: 'soup' }, { aggregate: { type: 'menu_item', id: 'soup' } });
    const kept: Array<string | null> = ['grill'];
    const kitchen = new kitchenMod.KitchenModel(t.log, t.commands, t.menuCommands, new nowMod.Now(), { get: () => kept.at(-1) ?? null, set: (s) => void kept.push(s) });
    expect(kitchen.menu.map((i) => i.name)).toEqual(['Cheeseburger']);
    kitchen.showStation(null);
    expect(kitchen.menu.map((i) => i.name)).toEqual(['Cheeseburger', 'Cola']);

    await kitchen.setSoldOut(kitchen.menu[0]!, true);
    expect(kitchen.error).toBeNull();
    const onMenu = () => t.tickets.menu.flatMap((s) => s.items).find((i) => i.id === burger.id)!;
    expect(onMenu().soldOut).toBe(true);
    const id = await t.commands.openTicket();
    t.tickets.select(id);
    expect(await t.tickets.addItem(onMenu())).toBe(false);
    expect(t.tickets.error).toBe('Cheeseburger is sold out');

    await t.tickets.setSoldOut(onMenu(), false);
    expect(kitchen.menu[0]!.soldOut).toBe(false);
    expect(await t.tickets.addItem(onMenu())).toBe(true);
    expect(ticketOf(t.store, id).lines.map((l) => l.name)).toEqual(['Cheeseburger']);
  });

  it('[APP19] a sold-out mark that fails is said where it was tapped: in the menu, or on the kitchen screen', async () => {
    const t = await till();
    const kitchen = new kitchenMod.KitchenModel(t.log, t.commands, t.menuCommands, new nowMod.Now());
    const unknown = { id: 'never-defined', name: 'Ghost' } as MenuItemView;
    expect(await t.tickets.setSoldOut(unknown, true)).toBe(false);
    expect(t.tickets.menuError).toBe('no menu item never-defined');
    expect(t.tickets.error).toBeNull();
    await kitchen.setSoldOut(unknown, true);
    expect(kitchen.error).toBe('no menu item never-defined');
  });

  it('[APP14] "all day" counts what the waiting tickets still need, by item and note; cancelled and bumped lines drop out', async () => {
    const { store, commands, kitchen, first, second } = await kitchenWithTwo();
    const steak = { id: 'steak', name: 'Ribeye steak', priceCents: 2650 };
    await commands.addItem(second, burger, 2);
    await commands.addItem(second, steak, 1, 'medium rare');
    await commands.addItem(second, steak, 2);
    await commands.sendToKitchen(second);
    const allDay = () => kitchen.allDay.map((i) => `${i.quantity}× ${i.name}${i.note ? ` (${i.note})` : ''}`);
    expect(allDay()).toEqual(['3× Cheeseburger', '1× Cola', '2× Ribeye steak', '1× Ribeye steak (medium rare)', '1× Tomato soup']);
    // The till takes the cola off after it was sent: still on its card (cancelled), not to be made.
    await commands.removeItem(first, ticketOf(store, first).lines.find((l) => l.name === 'Cola')!.lineId);
    expect(allDay()).toEqual(['3× Cheeseburger', '2× Ribeye steak', '1× Ribeye steak (medium rare)', '1× Tomato soup']);
    await kitchen.bumpTicket(kitchen.queue.find((e) => e.ticket.id === first)!);
    expect(allDay()).toEqual(['2× Cheeseburger', '2× Ribeye steak', '1× Ribeye steak (medium rare)', '1× Tomato soup']);
  });

  it('[APP2] ages are measured on corrected (server) time: a tablet 6 minutes slow does not show every card at 0s', async () => {
    let wall = Date.now() - 6 * 60_000; // this tablet's clock, 6 minutes behind the server
    const clock = new HybridClock({ wallNow: () => wall });
    clock.setOffset(6 * 60_000); // what SyncManager learnt from the server
    const t = await till({ clock });
    const id = await t.commands.openTicket();
    await t.commands.addItem(id, burger);
    await t.commands.sendToKitchen(id);
    wall += 95_500; // (stamps of one clock step 1 ms apart: the send is a few ms after the opening)
    const kitchen = new kitchenMod.KitchenModel(t.log, t.commands, t.menuCommands, new nowMod.Now());
    const entry = kitchen.queue[0]!;
    expect(age(kitchen.ageOf(entry.since))).toBe('1m 35s');
  });
});
