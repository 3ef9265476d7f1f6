import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { z } from 'zod';
import { ticketCommands } from '../../bench/workload';
import { makeDataDir, removeDataDir, spawnServer, type ServerProcess } from '../helpers/server-process';
import { TEST_SECRET, mint, postEvents, ticketOpenedEvent, waitFor, waitForAsync } from '../helpers/server-clients';
import { acksOf } from '../../shared/log/log-doc';
import { chooseWriter } from '../../client/app/pairing';
import { APPEND_DEBOUNCE_MS, RELAY_DELIVERY_GRACE_MS } from '../../client/sync/sync-manager';
import { describeSync, openTerminal, serverEvents, startTerminal, type TestTerminal } from '../helpers/terminals';
import { testScope } from '../helpers/test-scope';
import { PROTOCOL_HEADER, PROTOCOL_VERSION } from '../../shared/protocol/protocol-version';
import { ManualTimers, TabletClock } from '../helpers/manual-timers';
import { CURRENT_VERSIONS } from '../../shared/events/catalog';
import { arriveFrom, updatableServer, withNextVersion, writeAsOtherBuild } from '../helpers/other-builds';
import { SERVER_UPDATE_BACKOFF } from '../../client/sync/backoff';

const { defer, inProcess, proxyTo, terminal } = testScope();

async function writeTickets(t: TestTerminal, count: number, prefix: string): Promise<void> {
  for (const c of ticketCommands(count, 5, prefix)) {
    await t.store.append(c.type, c.payload, { aggregate: c.aggregate, ...(c.key ? { key: c.key } : {}) });
  }
}

function expectExactlyOnce(stored: { id: string; origin: { terminal: string; n: number } }[], count: number): void {
  expect(stored).toHaveLength(count);
  expect(new Set(stored.map((e) => e.id)).size).toBe(count);
}


/**
 * till-1 reaches only the relay (its uploads go into a black hole); till-2 uploads others'
 * events after 300 ms of grace. With `relayIngest: false` the server does not store what it
 * relays, as when it relayed events and crashed before storing them.
 */
async function relayOnlyWriter(location: string, options: { relayIngest?: boolean; otherWritersGraceMs?: number } = {}) {
  const server = await inProcess({ relayIngest: options.relayIngest });
  const blackhole = await proxyTo(server.port);
  blackhole.setMode('blackhole');
  const started = await startTerminal({ location, terminal: 'till-1', apiBase: blackhole.url, syncEndpoint: server.wsUrl, sync: { uploadTimeoutMs: 500 } });
  // A test may close a itself (its death is the point); otherwise it is closed after the test.
  let closed = false;
  const a: TestTerminal = {
    ...started,
    close() {
      if (closed) return;
      closed = true;
      started.close();
    },
  };
  defer(() => a.close());
  const b = await terminal({ location, terminal: 'till-2', apiBase: server.url, syncEndpoint: server.wsUrl, otherWritersGraceMs: options.otherWritersGraceMs ?? 300 });
  return { server, a, b };
}

/** waitFor, moving `clock`'s timers on by the real time that passed at each look. */
function waitTicking(clock: TabletClock, check: () => boolean, label: string, timeoutMs?: number, state?: () => string): Promise<void> {
  let last = performance.now();
  return waitFor(() => {
    const now = performance.now();
    clock.fire(now - last);
    last = now;
    return check();
  }, label, timeoutMs, state);
}

/** Counts this terminal's POSTs; `failNext` answers that many with a proxy's HTML 400. */
/** Counts POSTs; the next `count` are answered `status` by a proxy in front of the server (HTML, not our JSON). */
function countingFetch(status = 400): { fetch: typeof fetch; posts: () => number; failNext: (count: number) => void } {
  let posts = 0;
  let failing = 0;
  return {
    posts: () => posts,
    failNext: (count) => (failing = count),
    fetch: (input, init) => {
      if (init?.method !== 'POST') return globalThis.fetch(input, init);
      posts++;
      if (failing > 0) {
        failing--;
        return Promise.resolve(new Response(`<html>${status} from the proxy</html>`, { status }));
      }
      return globalThis.fetch(input, init);
    },
  };
}

/** A relay URL whose socket stays connecting (a black hole): neither its sync nor its failure triggers an upload. */
async function silentRelay(port: number): Promise<string> {
  const path = await proxyTo(port);
  path.setMode('blackhole');
  return path.wsUrl;
}

/** A ticket another till opened, arriving in `t`'s log (as the relay brings it), stamped by the wall clock. */
function otherTillOpens(t: TestTerminal): void {
  arriveFrom(t, { terminal: 'till-9', n: 1, at: Date.now() }, { type: 'ticket.opened', v: 1, aggregate: { id: 'ticket-9', type: 'ticket' }, payload: { number: 'Z-001' } });
}

/**
 * A till (REST only, on `timers`) of a server from before storedAbove, scripted (GET too): it stores
 * what it is posted and names only its contiguous watermark. The till's n 2 was never written
 * (reserved by a build that crashed): its 3, above a gap its watermark never passes, goes with 1,
 * answered accepted.
 */
async function answeredAboveAGap(location: string, timers: ManualTimers) {
  const stored = new Set<number>();
  const posted: number[][] = [];
  const watermarks = () => {
    let n = 0;
    while (stored.has(n + 1)) n++;
    return n === 0 ? {} : { 'till-1': n };
  };
  const fetch: typeof globalThis.fetch = async (_input, init) => {
    if (init?.method !== 'POST') return Response.json({ watermarks: watermarks(), writers: stored.size === 0 ? [] : ['till-1'], serverTime: Date.now() });
    const { events } = JSON.parse(String(init.body)) as { events: { id: string; origin: { n: number } }[] };
    posted.push(events.map((e) => e.origin.n));
    for (const e of events) stored.add(e.origin.n);
    return Response.json({ results: events.map((e) => ({ id: e.id, status: 'accepted' })), watermarks: watermarks(), serverTime: Date.now() });
  };
  const t = await terminal({ location, terminal: 'till-1', apiBase: 'http://127.0.0.1:1', syncEndpoint: 'ws://127.0.0.1:1/sync', sync: { timers, fetch } });
  const ticket = { id: 'ticket-1', type: 'ticket' };
  await t.store.append('ticket.opened', { number: 'A-001' }, { aggregate: ticket });
  writeAsOtherBuild(t, 3, { type: 'ticket.note_set', v: 1, aggregate: ticket, payload: { note: 'above the gap' } });
  await t.sync.syncNow();
  expect(posted).toEqual([[1, 3]]);
  expect(t.sync.status.owed).toBe(0);
  return { t, stored, posted, ticket };
}

/**
 * A till (relay ingest off: uploads only) writes `count` events (ticket numbers `prefix`-…) behind a proxy answering the next
 * `refusals` POSTs with `status` (its HTML page); staff press "Sync now" through its bad minute
 * (each press skips the backoff wait) until nothing is owed.
 */
async function deliveredThroughRefusals(status: number, refusals: number, location: string, count: number, prefix: string) {
  const server = await inProcess({ relayIngest: false });
  const posts = countingFetch(status);
  const t = await terminal({ location, terminal: 'till-1', apiBase: server.url, syncEndpoint: server.wsUrl, sync: { fetch: posts.fetch } });
  posts.failNext(refusals);
  await writeTickets(t, count, prefix);
  await waitForAsync(async () => {
    await t.sync.syncNow();
    return t.sync.status.owed === 0;
  }, `everything delivered after the ${status}s`);
  return { server, t };
}

