import 'fake-indexeddb/auto';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
import { compileModule } from 'svelte/compiler';
import { EventStore } from '../../client/store/event-store';
import { TicketCommands } from '../../client/commands/ticket-commands';
import { MenuCommands } from '../../client/commands/menu-commands';
import { TableCommands } from '../../client/commands/table-commands';
import { HybridClock } from '../../shared/clock/hybrid-clock';
import { isSettled, type MenuItemView, type TableView, type TicketView } from '../../shared/projection/views';
import * as Y from 'yjs';
import { age, NOTE_MAX } from '../../client/ui/format';
import { SegmentWriter, acksOf } from '../../shared/log/log-doc';
import { FixedClockTerminal } from '../helpers/test-writer';
import { failIndexedDbWrites } from '../helpers/failing-disk';
import { dayTakings, type DayTakings } from '../../shared/reports/day-takings';

/*
 * The staff app's view-models (client/ui/models/*.svelte.ts) use runes, which only the Svelte
 * compiler understands, and vitest here runs without the Svelte plugin. So each model is
 * compiled the way vite-plugin-svelte does it (TypeScript stripped, then `compileModule`) into
 * tests/.tmp/ui-models/, its relative imports pointing back at the sources, and imported from
 * there: the tests drive the real models over a real EventStore (in memory) and TicketCommands.
 */
const ROOT = resolve(import.meta.dirname, '../..');
const OUT = join(ROOT, 'tests', '.tmp', 'ui-models');

function compileModel(source: string): string {
  const out = join(OUT, `${relative(ROOT, source).replaceAll('/', '__')}.js`);
  const tsCode = readFileSync(source, 'utf8');
  const js = ts.transpileModule(tsCode, {
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, verbatimModuleSyntax: true },
  }).outputText;
  let code = compileModule(js, { generate: 'client', dev: false, filename: source }).js.code;
  code = code.replace(/(from\s+|import\s*\(\s*)'(\.{1,2}\/[^']+)'/g, (_all, head: string, spec: string) => {
    const target = resolve(dirname(source), spec);
    if (target.endsWith('.svelte')) return `${head}'${pathToFileURL(compileModel(`${target}.ts`)).href}'`;
    const file = ['.ts', '/index.ts', ''].map((ext) => target + ext).find((f) => existsSync(f));
    if (!file) throw new Error(`${source}: cannot resolve ${spec}`);
    return `${head}'${file}'`;
  });
  mkdirSync(OUT, { recursive: true });
  writeFileSync(out, code);
  return out;
}

async function model<T>(name: string): Promise<T> {
  return (await import(/* @vite-ignore */ compileModel(join(ROOT, 'client', 'ui', 'models', `${name}.svelte.ts`)))) as T;
}

type KitchenMod = typeof import('../../client/ui/models/kitchen-model.svelte');
type TicketsMod = typeof import('../../client/ui/models/tickets-model.svelte');
type ShellMod = typeof import('../../client/ui/models/shell-model.svelte');
type LiveLogMod = typeof import('../../client/ui/models/live-log.svelte');
type NowMod = typeof import('../../client/ui/models/now.svelte');
type PaymentMod = typeof import('../../client/ui/models/payment-model.svelte');

let kitchenMod: KitchenMod;
let ticketsMod: TicketsMod;
let shellMod: ShellMod;
let liveLogMod: LiveLogMod;
let nowMod: NowMod;
let paymentMod: PaymentMod;
beforeAll(async () => {
  kitchenMod = await model<KitchenMod>('kitchen-model');
  ticketsMod = await model<TicketsMod>('tickets-model');
  shellMod = await model<ShellMod>('shell-model');
  liveLogMod = await model<LiveLogMod>('live-log');
  nowMod = await model<NowMod>('now');
  paymentMod = await model<PaymentMod>('payment-model');
});

const stores: EventStore[] = [];
afterEach(() => {
  vi.useRealTimers();
  for (const s of stores.splice(0)) s.close();
});

let n = 0;
async function till(options: { clock?: HybridClock; location?: string; terminal?: string; label?: string; role?: 'terminal' | 'manager' } = {}) {
  const store = await EventStore.open({
    location: options.location ?? `ui-${++n}`,
    terminal: options.terminal ?? 'till-1',
    persistence: 'memory',
    crossTab: false,
    ...(options.clock ? { clock: options.clock } : {}),
  });
  stores.push(store);
  const commands = new TicketCommands({ store, label: options.label ?? 'A', role: options.role ?? 'terminal' });
  const menuCommands = new MenuCommands({ store, role: options.role ?? 'terminal' });
  const log = new liveLogMod.LiveLog(store);
  const tickets = new ticketsMod.TicketsModel(log, commands, menuCommands, options.role === 'manager');
  return { store, commands, menuCommands, log, tickets };
}

