import 'fake-indexeddb/auto';
import { afterEach, vi } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EventStore } from '../../client/store/event-store';
import { TicketCommands } from '../../client/commands/ticket-commands';
import { MenuCommands } from '../../client/commands/menu-commands';
import type { HybridClock } from '../../shared/clock/hybrid-clock';
import type { TicketView } from '../../shared/projection/views';
import { closeAll } from './event-stores';
import { ROOT, compiledDir, compiledPath, compilers, pointImports, stripTypes, writeCompiled } from './svelte-compiled';

/*
 * The staff app's view-models (client/ui/models/*.svelte.ts) use runes, which only the Svelte
 * compiler understands, and vitest here runs without the Svelte plugin. So each model is
 * compiled the way vite-plugin-svelte does it (TypeScript stripped, then `compileModule`) into
 * tests/.tmp/ui-models/, its relative imports pointing back at the sources, and imported from
 * there: the tests drive the real models over a real EventStore (in memory) and TicketCommands.
 */
const MODELS = join(ROOT, 'client', 'ui', 'models');
const OUT = compiledDir('ui-models', MODELS);

async function compileModel(source: string): Promise<string> {
  const out = compiledPath(OUT, source);
  if (existsSync(out)) return out;
  const { ts, svelte } = await compilers();
  const code = svelte.compileModule(stripTypes(ts, readFileSync(source, 'utf8')), { generate: 'client', dev: false, filename: source }).js.code;
  // A `.svelte` import of a model names its `.svelte.ts` module.
  return writeCompiled(out, await pointImports(code, source, (target) => compileModel(`${target}.ts`)));
}

/** The view-model client/ui/models/<name>.svelte.ts, compiled and imported. */
export async function model<T>(name: string): Promise<T> {
  return (await import(/* @vite-ignore */ await compileModel(join(MODELS, `${name}.svelte.ts`)))) as T;
}

type KitchenMod = typeof import('../../client/ui/models/kitchen-model.svelte');
type TicketsMod = typeof import('../../client/ui/models/tickets-model.svelte');
type ShellMod = typeof import('../../client/ui/models/shell-model.svelte');
type LiveLogMod = typeof import('../../client/ui/models/live-log.svelte');
type NowMod = typeof import('../../client/ui/models/now.svelte');
type PaymentMod = typeof import('../../client/ui/models/payment-form.svelte');

export const kitchenMod = await model<KitchenMod>('kitchen-model');
export const ticketsMod = await model<TicketsMod>('tickets-model');
export const shellMod = await model<ShellMod>('shell-model');
export const liveLogMod = await model<LiveLogMod>('live-log');
export const nowMod = await model<NowMod>('now');
export const paymentMod = await model<PaymentMod>('payment-form');

/** The stores a test opened, closed after it. */
export const stores: EventStore[] = [];

/** After each test, closes the stores it opened and puts back real timers: call once at the top of a test file. */
export function cleanUpAfterEach(): void {
  afterEach(async () => {
    vi.useRealTimers();
    await closeAll(stores);
  });
}

let tills = 0;
/** A till over an in-memory store: its commands, live log and tickets screen. */
export async function till(options: { clock?: HybridClock; location?: string; terminal?: string; role?: 'terminal' | 'manager' } = {}) {
  const store = await EventStore.open({
    // A prefix of its own: tests number the locations they name themselves `ui-<n>`.
    location: options.location ?? `ui-till-${++tills}`,
    terminal: options.terminal ?? 'till-1',
    persistence: 'memory',
    crossTab: false,
    ...(options.clock ? { clock: options.clock } : {}),
  });
  stores.push(store);
  const commands = new TicketCommands({ store, role: options.role ?? 'terminal' });
  const menuCommands = new MenuCommands({ store, role: options.role ?? 'terminal' });
  const log = new liveLogMod.LiveLog(store);
  const tickets = new ticketsMod.TicketsModel(log, commands, menuCommands, options.role === 'manager');
  return { store, commands, menuCommands, log, tickets };
}

// Kept with the store helpers, which the contract tests use without compiling the Svelte models.
export { exchange } from './event-stores';

export const burger = { id: 'burger', name: 'Cheeseburger', priceCents: 1250 };
export const cola = { id: 'cola', name: 'Cola', priceCents: 350 };
export const soup = { id: 'soup', name: 'Tomato soup', priceCents: 650 };

export function ticketOf(store: EventStore, id: string): TicketView {
  return store.view(id) as TicketView;
}
