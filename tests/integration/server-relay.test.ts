import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { configWith } from '../../server/config';
import type { RelayHook } from '../../server/relay/hooks';
import { encodeSyncStep1 } from '../../server/relay/messages';
import { Relay } from '../../server/relay/relay';
import { StoreHealth } from '../../server/store/store-health';
import { makeDataDir, removeDataDir, spawnServer, type ServerProcess } from '../helpers/server-process';
import { segmentsOf } from '../../shared/log/log-doc';
import { CloseReason } from '../../shared/protocol/close-reasons';
import { TEST_SECRET, connectSynced, eventIdsIn, mint, postEvents, serveRelay, ticketOpenedEvent, tokens, waitFor, type TestClient } from '../helpers/server-clients';

/**
 * The relay as terminals use it: real child process, real y-websocket providers.
 * Clients write plain Y.Map/Y.Array content here; the log layout is covered by the bridge tests.
 */
describe('relay: live sync and persistence across restarts', () => {
  let dataDir: string;
  let server: ServerProcess;
  const clients: TestClient[] = [];

  beforeAll(async () => {
    dataDir = makeDataDir();
    server = await spawnServer({ dataDir, secret: TEST_SECRET });
  });

  afterAll(async () => {
    for (const c of clients) c.destroy();
    await server.stop();
    removeDataDir(dataDir);
  });

  const join = async (terminal: string): Promise<TestClient> => {
    const c = await connectSynced(server.wsUrl, 'loc-a', await mint('loc-a', 'terminal', terminal));
    clients.push(c);
    return c;
  };

  it('[SRV1] two clients in one room converge live; a third joining later gets the full state', async () => {
    const a = await join('till-1');
    const b = await join('till-2');
    a.doc.getMap('notes').set('from-a', 'hello');
    b.doc.getArray<string>('list').push(['b1', 'b2']);
    await waitFor(() => b.doc.getMap('notes').get('from-a') === 'hello', 'b sees a');
    await waitFor(() => a.doc.getArray('list').length === 2, 'a sees b');
    // Concurrent edits to the same key converge to one value on both sides.
    a.doc.getMap('notes').set('same', 'a');
    b.doc.getMap('notes').set('same', 'b');
    await waitFor(
      () => a.doc.getMap('notes').get('same') === b.doc.getMap('notes').get('same'),
      'concurrent writes converge',
    );
    const c = await join('kitchen-1');
    expect(c.doc.getMap('notes').toJSON()).toEqual(a.doc.getMap('notes').toJSON());
    expect(c.doc.getArray('list').toArray()).toEqual(['b1', 'b2']);
    expect(Y.encodeStateVector(c.doc)).toEqual(Y.encodeStateVector(a.doc));
  });

  it('awareness shows which terminals are connected', async () => {
    const [a, b] = clients as [TestClient, TestClient];
    a.provider.awareness.setLocalStateField('terminal', 'till-1');
    await waitFor(
      () => [...b.provider.awareness.getStates().values()].some((s) => s.terminal === 'till-1'),
      'b sees a in awareness',
    );
  });

  it('[SRV1] after a graceful restart (SIGTERM) a new client gets everything', async () => {
    const expected = clients[0]!.doc.getMap('notes').toJSON();
    for (const c of clients.splice(0)) c.destroy();
    expect(await server.stop()).toBe(0);
    server = await spawnServer({ dataDir, secret: TEST_SECRET });
    const fresh = await join('till-3');
    expect(fresh.doc.getMap('notes').toJSON()).toEqual(expected);
    expect(fresh.doc.getArray('list').toArray()).toEqual(['b1', 'b2']);
  });

  it('a client that kept editing while the server was down delivers its edits after restart', async () => {
    const port = server.port;
    const a = await join('till-1');
    await server.stop();
    a.doc.getMap('notes').set('offline', 'written while the server was down');
    server = await spawnServer({ dataDir, secret: TEST_SECRET, port });
    // The provider reconnects by itself (server closed with a retriable code) and syncs.
    await waitFor(() => a.provider.synced, 'a reconnected', 15_000);
    const b = await join('till-2');
    await waitFor(() => b.doc.getMap('notes').get('offline') !== undefined, 'offline edit reached the server');
  });

  it('a token in a REST query string is not written to the logs', async () => {
    const secretish = 'eyJhbGciOiJIUzI1NiJ9.c2VjcmV0LWNsYWltcw.c2lnbmF0dXJl';
    await fetch(`${server.url}/api/events?token=${secretish}&limit=1`);
    await waitFor(() => server.logs.some((l) => JSON.stringify(l).includes('/api/events?token=')), 'the request logged');
    expect(JSON.stringify(server.logs)).not.toContain(secretish);
  });

  it('[SRV14] entries that hold no event (a number, a segment that is not an array) never stop a room: it reloads and keeps bridging', async () => {
    const a = await join('till-1');
    a.doc.transact(() => {
      const junk = new Y.Array<unknown>();
      junk.push([42, { not: 'json text' }]);
      segmentsOf(a.doc).set('till-1/77', junk as Y.Array<string>);
      segmentsOf(a.doc).set('till-1/78', 'not an array' as unknown as Y.Array<string>);
    });
    // A second client seeing the junk means the server has applied a's frame (a graceful stop
    // then commits it).
    const probe = await join('kitchen-1');
    await waitFor(() => segmentsOf(probe.doc).has('till-1/77') && segmentsOf(probe.doc).has('till-1/78'), 'the junk in the room');
    const restartedPort = server.port;
    for (const c of clients.splice(0)) c.destroy();
    await server.stop();
    server = await spawnServer({ dataDir, secret: TEST_SECRET, port: restartedPort });
    // Before, loading the room threw on the number and every connection was closed with internalError.
    const b = await join('till-2');
    expect(segmentsOf(b.doc).has('till-1/77')).toBe(true);
    const event = ticketOpenedEvent('back-office', 1);
    expect((await postEvents(server.url, await mint('loc-a', 'manager', 'manager-1'), [event])).body.results[0]!.status).toBe('accepted');
    await waitFor(() => eventIdsIn(b.doc).includes(event.id), 'the REST event bridged into the room');
  });
});

