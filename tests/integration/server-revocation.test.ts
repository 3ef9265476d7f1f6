import Database from 'better-sqlite3';
import { SignJWT } from 'jose';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Revocations, withRevocations } from '../../server/auth/revocations';
import { createTokenIssuer } from '../../server/auth/tokens';
import { DB_FILE, migrate, openDatabase } from '../../server/store/database';
import { SqliteRevocationStore } from '../../server/store/revocation-store';
import { CloseReason, isRetriableCloseCode } from '../../shared/protocol/close-reasons';
import { startTestServer, type InProcessServer } from '../helpers/server-in-process';
import { makeDataDir, removeDataDir } from '../helpers/server-process';
import { TEST_SECRET, api, connectSynced, mint, postEvents, ticketOpenedEvent, upgradeStatus, waitFor, type TestClient } from '../helpers/server-clients';

/**
 * [SRV24] A manager cuts a device off (a stolen tablet, whose token would otherwise be renewed
 * forever): POST /api/tokens/revoke refuses that terminal's tokens issued so far everywhere a
 * token is checked, closes its live relay connections, and survives a restart.
 */
let server: InProcessServer;
const cleanups: (() => unknown)[] = [];
beforeAll(async () => {
  server = await startTestServer();
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
afterAll(async () => {
  await server.dispose();
});

interface Revoked {
  location: string;
  terminal: string;
  revokedAt: number;
  closed: number;
  serverTime: number;
}

function revoke(s: InProcessServer, token: string, body: unknown, path = '/api/tokens/revoke') {
  return api<Revoked & { error?: string; field?: string }>(s.url, path, token, { body });
}

async function client(s: InProcessServer, location: string, token: string): Promise<TestClient> {
  const c = await connectSynced(s.wsUrl, location, token);
  cleanups.push(() => c.destroy());
  return c;
}

/** The terminal (not retried) closes the client gets, as they come. */
function closesOf(c: TestClient): { code: number; reason: string }[] {
  const closes: { code: number; reason: string }[] = [];
  c.provider.on('closed', ({ code, reason }) => void closes.push({ code, reason }));
  return closes;
}

/** Every way `token` is checked: two REST endpoints, the renewal and the relay upgrade (both carriers). */
async function everyCheck(s: InProcessServer, location: string, token: string) {
  const rest = [
    await postEvents(s.url, token, [ticketOpenedEvent('probe', 1)]),
    await api(s.url, '/api/watermarks', token),
    await api(s.url, '/api/tokens/renew', token, { body: {} }),
  ].map((res) => ({ status: res.status, error: (res.body as { error?: string }).error }));
  const relay = await Promise.all(
    (['query', 'subprotocol'] as const).map(async (carrier) => {
      const res = await upgradeStatus(s.wsUrl, location, token, carrier);
      return { status: res.status, error: res.body === '' ? undefined : (JSON.parse(res.body) as { error: string }).error };
    }),
  );
  return [...rest, ...relay];
}

const ALL_REVOKED = Array(5).fill({ status: 401, error: 'tokenRevoked' });

function expectAllowed(checks: { status: number }[]): void {
  // POST /api/events answers 200 with its own per-event results; the rest 200 or 101.
  expect(checks.map((c) => c.status)).toEqual([200, 200, 200, 101, 101]);
}

/** Until the next whole second: `iat` is in seconds, and a token of the revocation's second counts as revoked. */
async function afterSecondOf(ms: number): Promise<void> {
  const wait = (Math.floor(ms / 1000) + 1) * 1000 - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait + 5));
}

