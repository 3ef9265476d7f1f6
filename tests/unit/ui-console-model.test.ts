import { describe, expect, it } from 'vitest';
import { CompactionScheduler } from '../../client/store/compaction-scheduler';
import { HybridClock } from '../../shared/clock/hybrid-clock';
import type { SyncModel } from '../../client/ui/models/sync-model.svelte';
import { ManualTimers } from '../helpers/manual-timers';
import { cleanUpAfterEach, exchange, model, till } from '../helpers/ui-models';

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
  it('[SYN10] lists the events stamped beyond the bound ahead of server time, with who wrote them: the till whose clock to set right', async () => {
    const location = 'ui-console-suspects';
    const kitchen = await till({ location, terminal: 'kds-1', clock: new HybridClock({ offsetMs: 0 }) });
    const ahead = await till({ location, terminal: 'till-9', clock: new HybridClock({ wallNow: () => Date.now() + 2 * DAY }) });
    const { console } = await consoleOf(kitchen);
    expect(console.clockSuspects).toEqual([]);
    await ahead.commands.openTicket();
    exchange(ahead.store, kitchen.store);
    expect(console.clockSuspects.map((e) => [e.type, e.origin.terminal])).toEqual([['ticket.opened', 'till-9']]);
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
