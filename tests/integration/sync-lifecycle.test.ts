import { describe, expect, it } from 'vitest';
import { RECENT_MS } from '../../client/sync/connection-state';
import { RELAY_DELIVERY_GRACE_MS, SYNC_INTERVAL_MS } from '../../client/sync/sync-manager';
import { installLocalStorage } from '../helpers/device-storage';
import { ManualTimers } from '../helpers/manual-timers';
import { writeAsOtherBuild } from '../helpers/other-builds';
import { countingPosts, expired, mint, waitFor, waitForAsync } from '../helpers/server-clients';
import { openTerminal, serverEvents } from '../helpers/terminals';
import { testScope } from '../helpers/test-scope';
import { installWebLocks } from '../helpers/web-locks';

const { defer, inProcess, proxyTo, terminal } = testScope();

const ticket = { id: 't1', type: 'ticket' };

describe('Sync lifecycle and timing', () => {
  it('[SYN13] with the relay in step, an event written late in another\'s grace is not posted before its own grace ends', async () => {
    const server = await inProcess();
    // Manual time for the sync core: the grace timers fire only when the test says; the relay is real.
    const timers = new ManualTimers(13);
    const uploads = countingPosts();
    const t = await terminal({
      location: 'late-write',
      terminal: 'till-1',
      apiBase: server.url,
      syncEndpoint: server.wsUrl,
      sync: {
        timers,
        fetch: uploads.fetch,
      },
    });
    await waitFor(() => t.sync.relayInStep && t.sync.status.clockOffsetMs !== null && !t.sync.status.inFlight, 'the relay in step, the start-up clock probe answered');

    await t.store.append('ticket.opened', { number: 'A-001' }, { aggregate: ticket });
    await waitFor(() => t.sync.status.owed === 0, 'the first event acknowledged through the relay');
    // The second event is written 100 ms before the first one's grace ends.
    timers.advance(RELAY_DELIVERY_GRACE_MS - 100);
    await t.store.append('ticket.note_set', { note: 'late' }, { aggregate: ticket });
    timers.advance(100); // the first event's grace ends: the second one's has 900 ms to go
    await waitFor(() => t.sync.status.owed === 0 && !t.sync.status.inFlight, 'the second event acknowledged through the relay');
    timers.advance(RELAY_DELIVERY_GRACE_MS); // and its own grace ends
    await waitFor(() => !t.sync.status.inFlight, 'nothing in flight');

    // Before, the second event was posted 100 ms after it was written, as the relay was delivering it.
    expect(uploads.posts()).toBe(0);
    expect(await serverEvents(server.url, 'late-write')).toHaveLength(2);
  });

  it('[OUT2] REST failing while the relay stays in step reads intermittent, never offline; a failed probe is asked again at the next interval', async () => {
    const server = await inProcess();
    const timers = new ManualTimers(2);
    let restDown = false;
    let probes = 0;
    const t = await terminal({
      location: 'rest-hiccup',
      terminal: 'till-1',
      apiBase: server.url,
      syncEndpoint: server.wsUrl,
      sync: {
        timers,
        // REST blocked at will (a proxy's bad minutes); the relay is not.
        fetch: async (input, init) => {
          if (String(input).endsWith('/api/watermarks')) {
            probes++;
            if (restDown) throw new TypeError('fetch failed');
          }
          return globalThis.fetch(input, init);
        },
      },
    });
    await waitFor(() => t.sync.relayInStep && t.sync.status.clockOffsetMs !== null && !t.sync.status.inFlight, 'the relay in step, the start-up clock probe answered');
    /** The next 30 s interval, and the probe it asks. */
    const nextInterval = async () => {
      const before = probes;
      timers.advance(SYNC_INTERVAL_MS);
      await waitFor(() => probes > before && !t.sync.status.inFlight, 'the probe asked again and answered or failed');
    };
    restDown = true;
    expect(await t.sync.syncNow()).toMatch(/not reachable/);
    const asked = probes;
    for (let i = 0; i < 3; i++) await nextInterval();
    // Before, the failed probe was asked again only at the clock probe 5 minutes on, and a minute
    // after it the pill read "Offline" while the relay delivered every sale.
    expect(t.sync.status.connection).toEqual({ name: 'intermittent', recentFailures: 3 }); // at 30, 60 and 90 s
    expect(probes - asked).toBe(3);
    expect(t.sync.relayInStep).toBe(true);

    restDown = false;
    await nextInterval();
    timers.advance(RECENT_MS);
    expect(t.sync.status.connection.name).toBe('online');
    expect(probes - asked).toBe(4); // answered: not asked again until the clock probe is due
  });

  it('[SYN14] a 401 for a request sent with the old token, answered after renewToken, does not block uploads with the new one', async () => {
    // Only uploads deliver (relay ingest off): the relay must not deliver for them.
    const server = await inProcess({ relayIngest: false });
    let hold = true;
    let release: () => void = () => {};
    const held = new Promise<void>((r) => (release = r));
    let probeAnswered = false;
    const t = await terminal({
      location: 'renewed',
      terminal: 'till-1',
      apiBase: server.url,
      syncEndpoint: server.wsUrl,
      sync: {
        token: await expired('renewed'),
        // The start-up clock probe, sent with the expired token, gets its 401 only once the test lets it.
        fetch: async (input, init) => {
          const res = await globalThis.fetch(input, init);
          if (hold && String(input).endsWith('/api/watermarks')) {
            probeAnswered = true;
            await held;
          }
          return res;
        },
      },
    });
    await waitFor(() => probeAnswered, 'the server answered the probe sent with the expired token');
    t.sync.renewToken(await mint('renewed', 'terminal', 'till-1'));
    hold = false;
    release();
    await waitFor(() => !t.sync.status.inFlight, 'the old probe\'s answer handled');

    await t.store.append('ticket.opened', { number: 'A-001' }, { aggregate: ticket });
    // Before, the stale 401 marked the new token unauthorized: nothing was uploaded until another renewal.
    await waitForAsync(async () => (await serverEvents(server.url, 'renewed')).length === 1, 'the event uploaded with the new token');
    await waitFor(() => t.sync.status.owed === 0, 'acknowledged');
    expect(t.sync.status.authProblem).toBeNull();
  });

  it('[SYN14] an upload\'s 401 for the token renewToken replaced while it was out is retried with the new one', async () => {
    const server = await inProcess({ relayIngest: false });
    const location = 'renewed-upload';
    const fresh = await mint(location, 'terminal', 'till-1');
    let release: () => void = () => {};
    const held = new Promise<void>((r) => (release = r));
    let posts = 0;
    const fetchImpl: typeof fetch = async (input, init) => {
      // The token was still good for the start-up probe: it expires while the upload is out.
      if (init?.method !== 'POST') return globalThis.fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string>), authorization: `Bearer ${fresh}` } });
      if (++posts === 1) await held;
      return globalThis.fetch(input, init);
    };
    const t = await terminal({ location, terminal: 'till-1', apiBase: server.url, syncEndpoint: 'ws://127.0.0.1:1/sync', sync: { token: await expired(location), fetch: fetchImpl } });
    await waitFor(() => !t.sync.status.inFlight && t.sync.status.clockOffsetMs !== null, 'start-up probe answered');
    await t.store.append('ticket.opened', { number: 'A-001' }, { aggregate: ticket });
    await waitFor(() => posts === 1, 'the upload out with the old token');
    t.sync.renewToken(fresh);
    release(); // the server refuses the old token: 401
    await waitForAsync(async () => (await serverEvents(server.url, location)).length === 1, 'uploaded with the new token');
    await waitFor(() => t.sync.status.owed === 0, 'acknowledged');
    expect(t.sync.status.authProblem).toBeNull();
    expect(posts).toBe(2);
  });

  it('[SYN14][SYN23] a refused token asks nothing more and Sync now says why; renewed, what it left owed is uploaded at once', async () => {
    const server = await inProcess({ relayIngest: false });
    // The relay's socket stays connecting: neither its sync nor its failure can stand in for the renewal's own upload.
    const relayPath = await proxyTo(server.port);
    relayPath.setMode('blackhole');
    const posts = countingPosts();
    const t = await terminal({ location: 'renew-now', terminal: 'till-1', apiBase: server.url, syncEndpoint: relayPath.wsUrl, sync: { timers: new ManualTimers(12), token: await expired('renew-now'), fetch: posts.fetch } });
    await waitFor(() => t.sync.status.authProblem !== null && !t.sync.status.inFlight, 'the expired token refused');
    await t.store.append('ticket.opened', { number: 'A-001' }, { aggregate: ticket });
    await waitFor(() => t.sync.status.owed === 1, 'the sale owed');
    await new Promise((r) => setTimeout(r, 100)); // time for a post a write would start
    expect(posts.posts()).toBe(0);
    expect(await t.sync.syncNow()).toMatch(/^The server refuses this terminal/);
    expect(posts.posts()).toBe(0);
    t.sync.renewToken(await mint('renew-now', 'terminal', 'till-1'));
    // No timer advanced: only the renewal itself can send it.
    await waitForAsync(async () => (await serverEvents(server.url, 'renew-now')).length === 1, 'the owed sale uploaded with the new token');
    await waitFor(() => t.sync.status.owed === 0, 'acknowledged');
    expect(t.sync.status.authProblem).toBeNull();
  });

  it('[SYN15] an upload answered after the browser went offline schedules no retry; back online, it is uploaded', async () => {
    // Uploads only (relay ingest off), and the relay refused: a local write is posted at once.
    const server = await inProcess({ relayIngest: false });
    const relayPath = await proxyTo(server.port);
    await relayPath.refuse(true);
    const timers = new ManualTimers(15);
    const browser = Object.assign(new EventTarget(), { navigator: { onLine: true } });
    let posts = 0;
    let answerFirst: ((r: Response) => void) | null = null;
    const t = await terminal({
      location: 'went-offline',
      terminal: 'till-1',
      apiBase: server.url,
      syncEndpoint: relayPath.wsUrl,
      sync: {
        timers,
        browser,
        fetch: (input, init) => {
          if (init?.method !== 'POST') return globalThis.fetch(input, init);
          posts++;
          // The first upload is still out when the network goes; the rest reach the server.
          if (posts === 1) return new Promise<Response>((r) => (answerFirst = r));
          return globalThis.fetch(input, init);
        },
      },
    });
    await t.store.append('ticket.opened', { number: 'A-001' }, { aggregate: ticket });
    await waitFor(() => answerFirst !== null, 'the upload in flight');
    browser.navigator.onLine = false;
    browser.dispatchEvent(new Event('offline'));
    answerFirst!(new Response('busy', { status: 503 }));
    await waitFor(() => !t.sync.status.inFlight, 'its answer handled');
    // Before, the failure scheduled its retry while offline, and it was posted with no network.
    expect(t.sync.status.nextAttemptAt).toBeNull();
    timers.advance(3_600_000);
    expect(posts).toBe(1);

    browser.navigator.onLine = true;
    browser.dispatchEvent(new Event('online'));
    await waitForAsync(async () => (await serverEvents(server.url, 'went-offline')).length === 1, 'uploaded once back online');
    await waitFor(() => t.sync.status.owed === 0, 'acknowledged');
    expect(posts).toBe(2);
  });

  it('[SYN15] an upload stored after the browser went offline leaves the status offline (not online while sync is paused)', async () => {
    const server = await inProcess({ relayIngest: false });
    const relayPath = await proxyTo(server.port);
    await relayPath.refuse(true);
    const browser = Object.assign(new EventTarget(), { navigator: { onLine: true } });
    let release: (() => void) | null = null;
    const t = await terminal({
      location: 'stored-offline',
      terminal: 'till-1',
      apiBase: server.url,
      syncEndpoint: relayPath.wsUrl,
      sync: {
        timers: new ManualTimers(16),
        browser,
        // The server stores the upload; its answer arrives only after the network went.
        fetch: async (input, init) => {
          const res = await globalThis.fetch(input, init);
          if (init?.method === 'POST') await new Promise<void>((r) => (release = r));
          return res;
        },
      },
    });
    await t.store.append('ticket.opened', { number: 'A-001' }, { aggregate: ticket });
    await waitFor(() => release !== null, 'the upload stored, its answer held');
    browser.navigator.onLine = false;
    browser.dispatchEvent(new Event('offline'));
    release!();
    await waitFor(() => !t.sync.status.inFlight && t.sync.status.owed === 0, 'its answer handled');
    // Before, the answer made the status "online" while sync stayed paused.
    expect(t.sync.status.connection.name).toBe('offline');
  });

  it('[SYN15][SYN6] back online, the upload backoff starts over: the network back is tried soon, not after the wait an outage grew', async () => {
    const server = await inProcess({ relayIngest: false });
    const uploads = countingPosts();
    uploads.failing = true;
    const timers = new ManualTimers(18);
    timers.random = () => 0.99; // every wait drawn at 99% of its ceiling
    const browser = Object.assign(new EventTarget(), { navigator: { onLine: true } });
    const t = await terminal({ location: 'online-backoff', terminal: 'till-1', apiBase: server.url, syncEndpoint: 'ws://127.0.0.1:1/sync', sync: { timers, browser, fetch: uploads.fetch } });
    await waitFor(() => !t.sync.status.inFlight, 'start-up probe answered');
    await t.store.append('ticket.opened', { number: 'A-001' }, { aggregate: ticket });
    const failedAgain = (n: number) => waitFor(() => uploads.posts() === n && !t.sync.status.inFlight && t.sync.status.nextAttemptAt !== null, `try ${n} failed`);
    await failedAgain(1);
    for (let n = 2; n <= 5; n++) {
      timers.advance(t.sync.status.nextAttemptAt! - timers.now());
      await failedAgain(n);
    }
    expect(t.sync.status.nextAttemptAt! - timers.now()).toBe(Math.floor(0.99 * 16_000));
    browser.navigator.onLine = false;
    browser.dispatchEvent(new Event('offline'));
    browser.navigator.onLine = true;
    browser.dispatchEvent(new Event('online'));
    await failedAgain(6);
    expect(t.sync.status.nextAttemptAt! - timers.now()).toBe(990);
  });

  it('[SYN19] a refused token reads "offline since" when it was first refused, not since each status', async () => {
    const server = await inProcess();
    const timers = new ManualTimers(19);
    const t = await terminal({ location: 'refused-since', terminal: 'till-1', apiBase: server.url, syncEndpoint: server.wsUrl, sync: { timers, token: await expired('refused-since') } });
    await waitFor(() => t.sync.status.authProblem !== null && t.sync.status.connection.name === 'offline', 'the token refused');
    const since = (t.sync.status.connection as { since: number }).since;
    timers.advance(60_000);
    await t.store.append('ticket.opened', { number: 'A-001' }, { aggregate: ticket });
    await waitFor(() => t.sync.status.owed === 1, 'a new status published');
    // Before, "since" was the time of each status: the pill read "Offline · 0s" over and over.
    expect(t.sync.status.connection).toEqual({ name: 'offline', since });
  });

  it('[SYN25] a sync started on a store whose earlier sync (stopped) still has an upload out uploads at once', async () => {
    // Web Locks as in a browser: the writer slot takes one, and an upload once took one per writer.
    defer(installWebLocks());
    // Only uploads deliver (relay ingest off), and manual time: no retry or interval comes to the rescue.
    const server = await inProcess({ relayIngest: false });
    let holding = true;
    let held: () => void = () => {};
    const heldOut = new Promise<void>((r) => (held = r));
    let releaseHeld: () => void = () => {};
    const released = new Promise<never>((_, reject) => (releaseHeld = () => reject(new TypeError('fetch failed'))));
    released.catch(() => {});
    defer(() => releaseHeld());
    const opened = await openTerminal({
      location: 'restarted',
      terminal: 'till-1',
      apiBase: server.url,
      syncEndpoint: server.wsUrl,
      sync: {
        timers: new ManualTimers(25),
        // The first sync's upload stays out until the test ends (a server that answers late).
        fetch: (input, init) => {
          if (!holding) return globalThis.fetch(input, init);
          held();
          return released;
        },
      },
    });
    await opened.store.append('ticket.opened', { number: 'A-001' }, { aggregate: ticket });
    const first = opened.startSync();
    await heldOut;
    first.sync.stop();
    holding = false;
    const second = opened.startSync();
    defer(() => second.close());
    // Before, the second sync skipped every upload while the first one's was out (the same writer's lock).
    await waitFor(() => second.sync.status.owed === 0, 'the second sync uploaded what is owed');
    expect(await serverEvents(server.url, 'restarted')).toHaveLength(1);
  });

  it('[SYN12] a sync stopped with its upload out takes nothing of the late answer: what the next sync quarantined is still quarantined after a reload', async () => {
    const storage = installLocalStorage();
    defer(() => storage.restore());
    const server = await inProcess({ relayIngest: false });
    let holding = true;
    let held: () => void = () => {};
    const heldOut = new Promise<void>((r) => (held = r));
    let answer: () => void = () => {};
    const answered = new Promise<void>((r) => (answer = r));
    const opened = await openTerminal({
      location: 'late-answer',
      terminal: 'till-1',
      apiBase: server.url,
      // No relay listens there: every event is uploaded at once, not after the relay's grace.
      syncEndpoint: 'ws://127.0.0.1:1/sync',
      sync: {
        timers: new ManualTimers(12),
        // The first sync's upload reaches the server only when the test says (a server that answers late).
        fetch: async (input, init) => {
          if (!holding || init?.method !== 'POST') return globalThis.fetch(input, init);
          held();
          await answered;
          return globalThis.fetch(input, init);
        },
      },
    });
    const bad = (n: number) => ({ type: 'ticket.note_set', v: 1, aggregate: ticket, payload: { note: n } });
    await opened.store.append('ticket.opened', { number: 'A-001' }, { aggregate: ticket });
    const first = opened.startSync();
    writeAsOtherBuild(first, 2, bad(2)); // refused by the server: in the first sync's batch
    await heldOut;
    first.sync.stop();
    holding = false;
    writeAsOtherBuild(first, 3, bad(3));
    const second = opened.startSync();
    defer(() => second.sync.stop());
    await waitFor(() => second.sync.status.owed === 0 && second.sync.status.quarantined.length === 2, 'the second sync quarantined both refused events');
    answer();
    await waitFor(() => !first.sync.status.inFlight, 'the first sync\'s late answer handled');
    // A reload: the list read back is the second sync's. Before, the stopped sync quarantined n = 2
    // again and saved its own list over it: n = 3 was uploaded again after the reload.
    const reloaded = opened.startSync();
    defer(() => reloaded.close());
    expect(reloaded.sync.status.quarantined.map((q) => q.n)).toEqual([2, 3]);
  });

  it('[SYN12] a clock probe answered after stop() changes nothing: no clock offset, no last sync, no connection state', async () => {
    const storage = installLocalStorage();
    defer(() => storage.restore());
    const server = await inProcess();
    let held: () => void = () => {};
    const heldOut = new Promise<void>((r) => (held = r));
    let answer: () => void = () => {};
    const answered = new Promise<void>((r) => (answer = r));
    const t = await terminal({
      location: 'late-probe',
      terminal: 'till-1',
      apiBase: server.url,
      syncEndpoint: 'ws://127.0.0.1:1/sync',
      // Ten minutes behind: an answer applied would calibrate the clock by that much.
      skewMs: -600_000,
      sync: {
        timers: new ManualTimers(12),
        // The start-up clock probe reaches the server only when the test says.
        fetch: async (input, init) => {
          if (String(input).endsWith('/api/watermarks')) {
            held();
            await answered;
          }
          return globalThis.fetch(input, init);
        },
      },
    });
    await heldOut;
    const before = t.sync.status;
    t.close();
    answer();
    await waitFor(() => !t.sync.status.inFlight, 'the late probe answer handled');
    // Before, the stopped sync calibrated the closed store's clock, stored "last sync" and read online with its latency.
    expect([...storage.saved.keys()].filter((k) => k.includes('in-sync-at'))).toEqual([]);
    expect(t.store.clock.getOffset()).toBe(0);
    expect(t.sync.status.clockOffsetMs).toBeNull();
    expect(t.sync.status.connection).toEqual(before.connection);
    expect(t.sync.status.lastSyncAt).toBeNull();
  });
});
