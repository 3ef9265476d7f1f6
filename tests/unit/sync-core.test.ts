import { describe, expect, it } from 'vitest';
import { Backoff, UPLOAD_BACKOFF } from '../../client/sync/backoff';
import { ConnectionMonitor, OFFLINE_AFTER, RECENT_MS, SLOW_LATENCY_MS } from '../../client/sync/connection-state';
import { ClockOffsetEstimator, OFFSET_SAMPLES, WallStepDetector, WALL_STEP_MS } from '../../client/sync/clock-offset';
import { computeOutbox, deliveryStateOf, takeBatch } from '../../client/sync/outbox';
import { resolveEndpoints } from '../../client/sync/endpoints';
import { LastSyncTime } from '../../client/sync/last-sync';
import { Quarantine, refusedAsNewer } from '../../client/sync/quarantine';
import { OutboxUploader } from '../../client/sync/uploader';
import { NEWER_THAN_SERVER } from '../../shared/protocol/rest-events';
import type { EventEnvelope } from '../../shared/events/envelope';
import { newEventId } from '../../shared/events/event-id';
import { marksOnly } from '../helpers/acknowledgements';
import { installLocalStorage } from '../helpers/device-storage';
import { ManualTimers } from '../helpers/manual-timers';
import { SAMPLE_EVERY_MS, SyncStatusBoard } from '../../client/sync/sync-status-board';
import type { SyncStatus } from '../../client/sync/sync-status';

function event(terminal: string, n: number): EventEnvelope {
  return { id: newEventId(1_764_000_000_000 + n), seq: n, at: 1_764_000_000_000 + n, type: 'ticket.note_set', v: 1, aggregate: { id: 't', type: 'ticket' }, origin: { terminal, n }, payload: { note: 'x'.repeat(50) } };
}

describe('Backoff', () => {
  it('[OUT1] delays are uniform below min(cap, base·2^attempt) and reset on success', () => {
    const draws = [0.999, 0.5, 0.999, 0.999, 0.999, 0.999, 0.999, 0.999, 0.999];
    const backoff = new Backoff(UPLOAD_BACKOFF, () => draws.shift() ?? 0.999);
    const delays = Array.from({ length: 9 }, () => backoff.fail());
    expect(delays).toEqual([999, 1000, 3996, 7992, 15984, 31968, 59940, 59940, 59940]);
    expect(backoff.attempt).toBe(9);
    backoff.reset();
    expect(backoff.ceilingMs()).toBe(UPLOAD_BACKOFF.baseMs);
  });
});

