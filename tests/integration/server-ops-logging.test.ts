import { join } from 'node:path';
import WebSocket from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { canonicalEventJson } from '../../shared/events/envelope';
import { SegmentWriter } from '../../shared/log/log-doc';
import { configWith, type RelayLimits } from '../../server/config';
import { startServer, type RunningServer } from '../../server/main';
import { makeDataDir, removeDataDir } from '../helpers/server-process';
import { TEST_SECRET, api, connectSynced, mint, postEvents, ticketOpenedEvent, waitForAsync, type TestClient } from '../helpers/server-clients';

/**
 * What an operator reads of a running server: its log lines (captured here, at debug level)
 * and its metrics, for the relay's closes, its catch-up, failed writes and requests.
 */
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

interface LoggedServer extends RunningServer {
  wsUrl: string;
  dataDir: string;
  logs: LogLine[];
  metric(pattern: string): Promise<number>;
}

const INFO = 30;
const DEBUG = 20;

async function server(relay: Partial<RelayLimits> = {}): Promise<LoggedServer> {
  const dataDir = makeDataDir();
  cleanups.push(() => removeDataDir(dataDir));
  const logs: LogLine[] = [];
  const config = configWith({ port: 0, host: '127.0.0.1', dataDir, secret: TEST_SECRET, seedDemo: false, logLevel: 'debug', staticDir: join(dataDir, 'no-static'), relay });
  const s = await startServer(config, { logStream: { write: (line) => void logs.push(JSON.parse(line) as LogLine) } });
  cleanups.push(() => s.close());
  return {
    ...s,
    wsUrl: `ws://127.0.0.1:${s.port}/sync`,
    dataDir,
    logs,
    async metric(pattern) {
      const text = String((await api<string>(s.url, '/metrics', null)).body);
      return Number(new RegExp(`^${pattern} (\\d+)`, 'm').exec(text)?.[1] ?? NaN);
    },
  };
}

const relayIngested = (status: string): string => `rms_relay_events_ingested_total\\{status="${status}"\\}`;

