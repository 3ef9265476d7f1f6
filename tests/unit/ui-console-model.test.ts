import { describe, expect, it } from 'vitest';
import { CompactionScheduler } from '../../client/store/compaction-scheduler';
import { HybridClock } from '../../shared/clock/hybrid-clock';
import type { SyncModel } from '../../client/ui/models/sync-model.svelte';
import { ManualTimers } from '../helpers/manual-timers';
import { burger, cleanUpAfterEach, exchange, model, till } from '../helpers/ui-models';

cleanUpAfterEach();

type ConsoleMod = typeof import('../../client/ui/models/console-model.svelte');
const { ConsoleModel } = await model<ConsoleMod>('console-model');
const DAY = 24 * 60 * 60_000;

/** The technical console of a till (its sync seen through a status that never changes here). */
async function consoleOf(t: Awaited<ReturnType<typeof till>>) {
  const scheduler = new CompactionScheduler(t.store, new ManualTimers());
  const console = new ConsoleModel(t.log, { status: {} } as SyncModel, t.store, scheduler);
  return { console, scheduler };
}

describe('technical console (ConsoleModel)', () => {
  it('[SYN10] lists the events stamped beyond the bound ahead of server time, newest first, with who wrote them: the till whose clock to set right', async () => {
    const location = 'ui-console-suspects';
    const kitchen = await till({ location, terminal: 'kds-1', clock: new HybridClock({ offsetMs: 0 }) });
    let skew = 2 * DAY;
    const ahead = await till({ location, terminal: 'till-9', clock: new HybridClock({ wallNow: () => Date.now() + skew }) });
    const { console } = await consoleOf(kitchen);
    expect(console.clockSuspects).toEqual([]);
    const first = await ahead.commands.openTicket();
    exchange(ahead.store, kitchen.store);
    expect(console.clockSuspects.map((e) => [e.type, e.origin.terminal])).toEqual([['ticket.opened', 'till-9']]);
    skew = 5 * DAY;
    const later = await ahead.commands.openTicket();
    exchange(ahead.store, kitchen.store);
    expect(console.clockSuspects.map((e) => e.aggregate.id)).toEqual([later, first]);
  });

  it('[OUT10] the event inspector lists the newest first; its terminal and aggregate filters keep only those', async () => {
    const location = 'ui-console-inspector';
    const a = await till({ location, terminal: 'till-1' });
    const b = await till({ location, terminal: 'till-2' });
    const { console } = await consoleOf(a);
    const first = await a.commands.openTicket();
    await new Promise((r) => setTimeout(r, 5));
    await a.commands.addItem(first, burger);
    await new Promise((r) => setTimeout(r, 5));
    const second = await b.commands.openTicket();
    exchange(b.store, a.store);
    expect(console.allEvents.map((r) => r.event.type)).toEqual(['ticket.opened', 'ticket.item_added', 'ticket.opened']);
    expect(console.allEvents[0]!.event.aggregate.id).toBe(second);
    console.terminalFilter = 'till-2';
    expect(console.filtered.map((r) => r.event.aggregate.id)).toEqual([second]);
    console.terminalFilter = '';
    console.aggregateFilter = first;
    expect(console.filtered.map((r) => r.event.type)).toEqual(['ticket.item_added', 'ticket.opened']);
  });

  it('[OUT10] the inspector makes again only the rows of what changed: a till\'s next event does not rebuild every row (a tablet left on the console through a service)', async () => {
    const t = await till();
    const { console } = await consoleOf(t);
    const first = await t.commands.openTicket();
    await t.commands.addItem(first, burger);
    const second = await t.commands.openTicket();
    const rowsOf = (id: string) => console.allEvents.filter((r) => r.event.aggregate.id === id);
    const before = rowsOf(first);
    await t.commands.addItem(second, burger);
    expect(rowsOf(second)).toHaveLength(2);
    // The same row objects: the keyed list leaves them as they are.
    expect(rowsOf(first)).toHaveLength(2);
    rowsOf(first).forEach((row, i) => expect(row).toBe(before[i]));
    await t.commands.addItem(first, burger);
    expect(rowsOf(first)).toHaveLength(3);
  });

  it('[CMP9] before the server\'s time is known, "Compact now" is said to wait for it, not to have failed', async () => {
    const t = await till({ clock: new HybridClock() });
    const { console, scheduler } = await consoleOf(t);
    expect(await console.compactNow()).toBeNull();
    expect(console.logStorage).toMatchObject({ waitingForServerTime: true, lastFailure: null });
    t.store.clock.setOffset(0);
    t.store.clockCalibrated();
    await console.refreshStorage();
    expect(console.logStorage?.waitingForServerTime).toBe(false);
    scheduler.stop();
  });
});