describe('ConnectionMonitor', () => {
  it('[OUT2] judges online, slow, intermittent and offline from outcomes, not from the browser alone', () => {
    let now = 0;
    const m = new ConnectionMonitor(() => now);
    expect(m.succeeded(40).name).toBe('online');
    expect(m.failed().name).toBe('intermittent');
    now += 1_000;
    expect(m.succeeded(40).name).toBe('intermittent'); // a recent failure is still recent
    now += RECENT_MS + 1;
    expect(m.succeeded(40).name).toBe('online');
    for (let i = 0; i < 10; i++) m.succeeded(SLOW_LATENCY_MS * 3);
    expect(m.current.name).toBe('slow');
    for (let i = 1; i < OFFLINE_AFTER; i++) expect(m.failed().name).toBe('intermittent');
    expect(m.failed().name).toBe('offline');
    expect(m.browserOnline().name).toBe('intermittent'); // a hint: the next outcome decides
    expect(m.browserOffline().name).toBe('offline');
  });

  it('[OUT2] back online with no failure on record stays offline until the server answers; failures age out after a success', () => {
    let now = 0;
    const m = new ConnectionMonitor(() => now);
    m.browserOffline();
    expect(m.browserOnline().name).toBe('offline'); // not "intermittent, 0 recent failures"
    expect(m.reachable().name).toBe('online'); // the relay connected: nothing to upload, still back
    m.failed();
    expect(m.reachable()).toEqual({ name: 'intermittent', recentFailures: 1 });
    now += RECENT_MS + 1;
    expect(m.current.name).toBe('online'); // no new outcome needed for an old failure to stop counting
    m.failed();
    const failedAt = now;
    now += RECENT_MS + 1;
    // No failure recent and no answer since: not "intermittent, 1 recent failure" for good.
    expect(m.current).toEqual({ name: 'offline', since: failedAt });
  });

  it('[OUT2] an intermittent state counts its recent failures when read: the count never freezes', () => {
    let now = 0;
    const m = new ConnectionMonitor(() => now);
    m.failed();
    now += 20_000;
    m.failed();
    m.browserOffline();
    // The browser says it is back ("Sync now" used to say so too, with no network): failures on record.
    expect(m.browserOnline()).toEqual({ name: 'intermittent', recentFailures: 2 });
    now += RECENT_MS - 10_000; // the first failure is no longer recent, the second still is
    expect(m.current).toEqual({ name: 'intermittent', recentFailures: 1 });
    now += 20_000; // neither is; nothing answered since
    expect(m.current).toEqual({ name: 'offline', since: 20_000 });
  });

  it('[OUT2] the relay in step is the server answering all along: failing requests read intermittent while recent, then online, never offline', () => {
    let now = 0;
    let linked = true;
    const m = new ConnectionMonitor(() => now, true, () => linked);
    for (let i = 0; i < OFFLINE_AFTER; i++) m.failed(); // REST blocked (a proxy), websockets not
    expect(m.current).toEqual({ name: 'intermittent', recentFailures: OFFLINE_AFTER });
    now += RECENT_MS + 1;
    // Before, no failure recent and no answer since read "offline" while the relay delivered.
    expect(m.current.name).toBe('online');
    m.failed();
    linked = false; // the relay dropped: the next outcome decides (it asks the server)
    expect(m.current).toEqual({ name: 'intermittent', recentFailures: 1 });
    for (let i = 1; i < OFFLINE_AFTER; i++) m.failed();
    expect(m.current.name).toBe('offline');
  });

  it('[OUT2] a relay "in step" on a half-open socket keeps the failures counting: once it closes, the state is offline at once', () => {
    let now = 0;
    let linked = true;
    const m = new ConnectionMonitor(() => now, true, () => linked);
    for (let i = 0; i < OFFLINE_AFTER; i++) {
      m.failed(); // the server is gone; the relay's socket has not noticed yet
      now += 1_000;
      expect(m.current).toEqual({ name: 'intermittent', recentFailures: i + 1 }); // read between uploads (publish, sample)
    }
    linked = false; // y-websocket's timeout closed it
    expect(m.current.name).toBe('offline');
  });
});

describe('ConnectionMonitor thresholds', () => {
  it('[OUT2] slow is a moving average above SLOW_LATENCY_MS: an answer just slower reads slow, one at it online, one slow among fast ones online', () => {
    expect(new ConnectionMonitor(() => 0).succeeded(SLOW_LATENCY_MS + 100)).toEqual({ name: 'slow', latencyMs: SLOW_LATENCY_MS + 100 });
    expect(new ConnectionMonitor(() => 0).succeeded(SLOW_LATENCY_MS)).toEqual({ name: 'online', latencyMs: SLOW_LATENCY_MS });
    const m = new ConnectionMonitor(() => 0);
    m.succeeded(100);
    expect(m.succeeded(3_000)).toEqual({ name: 'online', latencyMs: 970 });
  });

  it('[OUT2] offline since the failure that made it so, not the latest retry; the browser back online, one more failure reads intermittent', () => {
    let now = 1_000;
    const m = new ConnectionMonitor(() => now);
    for (let i = 0; i < OFFLINE_AFTER; i++) m.failed();
    now = 31_000;
    expect(m.failed()).toEqual({ name: 'offline', since: 1_000 });
    m.browserOnline();
    now = 36_000;
    expect(m.failed().name).toBe('intermittent');
  });
});