describe('relay catch-up', () => {
  it('[SRV21] a writer stuck below a refused event: reloading its room neither stores its history again, nor counts or logs the refusal again', async () => {
    const s = await server({ roomIdleMs: 50 });
    const token = await mint('gap', 'terminal', 'till-1');
    const till = await connectSynced(s.wsUrl, 'gap', token);
    // A till's own void is a manager's to write: refused, and its watermark never passes n = 1.
    const refused = ticketOpenedEvent('till-1', 1, { type: 'ticket.voided', aggregate: { type: 'ticket', id: 'ticket-1' }, payload: { reason: 'x' } });
    const good = Array.from({ length: 50 }, (_, i) => ticketOpenedEvent('till-1', i + 2));
    till.doc.transact(() => new SegmentWriter(till.doc, 'till-1').append([refused, ...good].map((e) => canonicalEventJson(e))), 'local');
    await waitForAsync(async () => (await s.metric(relayIngested('accepted'))) === 50, 'stored from the relay');
    till.destroy();
    const before = { duplicate: await s.metric(relayIngested('duplicate')), rejected: await s.metric(relayIngested('rejected')) };
    expect(before).toEqual({ duplicate: 0, rejected: 1 });
    const refusalsLogged = (): number => s.logs.filter((l) => l.msg === 'relayed events rejected').length;
    expect(refusalsLogged()).toBe(1);

    for (let reload = 1; reload <= 3; reload++) {
      await waitForAsync(async () => (await s.metric('rms_relay_rooms')) === 0, `room unloaded before reload ${reload}`);
      const probe = await connectSynced(s.wsUrl, 'gap', token);
      // Stored after the load's catch-up (a room's writes are queued in order): once it is, catch-up is done.
      const next = ticketOpenedEvent('till-1', 51 + reload);
      probe.doc.transact(() => new SegmentWriter(probe.doc, 'till-1').append([canonicalEventJson(next)]), 'local');
      await waitForAsync(async () => (await s.metric(relayIngested('accepted'))) === 50 + reload, `event written after reload ${reload} stored`);
      probe.destroy();
    }
    expect({ duplicate: await s.metric(relayIngested('duplicate')), rejected: await s.metric(relayIngested('rejected')) }).toEqual(before);
    expect(refusalsLogged()).toBe(1);
  });

  it('[SRV21] a writer\'s lower n, its batch failed after its higher n was judged, is caught up once the store takes writes again', async () => {
    const s = await server({ roomIdleMs: 50 });
    const token = await mint('late', 'terminal', 'till-1');
    const write = (client: TestClient, ns: number[]): void =>
      client.doc.transact(() => new SegmentWriter(client.doc, 'till-1').append(ns.map((n) => canonicalEventJson(ticketOpenedEvent('till-1', n)))), 'local');
    const acknowledged = async (): Promise<{ watermarks: Record<string, number>; storedAbove: Record<string, [number, number][]> }> =>
      (await api<{ watermarks: Record<string, number>; storedAbove: Record<string, [number, number][]> }>(s.url, '/api/watermarks', token)).body;
    const unloaded = () => waitForAsync(async () => (await s.metric('rms_relay_rooms')) === 0, 'the room flushed and unloaded');

    // The room gets till-1's n = 100 first (out of order, or another token holder's write as till-1): stored, and judged at the room's flush.
    const first = await connectSynced(s.wsUrl, 'late', token);
    write(first, [100]);
    await waitForAsync(async () => (await s.metric(relayIngested('accepted'))) === 1, 'n = 100 stored from the relay');
    first.destroy();
    await unloaded();

    // Its sales n = 1..3 come next, while the store takes no writes (a full disk).
    const Database = (await import('better-sqlite3')).default;
    const side = new Database(join(s.dataDir, 'rms.sqlite'));
    cleanups.push(() => side.close());
    side.exec(`CREATE TRIGGER fail_events BEFORE INSERT ON events BEGIN SELECT RAISE(ABORT, 'disk full (simulated)'); END;`);
    const till = await connectSynced(s.wsUrl, 'late', token);
    write(till, [1, 2, 3]);
    await waitForAsync(async () => s.logs.some((l) => l.msg === 'relay ingest failed'), 'the relay ingest of n = 1..3 failed');
    side.exec('DROP TRIGGER fail_events');
    till.destroy();
    await unloaded();

    // Loaded again: once an event written now is stored, the flush's and the load's catch-ups are done.
    const probe = await connectSynced(s.wsUrl, 'late', token);
    write(probe, [101]);
    await waitForAsync(async () => (await acknowledged()).storedAbove['till-1']?.some(([from, to]) => from <= 101 && 101 <= to) === true, 'n = 101 stored');
    probe.destroy();
    // Before, catch-up read till-1 from n = 100 on (judged), at the flush and at every load: n = 1..3 reached the canonical log only by an upload.
    expect((await acknowledged()).watermarks['till-1']).toBe(3);
  });
});

