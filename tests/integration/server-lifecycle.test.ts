import { join } from 'node:path';
import { request } from 'node:http';
import { createConnection } from 'node:net';
import Database from 'better-sqlite3';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { afterEach, describe, expect, it } from 'vitest';
import { SegmentWriter } from '../../shared/log/log-doc';
import { canonicalEventJson, type EventEnvelope } from '../../shared/events/envelope';
import { openDatabase } from '../../server/store/database';
import { SqliteRoomStore } from '../../server/store/room-store';
import { SqliteCanonicalLog } from '../../server/store/sqlite-canonical-log';
import { makeDataDir, removeDataDir, spawnServer, type ServerProcess } from '../helpers/server-process';
import { TEST_SECRET, api, connectSynced, eventIdsIn, mint, postEvents, ticketOpenedEvent, upgradeStatus, waitFor, waitForAsync, type TestClient } from '../helpers/server-clients';
import { startTestServer } from '../helpers/server-in-process';
import { serverEvents } from '../helpers/terminals';

/**
 * Server lifecycle and ordering: what the server relayed, stored or acknowledged survives
 * its rooms unloading and its graceful shutdown (real server processes, real websockets,
 * real SQLite in a temp data directory).
 */
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function serverIn(dataDir: string, env: Record<string, string> = {}): Promise<ServerProcess> {
  const s = await spawnServer({ dataDir, secret: TEST_SECRET, env });
  cleanups.push(() => (s.child.exitCode === null && s.child.signalCode === null ? s.kill9() : undefined));
  return s;
}

async function client(s: ServerProcess, location: string, terminal: string): Promise<TestClient> {
  const c = await connectSynced(s.wsUrl, location, await mint(location, 'terminal', terminal));
  cleanups.push(() => c.destroy());
  return c;
}

/** The ids of the events the canonical log in `dataDir` holds for `location`, read with no server running. */
async function loggedIds(dataDir: string, location: string): Promise<Set<string>> {
  const db = openDatabase(dataDir);
  const stored = await new SqliteCanonicalLog(db).readAll(location).finally(() => db.close());
  return new Set(stored.map((json) => (JSON.parse(json) as EventEnvelope).id));
}

/** The ids of the events `location`'s room state in `dataDir` holds, as stored (no restart, no catch-up). */
async function roomIds(dataDir: string, location: string): Promise<Set<string>> {
  const db = openDatabase(dataDir);
  const { updates } = await new SqliteRoomStore(db).load(location).finally(() => db.close());
  const doc = new Y.Doc();
  for (const update of updates) Y.applyUpdate(doc, update);
  return new Set(eventIdsIn(doc));
}

/** Writes events into the writer's segments, as a terminal's EventStore does (no POST). */
function write(c: TestClient, writer: string, entries: readonly EventEnvelope[]): void {
  c.doc.transact(() => new SegmentWriter(c.doc, writer).append(entries.map((e) => canonicalEventJson(e))), 'local');
}