describe('[SRV24] revoking a device', () => {
  it('[SRV24] after a manager revokes till-2, its token gets 401 tokenRevoked on REST, renewal and the relay upgrade, and its live connection is closed with tokenRevoked; till-1 is untouched', async () => {
    const location = 'rev-a';
    const till1 = await mint(location, 'terminal', 'till-1');
    const till2 = await mint(location, 'terminal', 'till-2');
    // A token without iat (minted before tokens carried one) of the same terminal.
    const legacy = await new SignJWT({ location, role: 'terminal', terminal: 'till-2' })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setExpirationTime(Math.floor(Date.now() / 1000) + 3600)
      .sign(new TextEncoder().encode(TEST_SECRET));
    const manager = await mint(location, 'manager', 'mgr-1');
    // Both verified (and so cached by the issuer) before the revocation.
    expectAllowed(await everyCheck(server, location, till2));
    expect((await api(server.url, '/api/watermarks', legacy)).status).toBe(200);
    const c1 = await client(server, location, till1);
    const c2 = await client(server, location, till2);
    const c2Closed = closesOf(c2);
    let c1Closes = 0;
    c1.provider.on('connection-close', () => void (c1Closes += 1));

    const res = await revoke(server, manager, { terminal: 'till-2' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ location, terminal: 'till-2', revokedAt: expect.any(Number), closed: 1, kept: 0, synced: true, didYouMean: null, serverTime: expect.any(Number) });

    await waitFor(() => c2Closed.length > 0, 'till-2 closed');
    expect(c2Closed).toEqual([{ code: CloseReason.tokenRevoked.code, reason: 'tokenRevoked' }]);
    expect(isRetriableCloseCode(CloseReason.tokenRevoked.code)).toBe(false);
    expect(await everyCheck(server, location, till2)).toEqual(ALL_REVOKED);
    expect(await everyCheck(server, location, legacy)).toEqual(ALL_REVOKED);

    // till-1 still syncs on its connection, and its token works everywhere.
    const probe = await client(server, location, await mint(location, 'terminal', 'kitchen-1'));
    c1.doc.getMap('m').set('after-revoke', 1);
    await waitFor(() => probe.doc.getMap('m').get('after-revoke') === 1, 'till-1 still relays');
    expect(c1Closes).toBe(0);
    expectAllowed(await everyCheck(server, location, till1));
  });

  it('[SRV24] a token minted for till-2 right after the revocation (paired again, in the same second) works, and a second revocation cuts it off too', async () => {
    const location = 'rev-repair';
    const manager = await mint(location, 'manager', 'mgr-1');
    const old = await mint(location, 'terminal', 'till-2');
    const first = await revoke(server, manager, { terminal: 'till-2' });
    expect(first.body.closed).toBe(0);

    // Paired again at once, most likely in the revocation's own second: the link still works.
    const paired = await api<{ token: string }>(server.url, '/api/tokens', manager, { body: { role: 'terminal', terminal: 'till-2' } });
    expect(paired.status).toBe(200);
    expectAllowed(await everyCheck(server, location, paired.body.token));
    expect(await everyCheck(server, location, old)).toEqual(ALL_REVOKED);
    const c = await client(server, location, paired.body.token);

    const closed = closesOf(c);
    const second = await revoke(server, manager, { terminal: 'till-2' });
    expect(second.body.closed).toBe(1);
    await waitFor(() => closed.length > 0, 'the paired again till-2 closed');
    expect(closed).toEqual([{ code: CloseReason.tokenRevoked.code, reason: 'tokenRevoked' }]);
    expect(await everyCheck(server, location, paired.body.token)).toEqual(ALL_REVOKED);
  });

  it('[SRV24] a token minted right after a revocation is of the next second even when the wait for it ends a millisecond early (a timer may fire before Date.now() gets there)', async () => {
    const dataDir = makeDataDir();
    const db = openDatabase(dataDir);
    cleanups.push(() => removeDataDir(dataDir), () => db.close());
    const revocations = new Revocations(new SqliteRevocationStore(db));
    revocations.revoke('rev-clock', 'till-2', 'manager', 5_000_400);
    // The clock as minting reads it: 50 ms before the next second, then 1 ms short of it (the timer fired early), then there.
    const readings = [5_000_950, 5_000_999];
    const now = (): number => readings.shift() ?? 5_001_000;
    const tokens = withRevocations(createTokenIssuer(TEST_SECRET, now), revocations, now);
    const token = await tokens.mint({ location: 'rev-clock', role: 'terminal', terminal: 'till-2', ttlSeconds: 3600 });
    expect(await tokens.verify(token)).toMatchObject({ ok: true, claims: { iat: 5_001 } });
  });

  it.each([
    ['a re-paired device', 'till-2.r0ab3'],
    ['a second tab', 'till-2.2'],
  ])('[SRV24] revoking the writer id of %s, as the console lists it, cuts off its terminal: its token is refused and its live connection closed', async (_name, writer) => {
    const location = `rev-writer-${writer.replace(/\W/g, '')}`;
    const till2 = await mint(location, 'terminal', 'till-2');
    const till20 = await mint(location, 'terminal', 'till-20');
    const manager = await mint(location, 'manager', 'mgr-1');
    const c = await client(server, location, till2);
    const closed = closesOf(c);

    const res = await revoke(server, manager, { terminal: writer });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ location, terminal: writer, closed: 1 });
    await waitFor(() => closed.length > 0, 'till-2 closed');
    expect(closed).toEqual([{ code: CloseReason.tokenRevoked.code, reason: 'tokenRevoked' }]);
    expect(await everyCheck(server, location, till2)).toEqual(ALL_REVOKED);
    // Another terminal whose id merely starts the same is not its writer.
    expectAllowed(await everyCheck(server, location, till20));
    // Nor may a manager cut itself off through one of its own writer ids.
    const own = await revoke(server, manager, { terminal: 'mgr-1.2' });
    expect(own.status).toBe(400);
    expect(own.body).toMatchObject({ error: 'badRequest', field: 'terminal' });
  });

  it('[SRV24] a second revocation of a device (revoked, paired again, revoked again) is the one stored: the tokens minted between stay refused after a restart', () => {
    const dataDir = makeDataDir();
    const db = openDatabase(dataDir);
    cleanups.push(() => removeDataDir(dataDir), () => db.close());
    const store = new SqliteRevocationStore(db);
    store.record({ location: 'rev-twice', terminal: 'till-2', revokedBy: 'manager', revokedAt: 1_000 });
    store.record({ location: 'rev-twice', terminal: 'till-2', revokedBy: 'manager', revokedAt: 5_000 });
    expect(store.all()).toEqual([{ location: 'rev-twice', terminal: 'till-2', revokedBy: 'manager', revokedAt: 5_000 }]);
  });

  it("[SRV24] a manager's revocation spares an admin's token of that name (its connection stays open, and the answer says so); an admin's cuts it off", async () => {
    const location = 'rev-admin';
    const ownerAdmin = await mint(location, 'admin', 'owner-ipad');
    // Another token of the same name, of a role a manager cuts off.
    const ownerManager = await mint(location, 'manager', 'owner-ipad');
    const manager = await mint(location, 'manager', 'mgr-1');
    const c = await client(server, location, ownerAdmin);
    const closed = closesOf(c);

    const byManager = await revoke(server, manager, { terminal: 'owner-ipad' });
    expect(byManager.status).toBe(200);
    expect(byManager.body).toMatchObject({ closed: 0, kept: 1, synced: true });
    expectAllowed(await everyCheck(server, location, ownerAdmin));
    expect(await everyCheck(server, location, ownerManager)).toEqual(ALL_REVOKED);
    // Still relaying: a probe sees what the admin's connection writes.
    const probe = await client(server, location, await mint(location, 'terminal', 'till-1'));
    c.doc.getMap('m').set('after-manager-revoke', 1);
    await waitFor(() => probe.doc.getMap('m').get('after-manager-revoke') === 1, "the admin's connection still relays");
    expect(closed).toEqual([]);

    const byAdmin = await revoke(server, await mint(location, 'admin', 'admin-2'), { terminal: 'owner-ipad' });
    expect(byAdmin.body).toMatchObject({ closed: 1, kept: 0 });
    await waitFor(() => closed.length > 0, "the admin's device closed");
    expect(closed).toEqual([{ code: CloseReason.tokenRevoked.code, reason: 'tokenRevoked' }]);
    expect(await everyCheck(server, location, ownerAdmin)).toEqual(ALL_REVOKED);
  });

  it('[SRV24] revocations stored before they kept the revoker\'s role still cut off every role, an admin\'s too, after the upgrade', () => {
    const dataDir = makeDataDir();
    const db = new Database(join(dataDir, DB_FILE));
    cleanups.push(() => removeDataDir(dataDir), () => db.close());
    migrate(db, 3);
    db.prepare('INSERT INTO revocations (location, terminal, revoked_at) VALUES (?, ?, ?)').run('rev-old', 'owner-ipad', 5_000_000);
    migrate(db);
    const revocations = new Revocations(new SqliteRevocationStore(db));
    expect(revocations.isRevoked({ location: 'rev-old', role: 'admin', terminal: 'owner-ipad', iat: 4_999, exp: 9_999_999 })).toBe(true);
    expect(revocations.isRevoked({ location: 'rev-old', role: 'admin', terminal: 'owner-ipad', iat: 5_001, exp: 9_999_999 })).toBe(false);
  });

  it('[SRV24] the revocation survives a server restart on the same data directory', async () => {
    const dataDir = makeDataDir();
    cleanups.push(() => removeDataDir(dataDir));
    const location = 'rev-restart';
    const till1 = await mint(location, 'terminal', 'till-1');
    const till2 = await mint(location, 'terminal', 'till-2');
    const before = await startTestServer({ dataDir });
    const res = await revoke(before, await mint(location, 'manager', 'mgr-1'), { terminal: 'till-2' });
    expect(res.status).toBe(200);
    await before.close();

    const after = await startTestServer({ dataDir });
    cleanups.push(() => after.close());
    expect(await everyCheck(after, location, till2)).toEqual(ALL_REVOKED);
    expectAllowed(await everyCheck(after, location, till1));
    await afterSecondOf(res.body.revokedAt);
    expectAllowed(await everyCheck(after, location, await mint(location, 'terminal', 'till-2')));
  });

  it('[SRV24] only managers and admins revoke, only in their own location, never their own device', async () => {
    const terminalToken = await mint('rev-roles', 'terminal', 'till-1');
    const denied = await revoke(server, terminalToken, { terminal: 'till-2' });
    expect(denied.status).toBe(403);
    expect(denied.body.error).toBe('forbidden');

    // A manager of rev-roles naming rev-other (query or body) revokes nothing there.
    const otherTill2 = await mint('rev-other', 'terminal', 'till-2');
    const manager = await mint('rev-roles', 'manager', 'mgr-1');
    expect((await revoke(server, manager, { terminal: 'till-2' }, '/api/tokens/revoke?location=rev-other')).status).toBe(403);
    const inBody = await revoke(server, manager, { terminal: 'till-2', location: 'rev-other' });
    expect(inBody.status).toBe(200);
    expect(inBody.body.location).toBe('rev-roles');
    expectAllowed(await everyCheck(server, 'rev-other', otherTill2));
    expect(await everyCheck(server, 'rev-roles', await mint('rev-roles', 'terminal', 'till-2'))).toEqual(ALL_REVOKED);

    const own = await revoke(server, manager, { terminal: 'mgr-1' });
    expect(own.status).toBe(400);
    expect(own.body).toMatchObject({ error: 'badRequest', field: 'terminal' });
    expectAllowed(await everyCheck(server, 'rev-roles', manager));

    const admin = await mint('rev-roles', 'admin', 'admin-1');
    expect((await revoke(server, admin, { terminal: 'mgr-1' })).status).toBe(200);
    expect(await everyCheck(server, 'rev-roles', manager)).toEqual(ALL_REVOKED);
  });

  it.each([
    ['no terminal', 'terminal', {}],
    ['a number', 'terminal', { terminal: 7 }],
    ['the server\'s writer id', 'terminal', { terminal: 'server' }],
    ['bad characters', 'terminal', { terminal: 'till 2/x' }],
    ['not an object', 'body', null],
  ])('[SRV24] a body with %s is a 400 naming %s', async (_name, field, body) => {
    const res = await revoke(server, await mint('rev-body', 'manager', 'mgr-1'), body);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: 'badRequest', field });
  });
});
