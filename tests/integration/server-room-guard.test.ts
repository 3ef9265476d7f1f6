import { afterEach, describe, expect, it } from 'vitest';
import type * as Y from 'yjs';
import type { EventEnvelope } from '../../shared/events/envelope';
import { SegmentWriter, ackRangesOf, acksOf, compactedOf, deleteEvents, readAllEventJson, relayedOf, segmentsOf, type Tombstone } from '../../shared/log/log-doc';
import { startTestServer } from '../helpers/server-in-process';
import { makeDataDir, removeDataDir, spawnServer, type ServerProcess } from '../helpers/server-process';
import { TEST_SECRET, connectSynced, eventIdsIn, mint, postEvents, ticketOpenedEvent, waitFor, waitForAsync } from '../helpers/server-clients';
import { openDatabase } from '../../server/store/database';
import { SqliteCanonicalLog } from '../../server/store/sqlite-canonical-log';
import { RESTORE_AFTER_LOAD_MS } from '../../server/relay/room-guard-hook';
import { canonicalEventJson } from '../../shared/events/envelope';
import { serverEvents, startTerminal } from '../helpers/terminals';

/**
 * What a terminal's update may not do to a room, undone by the server
 * (server/relay/room-guard-hook.ts): change `acks` or `relayed` (forged, or carried over
 * from an old server), or delete events the canonical store does not hold.
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

const TICKET_9 = { type: 'ticket', id: 'ticket-9' };

/** A soup sold on till-3 at `at`: ticket-9 opened, the soup added, paid in cash, closed. */
function soupSold(at: number): EventEnvelope[] {
  const aggregate = TICKET_9;
  return [
    ticketOpenedEvent('till-3', 1, { aggregate, seq: 1, at }),
    ticketOpenedEvent('till-3', 2, { aggregate, seq: 2, at: at + 1, type: 'ticket.item_added', v: 2, payload: { lineId: 'l1', menuItemId: 'm', name: 'Soup', unitPriceCents: 500, quantity: 1 } }),
    ticketOpenedEvent('till-3', 3, { aggregate, seq: 3, at: at + 2, type: 'ticket.payment_recorded', payload: { paymentId: 'p1', method: 'cash', amountCents: 500 } }),
    ticketOpenedEvent('till-3', 4, { aggregate, seq: 4, at: at + 3, type: 'ticket.closed', payload: { totalCents: 500 } }),
  ];
}

/** A cash refund of ticket-9 by manager-1 (its n = 1) at `at`: written after the ticket was compacted, it is no part of the compaction. */
function lateRefund(at: number): EventEnvelope {
  return ticketOpenedEvent('manager-1', 1, { aggregate: TICKET_9, seq: 5, at, type: 'ticket.refunded', payload: { refundId: 'rf-1', method: 'cash', amountCents: 500, reason: 'cold soup' } });
}

/** The entries of the server's own segments (what it put back or added). */
function serverWritten(doc: Y.Doc): unknown[] {
  return [...segmentsOf(doc).entries()].filter(([key]) => key.startsWith('server/')).flatMap(([, segment]) => segment.toArray());
}

/**
 * `till` compacts soupSold(): ticket-9 tombstoned at the returned time, its events deleted. The
 * compaction stands (a ticket settled days ago): once this returns, the guard has judged it.
 */
async function compactSoup(till: { doc: Y.Doc }, sale: readonly EventEnvelope[]): Promise<number> {
  const stoneAt = Date.now();
  till.doc.transact(() => {
    compactedOf(till.doc).set('ticket-9', { at: stoneAt, by: 'till-3', events: 4, number: 'T-001' });
    deleteEvents(till.doc, new Set(sale.map((e) => e.id)));
  }, 'local');
  // A witness the guard answers after it judged the compaction: a forged mark, overwritten.
  till.doc.transact(() => acksOf(till.doc).set('till-9', 99), 'local');
  await waitFor(() => !acksOf(till.doc).has('till-9'), 'the server corrected the forged mark');
  expect(compactedOf(till.doc).get('ticket-9')).toMatchObject({ at: stoneAt });
  return stoneAt;
}

/** `events` written by `writer` on a client, as a terminal's own write. */
function writeAs(client: { doc: Y.Doc }, writer: string, events: readonly EventEnvelope[]): void {
  client.doc.transact(() => new SegmentWriter(client.doc, writer).append(events.map((e) => JSON.stringify(e))), 'local');
}

