import { afterEach, describe, expect, it } from 'vitest';
import { SegmentWriter, acksOf, readAllEventJson, relayedOf, segmentsOf } from '../../shared/log/log-doc';
import type { MenuItemView, TicketView } from '../../shared/projection/views';
import { startTestServer } from '../helpers/server-in-process';
import { makeDataDir, removeDataDir, spawnServer, type ServerProcess } from '../helpers/server-process';
import { TEST_SECRET, connectSynced, mint, postEvents, tableEvent, waitFor, waitForAsync } from '../helpers/server-clients';
import { serverEvents, startTerminal } from '../helpers/terminals';

/**
 * What a terminal's update may not do to a room, undone by the server
 * (server/relay/room-guard-hook.ts): change `acks` or `relayed` (forged, or carried over
 * from an old server), delete events the canonical store does not hold, or write a manager's
 * event of its own.
 */
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/**
 * A server and a till-3 whose uploads fail for now (a flaky link): what it writes stays owed
 * until restBack(). The server does not store what the relay brings (relay ingest off), so
 * the sale stays unacknowledged as long as the test needs: what the guard protects with it
 * on are the events the relay brought but the server has not stored (refused, or not yet).
 */
async function victimWithUploadsDown(location: string) {
  const server = await startTestServer({ relayIngest: false });
  cleanups.push(() => server.dispose());
  let restDown = true;
  const victim = await startTerminal({
    location,
    terminal: 'till-3',
    apiBase: server.url,
    syncEndpoint: server.wsUrl,
    sync: { fetch: (input, init) => (restDown && init?.method === 'POST' ? Promise.resolve(new Response('busy', { status: 503 })) : globalThis.fetch(input, init)) },
  });
  cleanups.push(() => victim.close());
  return { server, victim, restBack: () => (restDown = false) };
}

