import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHECK_EVERY_MS, RETRY_MS, TokenRenewal } from '../../client/app/token-renewal';
import { readTokenClaims } from '../../client/app/pairing';
import { startTestServer, type InProcessServer } from '../helpers/server-in-process';
import { ManualTimers } from '../helpers/manual-timers';
import { countingPosts, expired, forge, mint, upgradeStatus, waitFor } from '../helpers/server-clients';

/**
 * [SYN16] The device renews its token once half its lifetime has passed (client/app/token-
 * renewal.ts), against the real server's POST /api/tokens/renew. Virtual time decides when it
 * asks; the server mints with real time.
 */
let server: InProcessServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.dispose();
});

/**
 * Manual timers set to the real clock, and every request the renewal makes, counted. `answer`
 * stands in for the server where it never answers so (a proxy's 403, a 500, an answer held back).
 */
function renewal(token: string, { apiBase = server.url, answer = fetch }: { apiBase?: string; answer?: typeof fetch } = {}) {
  const timers = new ManualTimers();
  timers.advance(Date.now() - timers.now());
  const renewed: string[] = [];
  const browser = new EventTarget();
  let requests = 0;
  const counted: typeof fetch = (input, init) => {
    requests++;
    return answer(input, init);
  };
  const r = new TokenRenewal({ token, apiBase, timers, browser, fetch: counted, onRenewed: (t) => void renewed.push(t) });
  return { r, timers, browser, renewed, requests: () => requests };
}