describe('SyncStatusBoard', () => {
  function board(owed: () => number | null, connection: () => SyncStatus['connection'] = () => ({ name: 'online', latencyMs: null })) {
    const timers = new ManualTimers();
    const b = new SyncStatusBoard({ timers, status: (metrics) => ({ owed: owed(), connection: connection(), metrics }) as unknown as SyncStatus, connection, paused: () => false });
    b.startSampling();
    return { b, timers };
  }

  it('[OUT11] the charts keep the last 120 samples of a till up all day, and none while the owed count is unknown (the log still read): no false 0', async () => {
    let owed: number | null = null;
    const { b, timers } = board(() => owed);
    timers.advance(3 * SAMPLE_EVERY_MS);
    expect(b.status.metrics.samples).toEqual([]);
    owed = 2;
    b.publish();
    await Promise.resolve();
    timers.advance(200 * SAMPLE_EVERY_MS);
    expect(b.status.metrics.samples).toHaveLength(120);
    expect(b.status.metrics.samples[0]!.outbox).toBe(2);
    b.stop();
  });

  it('[OUT11] the latency chart resumes at the last latency once the relay syncs after a failure\'s gap', () => {
    const { b, timers } = board(() => 0);
    b.probed(120);
    b.charted(120);
    b.charted(null); // a failure: a gap
    b.answeredUntimed();
    timers.advance(SAMPLE_EVERY_MS);
    expect(b.status.metrics.samples.at(-1)!.latencyMs).toBe(120);
    b.stop();
  });

  it('[OUT2] a sample publishes the connection as of now: "intermittent" ends on the status bar with no other change', () => {
    let connection: SyncStatus['connection'] = { name: 'intermittent', recentFailures: 1 };
    const { b, timers } = board(() => 0, () => connection);
    connection = { name: 'offline', since: 0 };
    timers.advance(SAMPLE_EVERY_MS);
    expect(b.status.connection).toEqual({ name: 'offline', since: 0 });
    b.stop();
  });

  it('[OUT11] a burst of changes in one task publishes one status, and a published status does not change afterwards', async () => {
    const { b, timers } = board(() => 1);
    const published: SyncStatus[] = [];
    b.subscribe((status) => published.push(status));
    for (let i = 0; i < 10; i++) b.publish();
    await Promise.resolve();
    await Promise.resolve();
    expect(published).toHaveLength(2); // the one at subscribe, and one for the burst
    const before = b.status;
    b.failed('timeout');
    timers.advance(SAMPLE_EVERY_MS);
    expect(before.metrics.samples).toEqual([]);
    expect(before.metrics.failuresByCause).toEqual({});
    b.stop();
  });

  it('[SYN17] the wall clock set back moves the last success back with it: never in the future', async () => {
    const { b } = board(() => 0);
    b.stored({ events: 1, bytes: 10, receivedAt: 50_000, latencyMs: 20 });
    b.shift(-30_000);
    b.publish();
    await Promise.resolve();
    expect(b.status.metrics.lastSuccessAt).toBe(20_000);
    b.stop();
  });
});

describe('ClockOffsetEstimator', () => {
  it('[OUT3] takes the offset of the sample with the shortest round trip', () => {
    const est = new ClockOffsetEstimator();
    est.add(1_400, 400, 601_300); // rtt 400: offset 600_100
    expect(est.add(2_010, 10, 602_010)).toBe(600_005); // rtt 10 wins
    expect(est.add(3_900, 900, 610_000)).toBe(600_005);
    est.clear(); // the wall clock was set: the old samples measured the old one
    expect(est.estimate()).toBeNull();
    expect(est.add(4_900, 900, 610_000)).toBe(605_550);
  });

  it('[OUT3] only the last OFFSET_SAMPLES samples count (the shortest long ago measured a clock since drifted); a negative round trip counts as 0', () => {
    const est = new ClockOffsetEstimator();
    est.add(1_000, 10, 6_000); // rtt 10: offset 5_005
    for (let i = 0; i < OFFSET_SAMPLES; i++) est.add(1_000, 20, 2_010); // rtt 20: offset 1_020
    expect(est.estimate()).toBe(1_020);
    est.clear();
    expect(est.add(1_000, -100, 5_000)).toBe(4_000); // not 3_950: a timer off by a step is no shorter trip
  });

  it('[SYN17] a wall clock set (moving apart from monotonic time beyond WALL_STEP_MS) is noticed once, with its size', () => {
    let wall = 1_764_000_000_000;
    let mono = 50;
    const steps = new WallStepDetector(() => wall, () => mono);
    wall += 30_000;
    mono += 30_000 + WALL_STEP_MS / 2; // drift within the bound: no step
    expect(steps.step()).toBe(0);
    wall -= 3_600_000; // set back an hour
    expect(steps.step()).toBe(-3_600_000);
    expect(steps.step()).toBe(0);
  });
});

