import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import WebSocket from 'ws';
import * as Y from 'yjs';
import * as encoding from 'lib0/encoding';
import * as syncProtocol from 'y-protocols/sync';
import { UPLOAD_BACKOFF, RELAY_BACKOFF } from '../../client/sync/backoff';
import { CloseReason } from '../../shared/protocol/close-reasons';
import { CONNECT_TIMEOUT_MS, RelayConnection, STALE_CONNECT_MS } from '../../client/sync/relay-connection';
import { createServer, type Socket } from 'node:net';
import { startTestServer } from '../helpers/server-in-process';
import { startTcpProxy } from '../helpers/tcp-proxy';
import { ManualTimers } from '../helpers/manual-timers';
import { waitFor } from '../helpers/server-clients';
import { startTerminal } from '../helpers/terminals';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** The delays a seeded ManualTimers will draw, by the full-jitter rule. */
function expectedDelays(seed: number, policy: { baseMs: number; capMs: number }, failures: number): number[] {
  const rng = new ManualTimers(seed);
  return Array.from({ length: failures }, (_, k) => Math.floor(rng.random() * Math.min(policy.capMs, policy.baseMs * 2 ** k)));
}

/**
 * A server that stores only what is uploaded (relay ingest off: the relay must not deliver
 * for the uploads), and a proxy to it that refuses connections until told otherwise.
 */
async function serverBehindRefusingProxy() {
  const server = await startTestServer({ relayIngest: false });
  cleanups.push(() => server.dispose());
  const proxy = await startTcpProxy(server.port);
  cleanups.push(() => proxy.close());
  await proxy.refuse(true);
  return { server, proxy };
}

/** A relay stand-in on 127.0.0.1 that accepts every socket and closes it at once with `code`; closed after the test. */
async function serverClosingWith(code: number, reason = 'closed at once') {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((r) => wss.once('listening', r));
  let accepted = 0;
  wss.on('connection', (socket) => {
    accepted++;
    socket.close(code, reason);
  });
  cleanups.push(() => new Promise<void>((r) => wss.close(() => r())));
  return { port: (wss.address() as { port: number }).port, accepted: () => accepted };
}

/** A relay connection to a test server on 127.0.0.1:`port`, on these timers; destroyed after the test. */
function relayTo(port: number, room: string, timers: ManualTimers): RelayConnection {
  const relay = new RelayConnection({
    url: `ws://127.0.0.1:${port}/sync`,
    room,
    doc: new Y.Doc(),
    token: 'irrelevant',
    timers,
    WebSocketImpl: WebSocket as unknown as typeof globalThis.WebSocket,
    onChange: () => {},
  });
  cleanups.push(() => relay.destroy());
  return relay;
}