/** A token of these claims, unsigned: the device only reads them (the server's answer is stood in for). */
function unsignedToken(claims: object): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'HS256', typ: 'JWT' })}.${part({ location: 'renew', role: 'terminal', terminal: 'till-5', ...claims })}.sig`;
}

describe('token renewal', () => {
  it('[SYN16] a token not yet half through its lifetime is left alone (looked at hourly); at half-life it is renewed with the same claims, and the new one opens the relay', async () => {
    const token = await mint('renew', 'terminal', 'till-1', 4 * 3600);
    const { r, timers, renewed, requests } = renewal(token);
    await r.check();
    expect(requests()).toBe(0);
    expect(timers.nextDue()! - timers.now()).toBe(CHECK_EVERY_MS);
    timers.advance(CHECK_EVERY_MS);
    await r.check();
    expect(requests()).toBe(0);
    // Now at the due time (2 h after it was issued, under a second from now).
    expect(timers.nextDue()! - timers.now()).toBeLessThanOrEqual(CHECK_EVERY_MS);
    timers.advance(CHECK_EVERY_MS);
    await r.check();
    expect(requests()).toBe(1);
    expect(renewed).toHaveLength(1);
    const claims = readTokenClaims(renewed[0]!);
    expect(claims).toMatchObject({ location: 'renew', role: 'terminal', terminal: 'till-1' });
    expect(claims.expiresAt! - claims.issuedAt!).toBe(4 * 3600_000);
    expect((await upgradeStatus(server.wsUrl, 'renew', renewed[0]!)).status).toBe(101);
    r.stop();
  });

  it('[SYN16] a device clock hours ahead of the server: the token is judged on the server\'s time (not renewed early, nor in a loop); after a renewal the next look is a minute on', async () => {
    const ahead = 3 * 3600_000; // past the half-life of a 4-hour token on the device's own clock
    const token = await mint('renew', 'terminal', 'till-3', 4 * 3600);
    const timers = new ManualTimers();
    timers.advance(Date.now() + ahead - timers.now());
    const counting = countingPosts();
    const renewed: string[] = [];
    const r = new TokenRenewal({ token, apiBase: server.url, timers, fetch: counting.fetch, onRenewed: (t) => void renewed.push(t), serverNow: () => timers.now() - ahead });
    await r.check();
    expect(counting.posts()).toBe(0);
    r.stop();

    // Days ahead and not corrected yet (a reload: the offset is measured again): it looks expired, and is looked at again once corrected.
    let offset = 0;
    const uncorrected = new TokenRenewal({ token, apiBase: server.url, timers, fetch: counting.fetch, onRenewed: (t) => void renewed.push(t), serverNow: () => timers.now() - offset });
    timers.advance(20 * 86_400_000);
    await uncorrected.check();
    expect(counting.posts()).toBe(0);
    offset = timers.now() + CHECK_EVERY_MS - (Date.now() + 2.5 * 3600_000); // sync measured the offset: at the next look, 2.5 h into the 4-hour token
    timers.advance(CHECK_EVERY_MS);
    await uncorrected.check();
    expect([counting.posts(), renewed.length]).toEqual([1, 1]);
    uncorrected.stop();

    const due = renewal(await mint('renew', 'terminal', 'till-4', 60));
    due.timers.advance(31_000);
    await due.r.check();
    expect(due.renewed).toHaveLength(1);
    expect(due.timers.nextDue()! - due.timers.now()).toBe(RETRY_MS);
    due.r.stop();
  });

  it('[SYN16] no answer (server down) is asked again a minute later; a refused token (forged, a 403, expired) is not asked again, nor when the network comes back', async () => {
    const token = await mint('renew', 'terminal', 'till-2', 60);
    const down = renewal(token, { apiBase: 'http://127.0.0.1:9' }); // nothing listens on the discard port
    down.timers.advance(31_000);
    await down.r.check();
    expect(down.requests()).toBe(1);
    expect(down.renewed).toEqual([]);
    expect(down.timers.nextDue()! - down.timers.now()).toBe(RETRY_MS);
    down.r.stop();

    const forged = renewal(await forge('renew'));
    forged.timers.advance(1800_001);
    forged.r.start();
    await forged.r.check(); // the look start() began
    // Nor when the network comes back (its listener posted the refused token at every change).
    for (let i = 0; i < 2; i++) {
      forged.browser.dispatchEvent(new Event('online'));
      await forged.r.check();
    }
    expect(forged.requests()).toBe(1);
    expect(forged.timers.nextDue()).toBeNull();

    // A 403 (a proxy's) refuses it too: not taken as no answer, asked again every minute.
    const forbidden = renewal(token, { answer: async () => new Response('{"error":"forbidden"}', { status: 403 }) });
    forbidden.timers.advance(31_000);
    await forbidden.r.check();
    expect(forbidden.requests()).toBe(1);
    expect(forbidden.timers.nextDue()).toBeNull();

    const old = renewal(await expired('renew'));
    await old.r.check();
    expect(old.requests()).toBe(0); // expired: only a new pairing link helps
    // Looked at again (it may only look expired on a clock not corrected yet), never asked.
    expect(old.timers.nextDue()! - old.timers.now()).toBe(CHECK_EVERY_MS);
    old.timers.advance(CHECK_EVERY_MS);
    await old.r.check();
    expect(old.requests()).toBe(0);

    // At the very second of its exp it is expired (the server would refuse it): not sent either.
    const ending = renewal(token);
    ending.timers.advance(readTokenClaims(token).expiresAt! - ending.timers.now());
    await ending.r.check();
    expect(ending.requests()).toBe(0);
    expect(ending.timers.nextDue()! - ending.timers.now()).toBe(CHECK_EVERY_MS);
  });

  it('[SYN16] a token without iat (its half-life unknown) is renewed at once, then looked at a minute on; one without exp is never asked about nor looked at', async () => {
    const noIssue = renewal(unsignedToken({ exp: Math.floor(Date.now() / 1000) + 3600 }), { answer: async () => new Response('', { status: 500 }) });
    await noIssue.r.check();
    expect(noIssue.requests()).toBe(1);
    expect(noIssue.timers.nextDue()! - noIssue.timers.now()).toBe(RETRY_MS);
    noIssue.r.stop();

    const noExpiry = renewal(unsignedToken({ iat: Math.floor(Date.now() / 1000) - 3600 }));
    await noExpiry.r.check();
    expect([noExpiry.requests(), noExpiry.timers.nextDue()]).toEqual([0, null]);
  });

  it('[SYN16] stopped while a renewal is out (the session closed, the device unpaired), its answer hands no token over', async () => {
    let answerNow!: () => void;
    const answered = new Promise<void>((resolve) => (answerNow = resolve));
    const out = renewal(await mint('renew', 'terminal', 'till-6', 60), { answer: (input, init) => answered.then(() => fetch(input, init)) });
    out.timers.advance(31_000);
    const checked = out.r.check();
    await waitFor(() => out.requests() === 1, 'the renewal out');
    out.r.stop();
    answerNow();
    await checked;
    expect(out.renewed).toEqual([]);
    expect(out.timers.nextDue()).toBeNull();
  });

  it('[SYN16] start() asks at once; back online it asks again without waiting for the retry; stop() ends it', async () => {
    const token = await mint('renew', 'terminal', 'till-3', 60);
    const browser = new EventTarget();
    const timers = new ManualTimers();
    timers.advance(Date.now() + 31_000 - timers.now()); // past half-life
    let offline = true;
    let requests = 0;
    const flakyFetch: typeof fetch = (input, init) => {
      requests += 1;
      return offline ? Promise.reject(new TypeError('Failed to fetch')) : fetch(input, init);
    };
    const renewed: string[] = [];
    const r = new TokenRenewal({ token, apiBase: server.url, timers, browser, fetch: flakyFetch, onRenewed: (t) => void renewed.push(t) });
    r.start();
    await waitFor(() => timers.nextDue() !== null, 'the first attempt failed and a retry is armed');
    expect(requests).toBe(1);
    offline = false;
    browser.dispatchEvent(new Event('online'));
    await waitFor(() => renewed.length === 1, 'renewed once back online');
    r.stop();
    expect(timers.nextDue()).toBeNull();
    browser.dispatchEvent(new Event('online'));
    timers.advance(2 * CHECK_EVERY_MS);
    expect(requests).toBe(2);
  });
});