describe('LastSyncTime', () => {
  it('[SYN18] a last sync stored in the future (the clock set back since) is replaced by the next mark, and never read as later than now', () => {
    const hour = 3_600_000;
    const stored = new LastSyncTime('test:last-sync'); // no localStorage here: memory only
    expect(stored.at(1_000)).toBeNull();
    stored.mark(10 * hour); // while the clock ran an hour fast
    expect(stored.at(9 * hour)).toBe(9 * hour);
    stored.mark(9 * hour + 5); // the clock set right: the next word from the server
    expect(stored.at(9 * hour + 60_000)).toBe(9 * hour + 5);
    stored.shift(-hour);
    expect(stored.at(9 * hour)).toBe(8 * hour + 5);
  });
});

describe('Outbox', () => {
  const byWriter = new Map([
    ['till-1', [1, 2, 3, 4].map((n) => event('till-1', n))],
    ['till-2', [1, 2, 3].map((n) => event('till-2', n))],
  ]);

  it('[OUT4] owes what is above the watermarks, own events first, others only after their grace', () => {
    const quarantined = new Set([byWriter.get('till-1')![3]!.id]);
    const input = { byWriter, acknowledged: marksOnly({ 'till-1': 1, 'till-2': 2 }), quarantined, ownWriter: 'till-1', firstHeldAt: () => 1_000, now: 5_000, graceMs: 10_000 };
    const early = computeOutbox(input);
    expect(early.owed.map((e) => `${e.origin.terminal}#${e.origin.n}`)).toEqual(['till-1#2', 'till-1#3']);
    expect(early.waiting).toBe(1);
    const later = computeOutbox({ ...input, now: 20_000 });
    expect(later.owed.map((e) => `${e.origin.terminal}#${e.origin.n}`)).toEqual(['till-1#2', 'till-1#3', 'till-2#3']);
    expect(later.oldestOwedAt).toBe(1_000);
  });

  it('[OUT8] events the server answered accepted or duplicate are not owed, even above their watermark', () => {
    const answered = new Set([byWriter.get('till-1')![2]!.id, byWriter.get('till-1')![3]!.id]);
    const outbox = computeOutbox({ byWriter, acknowledged: marksOnly({ 'till-1': 1, 'till-2': 3 }), quarantined: new Set([byWriter.get('till-1')![1]!.id]), answered, ownWriter: 'till-1', firstHeldAt: () => 0, now: 0 });
    expect(outbox.owed).toEqual([]);
  });

  it('[SYN5] says when the first of the events still in their grace comes due', () => {
    const held = new Map([['till-2', [1_000, 1_400, 1_300].map((heldAt, i) => ({ ...event('till-2', i + 1), heldAt }))]]);
    const input = { byWriter: held, acknowledged: marksOnly({}), quarantined: new Set<string>(), ownWriter: 'till-1', firstHeldAt: (id: string) => held.get('till-2')!.find((e) => e.id === id)!.heldAt, now: 1_500, graceMs: 300 };
    const outbox = computeOutbox(input);
    expect(outbox.owed.map((e) => e.origin.n)).toEqual([1]);
    expect(outbox.waiting).toBe(2);
    expect(outbox.waitingUntil).toBe(1_600);
    // At that very ms it is owed: held the whole grace, waitingUntil is when it comes due (OUT4).
    const due = computeOutbox({ ...input, now: 1_600 });
    expect(due.owed.map((e) => e.origin.n)).toEqual([1, 3]);
    expect(due.waitingUntil).toBe(1_700);
  });

  it('[OUT4] the oldest owed of own events is when it was written (not the epoch)', () => {
    const own = byWriter.get('till-1')!;
    const outbox = computeOutbox({ byWriter: new Map([['till-1', own]]), acknowledged: marksOnly({}), quarantined: new Set(), ownWriter: 'till-1', firstHeldAt: () => 0, now: own[3]!.at + 60_000 });
    expect(outbox.oldestOwedAt).toBe(Math.min(...own.map((e) => e.at)));
    // On a tablet 6 minutes slow, stamps (server-corrected) lie 6 minutes ahead of its wall clock.
    const slow = computeOutbox({ byWriter: new Map([['till-1', own]]), acknowledged: marksOnly({}), quarantined: new Set(), ownWriter: 'till-1', firstHeldAt: () => 0, ownWrittenAt: (e) => e.at - 360_000, now: own[3]!.at });
    expect(slow.oldestOwedAt).toBe(Math.min(...own.map((e) => e.at)) - 360_000);
  });

  it('[OUT5] batches stay within the count and byte limits, and always carry at least one event', () => {
    const owed = byWriter.get('till-1')!;
    const one = JSON.stringify(owed[0]).length;
    expect(takeBatch(owed, { maxEvents: 3, maxBytes: 1e6 }).events).toHaveLength(3);
    expect(takeBatch(owed, { maxEvents: 10, maxBytes: 2 * one + 20 }).events).toHaveLength(2);
    expect(takeBatch(owed, { maxEvents: 10, maxBytes: 1 }).events).toHaveLength(1);
    const { body } = takeBatch(owed, { maxEvents: 2, maxBytes: 1e6 });
    expect(JSON.parse(body)).toEqual({ events: owed.slice(0, 2) });
  });

  it('[OUT6] delivery state: local → relayed → acknowledged', () => {
    const e = event('till-1', 3);
    expect(deliveryStateOf(e, marksOnly({}), {})).toBe('local');
    expect(deliveryStateOf(e, marksOnly({ 'till-1': 2 }), { 'till-1': 3 })).toBe('relayed');
    expect(deliveryStateOf(e, marksOnly({ 'till-1': 3 }), { 'till-1': 3 })).toBe('acknowledged');
  });
});