describe('Backoff', () => {
  it('[SYN6] upload attempts follow the capped, fully jittered curve and reset on success', async () => {
    const { server, proxy } = await serverBehindRefusingProxy();
    const timers = new ManualTimers(7);
    // The relay goes straight to the server; only uploads cross the refusing proxy.
    const t = await startTerminal({ location: 'backoff', terminal: 'till-1', apiBase: proxy.url, syncEndpoint: server.wsUrl, sync: { timers } });
    cleanups.push(() => t.close());
    // The relay syncing tells the manager the server is reachable (which resets the upload
    // backoff and starts an upload): let that happen, and that upload end, before the uploads
    // start failing, or the reset would come between the draws.
    await waitFor(() => t.sync.relayInStep && !t.sync.status.inFlight, 'relay in step, nothing in flight');
    await t.store.append('ticket.opened', { number: 'A-001' }, { aggregate: { id: 't1', type: 'ticket' } });
    timers.advance(1_000); // the upload shortly after a local write

    // Relay reconnects draw from the same seeded random only if the relay fails; it does not here.
    const delays: number[] = [];
    for (let failure = 1; failure <= 9; failure++) {
      await waitFor(() => t.sync.status.attempt === failure && t.sync.status.nextAttemptAt !== null, `failure ${failure}`);
      delays.push(t.sync.status.nextAttemptAt! - timers.now());
      timers.advance(t.sync.status.nextAttemptAt! - timers.now());
    }
    const bounds = delays.map((_, k) => Math.min(UPLOAD_BACKOFF.capMs, UPLOAD_BACKOFF.baseMs * 2 ** k));
    delays.forEach((d, k) => expect(d).toBeLessThan(bounds[k]!));
    expect(bounds.at(-1)).toBe(UPLOAD_BACKOFF.capMs); // the cap is reached within 9 failures
    expect(delays).toEqual(expectedDelays(7, UPLOAD_BACKOFF, 9));

    await proxy.refuse(false);
    await t.sync.syncNow();
    expect(t.sync.status.attempt).toBe(0);
    expect(t.sync.status.owed).toBe(0);

    // After the success, the next failure starts from the base again. The server goes down:
    // its kept-alive connections with it (Sync now's requests left one open).
    await proxy.refuse(true);
    proxy.cut();
    await t.store.append('ticket.note_set', { note: 'window' }, { aggregate: { id: 't1', type: 'ticket' } });
    await t.sync.syncNow();
    expect(t.sync.status.attempt).toBe(1);
    expect(t.sync.status.nextAttemptAt! - timers.now()).toBeLessThan(UPLOAD_BACKOFF.baseMs);
  });

  it('[SYN11] an upload the server stored cuts the relay\'s backoff wait short', async () => {
    const { server, proxy: relayPath } = await serverBehindRefusingProxy();
    // Manual timers: a backoff wait never ends by itself here.
    const timers = new ManualTimers(11);
    const t = await startTerminal({ location: 'cut-short', terminal: 'till-1', apiBase: server.url, syncEndpoint: relayPath.wsUrl, sync: { timers } });
    cleanups.push(() => t.close());
    const relay = (t.sync as unknown as { relay: RelayConnection }).relay;
    await waitFor(() => relay.attempt >= 1 && relay.nextAttemptAt !== null, 'the relay waiting out its backoff');
    await relayPath.refuse(false);
    await t.store.append('ticket.opened', { number: 'A-001' }, { aggregate: { id: 't1', type: 'ticket' } });
    await waitFor(() => t.sync.status.owed === 0, 'the upload stored');
    await waitFor(() => t.sync.status.relay === 'connected', 'the relay back without its wait');
    expect(relay.attempt).toBeGreaterThanOrEqual(1); // not a reset: a failing relay keeps backing off
  });

  it('[SYN9] a server that accepts and at once closes the socket keeps being backed off (no reset) until Sync now starts the backoff over', async () => {
    const server = await serverClosingWith(1011);
    const timers = new ManualTimers(3);
    const relay = relayTo(server.port, 'loop', timers);
    relay.start();
    const delays: number[] = [];
    for (let k = 1; k <= 6; k++) {
      await waitFor(() => relay.attempt === k && relay.nextAttemptAt !== null, `close ${k}`);
      delays.push(relay.nextAttemptAt! - timers.now());
      timers.advance(relay.nextAttemptAt! - timers.now());
    }
    expect(server.accepted()).toBe(6);
    expect(delays).toEqual(expectedDelays(3, RELAY_BACKOFF, 6));
    // Ceilings doubled every time: 500, 1000, …, 16000 ms.
    expect(relay.attempt).toBe(6);
    await waitFor(() => relay.attempt === 7 && relay.nextAttemptAt !== null, 'close 7');
    relay.reconnectNow();
    await waitFor(() => server.accepted() === 8 && relay.attempt > 0, 'closed again after Sync now');
    expect(relay.attempt).toBe(1);
  });

  it('[SRV37] a room that could not store closes its senders with internalError (4500): retried, not refused', async () => {
    const server = await serverClosingWith(CloseReason.internalError.code, CloseReason.internalError.reason);
    const relay = relayTo(server.port, 'retried', new ManualTimers(3));
    relay.start();
    await waitFor(() => relay.nextAttemptAt !== null || relay.refusedFor !== null, 'closed');
    expect([relay.refusedFor, relay.attempt]).toEqual([null, 1]);
  });

  it('[APP17] a relay refused for good reads disconnected with its reason ("unknown" for a final code this build does not know); an upload stored meanwhile does not reconnect it', async () => {
    for (const [code, reason] of [[CloseReason.tokenRevoked.code, 'tokenRevoked'], [4499, 'unknown']] as const) {
      const server = await serverClosingWith(code);
      const relay = relayTo(server.port, 'refused', new ManualTimers(3));
      relay.start();
      await waitFor(() => relay.refusedFor !== null, `refused with ${code}`);
      expect([relay.refusedFor, relay.state]).toEqual([reason, 'disconnected']);
      relay.serverAnswered(); // SYN11 cuts a backoff wait short: a refusal has none
      await new Promise((r) => setTimeout(r, 50));
      expect([server.accepted(), relay.refusedFor]).toEqual([1, reason]);
    }
  });

  it('[SYN15] a token renewed while paused after a refusal (tokenExpired) connects nothing until start(); renewed while wanted, it reconnects', async () => {
    const server = await serverClosingWith(CloseReason.tokenExpired.code, CloseReason.tokenExpired.reason);
    const relay = relayTo(server.port, 'renewed', new ManualTimers(15));
    relay.start();
    await waitFor(() => relay.refusedFor === 'tokenExpired', 'refused for an expired token');
    relay.pause(); // the browser went offline
    relay.renewToken('header.payload.renewed');
    await new Promise((r) => setTimeout(r, 50));
    // Before, the renewal reconnected during the outage.
    expect([server.accepted(), relay.state]).toEqual([1, 'disconnected']);
    relay.start(); // back online: with the new token
    await waitFor(() => server.accepted() === 2 && relay.refusedFor === 'tokenExpired', 'connected again once back online');
    relay.renewToken('header.payload.renewed-again'); // online: a renewal after a refusal reconnects
    await waitFor(() => server.accepted() === 3, 'reconnected with the renewed token');
  });

  it('[SYN9] a socket whose opening handshake is never answered (lost on a path that black-holed) is given up after CONNECT_TIMEOUT_MS (twice that the next time), or at once by Sync now once stale, and backed off: it never stays connecting', async () => {
    // Accepts TCP and never answers the upgrade: the socket stays connecting.
    const sockets: Socket[] = [];
    const silent = createServer((socket) => void sockets.push(socket));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => {
      for (const socket of sockets) socket.destroy();
      silent.close(() => r());
    }));
    const port = (silent.address() as { port: number }).port;
    const timers = new ManualTimers(3);
    const relay = relayTo(port, 'silent', timers);
    relay.start();
    await waitFor(() => sockets.length === 1, 'the socket reached the server');
    expect(relay.state).toBe('connecting');
    // Before, nothing ever closed it: no backoff, no next attempt, and Sync now returned early.
    timers.advance(CONNECT_TIMEOUT_MS);
    await waitFor(() => relay.attempt === 1 && relay.nextAttemptAt !== null, 'given up and backed off');
    timers.advance(relay.nextAttemptAt! - timers.now());
    await waitFor(() => sockets.length === 2, 'the next try reached the server');
    // The next try waits twice as long (a slow link's handshake still gets through)...
    timers.advance(CONNECT_TIMEOUT_MS);
    await new Promise((r) => setTimeout(r, 50));
    expect([relay.state, relay.nextAttemptAt]).toEqual(['connecting', null]);
    // ...unless staff press Sync now, the socket connecting for a while already: given up at once.
    expect(CONNECT_TIMEOUT_MS).toBeGreaterThanOrEqual(STALE_CONNECT_MS);
    relay.reconnectNow();
    await waitFor(() => relay.nextAttemptAt !== null, 'given up by Sync now');
  });

  it('[SYN21] a relay that accepts the socket but never answers the sync reads "syncing", not "connected"; its answer makes it connected', async () => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise((r) => wss.once('listening', r));
    const sockets: WebSocket[] = [];
    let received = 0;
    wss.on('connection', (socket) => {
      sockets.push(socket);
      socket.on('message', () => (received += 1));
    });
    cleanups.push(() => new Promise<void>((r) => wss.close(() => r())));
    const port = (wss.address() as { port: number }).port;
    const relay = relayTo(port, 'mute', new ManualTimers(3));
    relay.start();
    // Its sync step 1 arrived: the socket is open and the server silent.
    await waitFor(() => received >= 1, 'the client asked to sync');
    expect(relay.state).toBe('syncing');
    // The server answers with its state (sync step 2 of an empty doc): in step.
    const answer = encoding.createEncoder();
    encoding.writeVarUint(answer, 0); // messageSync
    syncProtocol.writeSyncStep2(answer, new Y.Doc());
    sockets[0]!.send(encoding.toUint8Array(answer));
    await waitFor(() => relay.state === 'connected', 'connected once answered');
  });

  it('[SYN12] a stopped terminal sends nothing more: an upload in flight when it stopped schedules no retry', async () => {
    const { server, proxy: relayPath } = await serverBehindRefusingProxy();
    const timers = new ManualTimers(12);
    let posts = 0;
    let answer: (r: Response) => void = () => {};
    const t = await startTerminal({
      location: 'stopped',
      terminal: 'till-1',
      apiBase: server.url,
      // The relay is refused: the local write is uploaded at once, not after the relay's grace.
      syncEndpoint: relayPath.wsUrl,
      sync: {
        timers,
        fetch: (input, init) => {
          if (init?.method !== 'POST') return globalThis.fetch(input, init);
          posts++;
          return new Promise<Response>((r) => (answer = r));
        },
      },
    });
    await t.store.append('ticket.opened', { number: 'A-001' }, { aggregate: { id: 't1', type: 'ticket' } });
    await waitFor(() => posts === 1, 'the upload in flight');
    t.close(); // e.g. the device unpaired
    answer(new Response('busy', { status: 503 }));
    await waitFor(() => !t.sync.status.inFlight, 'the answer handled');
    timers.advance(3_600_000);
    await new Promise((r) => setTimeout(r, 50));
    expect(posts).toBe(1);
    expect(timers.nextDue()).toBeNull();
  });
});