function exchange(a: EventStore, b: EventStore): void {
  Y.applyUpdate(b.doc, Y.encodeStateAsUpdate(a.doc, Y.encodeStateVector(b.doc)), 'relay');
  Y.applyUpdate(a.doc, Y.encodeStateAsUpdate(b.doc, Y.encodeStateVector(a.doc)), 'relay');
}

const burger = { id: 'burger', name: 'Cheeseburger', priceCents: 1250 };
const cola = { id: 'cola', name: 'Cola', priceCents: 350 };
const soup = { id: 'soup', name: 'Tomato soup', priceCents: 650 };

function ticketOf(store: EventStore, id: string): TicketView {
  return store.view(id) as TicketView;
}

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

  it('[APP35] lines a till holds back are not cooked yet: the card says they are to come, and a ticket with only held lines is not shown; fired, they join the card', async () => {
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
    await t.commands.fireHeld(id);
    // Fired: a card of its own (send 2), nothing more to come.
    const cards = kitchen.queue.filter((e) => e.ticket.id === id);
    expect(cards.map((e) => [e.send, e.lines.map((l) => l.name), e.held])).toEqual([
      [1, ['Tomato soup'], []],
      [2, ['Cheeseburger'], []],
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

  it('[APP38][PRJ24] a line the kitchen made part of stays on its card, and All day counts only the rest', async () => {
    const t = await till();
    const kitchen = new kitchenMod.KitchenModel(t.log, t.commands, t.menuCommands, new nowMod.Now());
    const id = await t.commands.openTicket();
    await t.commands.addItem(id, burger, 3);
    await t.commands.sendToKitchen(id);
    await t.commands.bumpItem(id, ticketOf(t.store, id).lines[0]!.lineId, 1); // the card showed 1× (a raise it had not seen)
    expect(kitchen.queue.map((e) => e.lines.map((l) => [l.quantity, l.bumpedQuantity]))).toEqual([[[3, 1]]]);
    expect(kitchen.allDay.map((i) => [i.name, i.quantity])).toEqual([['Cheeseburger', 2]]);
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
    await kitchen.bumpLine(id, soupLine!);
    expect(ticketOf(t.store, id).status).toBe('closed');
    expect(listed()).toBe(true);
    expect(isSettled(ticketOf(t.store, id))).toBe(false);
    expect(kitchen.queue.find((e) => e.ticket.id === id)?.held.map((l) => l.name)).toEqual(['Cheeseburger']);
    await t.commands.fireHeld(id); // on the closed ticket
    expect(listed()).toBe(false);
    expect(isSettled(ticketOf(t.store, id))).toBe(false); // cooking
    await kitchen.bumpLine(id, ticketOf(t.store, id).lines[1]!);
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
    const manager = new TicketCommands({ store, label: 'A', role: 'manager' });
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
    await kitchen.bumpLine(first, line);
    await kitchen.bumpLine(kitchen.queue[0]!.ticket.id, kitchen.queue[0]!.lines[0]!);
    expect(ticketOf(store, first).lines.filter((l) => l.bumpedAt !== null).map((l) => l.lineId)).toEqual([line.lineId]);
    // A deliberate tap on the other card, where it is shown, is not swallowed.
    await kitchen.bumpTicket(kitchen.queue[1]!);
    expect(ticketOf(store, second).lines.every((l) => l.bumpedAt !== null)).toBe(true);
    await vi.waitFor(() => expect(kitchen.queue.map((e) => e.ticket.id)).toEqual([first]), { timeout: 3 * kitchenMod.BUMP_HOLD_MS });
    expect(kitchen.queue[0]!.lines.map((l) => l.name)).toEqual(['Cola']);
  });

  it('[APP1] the last bumped ticket can be recalled (from the bumped lines in the log: no new event)', async () => {
    const { store, kitchen, first, second } = await kitchenWithTwo();
    expect(kitchen.lastBumped).toBeNull();
    await kitchen.bumpTicket(kitchen.queue[1]!);
    await kitchen.bumpTicket(kitchen.queue[0]!);
    expect(kitchen.lastBumped?.ticket.id).toBe(first);
    expect(kitchen.lastBumped?.lines.map((l) => l.name)).toEqual(['Cheeseburger', 'Cola']);
    const events = store.getByAggregate(first).length;
    kitchen.recall();
    expect(kitchen.recalled?.ticket.id).toBe(first);
    kitchen.recall(); // one further back
    expect(kitchen.recalled?.ticket.id).toBe(second);
    kitchen.dismissRecall();
    expect(kitchen.recalled).toBeNull();
    expect(store.getByAggregate(first).length).toBe(events);
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

async function tillWithTwoTickets() {
  const t = await till();
  return { t, a: await t.commands.openTicket(), b: await t.commands.openTicket() };
}

describe('tickets screen (TicketsModel)', () => {
  it('[APP3] the item note and quantity typed for one ticket do not carry over to another', async () => {
    const { t, a, b } = await tillWithTwoTickets();
    t.tickets.select(a);
    t.tickets.nextNote = 'no onions';
    t.tickets.nextQuantity = 3;
    t.tickets.select(b);
    expect(t.tickets.nextNote).toBe('');
    expect(t.tickets.nextQuantity).toBe(1);
    // Selecting the ticket already shown keeps what is being typed.
    t.tickets.nextNote = 'well done';
    t.tickets.select(b);
    expect(t.tickets.nextNote).toBe('well done');
  });

  it('[APP12] the menu lists categories and their items by name, numbers in numeric order, whatever the items\' ids; retired items are left out', async () => {
    const t = await till();
    const define = (id: string, name: string, category: string) =>
      t.store.append('menu.item_defined', { menuItemId: id, name, category, priceCents: 600 }, { aggregate: { type: 'menu_item', id } });
    await define('item-1', 'Tomato soup', 'Starters');
    await define('item-2', 'Dessert 10', 'Desserts');
    await define('item-3', 'Dessert 2', 'Desserts');
    await define('item-4', 'Calamari', 'Starters');
    await define('item-5', 'Affogato', 'Desserts');
    await define('item-6', 'Old special', 'Starters');
    await t.store.append('menu.item_retired', { menuItemId: 'item-6' }, { aggregate: { type: 'menu_item', id: 'item-6' } });
    expect(t.tickets.menu.map((s) => [s.category, s.items.map((i) => i.name)])).toEqual([
      ['Desserts', ['Affogato', 'Dessert 2', 'Dessert 10']],
      ['Starters', ['Calamari', 'Tomato soup']],
    ]);
  });

  it('[APP4] an item note over the limit is refused in words staff read, and the typed note is kept', async () => {
    expect(NOTE_MAX).toBe(500); // the schema's Note
    const t = await till();
    const id = await t.commands.openTicket();
    t.tickets.select(id);
    const long = 'x'.repeat(NOTE_MAX + 1);
    t.tickets.nextNote = long;
    t.tickets.nextQuantity = 2;
    expect(await t.tickets.addItem(burger as never)).toBe(false);
    expect(t.tickets.error).not.toMatch(/payload|ticket\.item_added|Too big/);
    expect(t.tickets.error).toMatch(/note is too long.*500 characters/i);
    expect(t.tickets.nextNote).toBe(long);
    expect(t.tickets.nextQuantity).toBe(2);
    expect(ticketOf(t.store, id).lines).toHaveLength(0);
    // A successful add clears them for the next item.
    t.tickets.nextNote = 'no onions';
    expect(await t.tickets.addItem(burger as never)).toBe(true);
    expect(t.tickets.nextNote).toBe('');
    expect(t.tickets.nextQuantity).toBe(1);
    expect(ticketOf(t.store, id).lines.map((l) => [l.quantity, l.note])).toEqual([[2, 'no onions']]);
  });

  it('[APP4] a ticket note over the limit is refused in words staff read and stays in the field', async () => {
    const t = await till();
    const id = await t.commands.openTicket();
    t.tickets.select(id);
    t.tickets.noteDraft = 'y'.repeat(NOTE_MAX + 1);
    expect(await t.tickets.saveNote()).toBe(false);
    expect(t.tickets.error).toMatch(/note is too long.*500 characters/i);
    expect(t.tickets.noteDraft).toBe('y'.repeat(NOTE_MAX + 1));
  });

  it('[APP6] an unsaved ticket note is saved when the waiter taps another ticket', async () => {
    const { t, a, b } = await tillWithTwoTickets();
    t.tickets.select(a);
    t.tickets.noteDraft = 'allergy: nuts, seat 2';
    t.tickets.select(b);
    await vi.waitFor(() => expect(ticketOf(t.store, a).note).toBe('allergy: nuts, seat 2'));
    expect(t.tickets.noteDraft).toBeNull();
    t.tickets.select(a);
    expect(t.tickets.noteDraft).toBeNull();
  });

  it('[APP6] a ticket note that cannot be saved when leaving the ticket is kept for it, with a message naming the ticket', async () => {
    const { t, a, b } = await tillWithTwoTickets();
    t.tickets.select(a);
    const long = 'z'.repeat(NOTE_MAX + 1);
    t.tickets.noteDraft = long;
    t.tickets.select(b);
    await vi.waitFor(() => expect(t.tickets.error).toMatch(new RegExp(`${ticketOf(t.store, a).number}.*too long`)));
    expect(t.tickets.noteDraft).toBeNull();
    expect(t.tickets.hasDrafts).toBe(true);
    t.tickets.select(a);
    expect(t.tickets.noteDraft).toBe(long);
  });

  it('[APP8] drafts (item note, quantity, ticket note, payment amount) count as half-typed work', async () => {
    const t = await till();
    const id = await t.commands.openTicket();
    await t.commands.addItem(id, burger);
    t.tickets.select(id);
    expect(t.tickets.hasDrafts).toBe(false);
    t.tickets.nextNote = 'no onions';
    expect(t.tickets.hasDrafts).toBe(true);
    t.tickets.nextNote = '';
    t.tickets.nextQuantity = 2;
    expect(t.tickets.hasDrafts).toBe(true);
    t.tickets.nextQuantity = 1;
    t.tickets.noteDraft = 'birthday';
    expect(t.tickets.hasDrafts).toBe(true);
    t.tickets.noteDraft = '';
    expect(t.tickets.hasDrafts).toBe(false); // the same as the saved (empty) note
    t.tickets.payment.amountText = '5.00';
    expect(t.tickets.hasDrafts).toBe(true);
  });

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
    expect(await pay.record()).toBe(false);
    pay.tipText = 'x';
    expect(pay.problem).toMatch(/enter the tip as an amount/i);
    pay.tipPercent(15);
    expect(pay.tipText).toBe('1.50');
    expect(pay.problem).toBeNull();
    expect(pay.hasDraft).toBe(true);
    // Cash: the tip field is the card's only (staff keep cash tips); a tip typed before is not sent.
    pay.method = 'cash';
    expect(pay.tip).toBeNull();
    pay.method = 'card';
    expect(await pay.record()).toBe(true);
    const ticket = ticketOf(t.store, id);
    expect(ticket.payments.map((p) => [p.method, p.amountCents, p.tipCents])).toEqual([['card', 1000, 150]]);
    expect([ticket.paidCents, ticket.totalCents, ticket.status]).toEqual([1000, 1000, 'paid']);
    expect(pay.tipText).toBe('');
  });

  it('[APP34] a guest pays for their own dishes: the amount follows the lines chosen, the payment names them, and they are offered no more', async () => {
    const location = `ui-${++n}`;
    const a = await till({ location, terminal: 'till-1', label: 'A' });
    const b = await till({ location, terminal: 'till-2', label: 'B' });
    const id = await a.commands.openTicket();
    await a.commands.addItem(id, burger, 2);
    await a.commands.addItem(id, cola);
    await a.commands.addItem(id, soup);
    a.tickets.select(id);
    const pay = a.tickets.payment;
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
    // Till B, meanwhile, took the soup's payment: chosen here, it drops out and is not sent again.
    pay.toggleLine(soupLine!);
    expect(pay.amount).toBe(650);
    exchange(a.store, b.store);
    await b.commands.recordPayment(id, { method: 'cash', amountCents: 650, lineIds: [soupLine!] });
    exchange(a.store, b.store);
    expect([pay.chosenLines, pay.amount, pay.payableLines.length]).toEqual([[], 350, 1]);
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

  it('[STO19] on a full disk a ticket opened is shown and an item added clears its quantity and note (both written, held and synced: a second tap would write them twice); the screen says the disk is full', async () => {
    const store = await EventStore.open({ location: `ui-full-${++n}`, terminal: 'till-1', crossTab: false });
    stores.push(store);
    const commands = new TicketCommands({ store, label: 'A', role: 'terminal' });
    const tickets = new ticketsMod.TicketsModel(new liveLogMod.LiveLog(store), commands, new MenuCommands({ store, role: 'terminal' }), false);
    const disk = failIndexedDbWrites();
    try {
      expect(await tickets.openTicket(null)).toBe(true);
      expect(tickets.error).toMatch(/storage is full/);
      expect(tickets.selected?.number).toBe('A-001');
      tickets.nextQuantity = 2;
      tickets.nextNote = 'no ice';
      expect(await tickets.addItem({ id: 'cola', name: 'Cola', priceCents: 350 } as MenuItemView)).toBe(true);
      expect([tickets.nextQuantity, tickets.nextNote]).toEqual([1, '']);
      expect(tickets.selected?.lines.map((l) => [l.quantity, l.note])).toEqual([[2, 'no ice']]);
      expect(store.views()).toHaveLength(1);
    } finally {
      disk.restore();
    }
  });

  it('[APP34] a line worth more than is still due (the rest paid by amount) is charged what is due, and the payment does not name it (the money was another guest\'s)', async () => {
    const t = await till();
    const id = await t.commands.openTicket();
    await t.commands.addItem(id, burger);
    await t.commands.addItem(id, cola);
    t.tickets.select(id);
    const pay = t.tickets.payment;
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

  it('[APP39] a tap while the last one is still being saved applies at once, in order, to the ticket it was for', async () => {
    const t = await till();
    const a = await t.commands.openTicket();
    await t.commands.addItem(a, burger);
    const b = await t.commands.openTicket();
    t.tickets.select(a);
    const menuItem = { id: cola.id, name: cola.name, priceCents: cola.priceCents, category: 'Drinks' } as unknown as MenuItemView;
    const taps = [t.tickets.addItem(menuItem), t.tickets.addItem(menuItem), t.tickets.changeCovers(1)];
    // Shown before any is saved: the next tap reads what the last one did.
    expect(ticketOf(t.store, a).lines.map((l) => l.name)).toEqual(['Cheeseburger', 'Cola', 'Cola']);
    t.tickets.select(b);
    expect(await Promise.all(taps)).toEqual([true, true, true]);
    expect(ticketOf(t.store, a).covers).toBe(1);
    expect(ticketOf(t.store, b).covers).toBeNull();
    expect(t.tickets.busy).toBe(false);
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

    // The rest typed for one guest: the split ends, nothing is left over as a draft.
    const other = await t.commands.openTicket();
    await t.commands.addItem(other, { id: 'x', name: 'Set menu', priceCents: 1000 });
    t.tickets.select(other);
    pay.split(2);
    pay.typeAmount('10.00');
    expect(pay.splitLeft).toBeNull();
    expect(await pay.record()).toBe(true);
    expect([pay.amountText, pay.hasDraft]).toEqual([null, false]);
  });

  it('[APP30] a payment panel left open takes no payment while another is held for a manager; a change recorded for one ticket is not shown on the next', async () => {
    const t = await till({ role: 'manager' });
    const id = await t.commands.openTicket();
    await t.commands.addItem(id, burger);
    await t.commands.addItem(id, cola);
    t.tickets.select(id);
    const pay = t.tickets.payment;
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

  it('[APP19] "one more" of a sent line is a new sale at the menu\'s price and tax rate now; an item taken off the menu is not offered', async () => {
    const t = await till({ role: 'manager' });
    const itemId = await t.menuCommands.define({ name: 'Lager', category: 'Drinks', priceCents: 400, taxBasisPoints: 1000 });
    const id = await t.commands.openTicket();
    await t.commands.addItem(id, t.store.view(itemId) as MenuItemView);
    await t.commands.sendToKitchen(id);
    await t.menuCommands.reprice(itemId, 600); // happy hour is over
    await t.menuCommands.setTaxRate(itemId, 2000);
    t.tickets.select(id);
    const [first] = ticketOf(t.store, id).lines;
    expect(await t.tickets.addAnother(first!)).toBe(true);
    expect(ticketOf(t.store, id).lines.map((l) => [l.unitPriceCents, l.taxBasisPoints])).toEqual([
      [400, 1000],
      [600, 2000],
    ]);
    await t.menuCommands.retire(itemId);
    expect(t.tickets.isUnavailable(itemId)).toBe(true);
    expect(await t.tickets.addAnother(first!)).toBe(false);
    expect(t.tickets.error).toMatch(/Lager is off the menu/);
    expect(ticketOf(t.store, id).lines).toHaveLength(2);
  });

  it('[APP9] a closed ticket shows no amount due to collect, even when its lines and payments disagree', async () => {
    const location = `ui-${++n}`;
    const a = await till({ location, terminal: 'till-1', label: 'A' });
    const b = await till({ location, terminal: 'till-2', label: 'B' });
    const id = await a.commands.openTicket();
    await a.commands.addItem(id, burger);
    exchange(a.store, b.store);
    // Till A takes 12.50 and closes; till B, not having seen it, adds a cola.
    await a.commands.recordPayment(id, { method: 'card', amountCents: 1250 });
    await a.commands.close(id);
    await b.commands.addItem(id, cola);
    exchange(a.store, b.store);
    const view = ticketOf(a.store, id);
    expect(view.status).toBe('closed');
    expect(view.totalCents - view.paidCents).toBeGreaterThan(0);
    expect(view.openConflicts).toBeGreaterThan(0);
    expect(a.tickets.dueOf(view)).toBeNull();
    // An open ticket's due is what is left to take.
    const open = await a.commands.openTicket();
    await a.commands.addItem(open, cola);
    expect(a.tickets.dueOf(ticketOf(a.store, open))).toBe(350);
  });
});

describe('automatic update (ShellModel)', () => {
  // Just enough of a browser for ShellModel: activity listeners, the focused element.
  const g = globalThis as Record<string, unknown>;
  const BROWSER = ['window', 'document', 'HTMLInputElement', 'HTMLTextAreaElement'];
  const saved = new Map<string, unknown>();
  beforeAll(() => {
    for (const k of BROWSER) saved.set(k, g[k]);
  });
  afterEach(() => {
    for (const k of BROWSER) g[k] = saved.get(k);
  });

  function shellWith(drafts: () => boolean) {
    g.window = new EventTarget();
    g.document = { activeElement: null };
    g.HTMLInputElement = class {};
    g.HTMLTextAreaElement = class {};
    vi.useFakeTimers();
    const shell = new shellMod.ShellModel(drafts);
    const apply = vi.fn(async () => {});
    shell.updateReady(apply);
    return { shell, apply };
  }

  it('[APP8] is not applied while a model holds a draft (nothing focused), and is once the draft is gone', () => {
    let drafts = true;
    const { apply } = shellWith(() => drafts);
    vi.advanceTimersByTime(shellMod.UPDATE_IDLE_MS + 60_000);
    expect(apply).not.toHaveBeenCalled();
    drafts = false;
    vi.advanceTimersByTime(60_000);
    expect(apply).toHaveBeenCalledTimes(1);
  });
});

describe('takings: the tax figures (TakingsModel taxFigures)', () => {
  type TakingsMod = typeof import('../../client/ui/models/takings-model.svelte');
  const day = { from: 0, to: 1 };
  const report = (taxes: DayTakings['taxes']): DayTakings => ({ ...dayTakings([], day), taxes });
  const read = (figures: ReturnType<TakingsMod['taxFigures']>, r: DayTakings) => figures.map((f) => [f.key, f.label, f.of(r)]);

  it('[APP31] a rate per line, sales first; sales at no rate only beside taxed ones; none where nothing is taxed; refunds on a day without taxed sales still show', async () => {
    const { taxFigures } = await model<TakingsMod>('takings-model');
    const untaxed = report({ sales: [{ basisPoints: null, grossCents: 900, taxCents: 0, netCents: 900 }], refunds: [] });
    expect(taxFigures([untaxed])).toEqual([]);

    const mixed = report({
      sales: [
        { basisPoints: 1000, grossCents: 1450, taxCents: 132, netCents: 1318 },
        { basisPoints: null, grossCents: 300, taxCents: 0, netCents: 300 },
      ],
      refunds: [],
    });
    expect(read(taxFigures([mixed]), mixed)).toEqual([
      ['tax-sales-1000', 'Tax at 10 % in sales', '1.32 of 14.50'],
      ['tax-sales-none', 'Sales with no tax rate', '3.00'],
    ]);

    // Early on the next day: only yesterday's wine handed back.
    const refundOnly = report({ sales: [], refunds: [{ basisPoints: 2000, grossCents: 750, taxCents: 125, netCents: 625 }] });
    expect(read(taxFigures([refundOnly]), refundOnly)).toEqual([['tax-refunds-2000', 'Tax at 20 % in refunds', '1.25 of 7.50']]);
    // Compared with a server that has a rate the device has not: the device reads zero there.
    expect(read(taxFigures([untaxed, mixed]), untaxed)).toEqual([
      ['tax-sales-1000', 'Tax at 10 % in sales', '0.00 of 0.00'],
      ['tax-sales-none', 'Sales with no tax rate', '9.00'],
    ]);
  });
});

describe('the Menu screen (MenuEditorModel): a price or a tax rate changed in place', () => {
  type MenuEditorMod = typeof import('../../client/ui/models/menu-editor-model.svelte');
  type SecondTapMod = typeof import('../../client/ui/models/second-tap.svelte');

  it('[APP26][APP31] a typed value is checked before it is written (saying how to write it); an emptied tax rate takes the rate off', async () => {
    const { MenuEditorModel } = await model<MenuEditorMod>('menu-editor-model');
    const t = await till({ role: 'manager' });
    const editor = new MenuEditorModel(t.log, t.menuCommands);
    const id = await t.menuCommands.define({ name: 'Soup', category: 'Starters', priceCents: 650, taxBasisPoints: 1000 });
    const soup = () => t.store.view(id) as MenuItemView;
    expect([editor.shown(soup(), 'price'), editor.shown(soup(), 'tax')]).toEqual(['6.50', '10']);

    for (const text of ['0', '1000000.01']) {
      editor.drafts.price[id] = text;
      expect(await editor.save(soup(), 'price')).toBe(false);
      expect(editor.error).toBe('Enter the new price of Soup (e.g. 7.50)');
    }
    editor.priceText = '1000000.01';
    editor.name = 'Caviar';
    editor.category = 'Starters';
    expect(editor.addProblem).toBe('At most 1000000.00 a price');
    editor.drafts.tax[id] = 'ten';
    expect(await editor.save(soup(), 'tax')).toBe(false);
    expect(editor.error).toBe('Enter the new tax rate of Soup in % (e.g. 20; empty for none)');

    editor.drafts.price[id] = '7,25';
    expect(await editor.save(soup(), 'price')).toBe(true);
    editor.drafts.tax[id] = ' ';
    expect(await editor.save(soup(), 'tax')).toBe(true);
    expect(soup()).toMatchObject({ priceCents: 725, taxBasisPoints: null });
    expect(editor.drafts).toEqual({ price: {}, tax: {} });
  });

  it('[APP26][APP8] a double tap on "Off the menu…" only asks (taking off for good needs a second, deliberate tap); typed work holds the automatic update back', async () => {
    const { MenuEditorModel } = await model<MenuEditorMod>('menu-editor-model');
    const { CONFIRM_AFTER_MS } = await model<SecondTapMod>('second-tap');
    const t = await till({ role: 'manager' });
    const editor = new MenuEditorModel(t.log, t.menuCommands);
    const id = await t.menuCommands.define({ name: 'Soup', category: 'Starters', priceCents: 650 });
    const soup = () => t.store.view(id) as MenuItemView;
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    expect(await editor.retire(soup())).toBe(false);
    vi.advanceTimersByTime(80); // the second half of a double tap
    expect([await editor.retire(soup()), editor.retiring.armed]).toEqual([false, false]);
    expect(soup().retired).toBe(false);
    vi.advanceTimersByTime(CONFIRM_AFTER_MS);
    vi.useRealTimers();
    expect(await editor.retire(soup())).toBe(true);
    expect(soup().retired).toBe(true);
    expect(editor.hasDrafts).toBe(false);
    editor.priceText = '4.50';
    expect(editor.hasDrafts).toBe(true);
    editor.priceText = '';
    editor.drafts.tax[id] = '5';
    expect(editor.hasDrafts).toBe(true);
  });

  it('[APP40] the Tables section adds a table (saying why it cannot yet), saves only a typed change, takes a table off the floor on a deliberate second tap; the till no longer offers it, a ticket at it keeps it', async () => {
    type TablesMod = typeof import('../../client/ui/models/tables-editor-model.svelte');
    const { TablesEditorModel } = await model<TablesMod>('tables-editor-model');
    const { CONFIRM_AFTER_MS } = await model<SecondTapMod>('second-tap');
    const t = await till({ role: 'manager' });
    const tableCommands = new TableCommands({ store: t.store, role: 'manager' });
    const editor = new TablesEditorModel(t.log, tableCommands);
    expect(editor.addProblem).toBe('Name the table (e.g. T12, Terrace 3)');
    editor.label = 'T1';
    editor.seatsText = '0';
    expect(editor.addProblem).toBe('Seats: a number from 1 to 99');
    expect(editor.hasDrafts).toBe(true);
    editor.seatsText = '2';
    expect(await editor.add()).toBe(true);
    editor.label = 't1';
    expect(editor.addProblem).toBe('There is a table t1 already');
    editor.label = 'T2';
    expect(await editor.add()).toBe(true);
    expect(editor.tables.map((x) => [x.label, x.seats])).toEqual([['T1', 2], ['T2', 2]]);
    const [t1, t2] = editor.tables as [TableView, TableView];

    editor.type(t2, 'seats', 'six');
    expect(await editor.save(t2)).toBe(false);
    expect(editor.error).toBe('Seats: a number from 1 to 99 (table T2)');
    editor.type(t2, 'seats', '6');
    editor.type(t2, 'label', 'Window');
    expect(editor.shown(t2, 'label')).toBe('Window');
    expect(await editor.save(t2)).toBe(true);
    expect(editor.edits).toEqual({});
    expect(t.store.view(t2.id)).toMatchObject({ label: 'Window', seats: 6 });
    // Typed back to what it holds: nothing is written.
    const written = t.store.getByAggregate(t1.id).length;
    editor.type(t1, 'label', 'T1 ');
    expect(await editor.save(t1)).toBe(true);
    expect(t.store.getByAggregate(t1.id)).toHaveLength(written);

    const ticket = await t.commands.openTicket({ tableId: t1.id });
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    expect(await editor.retire(t1)).toBe(false);
    vi.advanceTimersByTime(80);
    expect([await editor.retire(t1), editor.retiring.armed]).toEqual([false, false]);
    vi.advanceTimersByTime(CONFIRM_AFTER_MS);
    vi.useRealTimers();
    expect(await editor.retire(t1)).toBe(true);
    expect(editor.tables.map((x) => x.label)).toEqual(['Window']);
    expect(t.tickets.tables.map((x) => x.label)).toEqual(['Window']);
    // The ticket at the retired table still shows it among its choices (disabled on screen), and keeps it.
    expect(t.tickets.tableChoices(ticketOf(t.store, ticket)).map((x) => [x.label, x.retired])).toEqual([['Window', false], ['T1', true]]);
    expect(t.tickets.tableLabel(ticketOf(t.store, ticket).tableId)).toBe('T1');
  });
});

describe('late events on a ticket this device archived', () => {
  type TakingsMod = typeof import('../../client/ui/models/takings-model.svelte');
  type ConflictsMod = typeof import('../../client/ui/models/conflicts-model.svelte');

  it('[APP20] a refund written offline elsewhere on a ticket this device archived: Takings says the day may be incomplete, Conflicts that the server holds it', async () => {
    const { TakingsModel } = await model<TakingsMod>('takings-model');
    const { ConflictsModel } = await model<ConflictsMod>('conflicts-model');
    const t = await till({ role: 'manager' });
    const id = await t.commands.openTicket();
    await t.commands.addItem(id, cola);
    await t.commands.recordPayment(id, { method: 'cash', amountCents: 350 });
    await t.commands.close(id);
    t.store.doc.transact(() => acksOf(t.store.doc).set('till-1', t.store.getByAggregate(id).length), 'relay');
    const takings = new TakingsModel(t.log, { status: { owed: 0 } } as never, {} as never, new nowMod.Now());
    const conflicts = new ConflictsModel(t.log, t.commands, true);
    expect((await t.store.compact({ now: Date.now() + 3 * 24 * 60 * 60_000 })).aggregates).toBe(1);
    expect([takings.mayBeIncomplete, conflicts.archivedWithLateEvents]).toEqual([false, 0]);
    // A manager's tablet, offline since before the compaction, gave back the cola today.
    const tablet = new FixedClockTerminal('manager-9', Date.now() - 1_700_000_000_000);
    const late = tablet.write({ id, type: 'ticket' }, 'ticket.refunded', { refundId: 'rf-late', method: 'cash', amountCents: 350, reason: 'flat' });
    const relay = new Y.Doc();
    relay.transact(() => new SegmentWriter(relay, 'manager-9').append([JSON.stringify(late)]));
    Y.applyUpdate(t.store.doc, Y.encodeStateAsUpdate(relay), 'relay');
    expect(t.store.view(id)).toBeUndefined();
    expect([takings.mayBeIncomplete, conflicts.archivedWithLateEvents]).toEqual([true, 1]);
    // Acknowledged, it stays while its day is not past (the warning with it), then goes like a ticket.
    t.store.doc.transact(() => acksOf(t.store.doc).set('manager-9', 1), 'relay');
    expect((await t.store.compact({ now: Date.now() + 60_000 })).events).toBe(0);
    expect(takings.mayBeIncomplete).toBe(true);
    expect((await t.store.compact({ now: Date.now() + 3 * 24 * 60 * 60_000 })).events).toBe(1);
  });
});

describe('the Conflicts screen (ConflictsModel)', () => {
  type ConflictsMod = typeof import('../../client/ui/models/conflicts-model.svelte');

  it('[PRJ27] a conflict two managers settled at once is listed right after the open ones, the choice not applied with it', async () => {
    const { ConflictsModel } = await model<ConflictsMod>('conflicts-model');
    const location = `ui-${++n}`;
    const a = await till({ location, terminal: 'mgr-1', label: 'M', role: 'manager' });
    const b = await till({ location, terminal: 'mgr-2', label: 'N', role: 'manager' });
    const id = await a.commands.openTicket();
    await a.commands.addItem(id, cola);
    await a.commands.recordPayment(id, { method: 'cash', amountCents: 350 });
    await a.commands.void(id, 'walked out');
    const quiet = await a.commands.openTicket(); // a conflict settled once, for the order
    await a.commands.addItem(quiet, soup);
    await a.commands.recordPayment(quiet, { method: 'card', amountCents: 650 });
    await a.commands.void(quiet, 'wrong table');
    await a.commands.resolveConflict(quiet, ticketOf(a.store, quiet).conflicts[0]!.conflictId, { kind: 'refund_payment' });
    exchange(a.store, b.store);
    const conflictId = ticketOf(a.store, id).conflicts[0]!.conflictId;
    await a.commands.resolveConflict(id, conflictId, { kind: 'reopen' });
    await b.commands.resolveConflict(id, conflictId, { kind: 'refund_payment' });
    exchange(a.store, b.store);
    const screen = new ConflictsModel(a.log, a.commands, true);
    expect(screen.entries.map((e) => [e.ticket.id, e.conflict.overruled.length])).toEqual([
      [id, 1],
      [quiet, 0],
    ]);
    expect(ticketOf(a.store, id).conflicts[0]!).toEqual(ticketOf(b.store, id).conflicts[0]!);
  });
});