describe('server lifecycle', () => {
  it('[SRV19] SIGTERM while the relay ingests a terminal\'s backlog: every event the room kept is in the canonical log after the restart', async () => {
    const dataDir = makeDataDir();
    cleanups.push(() => removeDataDir(dataDir));
    const first = await serverIn(dataDir);
    // A till back from an outage that reaches only the relay (SYN5): it never posts, so the
    // canonical log gets its sales from the relay or not at all.
    const till = await client(first, 'shutdown', 'till-1');
    const kitchen = await client(first, 'shutdown', 'kitchen-1');
    const events = Array.from({ length: 5000 }, (_, i) => ticketOpenedEvent('till-1', i + 1));
    write(till, 'till-1', events);
    await waitFor(() => eventIdsIn(kitchen.doc).length === events.length, 'the backlog relayed to the kitchen');
    // The server stops while it is still storing the backlog in the canonical log.
    expect(await first.stop()).toBe(0);
    // Stored by the shutdown itself, not left to the next start's catch-up (SRV21): the back
    // office reads the log while the server is down for an upgrade.
    expect(await loggedIds(dataDir, 'shutdown')).toEqual(new Set(events.map((e) => e.id)));

    const second = await serverIn(dataDir);
    cleanups.push(() => second.stop());
    const probe = await client(second, 'shutdown', 'manager-1');
    // The room kept the whole backlog too (stored at the shutdown).
    expect(new Set(eventIdsIn(probe.doc)).size).toBe(events.length);
  }, 60_000);

  it('[SRV20] a room whose flush fails when it goes idle (database locked by another process) stays loaded and is stored later; the server stays up', async () => {
    const dataDir = makeDataDir();
    cleanups.push(() => removeDataDir(dataDir));
    const first = await serverIn(dataDir, { RELAY_ROOM_IDLE_MS: '200' });
    const other = await client(first, 'other', 'till-9');
    const till = await client(first, 'locked', 'till-1');
    // Another process (an operator's sqlite3 shell, a backup tool) holds the write lock: every
    // write of the server waits out its busy timeout and fails.
    const locker = new Database(join(dataDir, 'rms.sqlite'));
    cleanups.push(() => locker.close());
    locker.exec('BEGIN IMMEDIATE');
    cleanups.push(() => locker.inTransaction && locker.exec('ROLLBACK'));
    const sale = ticketOpenedEvent('till-1', 1);
    write(till, 'till-1', [sale]);
    await waitFor(() => first.logs.some((l) => l.msg === 'relay ingest failed'), 'the relay tried to store the sale', 30_000);
    // The till goes; the room goes idle and its flush fails like every write.
    till.destroy();
    const exited = new Promise<void>((resolve) => first.child.once('exit', () => resolve()));
    let gone = false;
    void exited.then(() => (gone = true));
    await waitFor(() => gone || first.logs.some((l) => l.msg === 'room flush failed'), 'the idle room flushed', 40_000);
    expect(gone).toBe(false);
    locker.exec('ROLLBACK');
    // Retried at its next idle turn once the database is writable again, then unloaded.
    const rooms = async (): Promise<string> => String((await api<string>(first.url, '/metrics', null)).body).match(/^rms_relay_rooms (\d+)/m)?.[1] ?? '?';
    await waitForAsync(async () => gone || (await rooms()) === '1', 'the room stored and unloaded (the other one stays)', 30_000);
    expect(gone).toBe(false);
    // [SRV21] The sale whose relay ingest failed is caught up after the flush that succeeded.
    await waitForAsync(async () => (await serverEvents(first.url, 'locked')).some((e) => e.id === sale.id), 'the sale in the canonical log');
    expect((await api(first.url, '/healthz', null)).status).toBe(200);
    expect(other.provider.wsconnected).toBe(true);
    expect(await first.stop()).toBe(0);

    const second = await serverIn(dataDir);
    cleanups.push(() => second.stop());
    const probe = await client(second, 'locked', 'manager-1');
    expect(eventIdsIn(probe.doc)).toEqual([sale.id]);
  }, 120_000);
});

describe('graceful shutdown stores what was answered', () => {
  it('[SRV12][SRV19] a till\'s batch answered just before SIGTERM, its bridge still waiting out the own-events grace, is in the room store when the process exits', async () => {
    const dataDir = makeDataDir();
    cleanups.push(() => removeDataDir(dataDir));
    const s = await serverIn(dataDir);
    // A till whose relay is down posts its sales: its own events wait 3 s for its relay before
    // they are bridged into the room, so only the shutdown (ingest.flush, then relay.close) stores them there.
    const events = Array.from({ length: 20 }, (_, i) => ticketOpenedEvent('till-1', i + 1));
    const res = await postEvents(s.url, await mint('flushed', 'terminal', 'till-1'), events);
    expect(res.body.results.map((r) => r.status)).toEqual(events.map(() => 'accepted'));
    expect(await s.stop()).toBe(0);
    expect(await roomIds(dataDir, 'flushed')).toEqual(new Set(events.map((e) => e.id)));
  }, 30_000);

  it('[SRV19][SRV35] a batch whose body is still arriving when SIGTERM comes and arrives whole within the grace is answered and stored in the log and the room; else it is refused and nothing of it stored', async () => {
    const dataDir = makeDataDir();
    cleanups.push(() => removeDataDir(dataDir));
    const s = await serverIn(dataDir);
    const events = Array.from({ length: 1000 }, (_, i) => ticketOpenedEvent('till-1', i + 1));
    const body = Buffer.from(JSON.stringify({ events }));
    const token = await mint('arriving', 'terminal', 'till-1');
    const req = request(`${s.url}/api/events`, {
      method: 'POST',
      agent: false,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': String(body.length), expect: '100-continue' },
    });
    // null: the server cut the socket
    const answered = new Promise<{ status: number; text: string } | null>((resolve) => {
      req.on('response', (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += String(d)));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      });
      req.on('error', () => resolve(null));
    });
    // The server has read the headers and asks for the body: the request is in progress.
    const continued = new Promise<void>((resolve) => req.once('continue', () => resolve()));
    req.flushHeaders();
    await continued;
    req.write(body.subarray(0, body.length >> 1));
    const exited = s.stop();
    await waitFor(() => s.logs.some((l) => l.msg === 'shutting down'), 'the shutdown began');
    req.end(body.subarray(body.length >> 1));
    const answer = await answered;
    expect(await exited).toBe(0);
    const ids = new Set(events.map((e) => e.id));
    // The rest normally arrives well within ARRIVING_REQUESTS_GRACE_MS (3 s): answered, stored in
    // the log and bridged into the room before the rooms are stored. Only on a machine stalled
    // past the grace (or before the token check ran) is it cut or refused, and then stored nowhere.
    if (answer?.status === 200) {
      const results = (JSON.parse(answer.text) as { results: { status: string }[] }).results;
      expect(results.map((r) => r.status)).toEqual(events.map(() => 'accepted'));
      expect(await loggedIds(dataDir, 'arriving')).toEqual(ids);
      expect(await roomIds(dataDir, 'arriving')).toEqual(ids);
    } else {
      expect(answer === null || answer.status === 503, answer?.text).toBe(true);
      expect(await loggedIds(dataDir, 'arriving')).toEqual(new Set());
    }
  }, 30_000);
});