describe('Quarantine', () => {
  it('[OUT12] an event is dropped once its writer\'s watermark covers it (the server stored it after all), or released by a manager; both outlast a reload', () => {
    const storage = installLocalStorage();
    try {
      const q = new Quarantine('unit-quarantine');
      const entry = (terminal: string, n: number) => ({ eventId: `${terminal}-${n}`, type: 'ticket.opened', aggregateId: 't', terminal, n, reason: 'invalid', field: null, at: 0 });
      q.add(entry('till-1', 3));
      q.add(entry('till-1', 5));
      q.add(entry('till-2', 3));
      q.dropCovered(marksOnly({ 'till-1': 4 }));
      expect(q.list().map((e) => e.eventId)).toEqual(['till-1-5', 'till-2-3']);
      expect(new Quarantine('unit-quarantine').list()).toEqual(q.list());
      q.release(['till-2-3']);
      expect(new Quarantine('unit-quarantine').list().map((e) => e.eventId)).toEqual(['till-1-5']);
    } finally {
      storage.restore();
    }
  });

  it('[OUT14] a rejection is newer than the server by its code when it has one; without (an older server), on v or type of an event this build writes, unless a till may not write it', () => {
    const till = { role: 'terminal', terminal: 'till-1' };
    const noted = event('till-1', 1);
    const rejected = (field?: string, code?: string) => ({ id: noted.id, status: 'rejected' as const, field, code });
    expect(refusedAsNewer(rejected(undefined, NEWER_THAN_SERVER), noted, till)).toBe(true);
    expect(refusedAsNewer(rejected('v', 'invalid'), noted, till)).toBe(false); // a code says what it is
    expect(refusedAsNewer(rejected('v'), noted, till)).toBe(true);
    expect(refusedAsNewer(rejected('type'), noted, till)).toBe(true);
    expect(refusedAsNewer(rejected('payload'), noted, till)).toBe(false);
    // A manager's event of the till's own writer: refused to the till (CMD2), no update stores it.
    const voided = { ...event('till-1', 2), type: 'ticket.voided', payload: { reason: 'wrong table' } };
    expect(refusedAsNewer({ ...rejected('type'), id: voided.id }, voided, till)).toBe(false);
  });
});

