import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { cpSync } from 'node:fs';
import { canonicalJson } from '../../shared/events/envelope';
import { ticketCommands } from '../../bench/workload';
import { startTestServer, type InProcessServer } from '../helpers/server-in-process';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy';
import { mint, postEvents, waitFor, waitForAsync } from '../helpers/server-clients';
import { acknowledges } from '../../shared/log/acknowledgements';
import { ackRangesOf, acksOf } from '../../shared/log/log-doc';
import { openTerminal, serverEvents, startTerminal, type TestTerminal } from '../helpers/terminals';
import { makeDataDir, removeDataDir } from '../helpers/server-process';

let server: InProcessServer | null = null;
let proxy: TcpProxy | null = null;
const terminals: TestTerminal[] = [];
afterEach(async () => {
  for (const t of terminals.splice(0)) t.close();
  await proxy?.close();
  await server?.dispose();
  proxy = server = null;
});

describe('Outage', () => {
  it('[SYN2] 3 terminals write 2,000 events each while cut off; after reconnecting the server holds exactly the 6,000 and every projection equals the server\'s', async () => {
    server = await startTestServer();
    proxy = await startTcpProxy(server.port);
    const location = 'outage';
    const ids = ['till-1', 'till-2', 'till-3'];
    for (const terminal of ids) {
      terminals.push(await startTerminal({ location, terminal, apiBase: proxy.url, syncEndpoint: proxy.wsUrl, otherWritersGraceMs: 2_000 }));
    }
    await waitFor(() => terminals.every((t) => t.sync.status.relay === 'connected'), 'relay connected');
    await proxy.refuse(true);
    proxy.cut();
    await waitFor(() => terminals.every((t) => t.sync.status.relay !== 'connected'), 'cut off');

    for (const [i, t] of terminals.entries()) {
      for (const c of ticketCommands(2000, 11 + i, `T${i + 1}`)) {
        await t.store.append(c.type, c.payload, { aggregate: c.aggregate, ...(c.key ? { key: c.key } : {}) });
      }
    }
    expect(terminals.map((t) => t.store.projection.size)).toEqual([2000, 2000, 2000]);

    await proxy.refuse(false);
    await Promise.all(terminals.map((t) => t.sync.syncNow()));
    await waitFor(() => terminals.every((t) => t.store.projection.size === 6000), 'terminals converge over the relay', 30_000);
    await waitForAsync(async () => (await serverEvents(server!.url, location)).length >= 6000, 'server holds 6000', 30_000);
    await waitFor(() => terminals.every((t) => t.sync.status.owed === 0), 'outboxes drained', 30_000);

    const stored = await serverEvents(server.url, location);
    expect(stored).toHaveLength(6000);
    expect(new Set(stored.map((e) => e.id)).size).toBe(6000);
    expect(new Set(stored.map((e) => `${e.origin.terminal}#${e.origin.n}`)).size).toBe(6000);

    const [first, ...rest] = terminals.map((t) => canonicalJson(t.store.views().map((v) => ({ ...v, history: t.store.history(v.id) }))));
    for (const other of rest) expect(other).toBe(first);
    const token = await mint(location, 'manager', 'inspector');
    for (const view of terminals[0]!.store.views('ticket')) {
      const res = await fetch(`${server.url}/api/aggregates/ticket/${encodeURIComponent(view.id)}`, { headers: { authorization: `Bearer ${token}` } });
      const body = (await res.json()) as { state: unknown };
      expect(canonicalJson(body.state)).toBe(canonicalJson({ ...view, history: terminals[0]!.store.history(view.id) }));
    }
  });

  it('[SYN20] a server restored from an older backup, reached over REST only: the events it lost are uploaded again', async () => {
    server = await startTestServer();
    const location = 'restored';
    // The relay cannot be reached (nothing listens there): the room cannot rewrite its acks.
    const opened = await openTerminal({ location, terminal: 'till-1', apiBase: server.url, syncEndpoint: `ws://127.0.0.1:${await closedPort()}/sync` });
    for (let i = 1; i <= 5; i++) await opened.store.append('ticket.opened', { number: `A-00${i}` }, { aggregate: { id: `ticket-${i}`, type: 'ticket' } });
    // What the server published into the room doc before it was restored from a backup without these five.
    opened.store.doc.transact(() => acksOf(opened.store.doc).set('till-1', 5), 'server');
    const t = opened.startSync();
    terminals.push(t);
    await t.store.append('ticket.opened', { number: 'A-006' }, { aggregate: { id: 'ticket-6', type: 'ticket' } });
    // Before, the stale ack outweighed the server's answers: only the sixth was ever uploaded.
    await waitForAsync(async () => (await serverEvents(server!.url, location)).length === 6, 'the server holds all six again');
    await waitFor(() => t.sync.status.owed === 0, 'nothing owed');
    expect(t.sync.status.watermarks).toEqual({ 'till-1': 6 });
  });

  it('[SYN20] an idle till reached over REST only, its server restored from a backup without its last sales: the next probe (Sync now) says so, and they are uploaded again', async () => {
    const location = 'restored-idle';
    const dataDir = makeDataDir();
    const backup = makeDataDir();
    try {
      const t = await restOnlyTill(location, dataDir);
      for (let i = 1; i <= 3; i++) await t.store.append('ticket.opened', { number: `A-00${i}` }, { aggregate: { id: `ticket-${i}`, type: 'ticket' } });
      await waitFor(() => t.sync.status.owed === 0 && t.sync.status.watermarks['till-1'] === 3, 'three stored');
      await backUp(dataDir, backup);
      for (let i = 4; i <= 6; i++) await t.store.append('ticket.opened', { number: `A-00${i}` }, { aggregate: { id: `ticket-${i}`, type: 'ticket' } });
      await waitFor(() => t.sync.status.owed === 0 && t.sync.status.watermarks['till-1'] === 6, 'six stored');
      // Restored from the backup: the last three are gone from the server; the till, idle, owes nothing.
      await restoreFrom(backup);
      await t.sync.syncNow();
      await waitForAsync(async () => (await serverEvents(server!.url, location)).length === 6, 'the server holds all six again');
      await waitFor(() => t.sync.status.owed === 0 && t.sync.status.watermarks['till-1'] === 6, 'nothing owed');
    } finally {
      await server?.close();
      server = null;
      removeDataDir(dataDir);
      removeDataDir(backup);
    }
  });

  const toldOfRestore = [
    { told: 'the next upload\'s answer', by: 'upload' },
    { told: 'the next probe\'s answer (Sync now, the till idle)', by: 'probe' },
    { told: 'the room\'s ack written lower (its answers before had covered the sale)', by: 'room' },
  ] as const;
  for (const { told, by } of toldOfRestore) it(`[SYN20][CMP2] a till reached over REST only compacted its sales on the server's answers, then the server was restored without one: ${told} says so, and the compacted sale is written back and uploaded`, async () => {
    const location = `restored-after-compaction-${by}`;
    const dataDir = makeDataDir();
    const backup = makeDataDir();
    try {
      const t = await restOnlyTill(location, dataDir);
      t.store.useAcknowledgements(() => t.sync.acknowledgements()); // as the app's session does
      await sell(t.store, 'ticket-1', 'A-001');
      await waitFor(() => t.sync.status.owed === 0 && t.sync.status.watermarks['till-1'] === 2, 'the first sale stored');
      await backUp(dataDir, backup);
      const lost = await sell(t.store, 'ticket-2', 'A-002');
      await waitFor(() => t.sync.status.owed === 0 && t.sync.status.watermarks['till-1'] === 4, 'the second sale stored');
      // The room, played by hand (the relay unreachable): for `room`, the old server's ack of both sales.
      const room = new Y.Doc();
      const relay = () => Y.applyUpdate(t.store.doc, Y.encodeStateAsUpdate(room, Y.encodeStateVector(t.store.doc)), 'relay');
      if (by === 'room') {
        room.transact(() => acksOf(room).set('till-1', 4));
        relay();
      }
      // Days later the till lets both sales go: the server's answers acknowledged them.
      expect((await t.store.compact({ now: Date.now() + 3 * 24 * 60 * 60_000 })).aggregates).toBe(2);
      // Restored from the backup, without the second sale.
      await restoreFrom(backup);
      if (by === 'upload') await t.store.append('ticket.opened', { number: 'A-003' }, { aggregate: { id: 'ticket-3', type: 'ticket' } });
      else if (by === 'probe') await t.sync.syncNow();
      else {
        // The restored server's guard writes its truth. What is written back is judged by it, not
        // by the answers (4) the server gave before.
        room.transact(() => acksOf(room).set('till-1', 2));
        relay();
      }
      await restoredServerHolds(server!.url, location, lost);
    } finally {
      await server?.close();
      server = null;
      removeDataDir(dataDir);
      removeDataDir(backup);
    }
  });

  it('[SRV15][SYN20] a till that uploaded over REST with the relay down, its server then restored from a backup with the relay back: the room\'s ack written lower outweighs what the server answered before, and what it lost is owed at once', async () => {
    const location = 'restored-relay-back';
    const dataDir = makeDataDir();
    const backup = makeDataDir();
    let relay: TcpProxy | null = null;
    try {
      server = await startTestServer({ dataDir });
      proxy = await startTcpProxy(server.port);
      // The relay's way to the server: down while the till uploads over REST.
      relay = await startTcpProxy(server.port);
      await relay.refuse(true);
      const t = await startTerminal({ location, terminal: 'till-1', apiBase: proxy.url, syncEndpoint: relay.wsUrl });
      terminals.push(t);
      const open = (i: number) => t.store.append('ticket.opened', { number: `A-00${i}` }, { aggregate: { id: `ticket-${i}`, type: 'ticket' } });
      for (let i = 1; i <= 2; i++) await open(i);
      await waitFor(() => t.sync.status.owed === 0 && t.sync.status.watermarks['till-1'] === 2, 'two stored');
      await backUp(dataDir, backup);
      relay.retarget(server!.port);
      for (let i = 3; i <= 5; i++) await open(i);
      await waitFor(() => t.sync.status.owed === 0 && t.sync.status.watermarks['till-1'] === 5, 'five stored, answered over REST');
      // The relay comes back: the room says 5 too.
      await relay.refuse(false);
      await waitFor(() => acksOf(t.store.doc).get('till-1') === 5, 'the room acknowledges five');

      // REST down from now on: no answer of the server's tells the till anything. Restored from the
      // backup (relay ingest off: the room's copy of 3..5 is not stored back at once), it reaches the till over the relay only.
      await proxy.refuse(true);
      proxy.cut();
      await server.close();
      server = await startTestServer({ dataDir: backup, relayIngest: false });
      relay.retarget(server.port);
      relay.cut();
      await waitFor(() => acksOf(t.store.doc).get('till-1') === 2, 'the room guard wrote the restored server\'s ack');
      // Before, the REST answer's 5 outweighed the room's 2: the three it lost were owed by no one.
      await waitFor(() => t.sync.status.owed === 3, 'the three the server lost owed', 10_000, () => JSON.stringify(t.sync.status.watermarks));
      expect(t.sync.watermarks()).toEqual({ 'till-1': 2 });
    } finally {
      await relay?.close();
      await server?.close();
      server = null;
      removeDataDir(dataDir);
      removeDataDir(backup);
    }
  });

  it('[SYN20] a probe\'s answer that reaches a till after newer room acks (over the relay, another connection) does not make it disbelieve them: another writer\'s events are acknowledged, not owed for the grace', async () => {
    server = await startTestServer();
    const location = 'probe-race';
    // A's probe answer is read by the server, then held back until the room's newer acks reached A.
    let hold: { read: () => void; release: Promise<void> } | null = null;
    const slowProbe: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      if (hold === null || !String(input).endsWith('/api/watermarks')) return res;
      const held = hold;
      hold = null;
      const text = await res.text();
      held.read();
      await held.release;
      return new Response(text, { status: res.status, headers: res.headers });
    };
    // A grace far longer than the test: before, A owed B's events until it ran out.
    const a = await startTerminal({ location, terminal: 'till-a', apiBase: server.url, syncEndpoint: server.wsUrl, otherWritersGraceMs: 3_600_000, sync: { fetch: slowProbe } });
    const b = await startTerminal({ location, terminal: 'till-b', apiBase: server.url, syncEndpoint: server.wsUrl });
    terminals.push(a, b);
    await waitFor(() => a.sync.status.relay === 'connected' && b.sync.status.relay === 'connected', 'both relays connected');
    let read!: () => void;
    const wasRead = new Promise<void>((resolve) => (read = resolve));
    let release!: () => void;
    hold = { read, release: new Promise<void>((resolve) => (release = resolve)) };
    const probing = a.sync.syncNow();
    await wasRead;
    for (let i = 1; i <= 5; i++) await b.store.append('ticket.opened', { number: `B-00${i}` }, { aggregate: { id: `b-${i}`, type: 'ticket' } });
    await waitFor(() => acksOf(a.store.doc).get('till-b') === 5, "the room's acks for B reached A");
    release();
    await probing;
    await waitFor(() => a.store.eventsByWriter().get('till-b')?.length === 5, "A holds B's five");
    expect(a.sync.watermarks()['till-b']).toBe(5);
    await waitFor(() => a.sync.status.owed === 0, 'A owes nothing');
  });

  it('[SYN20][OUT8] a restored server at the room\'s ack, lacking what the room says it stored above it, reached over REST only: those are uploaded again, not compacted before it holds them', async () => {
    server = await startTestServer();
    const location = 'restored-ranges';
    const opened = await openTerminal({ location, terminal: 'till-1', apiBase: server.url, syncEndpoint: `ws://127.0.0.1:${await closedPort()}/sync` });
    const sell = async (id: string, number: string): Promise<void> => {
      const aggregate = { aggregate: { id, type: 'ticket' } };
      await opened.store.append('ticket.opened', { number }, aggregate);
      await opened.store.append('ticket.item_added', { lineId: 'l1', menuItemId: 'soup', name: 'Soup', unitPriceCents: 500, quantity: 1 }, aggregate);
      await opened.store.append('ticket.payment_recorded', { paymentId: 'p1', method: 'cash', amountCents: 500 }, aggregate);
      await opened.store.append('ticket.closed', { totalCents: 500 }, aggregate);
    };
    await sell('ticket-1', 'A-001'); // n 1..4
    await sell('ticket-2', 'A-002'); // n 5..8
    // The restored server's backup holds the first sale only.
    const written = opened.store.eventsByWriter().get('till-1')!;
    expect((await postEvents(server.url, await mint(location), written.slice(0, 4))).status).toBe(200);
    // What the old server published into the room doc: n 5 came late, 6..8 were stored above its mark.
    opened.store.doc.transact(() => {
      acksOf(opened.store.doc).set('till-1', 4);
      ackRangesOf(opened.store.doc).set('till-1', [6, 8]);
    }, 'server');
    const t = opened.startSync();
    terminals.push(t);
    t.store.useAcknowledgements(() => t.sync.acknowledgements()); // as the app's session does
    // Before, the room's ranges outweighed the server's answers: only n 5 was ever uploaded, and the sale compacted away.
    await waitForAsync(async () => (await serverEvents(server!.url, location)).length === 8, 'the server holds all eight again');
    await waitFor(() => t.sync.status.owed === 0, 'nothing owed');
    expect(acknowledges(t.sync.acknowledgements(), 'till-1', 8)).toBe(true);
    expect((await t.store.compact({ now: Date.now() + 3 * 24 * 60 * 60_000 })).aggregates).toBe(2);
    expect((await serverEvents(server.url, location)).map((e) => e.origin.n).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('[SRV15][SYN20][OUT8][CMP2] a till reached over the relay only compacted a sale on the old server\'s ranges above its ack; the restored server\'s guard deleting those ranges says it forgot: the sale is written back and delivered', async () => {
    server = await startTestServer();
    const location = 'restored-ranges-relay';
    const opened = await openTerminal({
      location,
      terminal: 'till-1',
      apiBase: server.url,
      syncEndpoint: server.wsUrl,
      deferSync: true,
      // REST unreachable: only the room tells the till anything.
      sync: { fetch: () => Promise.reject(new TypeError('fetch failed')) },
    });
    const first = await sell(opened.store, 'ticket-1', 'A-001'); // n 1, 2
    const lost = await sell(opened.store, 'ticket-2', 'A-002'); // n 3, 4
    // The restored server's backup holds the first sale only.
    const written = opened.store.eventsByWriter().get('till-1')!;
    expect((await postEvents(server.url, await mint(location), written.slice(0, 2))).status).toBe(200);
    // What the old server published into the room doc: 2 held, 3..4 stored above it.
    opened.store.doc.transact(() => {
      acksOf(opened.store.doc).set('till-1', 2);
      ackRangesOf(opened.store.doc).set('till-1', [3, 4]);
    }, 'server');
    expect((await opened.store.compact({ now: Date.now() + 3 * 24 * 60 * 60_000 })).aggregates).toBe(2);
    const t = opened.startSync();
    terminals.push(t);
    t.store.useAcknowledgements(() => t.sync.acknowledgements()); // as the app's session does
    // The ack stays 2: only the ranges going tell the till the server forgot.
    await restoredServerHolds(server.url, location, [...first, ...lost]);
  });

  it('[SYN20][CMP2] a till that compacted a sale against the old server reaches the restored one first: its deletions do not make the till still holding the sale drop it, and it is uploaded again', async () => {
    server = await startTestServer();
    const location = 'restored-after-compaction';
    const offline = { apiBase: server.url, syncEndpoint: server.wsUrl, otherWritersGraceMs: 1_500, deferSync: true } as const;
    const compacting = await openTerminal({ location, terminal: 'till-1', ...offline });
    const holding = await openTerminal({ location, terminal: 'till-2', ...offline });
    const ticket = { aggregate: { id: 'ticket-1', type: 'ticket' } };
    await compacting.store.append('ticket.opened', { number: 'A-001' }, ticket);
    await compacting.store.append('ticket.item_added', { lineId: 'l1', menuItemId: 'cola', name: 'Cola', unitPriceCents: 350, quantity: 1 }, ticket);
    await compacting.store.append('ticket.payment_recorded', { paymentId: 'p1', method: 'card', amountCents: 350 }, ticket);
    await compacting.store.append('ticket.closed', { totalCents: 350 }, ticket);
    const ids = compacting.store.getByAggregate('ticket-1').map((e) => e.id);
    // Both held it and the old server's ack (its own write, relayed to both) before it was restored from a backup without it.
    const oldServer = new Y.Doc();
    oldServer.transact(() => acksOf(oldServer).set('till-1', 4));
    for (const t of [compacting, holding]) {
      Y.applyUpdate(t.store.doc, Y.encodeStateAsUpdate(compacting.store.doc), 'relay');
      Y.applyUpdate(t.store.doc, Y.encodeStateAsUpdate(oldServer), 'relay');
    }
    expect((await compacting.store.compact({ now: Date.now() + 3 * 24 * 60 * 60_000 })).aggregates).toBe(1);
    // The compacting till reaches the restored server first: the sale's entries reach the room deleted.
    const first = compacting.startSync();
    terminals.push(first);
    await waitFor(() => first.sync.relayInStep, 'the compacting till in step with the restored room');
    const second = holding.startSync();
    terminals.push(second);
    second.store.useAcknowledgements(() => second.sync.acknowledgements()); // as the app's session does
    await restoredServerHolds(server.url, location, ids);
    expect(second.store.getByAggregate('ticket-1').map((e) => e.id)).toEqual(ids);
  });

  for (const told of ['the room', 'a REST answer'] as const) it(`[SYN20][CMP2] the deletion of a till that compacted against the old server, followed here before ${told} said the server forgot: what it removed is written back and uploaded`, async () => {
    server = await startTestServer();
    const location = `forgot-after-deletion-${told === 'the room' ? 'room' : 'rest'}`;
    // The room is played by hand below (the relay unreachable): its updates in the order the race gives them.
    const relayless = { apiBase: server.url, syncEndpoint: `ws://127.0.0.1:${await closedPort()}/sync`, otherWritersGraceMs: 1_500, deferSync: true } as const;
    const compacting = await openTerminal({ location, terminal: 'till-1', ...relayless });
    const holding = await openTerminal({ location, terminal: 'till-2', ...relayless });
    const ticket = { aggregate: { id: 'ticket-1', type: 'ticket' } };
    await compacting.store.append('ticket.opened', { number: 'A-001' }, ticket);
    await compacting.store.append('ticket.closed', { totalCents: 0 }, ticket);
    const ids = compacting.store.getByAggregate('ticket-1').map((e) => e.id);
    const room = new Y.Doc(); // the old server's writes into the room
    room.transact(() => acksOf(room).set('till-1', 2));
    const relay = (from: Y.Doc, to: TestTerminal['store']) => Y.applyUpdate(to.doc, Y.encodeStateAsUpdate(from, Y.encodeStateVector(to.doc)), 'relay');
    relay(compacting.store.doc, holding.store);
    relay(room, compacting.store);
    relay(room, holding.store);
    const t = holding.startSync();
    terminals.push(t);
    t.store.useAcknowledgements(() => t.sync.acknowledgements()); // as the app's session does
    expect((await compacting.store.compact({ now: Date.now() + 3 * 24 * 60 * 60_000 })).aggregates).toBe(1);
    relay(compacting.store.doc, holding.store);
    expect(t.store.getByAggregate('ticket-1')).toEqual([]); // acknowledged, as far as it knew
    if (told === 'the room') {
      // The restored server's guard writes its truth: it holds nothing of till-1.
      room.transact(() => acksOf(room).delete('till-1'));
      relay(room, holding.store);
      expect(t.store.getByAggregate('ticket-1').map((e) => e.id)).toEqual(ids);
    } else await t.sync.syncNow(); // its answer, below the room's ack, confirmed by a second one
    await restoredServerHolds(server.url, location, ids);
  });

  for (const told of ['the room', 'a REST answer'] as const) it(`[SYN20][CMP2] the only till holding a sale compacted it on the old server's word while cut off through the restore: once ${told} says the server forgot, it writes the sale back and uploads it`, async () => {
    server = await startTestServer();
    const location = `compacted-through-restore-${told === 'the room' ? 'room' : 'rest'}`;
    const relay = told === 'the room' ? server.wsUrl : `ws://127.0.0.1:${await closedPort()}/sync`;
    const till = await openTerminal({ location, terminal: 'till-1', apiBase: server.url, syncEndpoint: relay, deferSync: true });
    const ticket = { aggregate: { id: 'ticket-1', type: 'ticket' } };
    await till.store.append('ticket.opened', { number: 'A-001' }, ticket);
    await till.store.append('ticket.closed', { totalCents: 0 }, ticket);
    const ids = till.store.getByAggregate('ticket-1').map((e) => e.id);
    // The old server's ack, relayed before it was restored from a backup without the sale.
    const oldServer = new Y.Doc();
    oldServer.transact(() => acksOf(oldServer).set('till-1', 2));
    Y.applyUpdate(till.store.doc, Y.encodeStateAsUpdate(oldServer), 'relay');
    expect((await till.store.compact({ now: Date.now() + 3 * 24 * 60 * 60_000 })).aggregates).toBe(1);
    expect(till.store.getByAggregate('ticket-1')).toEqual([]);
    const t = till.startSync();
    terminals.push(t);
    // Reaching the server: the room's guard writes its truth over the old ack, or Sync now's probe answers below it.
    if (told === 'a REST answer') await t.sync.syncNow();
    await restoredServerHolds(server.url, location, ids);
  });
});

/** The server on `dataDir` behind a proxy, and a till reaching it over REST only (nothing listens where its relay is). */
async function restOnlyTill(location: string, dataDir: string): Promise<TestTerminal> {
  server = await startTestServer({ dataDir });
  proxy = await startTcpProxy(server.port);
  const t = await startTerminal({ location, terminal: 'till-1', apiBase: `http://127.0.0.1:${proxy.port}`, syncEndpoint: `ws://127.0.0.1:${await closedPort()}/sync` });
  terminals.push(t);
  return t;
}

/** The night's backup: the server stopped, its data directory copied into `backup`, started again. */
async function backUp(dataDir: string, backup: string): Promise<void> {
  await server!.close();
  cpSync(dataDir, backup, { recursive: true });
  server = await startTestServer({ dataDir });
  proxy!.retarget(server.port);
}

/** The server restored from `backup`, behind the same proxy. */
async function restoreFrom(backup: string): Promise<void> {
  await server!.close();
  server = await startTestServer({ dataDir: backup });
  proxy!.retarget(server.port);
}

/** A sale on `store`: ticket `id` opened and closed (two events); their ids. */
async function sell(store: TestTerminal['store'], id: string, number: string): Promise<string[]> {
  const aggregate = { aggregate: { id, type: 'ticket' } };
  await store.append('ticket.opened', { number }, aggregate);
  await store.append('ticket.closed', { totalCents: 0 }, aggregate);
  return store.getByAggregate(id).map((e) => e.id);
}

/** Waits until the server's canonical log holds every one of `ids` (the sale uploaded again after a restore). */
function restoredServerHolds(url: string, location: string, ids: readonly string[]): Promise<void> {
  return waitForAsync(async () => {
    const stored = new Set((await serverEvents(url, location)).map((e) => e.id));
    return ids.every((id) => stored.has(id));
  }, 'the restored server holds the sale again');
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const { createServer } = await import('node:net');
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((r) => probe.close(() => r()));
  return port;
}