describe('graceful shutdown refuses what comes meanwhile (docs/server.md, "Operations")', () => {
  it('a live relay socket is closed 4503; /healthz and REST answer 503 shuttingDown and a new upgrade 503 while the relay still waits for a quiet peer', async () => {
    const server = await startTestServer();
    let closed: Promise<void> | null = null;
    cleanups.push(() => closed ?? server.dispose());
    const token = await mint('bye', 'terminal', 'till-1');
    const ws = new WebSocket(`${server.wsUrl}/bye?token=${encodeURIComponent(token)}`);
    cleanups.push(() => ws.terminate());
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    let code = 0;
    ws.on('close', (c) => (code = c));
    // A peer that never answers the close handshake (a till gone quiet): the relay waits for it
    // up to 0.5 s before it cuts it, and the server still listens meanwhile.
    const quiet = createConnection({ host: '127.0.0.1', port: server.port });
    cleanups.push(() => quiet.destroy());
    const quietToken = await mint('bye', 'terminal', 'till-2');
    let upgraded = '';
    quiet.on('data', (d) => (upgraded += String(d)));
    quiet.write(`GET /sync/bye?token=${encodeURIComponent(quietToken)} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    await waitFor(() => upgraded.includes(' 101 '), 'the quiet peer upgraded');
    quiet.pause();

    closed = server.dispose();
    // All at once, in that wait (a few ms of this process's own work).
    const [health, rest, upgrade] = await Promise.all([
      fetch(`${server.url}/healthz`),
      fetch(`${server.url}/api/watermarks`, { headers: { authorization: `Bearer ${token}` } }),
      upgradeStatus(server.wsUrl, 'bye', token),
    ]);
    expect([health.status, ((await health.json()) as { error: string }).error]).toEqual([503, 'shuttingDown']);
    expect([rest.status, ((await rest.json()) as { error: string }).error]).toEqual([503, 'shuttingDown']);
    expect(upgrade.status).toBe(503);
    await waitFor(() => code !== 0, 'the live socket closed');
    expect(code).toBe(4503);
    await closed;
  });
});

describe('demo seed', () => {
  it('[SRV13] a location already called "demo" (a start with SEED_DEMO=0 used it for real) is never seeded over', async () => {
    const dataDir = makeDataDir();
    cleanups.push(() => removeDataDir(dataDir));
    const first = await startTestServer({ dataDir, seedDemo: false });
    const opened = ticketOpenedEvent('till-1', 1);
    expect((await postEvents(first.url, await mint('demo', 'terminal', 'till-1'), [opened])).body.results[0]!.status).toBe('accepted');
    await first.close();

    const second = await startTestServer({ dataDir, seedDemo: true });
    cleanups.push(() => second.close());
    const events = await api<{ events: EventEnvelope[] }>(second.url, '/api/events', await mint('demo', 'manager', 'mgr'));
    expect(events.body.events.map((e) => e.id)).toEqual([opened.id]);
  });
});

describe('graceful shutdown and a request still arriving', () => {
  it('[SRV35] a request whose body stops arriving (a till mid-upload on a dead link) does not hold the shutdown: its socket is cut after a grace, and nothing of it is stored', async () => {
    const server = await startTestServer();
    cleanups.push(() => removeDataDir(server.dataDir));
    const token = await mint('stalled', 'terminal', 'till-1');
    const socket = createConnection({ host: '127.0.0.1', port: server.port });
    cleanups.push(() => socket.destroy());
    let received = '';
    socket.on('data', (data) => (received += String(data)));
    const cut = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    const body = JSON.stringify({ events: [ticketOpenedEvent('till-1', 1)] });
    // The server reads the headers and asks for the body (100 Continue): the request is in progress.
    socket.write(`POST /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nExpect: 100-continue\r\n\r\n`);
    await waitFor(() => received.includes('100 Continue'), 'the server waits for the body');
    // Half the body, then nothing more (the link died).
    socket.write(body.slice(0, body.length >> 1));
    await server.close();
    await cut;
    const db = new Database(join(server.dataDir, 'rms.sqlite'), { fileMustExist: true });
    cleanups.push(() => db.close());
    expect(db.prepare('SELECT count(*) AS n FROM events').get()).toEqual({ n: 0 });
  }, 30_000);
});
