import { request as httpRequest } from 'node:http';
import { SignJWT } from 'jose';
import * as encoding from 'lib0/encoding';
import WebSocket from 'ws';
import * as syncProtocol from 'y-protocols/sync';
import * as Y from 'yjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TokenIssuer } from '../../server/auth/tokens';
import { configWith } from '../../server/config';
import { MessageType } from '../../server/relay/messages';
import { Relay } from '../../server/relay/relay';
import { StoreHealth } from '../../server/store/store-health';
import { CloseReason, MESSAGE_TOO_BIG, closeReasonOf, isRetriableCloseCode } from '../../shared/protocol/close-reasons';
import { RELAY_SUBPROTOCOL } from '../../shared/protocol/relay-auth';
import { RelayConnection } from '../../client/sync/relay-connection';
import { realTimers } from '../../client/sync/timers';
import { startTestServer, type InProcessServer } from '../helpers/server-in-process';
import {
  TEST_SECRET,
  api,
  connectClient,
  connectSynced,
  expired,
  forge,
  legacyAdminToken,
  mint,
  postEvents,
  serveRelay,
  ticketOpenedEvent,
  tokens,
  upgradeStatus,
  waitFor,
} from '../helpers/server-clients';

/** A token signed with the server's secret whatever its claims: `exp` left out when not given. */
function signed(claims: Record<string, unknown>, exp?: number): Promise<string> {
  const jwt = new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setIssuedAt();
  return (exp === undefined ? jwt : jwt.setExpirationTime(exp)).sign(new TextEncoder().encode(TEST_SECRET));
}

/** The JWT claims a token carries (unverified). */
function claimsIn(token: string): { exp: number; iat?: number } & Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { exp: number };
}

/**
 * A POST whose headers (token included) go out at once and whose body only when `sendBody()`
 * is called, as a device on a slow link, or one stalling on purpose, sends it.
 */