describe('room guard', () => {
  it('[SRV15] a terminal forging acks or relayed marks is overwritten with the truth, and the victim still delivers its sale', async () => {
    const { server, victim, restBack } = await victimWithUploadsDown('forged');
    await victim.store.append('ticket.opened', { number: 'A-001' }, { aggregate: { id: 'ticket-1', type: 'ticket' } });
    await waitFor(() => victim.sync.status.relay === 'connected' && victim.sync.status.owed === 1, 'the victim owes its sale');
    expect((await postEvents(server.url, await mint('forged', 'terminal', 'till-1'), [ticketOpenedEvent('till-1', 1)])).body.results[0]!.status).toBe('accepted');

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

  it('[SRV15][OUT8] a terminal forging ackRanges (the n stored above a writer\'s watermark) is overwritten with the truth: its key put back, one the server has no range for deleted', async () => {
    const server = await startTestServer();
    cleanups.push(() => server.dispose());
    // till-1's n 2 never reached the server: 3 and 4 are stored above its watermark.
    const body = (await postEvents(server.url, await mint('ranges', 'terminal', 'till-1'), [ticketOpenedEvent('till-1', 1), ticketOpenedEvent('till-1', 3), ticketOpenedEvent('till-1', 4)])).body as { storedAbove?: unknown };
    expect(body.storedAbove).toEqual({ 'till-1': [[3, 4]] });
    const forger = await connectSynced(server.wsUrl, 'ranges', await mint('ranges', 'terminal', 'till-2'));
    cleanups.push(() => forger.destroy());
    // Once the bridge wrote the events (after their uploader's grace), with the ranges: nothing else writes them.
    await waitFor(() => readAllEventJson(forger.doc).length === 3 && JSON.stringify(ackRangesOf(forger.doc).get('till-1')) === '[3,4]', 'the events and the real ranges of till-1');
    forger.doc.transact(() => {
      ackRangesOf(forger.doc).set('till-1', [2, 1000]);
      ackRangesOf(forger.doc).set('till-3', [1, 1000]);
    });
    await waitFor(
      () => JSON.stringify(ackRangesOf(forger.doc).toJSON()) === JSON.stringify({ 'till-1': [3, 4] }),
      'the server wrote its truth over the forged ranges',
    );
  });

  it('[SRV15] after the server lost its data (a new data directory), terminals upload everything again', async () => {
    const first = makeDataDir();
    const second = makeDataDir();
    cleanups.push(() => removeDataDir(first), () => removeDataDir(second));
    let server: ServerProcess = await spawnServer({ dataDir: first, secret: TEST_SECRET });
    cleanups.push(() => server.stop());
    const port = server.port;
    const terminals = await Promise.all(
      ['till-1', 'till-2'].map((terminal) => startTerminal({ location: 'wiped', terminal, apiBase: server.url, syncEndpoint: server.wsUrl, otherWritersGraceMs: 300 })),
    );
    cleanups.push(() => terminals.forEach((t) => t.close()));
    for (const [i, t] of terminals.entries()) {
      for (let k = 1; k <= 5; k++) await t.store.append('ticket.opened', { number: `T-${i}0${k}` }, { aggregate: { id: `ticket-${i}-${k}`, type: 'ticket' } });
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
    const serverHeld = () => [...segmentsOf(attacker.doc)].filter(([key]) => key.startsWith('server/')).reduce((n, [, segment]) => n + segment.length, 0);
    await waitFor(() => serverHeld() === 1, 'the server appended the sale back');
    await waitFor(() => victim.store.getByAggregate('ticket-1').some((e) => e.id === sale.id), 'the victim holds its sale');
    restBack();
    await waitForAsync(async () => {
      await victim.sync.syncNow();
      return (await serverEvents(server.url, 'deleted')).some((e) => e.id === sale.id);
    }, 'the sale reached the canonical store');
  });

  it('[SRV16] a terminal deleting two copies of another till\'s unsent sale at once (its own, written back, and the till\'s): the server puts it back once', async () => {
    const { server, victim } = await victimWithUploadsDown('deleted-twice');
    const sale = await victim.store.append('ticket.opened', { number: 'A-001' }, { aggregate: { id: 'ticket-1', type: 'ticket' } });
    const attacker = await connectSynced(server.wsUrl, 'deleted-twice', await mint('deleted-twice', 'terminal', 'till-2'));
    cleanups.push(() => attacker.destroy());
    await waitFor(() => [...segmentsOf(attacker.doc).keys()].some((k) => k.startsWith('till-3/')), 'the attacker holds the sale');
    writeAs(attacker, 'till-2', [sale]);
    attacker.doc.transact(() => deleteEvents(attacker.doc, new Set([sale.id])));
    expect(readAllEventJson(attacker.doc)).toEqual([]);
    await waitFor(() => serverWritten(attacker.doc).length > 0, 'the server appended the sale back');
    expect(serverWritten(attacker.doc)).toEqual([JSON.stringify(sale)]);
    await waitFor(() => victim.store.getByAggregate('ticket-1').some((e) => e.id === sale.id), 'the victim holds its sale');
  });

  it('[SRV16] a terminal deleting another till\'s acknowledged sale from the room, with no compaction tombstone: the server puts it back, and a till paired later sees the ticket', async () => {
    const server = await startTestServer();
    cleanups.push(() => server.dispose());
    const base = { location: 'wiped-acked', apiBase: server.url, syncEndpoint: server.wsUrl };
    const victim = await startTerminal({ ...base, terminal: 'till-3' });
    cleanups.push(() => victim.close());
    const sale = await victim.store.append('ticket.opened', { number: 'A-001' }, { aggregate: { id: 'ticket-1', type: 'ticket' } });
    await waitFor(() => victim.sync.status.owed === 0, 'the sale acknowledged');
    const attacker = await connectSynced(server.wsUrl, 'wiped-acked', await mint('wiped-acked', 'terminal', 'till-2'));
    cleanups.push(() => attacker.destroy());
    await waitFor(() => [...segmentsOf(attacker.doc).keys()].some((k) => k.startsWith('till-3/')), 'the attacker holds the sale');
    attacker.doc.transact(() => {
      for (const [key, segment] of segmentsOf(attacker.doc)) if (key.startsWith('till-3/')) segment.delete(0, segment.length);
    });
    const serverHeld = () => [...segmentsOf(attacker.doc)].filter(([key]) => key.startsWith('server/')).reduce((n, [, segment]) => n + segment.length, 0);
    await waitFor(() => serverHeld() === 1, 'the server appended the sale back');
    const later = await startTerminal({ ...base, terminal: 'till-4' });
    cleanups.push(() => later.close());
    await waitFor(() => later.store.getByAggregate('ticket-1').some((e) => e.id === sale.id), 'a till paired later holds the ticket');
  });

  it('[SRV16] a tombstone a connection writes for an open ticket (a forged compaction, deleting its events or not) is undone: every till still sees the ticket', async () => {
    const server = await startTestServer();
    cleanups.push(() => server.dispose());
    const base = { location: 'forged-stone', apiBase: server.url, syncEndpoint: server.wsUrl };
    const victim = await startTerminal({ ...base, terminal: 'till-3' });
    cleanups.push(() => victim.close());
    const open = await victim.store.append('ticket.opened', { number: 'A-001' }, { aggregate: { id: 'ticket-1', type: 'ticket' } });
    await victim.store.append('ticket.opened', { number: 'A-002' }, { aggregate: { id: 'ticket-2', type: 'ticket' } });
    await waitFor(() => victim.sync.status.owed === 0, 'both tickets acknowledged');
    const attacker = await connectSynced(server.wsUrl, 'forged-stone', await mint('forged-stone', 'terminal', 'till-2'));
    cleanups.push(() => attacker.destroy());
    await waitFor(() => [...segmentsOf(attacker.doc).keys()].some((k) => k.startsWith('till-3/')), 'the attacker holds the tickets');
    const stone = { at: Date.now(), by: 'till-2', events: 1, number: null };
    // ticket-1: its events deleted under a tombstone; ticket-2: a tombstone alone hides it too.
    attacker.doc.transact(() => {
      compactedOf(attacker.doc).set('ticket-1', stone);
      compactedOf(attacker.doc).set('ticket-2', stone);
      for (const [key, segment] of segmentsOf(attacker.doc)) if (key.startsWith('till-3/')) segment.delete(0, segment.length);
    });
    await waitFor(() => compactedOf(attacker.doc).size === 0, 'the server took the tombstones back');
    const later = await startTerminal({ ...base, terminal: 'till-4' });
    cleanups.push(() => later.close());
    await waitFor(() => later.store.getByAggregate('ticket-1').some((e) => e.id === open.id) && later.store.view('ticket-2') !== undefined, 'a till paired later sees both tickets');
    await waitFor(() => victim.store.view('ticket-1') !== undefined && victim.store.view('ticket-2') !== undefined, 'the victim sees both tickets');
  });

  it('[SRV16] a compaction of a settled ticket stands, and so does a later one of its late event (the tombstone updated), though the late event opened a conflict in the canonical log', async () => {
    const server = await startTestServer();
    cleanups.push(() => server.dispose());
    const till = await connectSynced(server.wsUrl, 'archived', await mint('archived', 'terminal', 'till-3'));
    const late = await connectSynced(server.wsUrl, 'archived', await mint('archived', 'terminal', 'till-4'));
    cleanups.push(() => till.destroy(), () => late.destroy());
    const at = Date.now() - 5 * 24 * 60 * 60_000;
    const sale = soupSold(at);
    writeAs(till, 'till-3', sale);
    await waitFor(() => acksOf(till.doc).get('till-3') === 4, 'the sale acknowledged');
    const compact = (ids: string[], events: number) =>
      till.doc.transact(() => {
        compactedOf(till.doc).set('ticket-9', { at: Date.now(), by: 'till-3', events, number: 'T-001' });
        deleteEvents(till.doc, new Set(ids));
      }, 'local');
    compact(sale.map((e) => e.id), 4);
    // A till that had not seen the close adds a dessert: the canonical log now holds a change after the close.
    const dessert = ticketOpenedEvent('till-4', 1, { aggregate: TICKET_9, seq: 4, at: at + 4, type: 'ticket.item_added', v: 2, payload: { lineId: 'l2', menuItemId: 'm', name: 'Cake', unitPriceCents: 400, quantity: 1 } });
    writeAs(late, 'till-4', [dessert]);
    await waitFor(() => acksOf(till.doc).get('till-4') === 1 && readAllEventJson(till.doc).some((j) => j.includes(dessert.id)), 'the late event acknowledged, on the till');
    compact([dessert.id], 5);
    // A witness the guard answers after it judged the compaction: a forged mark, overwritten.
    till.doc.transact(() => acksOf(till.doc).set('till-9', 99), 'local');
    await waitFor(() => !acksOf(till.doc).has('till-9'), 'the server corrected the forged mark');
    expect(compactedOf(till.doc).get('ticket-9')).toMatchObject({ events: 5 });
    expect(readAllEventJson(till.doc).filter((j) => j.includes('ticket-9'))).toEqual([]);
  });

  it('[SRV16] a compaction of a ticket refunded today, by a till offline since before the refund, is undone: every till keeps the ticket and the refund', async () => {
    const server = await startTestServer();
    cleanups.push(() => server.dispose());
    const till = await connectSynced(server.wsUrl, 'stale-stone', await mint('stale-stone', 'terminal', 'till-3'));
    const manager = await connectSynced(server.wsUrl, 'stale-stone', await mint('stale-stone', 'manager', 'manager-1'));
    cleanups.push(() => till.destroy(), () => manager.destroy());
    const at = Date.now() - 5 * 24 * 60 * 60_000;
    const sale = soupSold(at);
    writeAs(till, 'till-3', sale);
    await waitFor(() => acksOf(manager.doc).get('till-3') === 4 && readAllEventJson(manager.doc).length === 4, 'the sale acknowledged, on the manager\'s tablet');
    const refund = ticketOpenedEvent('manager-1', 1, { aggregate: TICKET_9, seq: 5, type: 'ticket.refunded', payload: { refundId: 'rf-1', method: 'cash', amountCents: 500, reason: 'cold soup' } });
    writeAs(manager, 'manager-1', [refund]);
    await waitFor(() => acksOf(manager.doc).get('manager-1') === 1, 'the refund acknowledged');
    // The till compacts by what it held before the refund reached it: closed 5 days ago, all acknowledged.
    till.doc.transact(() => {
      compactedOf(till.doc).set('ticket-9', { at: Date.now(), by: 'till-3', events: 4, number: 'T-001' });
      deleteEvents(till.doc, new Set(sale.map((e) => e.id)));
    }, 'local');
    const restored = () => [...segmentsOf(manager.doc).entries()].filter(([key]) => key.startsWith('server/')).flatMap(([, segment]) => segment.toArray());
    await waitFor(() => restored().length === 4 && !compactedOf(manager.doc).has('ticket-9'), 'the server put the sale back and took the tombstone away');
    const later = await startTerminal({ location: 'stale-stone', terminal: 'till-4', apiBase: server.url, syncEndpoint: server.wsUrl });
    cleanups.push(() => later.close());
    await waitFor(() => later.store.getByAggregate('ticket-9').length === 5, 'a till paired later holds the ticket, refund and all');
    expect(later.store.view('ticket-9')).toMatchObject({ status: 'closed', refunds: [{ refundId: 'rf-1', amountCents: 500 }] });
  });

  it('[SRV16] an acknowledged event dated after its aggregate\'s tombstone (a refund of an archived ticket), deleted alone, is put back', async () => {
    const server = await startTestServer();
    cleanups.push(() => server.dispose());
    const till = await connectSynced(server.wsUrl, 'late-refund', await mint('late-refund', 'terminal', 'till-3'));
    const manager = await connectSynced(server.wsUrl, 'late-refund', await mint('late-refund', 'manager', 'manager-1'));
    cleanups.push(() => till.destroy(), () => manager.destroy());
    const sale = soupSold(Date.now() - 5 * 24 * 60 * 60_000);
    writeAs(till, 'till-3', sale);
    await waitFor(() => acksOf(till.doc).get('till-3') === 4, 'the sale acknowledged');
    const refund = lateRefund((await compactSoup(till, sale)) + 1);
    writeAs(manager, 'manager-1', [refund]);
    await waitFor(() => acksOf(till.doc).get('manager-1') === 1 && readAllEventJson(till.doc).some((j) => j.includes(refund.id)), 'the refund acknowledged, on the till');
    // No compaction deletes it: the tombstone stays as it was.
    till.doc.transact(() => deleteEvents(till.doc, new Set([refund.id])), 'local');
    await waitFor(() => serverWritten(manager.doc).some((j) => String(j).includes(refund.id)), 'the server put the refund back');
    expect(eventIdsIn(manager.doc)).toEqual([refund.id]);
  });

  it('[SRV16] a tombstone dated ahead of the server\'s clock is judged as of the server\'s time: a ticket closed minutes ago stays (a till whose clock ran a day ahead)', async () => {
    const server = await startTestServer();
    cleanups.push(() => server.dispose());
    const till = await connectSynced(server.wsUrl, 'ahead-stone', await mint('ahead-stone', 'terminal', 'till-3'));
    cleanups.push(() => till.destroy());
    const at = Date.now() - 60_000;
    const sale = soupSold(at);
    writeAs(till, 'till-3', sale);
    await waitFor(() => acksOf(till.doc).get('till-3') === 4, 'the ticket acknowledged');
    const aDayAhead = Date.now() + 24 * 60 * 60_000;
    till.doc.transact(() => {
      compactedOf(till.doc).set('ticket-9', { at: aDayAhead, by: 'till-3', events: 4, number: 'T-001' });
      deleteEvents(till.doc, new Set(sale.map((e) => e.id)));
    }, 'local');
    await waitFor(() => !compactedOf(till.doc).has('ticket-9') && readAllEventJson(till.doc).length === 4, 'the server took the tombstone away and put the ticket back');
  });

  it('[SRV16] a tombstone whose time is no number is judged as of the epoch: undone, even for a ticket settled days ago', async () => {
    const server = await startTestServer();
    cleanups.push(() => server.dispose());
    const till = await connectSynced(server.wsUrl, 'junk-stone', await mint('junk-stone', 'terminal', 'till-3'));
    cleanups.push(() => till.destroy());
    const at = Date.now() - 5 * 24 * 60 * 60_000;
    const sale = soupSold(at);
    writeAs(till, 'till-3', sale);
    await waitFor(() => acksOf(till.doc).get('till-3') === 4, 'the ticket acknowledged');
    till.doc.transact(() => compactedOf(till.doc).set('ticket-9', { at: 'soon', by: 'till-3', events: 4, number: 'T-001' } as unknown as Tombstone), 'local');
    await waitFor(() => !compactedOf(till.doc).has('ticket-9'), 'the server took the tombstone away');
  });
});

describe('room guard: what the room lacks', () => {
  it('[SRV29] an event the canonical store holds that the room never got (the server died before bridging a back-office POST) reaches the room after its next load', async () => {
    const dataDir = makeDataDir();
    cleanups.push(() => removeDataDir(dataDir));
    const location = 'unbridged';
    const posted = ticketOpenedEvent('back-office', 1);
    // Stored, never bridged: written into the canonical store with no server running.
    const db = openDatabase(dataDir);
    const store = new SqliteCanonicalLog(db);
    await store.appendBatch(location, [{ event: posted, canonical: canonicalEventJson(posted) }], Date.now());
    store.close();

    const server = await startTestServer({ dataDir });
    cleanups.push(() => server.close());
    const till = await connectSynced(server.wsUrl, location, await mint(location, 'terminal', 'till-1'));
    cleanups.push(() => till.destroy());
    await waitFor(() => eventIdsIn(till.doc).includes(posted.id), 'the room has the event', 3 * RESTORE_AFTER_LOAD_MS);
    expect(eventIdsIn(till.doc).filter((id) => id === posted.id)).toHaveLength(1);
  });

  it('[SRV29] events the canonical store holds above a gap in their writer\'s numbers that the room never got (a till\'s own upload, the server killed within its bridging grace) reach the room after its next load', async () => {
    const dataDir = makeDataDir();
    cleanups.push(() => removeDataDir(dataDir));
    const location = 'unbridged-above-gap';
    // n 2 was lost with the till's tab: 1 is under the watermark, 3 and 4 stored above it.
    const uploaded = [1, 3, 4].map((n) => ticketOpenedEvent('till-1', n));
    const db = openDatabase(dataDir);
    const store = new SqliteCanonicalLog(db);
    await store.appendBatch(location, uploaded.map((event) => ({ event, canonical: canonicalEventJson(event) })), Date.now());
    store.close();

    const server = await startTestServer({ dataDir });
    cleanups.push(() => server.close());
    const till = await connectSynced(server.wsUrl, location, await mint(location, 'terminal', 'till-2'));
    cleanups.push(() => till.destroy());
    await waitFor(() => uploaded.every((e) => eventIdsIn(till.doc).includes(e.id)), 'the room has the three', 3 * RESTORE_AFTER_LOAD_MS);
    expect(eventIdsIn(till.doc).sort()).toEqual(uploaded.map((e) => e.id).sort());
  });

  it('[SRV29] an event the room never got, of an aggregate it holds a tombstone of but dated after it (a late refund), reaches the room after its next load', async () => {
    const dataDir = makeDataDir();
    cleanups.push(() => removeDataDir(dataDir));
    const location = 'unbridged-refund';
    let server = await startTestServer({ dataDir });
    let till = await connectSynced(server.wsUrl, location, await mint(location, 'terminal', 'till-3'));
    const sale = soupSold(Date.now() - 5 * 24 * 60 * 60_000);
    writeAs(till, 'till-3', sale);
    await waitFor(() => acksOf(till.doc).get('till-3') === 4, 'the sale acknowledged');
    const refund = lateRefund((await compactSoup(till, sale)) + 1);
    till.destroy();
    await server.close();
    // Stored, never bridged: written into the canonical store with no server running.
    const db = openDatabase(dataDir);
    await new SqliteCanonicalLog(db).appendBatch(location, [{ event: refund, canonical: canonicalEventJson(refund) }], Date.now());
    db.close();

    server = await startTestServer({ dataDir });
    cleanups.push(() => server.close());
    till = await connectSynced(server.wsUrl, location, await mint(location, 'terminal', 'till-3'));
    cleanups.push(() => till.destroy());
    expect(compactedOf(till.doc).get('ticket-9')).toBeDefined();
    await waitFor(() => eventIdsIn(till.doc).includes(refund.id), 'the room has the refund', 3 * RESTORE_AFTER_LOAD_MS);
    // The compacted sale stays compacted.
    expect(eventIdsIn(till.doc)).toEqual([refund.id]);
  });
});