describe('Delivery through faults', () => {
  it('[SYN3] server kill -9 in the middle of uploading, restarted: nothing lost, nothing doubled', async () => {
    const dataDir = makeDataDir();
    defer(() => removeDataDir(dataDir));
    let server: ServerProcess = await spawnServer({ dataDir, secret: TEST_SECRET });
    defer(() => server.kill9());
    const proxy = await proxyTo(server.port);
    await proxy.refuse(true);
    const t = await terminal({ location: 'crash', terminal: 'till-1', apiBase: proxy.url, syncEndpoint: proxy.wsUrl });
    await writeTickets(t, 3000, 'K');
    // A slow link, so batches are in flight when the server dies.
    proxy.setLatency(100);
    await proxy.refuse(false);
    void t.sync.syncNow();
    await waitFor(() => t.sync.status.metrics.successes >= 1 && t.sync.status.inFlight, 'a batch stored and the next in flight');
    await server.kill9();
    proxy.cut();
    proxy.setLatency(0);

    server = await spawnServer({ dataDir, secret: TEST_SECRET });
    proxy.retarget(server.port);
    await waitForAsync(async () => {
      await t.sync.syncNow();
      return t.sync.status.owed === 0;
    }, 'outbox drained after restart', 30_000);
    expectExactlyOnce(await serverEvents(server.url, 'crash'), 3000);
  });

  it('[SYN4] answers lost after the server committed: the retry is acknowledged as duplicate, nothing doubled', async () => {
    // Uploads only: the relay must not deliver these events for them (relay ingest off).
    const server = await inProcess({ relayIngest: false });
    const proxy = await proxyTo(server.port);
    const t = await terminal({ location: 'lost', terminal: 'till-1', apiBase: proxy.url, syncEndpoint: server.wsUrl, sync: { uploadTimeoutMs: 1000 } });
    await waitFor(() => t.sync.status.relay === 'connected', 'relay up');
    proxy.setMode('drop-responses');
    await writeTickets(t, 100, 'L');
    await t.sync.syncNow();
    expect(t.sync.status.metrics.failuresByCause.timeout).toBeGreaterThanOrEqual(1);
    // The server did commit the batch whose answer was lost.
    await waitForAsync(async () => (await serverEvents(server.url, 'lost')).length === 100, 'server committed');
    proxy.setMode('pass');
    await t.sync.syncNow();
    expect(t.sync.status.owed).toBe(0);
    expectExactlyOnce(await serverEvents(server.url, 'lost'), 100);
  });

  it('[SYN5] a terminal that reaches only the relay delivers all the same: the server stores what it relays, and acknowledges it', async () => {
    const { server, a } = await relayOnlyWriter('relay-ingest');
    await writeTickets(a, 50, 'I');
    await waitFor(() => a.sync.status.owed === 0, 'a owes nothing', 20_000);
    expectExactlyOnce(await serverEvents(server.url, 'relay-ingest'), 50);
    expect(a.sync.status.metrics.successes).toBe(0); // not one upload was answered
  });

  it('[SYN1] with the relay in step, sales are acknowledged through it: not one is posted', async () => {
    const server = await inProcess();
    const posts = countingFetch();
    // The sync core's timers fire only when the test says: the grace ends before the count, however late a real timer would be.
    const timers = new ManualTimers(1);
    const t = await terminal({ location: 'no-posts', terminal: 'till-1', apiBase: server.url, syncEndpoint: server.wsUrl, sync: { fetch: posts.fetch, timers } });
    await waitFor(() => t.sync.relayInStep && t.sync.status.clockOffsetMs !== null && !t.sync.status.inFlight, 'the relay in step, the start-up probe answered');
    const before = posts.posts();
    await writeTickets(t, 20, 'P');
    await waitFor(() => t.sync.status.owed === 0, 'acknowledged');
    // The grace ends: an upload of what is still owed would go now. None does.
    timers.advance(RELAY_DELIVERY_GRACE_MS);
    await new Promise((r) => setImmediate(r)); // an upload the grace started has published its status
    await waitFor(() => !t.sync.status.inFlight, 'nothing in flight');
    expect(posts.posts() - before).toBe(0);
    expectExactlyOnce(await serverEvents(server.url, 'no-posts'), 20);
  });

  it('[SYN8] events written while the clock probe is out are uploaded when it returns, not at the next 30 s tick', async () => {
    const server = await inProcess({ relayIngest: false }); // only an upload delivers them
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    let probeOut = false;
    // The sync core's timers fire only when the test says: the relay grace ends while the probe is held.
    const timers = new ManualTimers(8);
    const t = await terminal({
      location: 'probe-out',
      terminal: 'till-1',
      apiBase: server.url,
      syncEndpoint: server.wsUrl,
      // The start-up probe (nothing owed yet) is held until the test lets it through.
      sync: {
        timers,
        fetch: async (input, init) => {
          if (String(input).endsWith('/api/watermarks')) {
            probeOut = true;
            await gate;
          }
          return globalThis.fetch(input, init);
        },
      },
    });
    await waitFor(() => t.sync.relayInStep && probeOut && t.sync.status.inFlight, 'the relay in step, the start-up probe out');
    await writeTickets(t, 3, 'W');
    // The relay grace ends: its trigger finds the probe in flight. Then the probe returns.
    timers.advance(RELAY_DELIVERY_GRACE_MS);
    release();
    await waitForAsync(async () => (await serverEvents(server.url, 'probe-out')).length === 3, 'uploaded once the probe returned', 10_000);
  });

  it('[SYN25][SYN20] a backlog above one batch drains at once when an answer is checked against newer room acks: the next batch\'s retry, due while the check is out, is not lost', async () => {
    const server = await inProcess({ relayIngest: false }); // only uploads deliver till-1's events
    const location = 'retry-in-check';
    // The sync core's timers fire only when the test says, and no time passes: the 30 s tick never comes.
    const timers = new ManualTimers(9);
    let posts = 0;
    let checks = 0;
    let doc: import('yjs').Doc | null = null;
    const fetchImpl: typeof fetch = async (input, init) => {
      if (init?.method !== 'POST') {
        // The first answer's check (a GET, SYN20): the next batch's 0 ms retry comes due while it is out.
        if (posts > 0) {
          checks++;
          timers.advance(0);
        }
        return globalThis.fetch(input, init);
      }
      const res = await globalThis.fetch(input, init);
      if (++posts > 1) return res;
      // The first answer is on its way; meanwhile another till's sale is stored and the room acks it: the answer lacks that ack.
      const text = await res.text();
      await postEvents(server.url, await mint(location, 'terminal', 'till-2'), [ticketOpenedEvent('till-2', 1)]);
      await waitFor(() => acksOf(doc!).get('till-2') === 1, 'the room ack of till-2 reached till-1');
      return new Response(text, { status: res.status, headers: res.headers });
    };
    const deferred = await openTerminal({ location, terminal: 'till-1', apiBase: server.url, syncEndpoint: server.wsUrl, sync: { timers, fetch: fetchImpl } });
    doc = deferred.store.doc;
    for (const c of ticketCommands(300, 7, 'B')) await deferred.store.append(c.type, c.payload, { aggregate: c.aggregate, ...(c.key ? { key: c.key } : {}) });
    const t = deferred.startSync();
    defer(() => t.close());
    // Only 0 ms timers fire (the retries for the next batch): nothing else would send the rest.
    await waitFor(
      () => {
        timers.advance(0);
        return t.sync.status.owed === 0;
      },
      'the backlog drained with no tick',
      15_000,
      () => `owed=${t.sync.status.owed} posts=${posts} checks=${checks} inFlight=${t.sync.status.inFlight}`,
    );
    expect(checks).toBeGreaterThan(0);
    expect(posts).toBeGreaterThan(1);
  });

  it('[SRV15][SYN20] the room saying the server forgot (an ack written lower) sends what it lacks at once, not at the next tick', async () => {
    const server = await inProcess();
    let posts = 0;
    const countPosts: typeof fetch = (input, init) => {
      if (init?.method === 'POST') posts++;
      return globalThis.fetch(input, init);
    };
    // The sync core's timers fire only when the test says: none is advanced, so only the room's word can send it.
    const timers = new ManualTimers(10);
    const t = await terminal({ location: 'room-forgot', terminal: 'till-1', apiBase: server.url, syncEndpoint: 'ws://127.0.0.1:1/sync', sync: { timers, fetch: countPosts } });
    await waitFor(() => !t.sync.status.inFlight, 'start-up probe answered');
    await t.store.append('ticket.opened', { number: 'A-001' }, { aggregate: { id: 't1', type: 'ticket' } });
    await waitFor(() => posts === 1 && t.sync.status.owed === 0 && !t.sync.status.inFlight, 'uploaded and answered');
    // What the relay would bring: the room acks the sale, then its guard writes the restored server's truth, lower.
    const acks = acksOf(t.store.doc);
    acks.set('till-1', 1);
    acks.delete('till-1');
    await waitFor(() => posts === 2 && !t.sync.status.inFlight, 'the sale the server lost uploaded again');
  });

  it('[SYN6] automatic triggers wait out an upload\'s backoff: neither the room saying the server forgot nor a sale written posts before the retry', async () => {
    const server = await inProcess();
    let posts = 0;
    const postsFail: typeof fetch = (input, init) => {
      if (init?.method !== 'POST') return globalThis.fetch(input, init);
      posts++;
      return Promise.reject(new TypeError('fetch failed'));
    };
    const timers = new ManualTimers(11);
    timers.random = () => 0.99; // the first backoff is 990 ms
    const t = await terminal({ location: 'backoff-holds', terminal: 'till-1', apiBase: server.url, syncEndpoint: 'ws://127.0.0.1:1/sync', sync: { timers, fetch: postsFail } });
    await waitFor(() => !t.sync.status.inFlight, 'start-up probe answered');
    await t.store.append('ticket.opened', { number: 'A-001' }, { aggregate: { id: 't1', type: 'ticket' } });
    await waitFor(() => posts === 1 && !t.sync.status.inFlight && t.sync.status.nextAttemptAt !== null, 'the upload failed: a backoff');
    const acks = acksOf(t.store.doc);
    acks.set('till-2', 1);
    acks.delete('till-2'); // another writer's ack written lower: a trigger
    await new Promise((r) => setImmediate(r)); // an upload it started has published its status
    await waitFor(() => !t.sync.status.inFlight, 'nothing in flight');
    expect(posts).toBe(1);
    const retryAt = t.sync.status.nextAttemptAt;
    await t.store.append('ticket.opened', { number: 'A-002' }, { aggregate: { id: 't2', type: 'ticket' } });
    await new Promise((r) => setTimeout(r, 100)); // an upload the write started has published its status
    await waitFor(() => !t.sync.status.inFlight, 'nothing in flight');
    expect(posts).toBe(1);
    expect(t.sync.status.nextAttemptAt).toBe(retryAt);
    timers.advance(retryAt! - timers.now());
    await waitFor(() => posts === 2, 'the retry when the backoff ends');
  });

  it('[SYN25] a sale written while an upload is out waits out the backoff that upload\'s failure sets: it does not follow it at once', async () => {
    const server = await inProcess();
    let posts = 0;
    let answerFirst: () => void = () => {};
    const firstHeld = new Promise<void>((r) => (answerFirst = r));
    const postsFail: typeof fetch = async (input, init) => {
      if (init?.method !== 'POST') return globalThis.fetch(input, init);
      if (++posts === 1) await firstHeld;
      throw new TypeError('fetch failed');
    };
    const timers = new ManualTimers(12);
    timers.random = () => 0.99; // the first backoff is 990 ms
    const t = await terminal({ location: 'write-in-flight', terminal: 'till-1', apiBase: server.url, syncEndpoint: 'ws://127.0.0.1:1/sync', sync: { timers, fetch: postsFail } });
    await waitFor(() => !t.sync.status.inFlight, 'start-up probe answered');
    await t.store.append('ticket.opened', { number: 'A-001' }, { aggregate: { id: 't1', type: 'ticket' } });
    await waitFor(() => posts === 1, 'the first upload out');
    await t.store.append('ticket.opened', { number: 'A-002' }, { aggregate: { id: 't2', type: 'ticket' } });
    timers.advance(APPEND_DEBOUNCE_MS); // the write's trigger finds the upload out
    answerFirst();
    await waitFor(() => !t.sync.status.inFlight && t.sync.status.nextAttemptAt !== null, 'the upload failed: a backoff');
    await new Promise((r) => setImmediate(r)); // an upload following it has published its status
    await waitFor(() => !t.sync.status.inFlight, 'nothing in flight');
    expect(posts).toBe(1);
  });

  it('[SYN5] a terminal whose events reached only the relay, not the server\'s store, then died: another terminal uploads them', async () => {
    // b's grace outlasts a's writing, even on a loaded machine: until a dies, only the relay holds the events.
    const { server, a, b } = await relayOnlyWriter('relay-only', { relayIngest: false, otherWritersGraceMs: 3000 });
    await writeTickets(a, 50, 'R');
    await waitFor(() => b.store.projection.size === 50, 'the relay carried them to b');
    expect(await serverEvents(server.url, 'relay-only')).toHaveLength(0);
    a.close(); // destroyed: its outbox is gone with it
    await waitForAsync(async () => (await serverEvents(server.url, 'relay-only')).length === 50, 'b uploaded a\'s events', 20_000);
    const stored = await serverEvents(server.url, 'relay-only');
    expectExactlyOnce(stored, 50);
    expect(new Set(stored.map((e) => e.origin.terminal))).toEqual(new Set(['till-1']));
    await waitFor(() => b.sync.status.owed === 0, 'b sees them acknowledged');
  });

  it('[SYN7] a slow link (2 s added each way) still completes, with stretched timeouts', async () => {
    // Uploads only: the relay must not deliver these events for them (relay ingest off).
    const server = await inProcess({ relayIngest: false });
    const proxy = await proxyTo(server.port);
    proxy.setLatency(2000);
    const t = await terminal({ location: 'slow', terminal: 'till-1', apiBase: proxy.url, syncEndpoint: server.wsUrl, sync: { uploadTimeoutMs: 1500 } });
    await writeTickets(t, 40, 'S');
    await waitForAsync(async () => {
      await t.sync.syncNow();
      return t.sync.status.owed === 0;
    }, 'uploaded over the slow link', 60_000);
    expect(t.sync.status.metrics.failuresByCause.timeout).toBeGreaterThanOrEqual(1);
    expect(t.sync.status.connection.name).toMatch(/slow|intermittent/);
    expectExactlyOnce(await serverEvents(server.url, 'slow'), 40);
  });

  it('[SYN7] an answered upload brings a stretched timeout back to normal', async () => {
    const server = await inProcess({ relayIngest: false });
    let hang = false;
    let posts = 0;
    const fetchImpl: typeof fetch = (input, init) => {
      if (init?.method !== 'POST') return globalThis.fetch(input, init);
      posts++;
      if (!hang) return globalThis.fetch(input, init);
      return new Promise((_resolve, reject) => init!.signal!.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError'))));
    };
    const timers = new ManualTimers(49);
    timers.random = () => 0.99;
    const t = await terminal({ location: 'timeouts-reset', terminal: 'till-1', apiBase: server.url, syncEndpoint: 'ws://127.0.0.1:1/sync', sync: { timers, fetch: fetchImpl, uploadTimeoutMs: 1_000 } });
    await waitFor(() => !t.sync.status.inFlight && t.sync.status.clockOffsetMs !== null, 'start-up probe answered');
    const timedOut = () => t.sync.status.metrics.failuresByCause.timeout ?? 0;
    const hangingUpload = async (number: string, id: string) => {
      hang = true;
      const before = posts;
      await t.store.append('ticket.opened', { number }, { aggregate: { id, type: 'ticket' } });
      await waitFor(() => posts === before + 1, 'the upload out');
      timers.advance(1_000);
    };
    await hangingUpload('A-001', 't1');
    await waitFor(() => timedOut() === 1 && !t.sync.status.inFlight, 'timed out after 1 s');
    hang = false;
    timers.advance(t.sync.status.nextAttemptAt! - timers.now());
    await waitFor(() => posts === 2 && t.sync.status.owed === 0 && !t.sync.status.inFlight, 'the retry stored');
    await hangingUpload('A-002', 't2');
    // Normal again: 1 s, not the doubled 2 s.
    await waitFor(() => timedOut() === 2 && !t.sync.status.inFlight, 'timed out after 1 s again', 2_000);
  });
});

describe('Refusals never stall delivery', () => {
  it('[OUT8] an event the server refuses holds back none after it: they are acknowledged, and uploads stop', async () => {
    const server = await inProcess();
    const aPosts = countingFetch();
    const bPosts = countingFetch();
    // Both syncs' timers fire only when the test says: moved on with real time while it waits
    // (waitTicking), then on their own at the end, to show no upload is left to go.
    const clock = new TabletClock();
    // a's refused event is written as another release's, not appended: a owes it after the grace for events it did not write (300 ms here).
    const a = await terminal({ location: 'refused', terminal: 'till-1', apiBase: server.url, syncEndpoint: server.wsUrl, otherWritersGraceMs: 300, sync: { fetch: aPosts.fetch, timers: clock } });
    const b = await terminal({ location: 'refused', terminal: 'till-2', apiBase: server.url, syncEndpoint: server.wsUrl, otherWritersGraceMs: 300, sync: { fetch: bPosts.fetch, timers: clock } });
    const ticket = { id: 'ticket-1', type: 'ticket' };
    await a.store.append('ticket.opened', { number: 'A-001' }, { aggregate: ticket });
    await waitTicking(clock, () => a.sync.status.owed === 0, 'the first event acknowledged');
    // What a faulty release writes: a payload its schema refuses. (One of a version newer than the
    // server knows is not the event's fault: it waits for the server's update, OUT14.)
    writeAsOtherBuild(a, 2, { type: 'ticket.note_set', v: 1, aggregate: ticket, payload: { note: 42 } });
    for (let i = 0; i < 5; i++) await a.store.append('ticket.note_set', { note: `note ${i}` }, { aggregate: ticket });

    // b owes a's events once it holds them: settled means after they all arrived.
    await waitTicking(clock, () => b.store.eventsByWriter().get('till-1')?.length === 7, 'b holds all of a\'s events');
    // It settles in about a second. One CI run timed out here after 10 s (not reproduced): the
    // state is printed at 10 s, and the wait goes on past one upload timeout (a hung request).
    const state = () => [describeSync('a', a), describeSync('b', b)].join('\n');
    const slow = setTimeout(() => console.warn(`OUT8: still owed after 10 s\n${state()}`), 10_000);
    try {
      await waitTicking(clock, () => a.sync.status.owed === 0 && b.sync.status.owed === 0, 'nothing owed on either terminal', 30_000, state);
    } finally {
      clearTimeout(slow);
    }
    expect(a.sync.status.quarantined.map((q) => q.n)).toEqual([2]);
    const stored = await serverEvents(server.url, 'refused');
    expect(stored.map((e) => e.origin.n).sort((x, y) => x - y)).toEqual([1, 3, 4, 5, 6, 7]);
    const last = a.store.getByAggregate('ticket-1').at(-1)!;
    expect(a.sync.deliveryState(last)).toBe('acknowledged');
    // Settled: no upload loop (one answered all-duplicate batch used to start the next at once, forever).
    // Every sync timer due in the next second fires, and each upload one starts is answered: none posts.
    const before = [aPosts.posts(), bPosts.posts()];
    for (let step = 0; step < 10; step++) {
      clock.fire(100);
      await new Promise((r) => setImmediate(r)); // an upload a timer started has published its status
      await waitFor(() => !a.sync.status.inFlight && !b.sync.status.inFlight, 'the uploads answered');
    }
    expect([aPosts.posts(), bPosts.posts()]).toEqual(before);
  });

  it('[OUT14] an event of a version newer than the server knows (a till ahead of its server, REST only) waits, not quarantined, and goes by itself once the server is updated', async () => {
    const type = 'ticket.payment_recorded';
    const current = CURRENT_VERSIONS[type];
    // Restarted as an updated build on another port: the till's requests follow it.
    const updatable = await updatableServer(defer);
    const timers = new ManualTimers(14);
    // A websocket a proxy blocks: the relay never delivers, uploads alone do.
    const t = await terminal({ location: 'server-older', terminal: 'till-1', apiBase: updatable.firstUrl, syncEndpoint: 'ws://127.0.0.1:1/sync', sync: { timers, fetch: updatable.fetch } });
    const ticket = { id: 'ticket-1', type: 'ticket' };
    await t.store.append('ticket.opened', { number: 'A-001' }, { aggregate: ticket });
    // The till's newer build writes the payment at a version the server does not know yet.
    writeAsOtherBuild(t, 2, { type, v: current + 1, aggregate: ticket, payload: { paymentId: 'p1', method: 'card', amountCents: 1500 } });
    await t.store.append('ticket.note_set', { note: 'window' }, { aggregate: ticket });

    const said = await t.sync.syncNow();
    await waitFor(() => !t.sync.status.inFlight, 'the uploads answered');
    // Before, the payment was quarantined: owed 0, and it never went by itself.
    expect(t.sync.status.quarantined).toEqual([]);
    expect(t.sync.status.owed).toBe(1);
    expect(t.sync.status.awaitingServerUpdate).toBe(1);
    expect(said).toMatch(/server needs an update for 1 event/);
    expect((await serverEvents(updatable.server.url, 'server-older')).map((e) => e.origin.n).sort()).toEqual([1, 3]);

    // The server is updated: it learns the version, on the same data.
    await updatable.restart(() => defer(withNextVersion(type)));
    // No staff action: its wait ends (at most SERVER_UPDATE_BACKOFF's cap), and it goes.
    timers.advance(SERVER_UPDATE_BACKOFF.capMs);
    await waitFor(() => t.sync.status.owed === 0 && !t.sync.status.inFlight, 'the payment delivered', 10_000, () => describeSync('till-1', t));
    expect(t.sync.status.quarantined).toEqual([]);
    expect(t.sync.status.awaitingServerUpdate).toBe(0);
    expect(t.sync.status.watermarks['till-1']).toBe(3);
    expectExactlyOnce(await serverEvents(updatable.server.url, 'server-older'), 3);
  });

  it('[OUT14] a server from before the rejection code, refusing the version of an event this build knows, is waited for too; an invalid event is still quarantined', async () => {
    const server = await inProcess({ relayIngest: false });
    let updated = false;
    // The server's word, scripted as an older build's (no code, only the field): no build from before the code exists to start.
    const fetch: typeof globalThis.fetch = async (input, init) => {
      if (init?.method !== 'POST') return globalThis.fetch(input, init);
      const { events } = JSON.parse(String(init.body)) as { events: { id: string; type: string; origin: { n: number } }[] };
      const results = events.map((e) => {
        if (e.origin.n === 2 && !updated) return { id: e.id, status: 'rejected', reason: `${e.type} v1: v: newer than this server knows (v0)`, field: 'v' };
        if (e.origin.n === 3) return { id: e.id, status: 'rejected', reason: 'ticket.note_set v1: payload.note: too long', field: 'payload.note' };
        return { id: e.id, status: 'accepted' };
      });
      return Response.json({ results, watermarks: { 'till-1': updated ? 2 : 1 }, serverTime: Date.now() });
    };
    const timers = new ManualTimers(15);
    const t = await terminal({ location: 'older-server', terminal: 'till-1', apiBase: server.url, syncEndpoint: 'ws://127.0.0.1:1/sync', sync: { timers, fetch } });
    const ticket = { aggregate: { id: 'ticket-1', type: 'ticket' } };
    await t.store.append('ticket.opened', { number: 'A-001' }, ticket);
    await t.store.append('ticket.note_set', { note: 'newer for that server' }, ticket);
    await t.store.append('ticket.note_set', { note: 'refused' }, ticket);
    await t.sync.syncNow();
    await waitFor(() => !t.sync.status.inFlight, 'the uploads answered');
    expect(t.sync.status.quarantined.map((q) => q.n)).toEqual([3]);
    expect(t.sync.status.awaitingServerUpdate).toBe(1);
    expect(t.sync.status.owed).toBe(1);
    updated = true;
    timers.advance(SERVER_UPDATE_BACKOFF.capMs);
    await waitFor(() => t.sync.status.owed === 0 && !t.sync.status.inFlight, 'delivered once the server knows it', 10_000, () => describeSync('till-1', t));
    expect(t.sync.status.awaitingServerUpdate).toBe(0);
  });

  it('[OUT14] events refused as newer in one answer share one wait: when it ends, all of them go again together', async () => {
    const type = 'ticket.payment_recorded';
    const updatable = await updatableServer(defer);
    const timers = new ManualTimers(16);
    timers.random = () => 0.99; // every wait drawn at 99% of its ceiling
    const batchSizes: number[] = [];
    const fetchImpl: typeof fetch = (input, init) => {
      if (init?.method === 'POST') batchSizes.push((JSON.parse(String(init.body)) as { events: unknown[] }).events.length);
      return updatable.fetch(input, init);
    };
    const t = await terminal({ location: 'newer-batch', terminal: 'till-1', apiBase: updatable.firstUrl, syncEndpoint: 'ws://127.0.0.1:1/sync', sync: { timers, fetch: fetchImpl } });
    const ticket = { id: 'ticket-1', type: 'ticket' };
    await t.store.append('ticket.opened', { number: 'A-001' }, { aggregate: ticket });
    for (const n of [2, 3, 4]) writeAsOtherBuild(t, n, { type, v: CURRENT_VERSIONS[type] + 1, aggregate: ticket, payload: { paymentId: `p${n}`, method: 'card', amountCents: 100 * n } });
    await t.sync.syncNow();
    await waitFor(() => !t.sync.status.inFlight && t.sync.status.awaitingServerUpdate === 3, 'three waiting for the server update');
    const before = batchSizes.length;
    // The first wait's ceiling: a wait per event would keep the second and third (2x, 4x) back.
    timers.advance(SERVER_UPDATE_BACKOFF.baseMs);
    await waitFor(() => batchSizes.length > before && !t.sync.status.inFlight, 'the wait ended: they go again');
    expect(batchSizes[before]).toBe(3);
  });

  it('[OUT8][SYN20] an upload answered below the last answer (the server restored from a backup) takes back what it answered before: an event above a gap, answered accepted, goes again', async () => {
    const { t, stored, posted, ticket } = await answeredAboveAGap('restored-answers', new ManualTimers(18));
    expect(t.sync.status.watermarks).toEqual({ 'till-1': 1 });

    // Restored from a backup taken before: the answer to the next upload lacks 1, below the last answer.
    stored.clear();
    await t.store.append('ticket.note_set', { note: 'after the restore' }, { aggregate: ticket });
    await t.sync.syncNow();
    // 3 goes again with 1: answered accepted by the server before its restore, it was not stored for good.
    expect(posted.slice(1)).toEqual([[4], [1, 3]]);
    expect([...stored].sort((x, y) => x - y)).toEqual([1, 3, 4]);
    expect(t.sync.status.owed).toBe(0);
  });

  it('[OUT6][SYN20] an idle till whose probe says the server forgot (restored from a backup) uploads again what it answered above a gap', async () => {
    const timers = new ManualTimers(38);
    const { t, stored } = await answeredAboveAGap('restored-probe', timers);
    // Answered accepted above its writer's watermark: on the server, not "local".
    const aboveTheGap = t.store.eventsByWriter().get('till-1')!.find((e) => e.origin.n === 3)!;
    expect(t.sync.deliveryState(aboveTheGap)).toBe('acknowledged');
    // Nothing owed, so Sync now is the idle till's probe: its answer lacks 1, below the last answer.
    stored.clear();
    await t.sync.syncNow();
    timers.advance(0); // the upload it calls for, armed at once
    await waitFor(() => stored.size === 2 && !t.sync.status.inFlight, 'what the server forgot uploaded again');
    expect([...stored].sort((x, y) => x - y)).toEqual([1, 3]);
    expect(t.sync.status.owed).toBe(0);
  });

  it('[OUT14] an event that waited for the server\'s update and is then refused for another reason is quarantined and waits no more: no next attempt is shown, the next newer event waits the first wait again', async () => {
    const type = 'ticket.payment_recorded';
    const current = CURRENT_VERSIONS[type];
    // Restarted as an updated build on another port: the till's requests follow it.
    const updatable = await updatableServer(defer);
    const timers = new ManualTimers(16);
    // Each wait is drawn at 99% of its ceiling: one at most the first ceiling is the first wait again.
    timers.random = () => 0.99;
    const t = await terminal({ location: 'waited-then-refused', terminal: 'till-1', apiBase: updatable.firstUrl, syncEndpoint: 'ws://127.0.0.1:1/sync', sync: { timers, fetch: updatable.fetch } });
    const ticket = { id: 'ticket-1', type: 'ticket' };
    await t.store.append('ticket.opened', { number: 'A-001' }, { aggregate: ticket });
    // The till's newer build writes the payment at a version the server does not know yet.
    const payment = { paymentId: 'p1', method: 'card', amountCents: 1500 };
    writeAsOtherBuild(t, 2, { type, v: current + 1, aggregate: ticket, payload: payment });
    await t.sync.syncNow();
    await waitFor(() => !t.sync.status.inFlight && t.sync.status.awaitingServerUpdate === 1, 'waiting for the server update');

    // The server is updated, on the same data: its new version is not the till's, it requires a currency the till's did not write.
    await updatable.restart(() => defer(withNextVersion(type, z.strictObject({ paymentId: z.string(), method: z.string(), amountCents: z.number().int(), currency: z.string() }))));
    await t.sync.syncNow();
    await waitFor(() => !t.sync.status.inFlight && t.sync.status.quarantined.length === 1, 'quarantined by the updated server');
    expect(t.sync.status.quarantined[0]).toMatchObject({ n: 2, field: 'payload.currency' });
    // Before, it stayed among the waiting: "next attempt" at the epoch, for good, and the long backoff never reset.
    expect(t.sync.status.awaitingServerUpdate).toBe(0);
    expect(t.sync.status.nextAttemptAt).toBeNull();
    // A payment newer than the updated server too.
    writeAsOtherBuild(t, 3, { type, v: current + 2, aggregate: ticket, payload: { ...payment, paymentId: 'p2', currency: 'EUR' } });
    await t.sync.syncNow();
    await waitFor(() => !t.sync.status.inFlight && t.sync.status.awaitingServerUpdate === 1, 'the next one waiting');
    expect(t.sync.status.nextAttemptAt! - timers.now()).toBeLessThanOrEqual(SERVER_UPDATE_BACKOFF.baseMs);
    expect((await serverEvents(updatable.server.url, 'waited-then-refused')).map((e) => e.origin.n)).toEqual([1]);
  });

  it('[OUT9] a 400 for a whole batch (a proxy\'s, not the server\'s per-event answer) is retried: nothing quarantined', async () => {
    // Uploads only: the relay must not deliver these events for them (relay ingest off).
    const { server, t } = await deliveredThroughRefusals(400, 4, 'proxy-400', 4, 'P');
    // Before, each 400 halved the batch and the event left alone was quarantined for good.
    expect(t.sync.status.quarantined).toEqual([]);
    expect(t.sync.status.metrics.failuresByCause.refused).toBe(4);
    expectExactlyOnce(await serverEvents(server.url, 'proxy-400'), 4);
  });

  it('[OUT9] a proxy\'s 413s for a while (its bad minute, or a limit below one batch) halve the batches and then wait: no event is quarantined, all are delivered', async () => {
    const { server, t } = await deliveredThroughRefusals(413, 12, 'proxy-413', 6, 'Q');
    // Before, the event a 413 left alone was quarantined "too large" (a ~300-byte sale), and every one after it: owed 0, nothing stored.
    expect(t.sync.status.quarantined).toEqual([]);
    expect(t.sync.status.metrics.failuresByCause.too_large).toBe(12);
    expectExactlyOnce(await serverEvents(server.url, 'proxy-413'), 6);
  });

  it('[OUT9][OUT5] the batch limit a proxy\'s 413s set is lifted once a batch is stored: the rest of a backlog goes in full batches', async () => {
    const server = await inProcess({ relayIngest: false });
    const posts = countingFetch(413);
    // Written before sync starts, so they go as one batch.
    const opened = await openTerminal({ location: 'limits-lifted', terminal: 'till-1', apiBase: server.url, syncEndpoint: 'ws://127.0.0.1:1/sync', sync: { fetch: posts.fetch } });
    for (let i = 1; i <= 32; i++) await opened.store.append('ticket.opened', { number: `L-${String(i).padStart(3, '0')}` }, { aggregate: { id: `t${i}`, type: 'ticket' } });
    posts.failNext(3);
    const t = opened.startSync();
    defer(() => t.close());
    await waitForAsync(async () => (await serverEvents(server.url, 'limits-lifted')).length === 32, 'all delivered');
    await waitFor(() => t.sync.status.owed === 0 && !t.sync.status.inFlight, 'nothing owed');
    // 32, 16 and 8 refused, 4 stored, then the other 28 in one batch (in batches of 4, 8 more posts).
    expect(posts.posts()).toBeLessThanOrEqual(6);
  });

  it('[OUT9] a 403 that is not our server\'s (a firewall\'s page, a note that looked like SQL) refuses the batch, not the token: nothing quarantined, no re-pairing asked, all delivered after', async () => {
    const { server, t } = await deliveredThroughRefusals(403, 4, 'firewall-403', 4, 'W');
    // Before, the first 403 read as a refused token: uploads stopped for good, and staff were told to re-pair.
    expect(t.sync.status.authProblem).toBeNull();
    expect(t.sync.status.quarantined).toEqual([]);
    expectExactlyOnce(await serverEvents(server.url, 'firewall-403'), 4);
  });

  it('[OUT9] every request says the app\'s protocol version; a server that no longer speaks it (clientTooOld) is waited out: nothing halved or quarantined, and Sync now says so in the server\'s words', async () => {
    const server = await inProcess({ relayIngest: false });
    const versions = new Set<string | null>();
    let sendAs: string | null = '0'; // an app older than the server accepts
    const oldApp: typeof fetch = (input, init) => {
      const headers = new Headers(init?.headers);
      versions.add(headers.get(PROTOCOL_HEADER));
      if (sendAs !== null) headers.set(PROTOCOL_HEADER, sendAs);
      return globalThis.fetch(input, { ...init, headers });
    };
    const relayUrls: string[] = [];
    class RecordingSocket extends WebSocket {
      constructor(url: string | URL, protocols?: string | string[]) {
        relayUrls.push(String(url));
        super(url, protocols);
      }
    }
    const t = await terminal({ location: 'too-old', terminal: 'till-1', apiBase: server.url, syncEndpoint: server.wsUrl, sync: { fetch: oldApp, WebSocketImpl: RecordingSocket as unknown as typeof globalThis.WebSocket } });
    await writeTickets(t, 2, 'V');
    await waitForAsync(async () => (await t.sync.syncNow(), (t.sync.status.metrics.failuresByCause.version ?? 0) > 0), 'the server refused the version');
    expect(versions).toEqual(new Set([String(PROTOCOL_VERSION)]));
    expect(relayUrls.length).toBeGreaterThan(0);
    expect(relayUrls.every((u) => new URL(u).searchParams.get('v') === String(PROTOCOL_VERSION))).toBe(true);
    expect(t.sync.status.quarantined).toEqual([]);
    expect(t.sync.status.metrics.failuresByCause.refused).toBeUndefined();
    expect(await serverEvents(server.url, 'too-old')).toEqual([]);
    // Before, Sync now said "Server not reachable (version)": it answered, and its words are shown.
    expect(await t.sync.syncNow()).toMatch(/^The server and this app speak different protocol versions \(protocol 0 not supported \(server speaks 1\)\)/);
    sendAs = null; // the app updated
    await waitForAsync(async () => (await t.sync.syncNow(), t.sync.status.owed === 0), 'delivered once the app speaks the version');
    expectExactlyOnce(await serverEvents(server.url, 'too-old'), 2);
  });

  it('[OUT9] a 400 over one event\'s body halves the batch: the other events go, the refused one waits (not quarantined)', async () => {
    const server = await inProcess({ relayIngest: false });
    // A proxy that refuses any batch carrying one event's body, passing the rest to the server.
    const marker = 'refused-by-the-proxy';
    let refusals = 0;
    const proxyFetch: typeof fetch = (input, init) => {
      if (init?.method === 'POST' && String(init.body).includes(marker)) {
        refusals++;
        return Promise.resolve(new Response('<html>400 Bad Request</html>', { status: 400 }));
      }
      return globalThis.fetch(input, init);
    };
    // Written before sync starts, so they go as one batch.
    const opened = await openTerminal({ location: 'proxy-one', terminal: 'till-1', apiBase: server.url, syncEndpoint: server.wsUrl, sync: { fetch: proxyFetch } });
    const ticket = { aggregate: { id: 'ticket-1', type: 'ticket' } };
    await opened.store.append('ticket.opened', { number: 'A-001' }, ticket);
    for (let i = 0; i < 6; i++) await opened.store.append('ticket.note_set', { note: i === 2 ? marker : `note ${i}` }, ticket);
    const t = opened.startSync();
    defer(() => t.close());
    // Before, the batch was retried whole with backoff for ever: nothing reached the server.
    await waitForAsync(async () => (await serverEvents(server.url, 'proxy-one')).length === 6, 'every event but the refused one stored', 10_000);
    const stored = (await serverEvents(server.url, 'proxy-one')).map((e) => e.origin.n).sort((x, y) => x - y);
    expect(stored).toEqual([1, 2, 3, 5, 6, 7]);
    expect(t.sync.status.quarantined).toEqual([]);
    expect(t.sync.status.owed).toBe(1); // n 4 waits with backoff, and goes once the proxy lets it
    expect(refusals).toBeGreaterThan(1);
  });

  it('[OUT9] a proxy refusing every POST is not walked one event a request: after the event refused alone, the next waits a backoff', async () => {
    const server = await inProcess({ relayIngest: false });
    let posts = 0;
    const refuseAll: typeof fetch = (input, init) => {
      if (init?.method !== 'POST') return globalThis.fetch(input, init);
      posts++;
      return Promise.resolve(new Response('<html>400 Bad Request</html>', { status: 400 }));
    };
    const clock = new TabletClock();
    const opened = await openTerminal({ location: 'proxy-all', terminal: 'till-1', apiBase: server.url, syncEndpoint: server.wsUrl, sync: { fetch: refuseAll, timers: clock } });
    const ticket = { aggregate: { id: 'ticket-1', type: 'ticket' } };
    await opened.store.append('ticket.opened', { number: 'A-001' }, ticket);
    for (let i = 0; i < 39; i++) await opened.store.append('ticket.note_set', { note: `note ${i}` }, ticket);
    const t = opened.startSync();
    defer(() => t.close());
    // Only timers due now fire: the halving (40, 20, 10, 5, 2, 1) and nothing after it.
    for (let turn = 0; turn < 30; turn++) {
      await waitFor(() => !t.sync.status.inFlight, 'the upload answered');
      clock.fire(0);
      await new Promise((r) => setTimeout(r, 10));
    }
    await waitFor(() => !t.sync.status.inFlight, 'the upload answered');
    // Before, each event after the first refused alone went at once: 30 turns, 30 more requests.
    expect(posts).toBeLessThanOrEqual(8);
    expect(t.sync.status.quarantined).toEqual([]);
    expect(t.sync.status.owed).toBe(40);
  });

  it('[OUT9] the retry after an event refused alone does not send it again: its own wait outlasts the retry backoff', async () => {
    const server = await inProcess({ relayIngest: false });
    const timers = new ManualTimers(3);
    timers.random = () => 0.99; // every wait drawn at 99% of its ceiling: both first waits are 990 ms
    let posts = 0;
    const fetchImpl: typeof fetch = (input, init) => {
      if (init?.method !== 'POST') return globalThis.fetch(input, init);
      posts++;
      if (String(init.body).includes('Z-999')) return Promise.resolve(new Response('<html>400 from the proxy</html>', { status: 400 }));
      return globalThis.fetch(input, init);
    };
    const t = await terminal({ location: 'refused-wait', terminal: 'till-1', apiBase: server.url, syncEndpoint: 'ws://127.0.0.1:1/sync', sync: { timers, fetch: fetchImpl } });
    await waitFor(() => !t.sync.status.inFlight, 'start-up probe answered');
    await t.store.append('ticket.opened', { number: 'Z-999' }, { aggregate: { id: 't1', type: 'ticket' } });
    await waitFor(() => posts === 1 && !t.sync.status.inFlight && t.sync.status.uploadsRefused !== null, 'refused alone');
    timers.advance(990); // the retry backoff ends; the event's own wait (991 ms or more) has not
    await new Promise((r) => setImmediate(r)); // the retry has published its upload in flight
    await waitFor(() => !t.sync.status.inFlight, 'the retry settled');
    expect(posts).toBe(1);
  });

  it('[OUT8][SYN6] answers that settle none of the batch (a server or proxy answering for other ids) back off ever longer: not posted again at once', async () => {
    const server = await inProcess();
    let posts = 0;
    const foreignAnswers: typeof fetch = async (input, init) => {
      if (init?.method !== 'POST') return globalThis.fetch(input, init);
      posts++;
      return new Response(JSON.stringify({ results: [], watermarks: {}, storedAbove: {}, serverTime: Date.now() }), { status: 200, headers: { 'content-type': 'application/json' } });
    };
    const timers = new ManualTimers(4);
    timers.random = () => 0.99;
    const t = await terminal({ location: 'foreign', terminal: 'till-1', apiBase: server.url, syncEndpoint: 'ws://127.0.0.1:1/sync', sync: { timers, fetch: foreignAnswers } });
    await waitFor(() => !t.sync.status.inFlight, 'start-up probe answered');
    await t.store.append('ticket.opened', { number: 'A-001' }, { aggregate: { id: 't1', type: 'ticket' } });
    await waitFor(() => posts === 1 && !t.sync.status.inFlight, 'answered for other ids');
    expect(t.sync.status.nextAttemptAt).toBeGreaterThan(timers.now());
    // Timers due now fire (a retry at once would post again); no time passes.
    for (let i = 0; i < 5; i++) {
      timers.advance(0);
      await new Promise((r) => setImmediate(r));
      await waitFor(() => !t.sync.status.inFlight, 'nothing in flight');
    }
    expect(posts).toBe(1);
    expect(t.sync.status.owed).toBe(1);
    const waits: number[] = [];
    for (let i = 0; i < 4; i++) {
      const before = posts;
      const wait = t.sync.status.nextAttemptAt! - timers.now();
      waits.push(wait);
      timers.advance(wait);
      await waitFor(() => posts === before + 1 && !t.sync.status.inFlight, 'the retry answered');
    }
    // 99% of 1, 2, 4, 8 s: each answer for other ids doubles the wait, none resets it.
    expect(waits).toEqual([990, 1980, 3960, 7920]);
  });

  it('[OUT9][SYN23] Sync now starts a refused sale\'s own wait over: refused again, it waits the first wait', async () => {
    const server = await inProcess({ relayIngest: false });
    const posts = countingFetch(400);
    posts.failNext(Infinity);
    const timers = new ManualTimers(3);
    timers.random = () => 0.99;
    const t = await terminal({ location: 'syncnow-refused', terminal: 'till-1', apiBase: server.url, syncEndpoint: 'ws://127.0.0.1:1/sync', sync: { timers, fetch: posts.fetch } });
    await waitFor(() => !t.sync.status.inFlight, 'start-up probe answered');
    await t.store.append('ticket.opened', { number: 'A-001' }, { aggregate: { id: 't1', type: 'ticket' } });
    await waitFor(() => posts.posts() === 1 && !t.sync.status.inFlight, 'refused alone');
    /** The sale's own wait's end, once the upload backoff's retry (which finds it still waiting) has fired. */
    const ownWaitEnd = async () => {
      timers.advance(t.sync.status.nextAttemptAt! - timers.now());
      await new Promise((r) => setTimeout(r, 30));
      await waitFor(() => !t.sync.status.inFlight, 'the retry settled');
      return t.sync.status.nextAttemptAt!;
    };
    for (let i = 2; i <= 4; i++) {
      timers.advance((await ownWaitEnd()) - timers.now() + 1);
      await waitFor(() => posts.posts() === i && !t.sync.status.inFlight, `refused again (${i})`);
    }
    const pressed = timers.now();
    await t.sync.syncNow();
    expect(posts.posts()).toBe(5);
    // Its wait starts short again, not at the 16 s its refusals grew it to.
    expect((await ownWaitEnd()) - pressed).toBeLessThanOrEqual(1_000);
  });

  it('[OUT9] an event refused alone, all that is owed, says when it goes again: the next attempt is its own wait\'s end', async () => {
    const server = await inProcess({ relayIngest: false });
    const refuseAll: typeof fetch = (input, init) =>
      init?.method === 'POST' ? Promise.resolve(new Response('<html>413 from the proxy</html>', { status: 413 })) : globalThis.fetch(input, init);
    const clock = new TabletClock();
    const opened = await openTerminal({ location: 'proxy-alone', terminal: 'till-1', apiBase: server.url, syncEndpoint: server.wsUrl, sync: { fetch: refuseAll, timers: clock } });
    await opened.store.append('ticket.opened', { number: 'A-001' }, { aggregate: { id: 'ticket-1', type: 'ticket' } });
    const t = opened.startSync();
    defer(() => t.close());
    // The refusal, then the upload backoff's retry: it finds the event still waiting its own backoff.
    for (const ms of [0, 0, 10 * 60_000]) {
      await waitFor(() => !t.sync.status.inFlight, 'the upload answered');
      clock.fire(ms);
      await new Promise((r) => setTimeout(r, 10));
    }
    await waitFor(() => !t.sync.status.inFlight, 'the upload answered');
    expect(t.sync.status.owed).toBe(1);
    expect(t.sync.status.quarantined).toEqual([]);
    expect(t.sync.status.nextAttemptAt).not.toBeNull();
    // Staff press Sync now: the server answers nothing was stored, and says so.
    expect(await t.sync.syncNow()).toMatch(/^Uploads refused \(HTTP 413/);
    expect(t.sync.status.uploadsRefused).toBe('HTTP 413');
  });

  it('[SYN23] a refusal the relay made good (it delivered what the proxy refused) is not said of the sales after it', async () => {
    const server = await inProcess();
    const posts = countingFetch(413);
    const t = await terminal({ location: 'refused-then-relayed', terminal: 'till-1', apiBase: server.url, syncEndpoint: server.wsUrl, sync: { fetch: posts.fetch } });
    await waitFor(() => t.sync.status.relay === 'connected', 'the relay in step');
    const ticket = { aggregate: { id: 'ticket-1', type: 'ticket' } };
    await t.store.append('ticket.opened', { number: 'A-001' }, ticket);
    // Sync now posts what is owed at once, and the proxy refuses it (unless the relay was quicker: then again).
    for (let i = 0; i < 10 && (t.sync.status.metrics.failuresByCause.too_large ?? 0) === 0; i++) {
      posts.failNext(1);
      await t.store.append('ticket.note_set', { note: `before ${i}` }, ticket);
      await t.sync.syncNow();
    }
    expect(t.sync.status.metrics.failuresByCause.too_large).toBe(1);
    // The relay delivers it: nothing owed, and no POST was ever stored.
    await waitFor(() => t.sync.status.owed === 0, 'delivered by the relay');
    const published: { owed: number | null; uploadsRefused: string | null }[] = [];
    const stop = t.sync.subscribe((status) => published.push({ owed: status.owed, uploadsRefused: status.uploadsRefused }));
    defer(stop);
    for (let i = 0; i < 3; i++) {
      await t.store.append('ticket.note_set', { note: `note ${i}` }, ticket);
      await waitFor(() => t.sync.status.owed === 0, 'delivered by the relay');
    }
    expect(published.some((status) => (status.owed ?? 0) > 0)).toBe(true);
    // Before, every sale owed for a moment read "refused by a proxy", and a later outage was blamed on one.
    expect(published.filter((status) => status.uploadsRefused !== null)).toEqual([]);
  });

  it('[SYN23] a refusal the relay made good is forgotten once nothing is owed, every POST still refused', async () => {
    const server = await inProcess();
    const posts = countingFetch(413);
    posts.failNext(Infinity);
    const t = await terminal({ location: 'refused-made-good', terminal: 'till-1', apiBase: server.url, syncEndpoint: server.wsUrl, sync: { fetch: posts.fetch } });
    await waitFor(() => t.sync.status.relay === 'connected', 'the relay in step');
    const ticket = { aggregate: { id: 'ticket-1', type: 'ticket' } };
    await t.store.append('ticket.opened', { number: 'A-001' }, ticket);
    for (let i = 0; i < 10 && (t.sync.status.metrics.failuresByCause.too_large ?? 0) === 0; i++) {
      await t.store.append('ticket.note_set', { note: `before ${i}` }, ticket);
      await t.sync.syncNow();
    }
    expect(t.sync.status.metrics.failuresByCause.too_large).toBeGreaterThanOrEqual(1);
    // No upload is ever stored to clear it: nothing owed must.
    await waitFor(() => t.sync.status.owed === 0 && t.sync.status.uploadsRefused === null, 'delivered by the relay, the refusal forgotten');
  });

  it('[SYN23] a refusal is no longer said once the server does not answer at all', async () => {
    const server = await inProcess({ relayIngest: false });
    let posts = 0;
    let down = false;
    const fetchImpl: typeof fetch = (input, init) => {
      if (init?.method === 'POST') posts++;
      if (down) return Promise.reject(new TypeError('fetch failed'));
      return init?.method === 'POST' ? Promise.resolve(new Response('<html>400 from the proxy</html>', { status: 400 })) : globalThis.fetch(input, init);
    };
    const timers = new ManualTimers(45);
    timers.random = () => 0.99;
    const t = await terminal({ location: 'refused-then-down', terminal: 'till-1', apiBase: server.url, syncEndpoint: 'ws://127.0.0.1:1/sync', sync: { timers, fetch: fetchImpl } });
    await waitFor(() => !t.sync.status.inFlight, 'start-up probe answered');
    await t.store.append('ticket.opened', { number: 'A-001' }, { aggregate: { id: 't1', type: 'ticket' } });
    await waitFor(() => posts === 1 && !t.sync.status.inFlight && t.sync.status.uploadsRefused === 'HTTP 400', 'refused alone');
    down = true;
    await t.store.append('ticket.opened', { number: 'A-002' }, { aggregate: { id: 't2', type: 'ticket' } });
    timers.advance(t.sync.status.nextAttemptAt! - timers.now());
    await waitFor(() => posts === 2 && !t.sync.status.inFlight, 'the next sale tried, no answer');
    expect(t.sync.status.metrics.failuresByCause.network).toBeGreaterThanOrEqual(1);
    // Before, a proxy's earlier refusal was blamed next to the outage.
    expect(t.sync.status.uploadsRefused).toBeNull();
  });

  it('[SYN5] events of a silent writer arriving after the first are uploaded when their own grace ends', async () => {
    const { server, a, b } = await relayOnlyWriter('grace', { relayIngest: false });
    await writeTickets(a, 5, 'G');
    await waitFor(() => b.store.projection.size === 5, 'the first events relayed to b');
    await new Promise((r) => setTimeout(r, 200));
    await writeTickets(a, 20, 'H');
    // Before, only the first arrival armed the due timer: the later ones waited for the 30 s interval.
    await waitForAsync(async () => (await serverEvents(server.url, 'grace')).length === 25, 'b uploaded every event of a', 10_000);
    a.close();
  });

  it('[SYN5][OUT4] another writer\'s events arriving at an idle till are owed through their grace and uploaded when it ends', async () => {
    const server = await inProcess({ relayIngest: false });
    const timers = new ManualTimers(14);
    timers.advance(Date.now() - timers.now()); // others' events are dated by the wall clock
    const t = await terminal({ location: 'others-idle', terminal: 'till-2', apiBase: server.url, syncEndpoint: await silentRelay(server.port), otherWritersGraceMs: 2_000, sync: { timers } });
    await waitFor(() => !t.sync.status.inFlight && t.sync.status.clockOffsetMs !== null, 'start-up probe answered');
    otherTillOpens(t);
    await waitFor(() => t.sync.status.owed === 1, 'owed while in its grace');
    timers.advance(3_000); // its grace (2 s from its arrival, a moment of real time after the manual clock's now); the interval is 30 s
    await waitForAsync(async () => (await serverEvents(server.url, 'others-idle')).length === 1, 'uploaded when its grace ended', 3_000);
  });

  it('[OUT9][SYN23] a sale refused alone goes again at its own wait\'s end while another writer\'s events wait out a longer grace', async () => {
    const server = await inProcess({ relayIngest: false });
    const timers = new ManualTimers(28);
    timers.advance(Date.now() - timers.now()); // others' events are dated by the wall clock
    const posts = countingFetch(400);
    const t = await terminal({ location: 'refused-and-grace', terminal: 'till-2', apiBase: server.url, syncEndpoint: await silentRelay(server.port), otherWritersGraceMs: 20_000, sync: { timers, fetch: posts.fetch } });
    await waitFor(() => !t.sync.status.inFlight && t.sync.status.clockOffsetMs !== null, 'start-up probe answered');
    const graceEnds = timers.now() + 20_000;
    otherTillOpens(t);
    posts.failNext(1);
    await t.store.append('ticket.opened', { number: 'A-001' }, { aggregate: { id: 'ticket-1', type: 'ticket' } });
    await waitFor(() => posts.posts() === 1 && !t.sync.status.inFlight && t.sync.status.uploadsRefused !== null, 'the sale refused alone');
    // The upload backoff's retry finds the sale still waiting its own wait; nothing else is due.
    timers.advance(t.sync.status.nextAttemptAt! - timers.now());
    await new Promise((r) => setTimeout(r, 50));
    await waitFor(() => !t.sync.status.inFlight, 'the retry settled');
    const ownWaitEnds = t.sync.status.nextAttemptAt!;
    expect(ownWaitEnds).toBeLessThan(graceEnds - 5_000);
    expect(posts.posts()).toBe(1);
    // Before, the due timer stayed armed for the other writer's grace: nothing went when the status said.
    timers.advance(ownWaitEnds - timers.now() + 2);
    await waitFor(() => posts.posts() === 2 && !t.sync.status.inFlight, 'the sale sent again when its own wait ended');
    expect((await serverEvents(server.url, 'refused-and-grace')).map((e) => e.origin.terminal)).toEqual(['till-2']);
  });
});

describe('A replaced device', () => {
  it('[STO16] paired again as the same terminal, it writes as a fresh writer: nothing refused, nothing replaced in the room', async () => {
    const server = await inProcess();
    const options = { location: 'replaced', apiBase: server.url, syncEndpoint: server.wsUrl };
    const old = await startTerminal({ ...options, terminal: 'till-1' });
    await writeTickets(old, 30, 'O');
    await waitFor(() => old.sync.status.owed === 0, 'the old till\'s events acknowledged');
    old.close(); // the till breaks; a new device is paired as till-1
    const pairing = { token: await mint('replaced', 'terminal', 'till-1'), location: 'replaced', terminal: 'till-1', writer: 'till-1', role: 'terminal' as const, expiresAt: null, pairedAt: 0 };
    const writer = await chooseWriter(pairing, null, async () => {
      const res = await fetch(`${server.url}/api/watermarks`, { headers: { authorization: `Bearer ${pairing.token}` } });
      return ((await res.json()) as { writers: string[] }).writers;
    });
    expect(writer).toMatch(/^till-1\.r/);
    const fresh = await terminal({ ...options, terminal: 'till-1', writer });
    await writeTickets(fresh, 10, 'N');
    await waitFor(() => fresh.sync.status.owed === 0, 'the new device\'s events acknowledged');
    expect(fresh.sync.status.quarantined).toEqual([]);
    expectExactlyOnce(await serverEvents(server.url, 'replaced'), 40);
    // A terminal joining now holds both devices' events: no segment replaced another.
    const later = await terminal({ ...options, terminal: 'till-2' });
    await waitFor(() => later.store.projection.size === 40, 'a later terminal holds all 40 events');
  });
});

