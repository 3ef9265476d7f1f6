import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it } from 'vitest';
import { TicketCommands } from '../../client/commands/ticket-commands';
import type { Acknowledgements } from '../../shared/log/acknowledgements';
import { marksOnly } from '../helpers/acknowledgements';
import { closeAll, openStore, openedStores } from '../helpers/event-stores';

afterEach(() => closeAll(openedStores));

describe('Compaction and the acknowledgements it reads', () => {
  it('[CMP2][SYN20] a run reads the store\'s acknowledgement source once the checkpoint is flushed: a stale value found meanwhile deletes nothing', async () => {
    const store = await openStore({ location: 'acks-read-late' });
    const commands = new TicketCommands({ store, role: 'terminal' });
    const t = await commands.openTicket();
    await commands.addItem(t, { id: 'cola', name: 'Cola', priceCents: 350 });
    await commands.recordPayment(t, { method: 'cash', amountCents: 350 });
    await commands.close(t);
    // Sync believes the room's marks (a restored server's old word) when the run starts...
    let believed: Acknowledgements = marksOnly({ [store.writer]: 100 });
    store.useAcknowledgements(() => believed);
    const run = store.compact({ now: Date.now() + 3 * 24 * 60 * 60_000 });
    // ...and finds them stale while the run flushes the checkpoint: the server holds none of the sale.
    believed = marksOnly({});
    expect((await run).aggregates).toBe(0);
    expect(store.view(t)).toBeDefined();
  });
});