describe('room guard', () => {
  it('[SRV26][CMD2] a terminal token writing a manager\'s event of its own into the room (a modified till): the server removes it and the other terminals unfold it; what a till may write, and a manager\'s event it carries, stay', async () => {
    const server = await startTestServer();
    cleanups.push(() => server.dispose());
    const honest = await startTerminal({ location: 'forged-refund', terminal: 'till-1', apiBase: server.url, syncEndpoint: server.wsUrl });
    cleanups.push(() => honest.close());
    const ticket = { id: 'ticket-1', type: 'ticket' };
    const item = { id: 'm-steak', type: 'menu_item' };
    await honest.store.append('ticket.opened', { number: 'A-001' }, { aggregate: ticket });
    await honest.store.append('ticket.item_added', { lineId: 'l1', menuItemId: item.id, name: 'Steak', unitPriceCents: 2650, quantity: 1 }, { aggregate: ticket });
    await honest.store.append('ticket.payment_recorded', { paymentId: 'p1', method: 'cash', amountCents: 2650 }, { aggregate: ticket });
    await honest.store.append('ticket.closed', { totalCents: 2650 }, { aggregate: ticket });

    const modified = await connectSynced(server.wsUrl, 'forged-refund', await mint('forged-refund', 'terminal', 'till-2'));
    cleanups.push(() => modified.destroy());
    await waitFor(() => readAllEventJson(modified.doc).length === 4, 'the modified till holds the sale');
    // Its own refund of the cash, a comp from a second tab of it, an item it may mark sold out, and a manager's repricing it carries.
    const refund = tableEvent('till-2', 1, { type: 'ticket.refunded', aggregate: ticket, seq: 5, payload: { refundId: 'rf-1', method: 'cash', amountCents: 2650, reason: 'pocketed' } });
    const comp = tableEvent('till-2.2', 1, { type: 'ticket.line_comped', aggregate: ticket, seq: 5, payload: { lineId: 'l1', reason: 'friend', quantity: 1 } });
    const soldOut = tableEvent('till-2', 2, { type: 'menu.item_availability_set', aggregate: item, payload: { menuItemId: item.id, available: false } });
    const repriced = tableEvent('manager-1', 1, { type: 'menu.item_repriced', aggregate: item, payload: { menuItemId: item.id, priceCents: 2800 } });
    modified.doc.transact(() => {
      new SegmentWriter(modified.doc, 'till-2').append([JSON.stringify(refund), JSON.stringify(soldOut)]);
      new SegmentWriter(modified.doc, 'till-2.2').append([JSON.stringify(comp)]);
      new SegmentWriter(modified.doc, 'manager-1').append([JSON.stringify(repriced)]);
    });

    const held = (doc: typeof modified.doc) => readAllEventJson(doc).map((json) => (JSON.parse(json) as { id: string }).id);
    await waitFor(() => !held(modified.doc).includes(refund.id) && !held(modified.doc).includes(comp.id), 'the server removed the refund and the comp from the room');
    expect(held(modified.doc)).toEqual(expect.arrayContaining([soldOut.id, repriced.id]));
    await waitFor(() => {
      const steak = honest.store.view(item.id) as MenuItemView | undefined;
      const sale = honest.store.view(ticket.id) as TicketView;
      return steak?.soldOut === true && steak.priceCents === 2800 && sale.refunds.length === 0 && sale.lines[0]?.comped === null;
    }, 'the honest till folds the sold-out mark and the repricing, and no refund or comp');
    expect(honest.store.view(ticket.id)).toMatchObject({ totalCents: 2650, paidCents: 2650, refundedCents: 0, status: 'closed' });
    await waitForAsync(async () => {
      const stored = (await serverEvents(server.url, 'forged-refund')).map((e) => e.id);
      return stored.includes(soldOut.id) && stored.includes(repriced.id);
    }, 'the canonical store holds what the till may write and what it carried');
    const stored = (await serverEvents(server.url, 'forged-refund')).map((e) => e.id);
    expect(stored).not.toContain(refund.id);
    expect(stored).not.toContain(comp.id);
  });

  it('[SRV15] a terminal forging acks or relayed marks is overwritten with the truth, and the victim still delivers its sale', async () => {
    const { server, victim, restBack } = await victimWithUploadsDown('forged');
    await victim.store.append('ticket.opened', { number: 'A-001' }, { aggregate: { id: 'ticket-1', type: 'ticket' } });
    await waitFor(() => victim.sync.status.relay === 'connected' && victim.sync.status.owed === 1, 'the victim owes its sale');
    expect((await postEvents(server.url, await mint('forged', 'terminal', 'till-1'), [tableEvent('till-1', 1)])).body.results[0]!.status).toBe('accepted');

    const forger = await connectSynced(server.wsUrl, 'forged', await mint('forged', 'terminal', 'till-2'));
    cleanups.push(() => forger.destroy());
    await waitFor(() => acksOf(forger.doc).get('till-1') === 1, 'the real acknowledgement of till-1');
    forger.doc.transact(() => {
      acksOf(forger.doc).set('till-3', 1000);
      acksOf(forger.doc).set('till-1', 1000);
      relayedOf(forger.doc).set('till-3', 1000);
    });
    await waitFor(
      () => !acksOf(forger.doc).has('till-3') && acksOf(forger.doc).get('till-1') === 1 && relayedOf(forger.doc).get('till-3') !== 1000,
      'the server wrote its truth over the forged marks',
    );
    await waitFor(() => !acksOf(victim.store.doc).has('till-3'), 'the victim sees the truth');
    restBack();
    await waitForAsync(async () => {
      await victim.sync.syncNow();
      return (await serverEvents(server.url, 'forged')).some((e) => e.origin.terminal === 'till-3');
    }, 'the victim delivered its sale');
    expect(victim.sync.status.owed).toBe(0);
  });

  it('[SRV15] after the server lost its data (a new data directory), terminals upload everything again', async () => {
    const first = makeDataDir();
    const second = makeDataDir();
    cleanups.push(() => removeDataDir(first), () => removeDataDir(second));
    let server: ServerProcess = await spawnServer({ dataDir: first, secret: TEST_SECRET });
    cleanups.push(() => server.stop());
    const port = server.port;
    const terminals = await Promise.all(
      ['till-1', 'till-2'].map((terminal) => startTerminal({ location: 'wiped', terminal, apiBase: server.url, syncEndpoint: server.wsUrl, graceMs: 300 })),
    );
    cleanups.push(() => terminals.forEach((t) => t.close()));
    for (const [i, t] of terminals.entries()) {
      for (let k = 1; k <= 5; k++) await t.store.append('table.defined', { tableId: `t${i}-${k}`, label: `T${i}${k}`, seats: 4 }, { aggregate: { id: `t${i}-${k}`, type: 'table' } });
    }
    await waitFor(() => terminals.every((t) => t.sync.status.owed === 0), 'all ten acknowledged');

    await server.stop();
    server = await spawnServer({ dataDir: second, secret: TEST_SECRET, port });
    // The terminals reconnect by themselves; their docs carry the old server's acks back into the
    // fresh room, which the server overwrites with its own (none), so they upload everything again.
    await waitForAsync(async () => (await serverEvents(server.url, 'wiped')).length === 10, 'the new server holds all ten', 30_000);
    await waitFor(() => terminals.every((t) => t.sync.status.owed === 0), 'acknowledged by the new server');
    expect(terminals[0]!.sync.watermarks()).toMatchObject({ 'till-1': 5, 'till-2': 5 });
  });

  it('[SRV16] a terminal deleting another till\'s unsent sale from the room: the server puts it back, and it is delivered', async () => {
    const { server, victim, restBack } = await victimWithUploadsDown('deleted');
    const sale = await victim.store.append('ticket.opened', { number: 'A-001' }, { aggregate: { id: 'ticket-1', type: 'ticket' } });
    const attacker = await connectSynced(server.wsUrl, 'deleted', await mint('deleted', 'terminal', 'till-2'));
    cleanups.push(() => attacker.destroy());
    await waitFor(() => [...segmentsOf(attacker.doc).keys()].some((k) => k.startsWith('till-3/')), 'the attacker holds the sale');
    let removed = 0;
    attacker.doc.transact(() => {
      for (const [key, segment] of segmentsOf(attacker.doc)) {
        if (!key.startsWith('till-3/')) continue;
        removed += segment.length;
        segment.delete(0, segment.length);
      }
    });
    expect(removed).toBe(1);
    // The delete reaches the victim, and so does the server's restore: it holds its sale again.
    await waitFor(() => segmentsOf(attacker.doc).get('server/0')?.length === 1, 'the server appended the sale back');
    await waitFor(() => victim.store.getByAggregate('ticket-1').some((e) => e.id === sale.id), 'the victim holds its sale');
    restBack();
    await waitForAsync(async () => {
      await victim.sync.syncNow();
      return (await serverEvents(server.url, 'deleted')).some((e) => e.id === sale.id);
    }, 'the sale reached the canonical store');
  });
});