function heldPost(baseUrl: string, path: string, token: string, body: unknown) {
  const raw = JSON.stringify(body);
  const req = httpRequest(`${baseUrl}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(raw) },
  });
  const answer = new Promise<{ status: number; body: Record<string, unknown> }>((resolve, reject) => {
    req.once('response', (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.once('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> }));
    });
    req.once('error', reject);
  });
  req.flushHeaders();
  return { path, answer, sendBody: () => req.end(raw) };
}

describe('auth: tokens scope every socket and request to one location and role', () => {
  let server: InProcessServer;

  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.dispose();
  });

  it('a valid token for the room upgrades (101), in the URL or in a subprotocol', async () => {
    const token = await mint('loc-a');
    expect((await upgradeStatus(server.wsUrl, 'loc-a', token)).status).toBe(101);
    // The server selects `rms.sync`, never echoing the protocol that carries the token.
    expect(await upgradeStatus(server.wsUrl, 'loc-a', token, 'subprotocol')).toMatchObject({ status: 101, protocol: RELAY_SUBPROTOCOL });
  });

  it('[SRV2] the staff app sends its token in a subprotocol, never in the relay URL', () => {
    const relay = new RelayConnection({
      url: server.wsUrl,
      room: 'loc-a',
      doc: new Y.Doc(),
      token: 'header.payload.signature',
      timers: realTimers,
      WebSocketImpl: WebSocket as unknown as typeof globalThis.WebSocket,
      onChange: () => {},
    });
    try {
      expect(relay.provider.url).not.toContain('signature');
      expect(relay.provider.protocols).toEqual([RELAY_SUBPROTOCOL, 'rms.token.header.payload.signature']);
      relay.renewToken('header.payload.renewed');
      expect(relay.provider.protocols).toEqual([RELAY_SUBPROTOCOL, 'rms.token.header.payload.renewed']);
    } finally {
      relay.destroy();
    }
  });

  describe.each(['query', 'subprotocol'] as const)('token in the %s', (carrier) => {
    it.each([
      ['missing', async (): Promise<string | null> => null, 401],
      ['garbage', async (): Promise<string | null> => 'not-a-token', 401],
      ['forged signature', () => forge('loc-a'), 401],
      ['expired', () => expired('loc-a'), 401],
      ['other location', () => mint('loc-b'), 403],
    ] as const)('[SRV2] ws upgrade with a %s token is refused before any document byte', async (_name, token, status) => {
      const result = await upgradeStatus(server.wsUrl, 'loc-a', await token(), carrier);
      expect(result.status).toBe(status);
      expect(JSON.parse(result.body)).toMatchObject({ error: expect.any(String), serverTime: expect.any(Number) });
    });
  });

  it.each([
    ['missing', async (): Promise<string | null> => null, 401, 'unauthorized'],
    ['garbage', async (): Promise<string | null> => 'not-a-token', 401, 'unauthorized'],
    ['forged signature', () => forge('loc-a'), 401, 'unauthorized'],
    ['expired', () => expired('loc-a'), 401, 'tokenExpired'],
  ] as const)('[SRV2] REST with a %s token is refused on every endpoint', async (_name, token, status, code) => {
    const t = await token();
    for (const res of [
      await postEvents(server.url, t as string, [ticketOpenedEvent('till-1', 1)]),
      await api(server.url, '/api/events', t),
      await api(server.url, '/api/watermarks', t),
      await api(server.url, '/api/aggregates/ticket/x', t),
    ]) {
      expect(res.status).toBe(status);
      expect(res.body).toMatchObject({ error: code });
    }
  });

  it('[SRV33] a request without a valid token, or with a role the route refuses, is answered before its body is read; public routes need no token', async () => {
    const notJson = '{"events": [[[ not json';
    const oversized = `{"events":[${'['.repeat(3 * 1024 * 1024)}`;
    const terminal = await mint('loc-a', 'terminal', 'till-1');
    for (const path of ['/api/events', '/api/tokens', '/api/tokens/renew', '/api/tokens/revoke']) {
      for (const [token, rawBody] of [[null, notJson], ['not-a-token', notJson], [await expired('loc-a'), notJson], [null, oversized]] as const) {
        const res = await api(server.url, path, token, { rawBody });
        expect({ path, status: res.status }).toEqual({ path, status: 401 });
        expect(res.body).toMatchObject({ error: expect.stringMatching(/^(unauthorized|tokenExpired)$/) });
      }
    }
    for (const path of ['/api/tokens', '/api/tokens/revoke']) {
      const res = await api(server.url, path, terminal, { rawBody: notJson });
      expect(res.status).toBe(403);
      expect(res.body).toMatchObject({ error: 'forbidden' });
    }
    // A valid token's body is still read: malformed JSON is its 400.
    const parsed = await api(server.url, '/api/events', terminal, { rawBody: notJson });
    expect(parsed.status).toBe(400);
    expect(parsed.body).toMatchObject({ error: 'badRequest', field: 'body' });
    expect((await api(server.url, '/healthz', null)).status).toBe(200);
    expect((await api(server.url, '/metrics', null)).status).toBe(200);
  });

  it('[SRV33] a body nesting arrays or objects deeper than 64 levels is refused before it is parsed; brackets in strings do not count', async () => {
    const token = await mint('loc-a', 'manager', 'mgr-1');
    const nested = (levels: number) => `{"events":${'['.repeat(levels - 1)}${']'.repeat(levels - 1)}}`;
    for (const path of ['/api/events', '/api/tokens']) {
      const deep = await api(server.url, path, token, { rawBody: nested(65) });
      expect(deep.status).toBe(400);
      expect(deep.body).toMatchObject({ error: 'badRequest', field: 'body', message: expect.stringContaining('nested deeper than 64') });
    }
    // 64 levels, and strings full of brackets and escaped quotes, are parsed: a batch of one event, rejected alone.
    const brackets = JSON.stringify({ events: [{ id: `\\"${'['.repeat(100)}"\\\\` }] });
    for (const rawBody of [nested(64), brackets]) {
      const parsed = await api<{ results: { status: string }[] }>(server.url, '/api/events', token, { rawBody });
      expect(parsed.status).toBe(200);
      expect(parsed.body.results.map((r) => r.status)).toEqual(['rejected']);
    }
  });

  it('[SRV3] a token for A can never read or write B, and nothing leaks across locations', async () => {
    const a = await mint('loc-a', 'terminal', 'till-1');
    const b = await mint('loc-b', 'terminal', 'till-1');
    const ev = ticketOpenedEvent('till-1', 1);
    expect((await postEvents(server.url, a, [ev])).body.results[0]!.status).toBe('accepted');
    // Explicitly asking for B with A's token is forbidden.
    const cross = await api(server.url, '/api/events?location=loc-b', a, { body: { events: [ticketOpenedEvent('till-1', 2)] } });
    expect(cross.status).toBe(403);
    expect((await api(server.url, '/api/events?location=loc-b', a)).status).toBe(403);
    // B sees nothing of A: no events, no watermarks, no aggregate, and A's id is new to B.
    expect((await api<{ events: unknown[] }>(server.url, '/api/events', b)).body.events).toEqual([]);
    expect((await api(server.url, '/api/watermarks', b)).body).toMatchObject({ watermarks: {} });
    expect((await api(server.url, `/api/aggregates/ticket/${ev.aggregate.id}`, b)).status).toBe(404);
    expect((await postEvents(server.url, b, [ev])).body.results[0]!.status).toBe('accepted');
    // And B's room holds none of A's room content.
    const ca = await connectSynced(server.wsUrl, 'loc-a', a);
    const cb = await connectSynced(server.wsUrl, 'loc-b', b);
    ca.doc.getMap('secret').set('k', 'only for A');
    await waitFor(() => ca.provider.synced, 'a synced');
    const probe = await connectSynced(server.wsUrl, 'loc-a', a);
    await waitFor(() => probe.doc.getMap('secret').get('k') === 'only for A', 'A content reached server');
    expect(cb.doc.getMap('secret').get('k')).toBeUndefined();
    for (const c of [ca, cb, probe]) c.destroy();
  });

  it('[SRV4] role rules: terminals cannot mint tokens or read operator endpoints; managers mint terminals only', async () => {
    const terminal = await mint('loc-a', 'terminal', 'till-1');
    const manager = await mint('loc-a', 'manager', 'mgr-1');
    const admin = await mint('loc-a', 'admin', 'ops');
    const mintBody = { role: 'terminal', terminal: 'till-9', ttlSeconds: 60 };
    expect((await api(server.url, '/api/tokens', terminal, { body: mintBody })).status).toBe(403);
    expect((await api(server.url, '/api/admin/stats', terminal)).status).toBe(403);
    expect((await api(server.url, '/api/admin/stats', manager)).status).toBe(403);
    expect((await api(server.url, '/api/admin/stats', admin)).status).toBe(200);
    for (const role of ['manager', 'admin']) {
      const above = await api(server.url, '/api/tokens', manager, { body: { role, terminal: 'new-1', ttlSeconds: 60 } });
      expect({ role, status: above.status }).toEqual({ role, status: 403 });
    }
    const minted = await api<{ token: string; location: string }>(server.url, '/api/tokens', manager, { body: mintBody });
    expect(minted.status).toBe(200);
    expect(minted.body.location).toBe('loc-a');
    // The minted token works, for loc-a only.
    expect((await upgradeStatus(server.wsUrl, 'loc-a', minted.body.token)).status).toBe(101);
    expect((await upgradeStatus(server.wsUrl, 'loc-b', minted.body.token)).status).toBe(403);
    expect((await api(server.url, '/api/tokens', admin, { body: { role: 'manager', terminal: 'm2' } })).status).toBe(200);
    // Not under the caller's own name: revoked by that name, both devices would go, and the caller cannot revoke itself.
    const own = await api<{ field: string }>(server.url, '/api/tokens', manager, { body: { role: 'terminal', terminal: 'mgr-1' } });
    expect([own.status, own.body.field]).toEqual([400, 'terminal']);
    // Every token names its device or integration, whatever its role: that name is how it is revoked (SRV24).
    const unnamed = await api(server.url, '/api/tokens', admin, { body: { role: 'admin' } });
    expect(unnamed.status).toBe(400);
    expect(unnamed.body).toMatchObject({ field: 'terminal' });
    // The server's own writer id is no terminal's: its segments and origin are the server's.
    const asServer = await api(server.url, '/api/tokens', manager, { body: { role: 'terminal', terminal: 'server', ttlSeconds: 60 } });
    expect(asServer.status).toBe(400);
    expect(asServer.body).toMatchObject({ field: 'terminal' });
    // Nor has a new device a dot in its id: `bar.1` would be taken for a writer of `bar` (revoking one would cut both off).
    const dotted = await api(server.url, '/api/tokens', manager, { body: { role: 'terminal', terminal: 'bar.1', ttlSeconds: 60 } });
    expect(dotted.status).toBe(400);
    expect(dotted.body).toMatchObject({ field: 'terminal' });
  });

  it('[SRV5] a token expiring mid-session closes with tokenExpired; renewing resumes without losing anything', async () => {
    const short = await mint('loc-renew', 'terminal', 'till-1', 2);
    const client = connectClient(server.wsUrl, 'loc-renew', short);
    await waitFor(() => client.provider.synced, 'synced');
    client.doc.getMap('m').set('before', 1);
    const closed = new Promise<{ code: number; reason: string }>((res) => client.provider.once('closed', (e) => res(e)));
    const close = await closed;
    expect(close.code).toBe(CloseReason.tokenExpired.code);
    expect(close.reason).toBe('tokenExpired');
    expect(isRetriableCloseCode(close.code)).toBe(false);
    // Offline edits while the token is renewed.
    client.doc.getMap('m').set('while-renewing', 2);
    client.provider.params = { token: await mint('loc-renew', 'terminal', 'till-1', 3600) };
    client.provider.connect();
    await waitFor(() => client.provider.synced, 'resynced with the renewed token');
    const other = await connectSynced(server.wsUrl, 'loc-renew', await mint('loc-renew', 'terminal', 'till-2'));
    await waitFor(() => other.doc.getMap('m').get('while-renewing') === 2, 'edits made during renewal arrive');
    expect(other.doc.getMap('m').get('before')).toBe(1);
    client.destroy();
    other.destroy();
  });

  it('[SRV5] a token used before its expiry is refused after it, though it was verified once: 401 tokenExpired on REST, 401 at the relay upgrade', async () => {
    const short = await mint('loc-exp', 'terminal', 'till-1', 2);
    expect((await api(server.url, '/api/watermarks', short)).status).toBe(200);
    // Into the very second of exp (expired when exp <= now, in whole seconds): bounded by the 2 s lifetime.
    const exp = claimsIn(short).exp * 1000;
    await new Promise((r) => setTimeout(r, Math.max(0, exp - Date.now()) + 20));
    expect((await upgradeStatus(server.wsUrl, 'loc-exp', short)).status).toBe(401);
    const rest = await api(server.url, '/api/watermarks', short);
    expect(rest.status).toBe(401);
    expect(rest.body).toMatchObject({ error: 'tokenExpired' });
  });

  it('[SRV2] a token signed with the server\'s secret but breaking the claims rules is refused on REST and at the upgrade: a terminal naming no terminal, a token without exp', async () => {
    const inAnHour = Math.floor(Date.now() / 1000) + 3600;
    const noTerminal = await signed({ location: 'loc-claims', role: 'terminal' }, inAnHour);
    const noExp = await signed({ location: 'loc-claims', role: 'admin', terminal: 'ops' });
    for (const [name, token] of [['no terminal', noTerminal], ['no exp', noExp]] as const) {
      const rest = await api(server.url, '/api/watermarks', token);
      expect({ name, status: rest.status, body: rest.body }).toMatchObject({ name, status: 401, body: { error: 'unauthorized' } });
      expect({ name, status: (await upgradeStatus(server.wsUrl, 'loc-claims', token)).status }).toEqual({ name, status: 401 });
    }
  });

  it('[SRV24] a device revoked while it holds the body of a request is refused once the body arrives: it renews, mints and stores nothing', async () => {
    const location = 'loc-held';
    const manager = await mint(location, 'manager', 'mgr-1');
    const stolenTill = await mint(location, 'terminal', 'till-2');
    const stolenManager = await mint(location, 'manager', 'mgr-2');
    const event = ticketOpenedEvent('till-2', 1);
    const held = [
      heldPost(server.url, '/api/tokens/renew', stolenTill, {}),
      heldPost(server.url, '/api/events', stolenTill, { events: [event] }),
      heldPost(server.url, '/api/tokens', stolenManager, { role: 'terminal', terminal: 'evil-1' }),
    ];
    await new Promise((r) => setTimeout(r, 300)); // their tokens checked at the headers
    for (const terminal of ['till-2', 'mgr-2']) {
      expect((await api(server.url, '/api/tokens/revoke', manager, { body: { terminal } })).status).toBe(200);
    }
    for (const request of held) request.sendBody();
    const answers = await Promise.all(held.map(async ({ path, answer }) => ({ path, ...(await answer) })));
    expect(answers.map(({ path, status, body }) => ({ path, status, error: body.error, token: body.token }))).toEqual(
      held.map(({ path }) => ({ path, status: 401, error: 'tokenRevoked', token: undefined })),
    );
    const stored = await api<{ events: { id: string }[] }>(server.url, '/api/events', manager);
    expect(stored.body.events.map((e) => e.id)).not.toContain(event.id);
  });

  it('[SRV23] a mint\'s and a renewal\'s answer say the exp their token carries, whichever second the answer is written in', async () => {
    // Each clock read 0.4 s after the last: the token and its answer are stamped in different seconds.
    let t = Math.floor(Date.now() / 1000) * 1000 + 500;
    const ticking = await startTestServer({ now: () => (t += 400) });
    try {
      const manager = await mint('loc-exp', 'manager', 'office');
      const minted = await api<{ token: string; exp: number }>(ticking.url, '/api/tokens', manager, { body: { role: 'terminal', terminal: 'till-9' } });
      const renewed = await api<{ token: string; exp: number }>(ticking.url, '/api/tokens/renew', minted.body.token, { body: {} });
      for (const answer of [minted, renewed]) expect([answer.status, answer.body.exp]).toEqual([200, claimsIn(answer.body.token).exp]);
    } finally {
      await ticking.dispose();
    }
  });

  it('[SRV23] POST /api/tokens/renew gives any valid token a fresh one of the same location, role, terminal and lifetime; an expired or forged one gets nothing', async () => {
    const short = await mint('loc-renew-rest', 'terminal', 'till-1', 600);
    await new Promise((r) => setTimeout(r, 1100)); // a second later: the renewed token expires later
    const renewed = await api<{ token: string; exp: number; role: string; terminal: string }>(server.url, '/api/tokens/renew', short, { body: {} });
    expect(renewed.status).toBe(200);
    const before = claimsIn(short);
    const after = claimsIn(renewed.body.token);
    expect(after).toMatchObject({ location: 'loc-renew-rest', role: 'terminal', terminal: 'till-1' });
    expect((after.exp as number) - (after.iat as number)).toBe(600);
    expect(after.exp as number).toBeGreaterThan(before.exp as number);
    expect(renewed.body).toMatchObject({ role: 'terminal', terminal: 'till-1', exp: after.exp });
    // It works where the old one did, and only there.
    expect((await upgradeStatus(server.wsUrl, 'loc-renew-rest', renewed.body.token)).status).toBe(101);
    expect((await upgradeStatus(server.wsUrl, 'loc-other', renewed.body.token)).status).toBe(403);
    // A manager stays a manager (never more).
    const manager = await api<{ token: string }>(server.url, '/api/tokens/renew', await mint('loc-renew-rest', 'manager', 'mgr-1'), { body: {} });
    expect(claimsIn(manager.body.token)).toMatchObject({ role: 'manager', terminal: 'mgr-1' });
    for (const token of [await expired('loc-renew-rest'), await forge('loc-renew-rest'), '']) {
      const refused = await api(server.url, '/api/tokens/renew', token, { body: {} });
      expect(refused.status).toBe(401);
    }
    // A token from before every token named its device still works until it expires, but is not
    // renewed: nothing could ever revoke it.
    const legacy = await legacyAdminToken('loc-renew-rest');
    expect((await api(server.url, '/api/admin/stats', legacy)).status).toBe(200);
    const notRenewed = await api(server.url, '/api/tokens/renew', legacy, { body: {} });
    expect(notRenewed.status).toBe(403);
    expect(notRenewed.body).toMatchObject({ field: 'terminal' });
  });
});

describe('relay upgrade at shutdown', () => {
  it('an upgrade still verifying its token when shutdown starts is refused 503, never attached to a room the shutdown flushed', async () => {
    let verifying = (): void => {};
    const verifyStarted = new Promise<void>((resolve) => (verifying = resolve));
    let finishVerify = (): void => {};
    const verifyHeld = new Promise<void>((resolve) => (finishVerify = resolve));
    const slowTokens: TokenIssuer = {
      ...tokens,
      async verify(token) {
        verifying();
        await verifyHeld;
        return tokens.verify(token);
      },
    };
    const relay = new Relay({ tokens: slowTokens, limits: configWith({}).relay, hooks: [], storeHealth: new StoreHealth(Date.now), log: { warn() {}, info() {}, error() {} } });
    const served = await serveRelay(relay);
    try {
      const status = upgradeStatus(served.wsUrl, 'loc-shutdown', await mint('loc-shutdown'));
      await verifyStarted;
      const disconnected = relay.disconnectAll(CloseReason.serverShuttingDown);
      finishVerify();
      await disconnected;
      expect((await status).status).toBe(503);
      expect(relay.rooms.size).toBe(0);
    } finally {
      await relay.close();
      await served.close();
    }
  });
});

describe('relay limits', () => {
  let server: InProcessServer;
  beforeAll(async () => {
    server = await startTestServer({ relay: { maxMessageBytes: 64 * 1024, maxConnectionsPerRoom: 2 } });
  });
  afterAll(async () => {
    await server.dispose();
  });

  it('a connection over the per-room limit is closed with the retriable roomFull code', async () => {
    const token = await mint('loc-full');
    const a = await connectSynced(server.wsUrl, 'loc-full', token);
    const b = await connectSynced(server.wsUrl, 'loc-full', token);
    const c = connectClient(server.wsUrl, 'loc-full', token);
    const closeEvent = await new Promise<{ code: number } | null>((res) =>
      c.provider.once('connection-close', (e) => res(e as { code: number } | null)),
    );
    expect(closeEvent?.code).toBe(CloseReason.roomFull.code);
    expect(isRetriableCloseCode(CloseReason.roomFull.code)).toBe(true);
    for (const x of [a, b, c]) x.destroy();
  });

  it('a garbage frame is closed with malformedMessage; a newer protocol version is refused at upgrade', async () => {
    const token = await mint('loc-garbage');
    const ws = new WebSocket(`${server.wsUrl}/loc-garbage?token=${token}`);
    await new Promise((res) => ws.once('open', res));
    const code = new Promise<number>((res) => ws.once('close', (c: number) => res(c)));
    ws.send(new Uint8Array([0, 2, 250, 250, 250, 250, 250]));
    expect(await code).toBe(CloseReason.malformedMessage.code);
    const future = await new Promise<number>((res) => {
      const w = new WebSocket(`${server.wsUrl}/loc-garbage?v=99&token=${token}`);
      w.on('unexpected-response', (_q, r) => res(r.statusCode ?? 0));
      w.on('open', () => res(101));
      w.on('error', () => {});
    });
    expect(future).toBe(400);
    expect((await new Promise<number>((res) => {
      const w = new WebSocket(`${server.wsUrl}/loc-garbage?v=abc&token=${token}`);
      w.on('unexpected-response', (_q, r) => res(r.statusCode ?? 0));
      w.on('open', () => res(101));
      w.on('error', () => {});
    }))).toBe(400);
    const probe = await connectSynced(server.wsUrl, 'loc-garbage', token);
    expect(probe.provider.synced).toBe(true);
    probe.destroy();
  });

  it('a message of exactly the size limit is relayed and stored', async () => {
    const token = await mint('loc-exact');
    const ws = new WebSocket(`${server.wsUrl}/loc-exact?token=${token}`);
    await new Promise((res) => ws.once('open', res));
    let closedWith: number | null = null;
    ws.on('close', (c: number) => (closedWith = c));
    ws.send(updateFrameOfSize(64 * 1024, 'exact'));
    const probe = await connectSynced(server.wsUrl, 'loc-exact', token);
    await waitFor(() => probe.doc.getMap('m').has('exact'), 'the exact-size update relayed');
    expect(closedWith).toBeNull();
    ws.terminate();
    probe.destroy();
  });

  it('a message over the size limit is closed with messageTooLarge and nothing of it is stored', async () => {
    const token = await mint('loc-big');
    const big = await connectSynced(server.wsUrl, 'loc-big', token);
    const closed = new Promise<{ code: number }>((res) => big.provider.once('closed', (e) => res(e)));
    // Just over the limit (within the socket layer's 1 KiB of slack): our own check answers.
    big.doc.getMap('m').set('huge', 'x'.repeat(64 * 1024));
    expect((await closed).code).toBe(CloseReason.messageTooLarge.code);
    const probe = await connectSynced(server.wsUrl, 'loc-big', token);
    expect(probe.doc.getMap('m').get('huge')).toBeUndefined();
    big.destroy();
    probe.destroy();
  });

  it('a message past the limit and its 1 KiB of slack is cut by the socket layer (1009), unread, which clients read as messageTooLarge and do not retry', async () => {
    const token = await mint('loc-huge');
    const ws = new WebSocket(`${server.wsUrl}/loc-huge?token=${token}`);
    await new Promise((res) => ws.once('open', res));
    const code = new Promise<number>((res) => ws.once('close', (c: number) => res(c)));
    // Not twice the limit: ws holds a whole message before handing it over, so its cap is what a stalled sender can pin.
    ws.send(new Uint8Array(64 * 1024 + 2048));
    expect(await code).toBe(MESSAGE_TOO_BIG);
    expect(closeReasonOf(MESSAGE_TOO_BIG)).toBe('messageTooLarge');
    expect(isRetriableCloseCode(MESSAGE_TOO_BIG)).toBe(false);
  });
});

/** A y-websocket sync update frame of exactly `bytes` bytes, setting `key` in map `m` to a string. */
function updateFrameOfSize(bytes: number, key: string): Uint8Array {
  const frameWith = (length: number): Uint8Array => {
    const doc = new Y.Doc();
    // One client id for both sizes: a random one's varint length varies, and the frame by a byte with it.
    doc.clientID = 1_000_000;
    doc.getMap('m').set(key, 'x'.repeat(length));
    const e = encoding.createEncoder();
    encoding.writeVarUint(e, MessageType.sync);
    syncProtocol.writeUpdate(e, Y.encodeStateAsUpdate(doc));
    return encoding.toUint8Array(e);
  };
  const guess = frameWith(bytes - 100);
  const frame = frameWith(bytes - 100 + bytes - guess.byteLength);
  expect(frame.byteLength).toBe(bytes);
  return frame;
}
