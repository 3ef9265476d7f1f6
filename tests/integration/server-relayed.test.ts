import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { SegmentWriter, acksOf, compactedOf, deleteEvents, readAllEventJson, relayedOf } from '../../shared/log/log-doc';
import { canonicalEventJson } from '../../shared/events/envelope';
import { aggregateIdOf, eventHeadOf, eventIdOf } from '../../shared/log/event-head';
import { createEventIndex } from '../../server/relay/event-index-hook';
import { Room } from '../../server/relay/room';
import { startTestServer, type InProcessServer } from '../helpers/server-in-process';
import { makeDataDir, removeDataDir } from '../helpers/server-process';
import { connectSynced, mint, postEvents, ticketOpenedEvent, waitFor, type TestClient } from '../helpers/server-clients';

/** Appends events of `terminal` with the given origin.n into the client's own segment. */
function appendAs(client: TestClient, writer: SegmentWriter, terminal: string, ns: number[]): void {
  client.doc.transact(() => writer.append(ns.map((n) => JSON.stringify(ticketOpenedEvent(terminal, n)))), 'local');
}

describe('relay: relayed watermarks', () => {
  let dataDir: string;
  let server: InProcessServer;
  const clients: TestClient[] = [];

  beforeAll(async () => {
    dataDir = makeDataDir();
    server = await startTestServer({ dataDir });
  });
  afterAll(async () => {
    for (const c of clients) c.destroy();
    await server.dispose();
    removeDataDir(dataDir);
  });

  const join = async (terminal: string): Promise<TestClient> => {
    const c = await connectSynced(server.wsUrl, 'loc-rl', await mint('loc-rl', 'terminal', terminal));
    clients.push(c);
    return c;
  };

  it('[SRV10] the room publishes per terminal the highest contiguous origin.n it holds, only increasing', async () => {
    const a = await join('till-1');
    const writer = new SegmentWriter(a.doc, 'till-1');
    const seen: number[] = [];
    relayedOf(a.doc).observe(() => seen.push(relayedOf(a.doc).get('till-1') ?? 0));
    appendAs(a, writer, 'till-1', [1, 2, 3]);
    appendAs(a, writer, 'till-1', [5]);
    await waitFor(() => relayedOf(a.doc).get('till-1') === 3, 'relayed 3');
    // A burst of separate updates is published as few map writes, not one per update.
    for (let n = 6; n <= 30; n++) appendAs(a, writer, 'till-1', [n]);
    appendAs(a, writer, 'till-1', [4]);
    await waitFor(() => relayedOf(a.doc).get('till-1') === 30, 'relayed 30 once 4 arrived');
    expect(seen).toEqual([...seen].sort((x, y) => x - y)); // never goes back
    expect(seen.length).toBeLessThanOrEqual(3);
  });

  it('[SRV10] events the server bridged in from REST count for their origin too', async () => {
    const a = clients[0]!;
    const token = await mint('loc-rl', 'terminal', 'till-2');
    const posted = await postEvents(server.url, token, [ticketOpenedEvent('till-2', 1), ticketOpenedEvent('till-2', 2)]);
    expect(posted.body.results.map((r) => r.status)).toEqual(['accepted', 'accepted']);
    await waitFor(() => relayedOf(a.doc).get('till-2') === 2, 'relayed from bridged events');
  });

  it('[SRV10] relayed watermarks survive a restart and keep advancing from the stored log', async () => {
    for (const c of clients.splice(0)) c.destroy();
    await server.close();
    server = await startTestServer({ dataDir });
    const b = await join('till-1');
    expect(relayedOf(b.doc).get('till-1')).toBe(30);
    expect(relayedOf(b.doc).get('till-2')).toBe(2);
    // The gap tracking is rebuilt from the log at load: 32 waits for 31.
    const writer = new SegmentWriter(b.doc, 'till-1');
    appendAs(b, writer, 'till-1', [32]);
    appendAs(b, writer, 'till-1', [31]);
    await waitFor(() => relayedOf(b.doc).get('till-1') === 32, 'relayed 32 after restart');
  });

  it('[SRV10] a mark does not go back when a terminal compacted the events under it and the server restarted: it keeps advancing', async () => {
    const c = await join('till-3');
    const writer = new SegmentWriter(c.doc, 'till-3');
    // What may leave a terminal (the server checks a tombstone against its log): leftovers of tickets whose opening left long ago (CMP8), written days ago.
    const at = Date.now() - 3 * 24 * 60 * 60_000;
    c.doc.transact(() => writer.append([1, 2, 3, 4, 5].map((n) => JSON.stringify(ticketOpenedEvent('till-3', n, { at, type: 'ticket.note_set', payload: { note: 'late' } })))), 'local');
    await waitFor(() => relayedOf(c.doc).get('till-3') === 5 && acksOf(c.doc).get('till-3') === 5, 'relayed and acknowledged 5');
    // The terminal compacts the first three (acknowledged, their aggregates tombstoned: the server lets them go).
    const oldJson = readAllEventJson(c.doc).filter((j) => eventHeadOf(j)?.terminal === 'till-3' && eventHeadOf(j)!.n <= 3);
    const old = new Set(oldJson.map((j) => eventIdOf(j)!));
    c.doc.transact(() => {
      for (const j of oldJson) compactedOf(c.doc).set(aggregateIdOf(j)!, { at: Date.now(), by: 'till-3', events: 1, number: null });
      deleteEvents(c.doc, old);
    }, 'local');
    const witness = await join('till-4');
    await waitFor(() => readAllEventJson(witness.doc).filter((j) => eventHeadOf(j)?.terminal === 'till-3').length === 2, 'the room let them go');
    for (const x of clients.splice(0)) x.destroy();
    await server.close();
    server = await startTestServer({ dataDir });
    const d = await join('till-3');
    expect(relayedOf(d.doc).get('till-3')).toBe(5);
    appendAs(d, new SegmentWriter(d.doc, 'till-3'), 'till-3', [6]);
    await waitFor(() => relayedOf(d.doc).get('till-3') === 6, 'relayed 6 after the restart');
  });
});