/** The relay in this process, to fail its hooks and see its rooms. */
describe('relay: how a connection ends', () => {
  let failUpdates = false;
  const failing: RelayHook = {
    name: 'failing',
    onUpdate() {
      if (failUpdates) throw new Error('store unwritable');
    },
  };
  const relay = new Relay({ tokens, limits: configWith({ relay: { roomIdleMs: 50 } }).relay, hooks: [failing], storeHealth: new StoreHealth(Date.now), log: { warn() {}, info() {}, error() {} } });
  let wsUrl: string;
  let close: () => Promise<void>;

  beforeAll(async () => {
    ({ wsUrl, close } = await serveRelay(relay));
  });

  afterAll(async () => {
    await relay.close();
    await close();
  });

  const closeCodeOf = (client: TestClient) =>
    new Promise<number>((resolve) => (client.provider.ws as unknown as { addEventListener(t: 'close', f: (e: { code: number }) => void): void }).addEventListener('close', (e) => resolve(e.code)));

  it('a room whose last connection went is unloaded once idle', async () => {
    const a = await connectSynced(wsUrl, 'loc-idle', await mint('loc-idle', 'terminal', 'till-1'));
    expect(relay.rooms.peek('loc-idle')).toBeDefined();
    a.destroy();
    await waitFor(() => relay.rooms.peek('loc-idle') === undefined, 'the room unloaded', 3_000);
  });

  it('[SRV37] a hook failing on an update closes its sender as the server\'s fault (retriable 4500), not as a malformed message (4422, terminal)', async () => {
    const a = await connectSynced(wsUrl, 'loc-hook', await mint('loc-hook', 'terminal', 'till-1'));
    const closed = closeCodeOf(a);
    failUpdates = true;
    try {
      a.doc.getArray('x').push(['sale']);
      expect(await closed).toBe(CloseReason.internalError.code);
    } finally {
      failUpdates = false;
      a.destroy();
    }
  });

  it('a text frame is closed 4422, and what follows it is not read', async () => {
    const ws = new WebSocket(`${wsUrl}/loc-text?token=${await mint('loc-text', 'terminal', 'till-1')}`);
    try {
      await new Promise((r) => ws.once('message', r)); // attached: the server's sync step 1
      const answer = new Promise<number | 'answered'>((resolve) => {
        ws.once('close', (code) => resolve(code));
        ws.once('message', () => resolve('answered'));
      });
      ws.send('hello');
      ws.send(encodeSyncStep1(new Y.Doc())); // read only if the text frame was not refused
      expect(await answer).toBe(CloseReason.malformedMessage.code);
    } finally {
      ws.terminate();
    }
  });
});