describe('relay closes', () => {
  it('[SRV42] a message over RELAY_MAX_MESSAGE_BYTES: the till is closed 4413, logged at warn with who and why, and counted', async () => {
    const s = await server({ maxMessageBytes: 1000 });
    const closeMetric = 'rms_relay_closes_total\\{code="4413",reason="messageTooLarge"\\}';
    expect(await s.metric(closeMetric)).toBe(0);
    const socket = new WebSocket(`${s.wsUrl}/big?token=${await mint('big', 'terminal', 'till-7')}`);
    socket.on('error', () => {});
    const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
    await new Promise((resolve) => socket.on('open', resolve));
    socket.send(Buffer.alloc(1500));
    expect(await closed).toBe(4413);
    expect(await s.metric(closeMetric)).toBe(1);
    const logged = s.logs.filter((l) => l.msg === 'relay connection closed by the server');
    expect(logged).toEqual([
      expect.objectContaining({ level: 40, location: 'big', terminal: 'till-7', code: 4413, reason: 'messageTooLarge', retriable: false, err: expect.stringContaining('1500 bytes') }),
    ]);

    // Far over: the socket layer refuses it before the relay reads it (1009), logged and counted as the same refusal.
    const far = new WebSocket(`${s.wsUrl}/big?token=${await mint('big', 'terminal', 'till-8')}`);
    far.on('error', () => {});
    const farClosed = new Promise<number>((resolve) => far.on('close', (code) => resolve(code)));
    await new Promise((resolve) => far.on('open', resolve));
    far.send(Buffer.alloc(200_000));
    expect(await farClosed).toBe(1009);
    await waitForAsync(async () => (await s.metric(closeMetric)) === 2, 'the far-over frame counted');
    expect(s.logs.filter((l) => l.msg === 'relay connection closed by the server').at(-1)).toEqual(
      expect.objectContaining({ level: 40, location: 'big', terminal: 'till-8', code: 4413, reason: 'messageTooLarge', err: expect.stringContaining('RELAY_MAX_MESSAGE_BYTES (1000)') }),
    );
  });

  it('[SRV42] a device superseded by its newer connection is logged at info, and counted', async () => {
    const s = await server({ maxConnectionsPerDevice: 1 });
    const token = await mint('twice', 'terminal', 'till-1');
    const first = await connectSynced(s.wsUrl, 'twice', token);
    cleanups.push(() => first.destroy());
    const second = await connectSynced(s.wsUrl, 'twice', token);
    cleanups.push(() => second.destroy());
    await waitForAsync(async () => (await s.metric('rms_relay_closes_total\\{code="4509",reason="superseded"\\}')) === 1, 'superseded counted');
    expect(s.logs.filter((l) => l.msg === 'relay connection closed by the server')).toEqual([
      expect.objectContaining({ level: INFO, location: 'twice', terminal: 'till-1', code: 4509, reason: 'superseded', retriable: true }),
    ]);
  });
});

describe('request logs', () => {
  it('[SRV43] one line per response: reads at debug, writes and failures at info, with the status and no token from the query string', async () => {
    const s = await server();
    const token = await mint('req', 'terminal', 'till-1');
    await api(s.url, `/api/watermarks?token=${token}`, token);
    await postEvents(s.url, token, [ticketOpenedEvent('till-1', 1)]);
    await api(s.url, '/api/events?after=zzz', token);
    const requests = s.logs.filter((l) => l.msg === 'request');
    expect(requests).toEqual([
      expect.objectContaining({ level: DEBUG, method: 'GET', url: '/api/watermarks?token=[redacted]', status: 200, reqId: expect.anything(), ms: expect.any(Number) }),
      expect.objectContaining({ level: INFO, method: 'POST', url: '/api/events', status: 200 }),
      expect.objectContaining({ level: INFO, method: 'GET', url: '/api/events?after=zzz', status: 400 }),
    ]);
    // Fastify's own pair of lines per request is off.
    expect(s.logs.filter((l) => l.msg === 'incoming request' || l.msg === 'request completed')).toEqual([]);
    expect(JSON.stringify(s.logs)).not.toContain(token);
  });

  it('[SRV43] a batch the store cannot take is logged at error with whose it was and the error\'s stack, once', async () => {
    const s = await server();
    const Database = (await import('better-sqlite3')).default;
    const side = new Database(join(s.dataDir, 'rms.sqlite'));
    side.exec(`CREATE TRIGGER fail_events BEFORE INSERT ON events BEGIN SELECT RAISE(ABORT, 'disk full (simulated)'); END;`);
    cleanups.push(() => side.close());
    const token = await mint('full', 'terminal', 'till-3');
    const posted = await postEvents(s.url, token, [ticketOpenedEvent('till-3', 1), ticketOpenedEvent('till-3', 2)]);
    expect(posted.status).toBe(500);
    expect(posted.body).toMatchObject({ error: 'internalError' });
    const errors = s.logs.filter((l) => l.level >= 50);
    expect(errors).toEqual([
      expect.objectContaining({ msg: 'event batch not stored', location: 'full', terminal: 'till-3', events: 2, err: expect.objectContaining({ message: expect.stringContaining('disk full') }) }),
    ]);
    // The error itself, not its text: where it was thrown is in the line.
    expect(errors[0]!.err).toEqual(expect.objectContaining({ type: expect.any(String), stack: expect.stringContaining('\n    at ') }));
  });
});