describe('event index: the marks published before, at load', () => {
  /** A room whose doc holds events `ns` of till-1 and the mark `published` for it. */
  function roomWith(ns: number[], published: number): Room {
    const room = new Room('r', []);
    room.doc.transact(() => {
      new SegmentWriter(room.doc, 'till-1').append(ns.map((n) => JSON.stringify(ticketOpenedEvent('till-1', n))));
      relayedOf(room.doc).set('till-1', published);
    });
    return room;
  }

  it('[SRV10] a published mark above what the doc and the canonical store hold is taken up only as far as the store acknowledges', async () => {
    const index = createEventIndex({ publishEveryMs: 60_000, acknowledged: async () => ({ 'till-1': 2 }) });
    const room = roomWith([1, 2], 5); // 3..5 are neither in the doc nor acknowledged
    await index.hook.onLoad!(room);
    expect(index.relayed(room).get('till-1')).toBe(2);
    room.destroy();
  });

  it('[SRV10] a load never lowers a published mark: what is above the doc\'s events was compacted since, not acknowledged here (relay ingest off)', async () => {
    const index = createEventIndex({ publishEveryMs: 60_000, acknowledged: async () => ({}) });
    const room = roomWith([1, 2, 3], 5);
    await index.hook.onLoad!(room);
    expect(relayedOf(room.doc).get('till-1')).toBe(5);
    index.hook.onUnload!(room);
    room.destroy();
  });
});

describe('event head: id and origin without a full parse', () => {
  it('reads the envelope layout and the canonical layout alike, and refuses junk', () => {
    const e = ticketOpenedEvent('till-7', 42, { key: 'k' });
    const expected = { id: e.id, terminal: 'till-7', n: 42 };
    expect(eventHeadOf(JSON.stringify(e))).toEqual(expected);
    expect(eventHeadOf(canonicalEventJson(e))).toEqual(expected);
    expect(eventIdOf(JSON.stringify(e))).toBe(e.id);
    expect(eventIdOf(canonicalEventJson(e))).toBe(e.id);
    expect(eventHeadOf('not json')).toBeNull();
    expect(eventHeadOf('{"id":"x"}')).toEqual({ id: 'x', terminal: null, n: 0 });
    // A payload that mimics an origin after the real one does not fool the fast path.
    const tricky = JSON.stringify({ ...e, payload: { origin: { terminal: 'evil', n: 9 } } });
    expect(eventHeadOf(tricky)).toEqual(expected);
    // Escapes fall back to a real parse.
    expect(eventHeadOf(JSON.stringify({ ...e, origin: { terminal: 'a"b', n: 3 } }))).toEqual({ id: e.id, terminal: 'a"b', n: 3 });
    const doc = new Y.Doc();
    expect(relayedOf(doc).size).toBe(0);
  });
});