describe('OutboxUploader', () => {
  /** An uploader whose every request is answered `status` with `body`, on manual timers; `sent` keeps what each request was sent with. */
  function answeredWith(status: number, body: string) {
    const timers = new ManualTimers();
    const sent: RequestInit[] = [];
    const fetch: typeof globalThis.fetch = async (_input, init) => {
      sent.push(init!);
      return new Response(body, { status });
    };
    const uploader = new OutboxUploader({ apiBase: 'http://127.0.0.1:9', token: () => 'token', timers, fetch });
    return { timers, sent, upload: () => uploader.upload('{"events":[]}', 10_000), probe: () => uploader.probe(10_000) };
  }

  it('[OUT9] our server\'s 401 (error and serverTime) refuses the token; a 401 or 403 without serverTime and a 422 refuse the batch, not the token; a 502 is the server failing; an answer leaves no timeout armed', async () => {
    expect(await answeredWith(401, JSON.stringify({ error: 'tokenExpired', message: 'token expired', serverTime: 1 })).upload()).toEqual({ kind: 'unauthorized', status: 401, message: 'token expired' });
    expect(await answeredWith(401, '{"error":"Unauthorized"}').upload()).toMatchObject({ kind: 'refused', status: 401 });
    expect(await answeredWith(403, '{"error":"Forbidden"}').upload()).toMatchObject({ kind: 'refused', status: 403 });
    expect(await answeredWith(422, 'Unprocessable Entity').upload()).toMatchObject({ kind: 'refused', status: 422 });
    const badGateway = answeredWith(502, '{}');
    expect(await badGateway.upload()).toMatchObject({ kind: 'failed', cause: 'server' });
    expect(badGateway.timers.nextDue()).toBeNull();
  });

  it('[OUT9] a 200 that is not the server\'s answer (a captive portal\'s page, a truncated body) is a bad response, not stored', async () => {
    expect(await answeredWith(200, '<html>Welcome to the hotel wifi</html>').upload()).toMatchObject({ kind: 'failed', cause: 'bad_response' });
    expect(await answeredWith(200, '{"ok":true}').upload()).toMatchObject({ kind: 'failed', cause: 'bad_response' });
    expect(await answeredWith(200, '<html>portal</html>').probe()).toMatchObject({ kind: 'failed', cause: 'bad_response' });
  });

  it('[OUT9] a version refusal, of an upload or the clock probe, is a failure (version) in the server\'s words: neither a refused batch nor the server failing', async () => {
    expect(await answeredWith(400, '{"error":"clientTooOld","message":"update the app"}').upload()).toEqual({ kind: 'failed', cause: 'version', message: 'update the app' });
    // No words of its own: the body is what staff are shown.
    expect(await answeredWith(400, '{"error":"serverTooOld","message":""}').upload()).toEqual({ kind: 'failed', cause: 'version', message: '{"error":"serverTooOld","message":""}' });
    expect(await answeredWith(400, '{"error":"clientTooOld","message":"update the app"}').probe()).toEqual({ kind: 'failed', cause: 'version', message: 'update the app' });
  });

  it('[OUT9] a POST says its body is JSON', async () => {
    const uploader = answeredWith(200, '{}');
    await uploader.upload();
    expect((uploader.sent[0]!.headers as Record<string, string>)['content-type']).toBe('application/json');
  });

  it('[SYN7] no answer within the timeout is a timeout, not a network failure', async () => {
    const timers = new ManualTimers();
    const uploader = new OutboxUploader({
      apiBase: 'http://127.0.0.1:9', token: () => 'token', timers,
      fetch: (_input, init) => new Promise((_resolve, reject) => init!.signal!.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')))),
    });
    const outcome = uploader.upload('{"events":[]}', 5_000);
    timers.advance(5_000);
    expect(await outcome).toMatchObject({ kind: 'failed', cause: 'timeout' });
  });
});

describe('Endpoints', () => {
  it('[OUT7] VITE_API_BASE and VITE_SYNC_ENDPOINT override; by default the serving origin', () => {
    expect(resolveEndpoints({}, 'https://pos.example')).toEqual({ apiBase: 'https://pos.example', syncEndpoint: 'wss://pos.example/sync' });
    expect(resolveEndpoints({ VITE_API_BASE: 'http://10.0.0.2:8787/' }, 'x')).toEqual({ apiBase: 'http://10.0.0.2:8787', syncEndpoint: 'ws://10.0.0.2:8787/sync' });
    expect(resolveEndpoints({ VITE_API_BASE: 'http://a', VITE_SYNC_ENDPOINT: 'ws://b/relay' }, 'x').syncEndpoint).toBe('ws://b/relay');
  });
});
