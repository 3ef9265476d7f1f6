import { join } from 'node:path';
import { createConnection } from 'node:net';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { SegmentWriter } from '../../shared/log/log-doc';
import { canonicalEventJson, type EventEnvelope } from '../../shared/events/envelope';
import { openDatabase } from '../../server/store/database';
import { SqliteCanonicalLog } from '../../server/store/sqlite-canonical-log';
import { makeDataDir, removeDataDir, spawnServer, type ServerProcess } from '../helpers/server-process';
import { TEST_SECRET, api, connectSynced, eventIdsIn, mint, postEvents, ticketOpenedEvent, waitFor, waitForAsync, type TestClient } from '../helpers/server-clients';
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
    const db = openDatabase(dataDir);
    const stored = await new SqliteCanonicalLog(db).readAll('shutdown').finally(() => db.close());
    expect(new Set(stored.map((json) => (JSON.parse(json) as EventEnvelope).id))).toEqual(new Set(events.map((e) => e.id)));

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
