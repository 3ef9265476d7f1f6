import { spawn, type ChildProcess } from 'node:child_process';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import WebSocket from 'ws';
import * as Y from 'yjs';
import type { EventEnvelope } from '../shared/events/envelope';
import { readAllEventJson } from '../shared/log/log-doc';
import { buildIfStale } from '../scripts/builds.mjs';
import { RelayConnection } from '../client/sync/relay-connection';
import { realTimers } from '../client/sync/timers';
import { TEST_SECRET, mint } from '../tests/helpers/server-clients';
import { makeDataDir, removeDataDir, spawnServer, type ServerProcess } from '../tests/helpers/server-process';
import { serverEvents, startTerminal, type TestTerminal } from '../tests/helpers/terminals';
import type { BenchRow } from './report';
import { percentile } from './stats';
import { startTcpProxy } from '../tests/helpers/tcp-proxy';
import { ticketCommands } from './workload';

/**
 * Sync benchmarks (issue "Sync manager and outbox"): the real server as a separate process
 * (temp data dir), terminals = EventStore (memory) + SyncManager in this process, every
 * byte through byte-counting TCP proxies on 127.0.0.1.
 *
 *  1. Convergence after reconnect: T terminals write E events each while cut off (REST and
 *     relay refused), then reconnect (`syncNow()`): time until the server holds all and
 *     until every terminal holds all with owed 0. Anchor: the same events POSTed by a
 *     bare loop in batches of 250 (the upload floor).
 *  2. Upload throughput and bytes on the wire per event during that reconvergence.
 *  3. Reconnect storm: N terminals, kill -9 the server, restart it on the same data dir
 *     behind the same proxy; time until all are connected and owe nothing, 0 events lost.
 *     Anchor: the same storm of RelayConnections against a bare forwarding ws relay.
 */
const SUITE = 'sync';
const ROOT = resolve(import.meta.dirname, '..');
const BATCH = 250;

export interface SyncBenchOptions {
  quick: boolean;
}

export async function syncBench(options: SyncBenchOptions): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const load = loadavg()[0]!.toFixed(1);
  rows.push(...(await convergenceRows(options.quick)));
  rows.push(...(await stormRows(options.quick)));
  // Two cores shared by the server process, this process and anything else running:
  // the load average says how much else was.
  rows[0]!.note = `load average ${load} at start, ${loadavg()[0]!.toFixed(1)} at end; ${rows[0]!.note ?? ''}`;
  return rows;
}

// ───────────────────────────── helpers ─────────────────────────────

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(check: () => boolean, label: string, timeoutMs: number, everyMs = 5): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`sync bench: timed out waiting for ${label}`);
    await sleep(everyMs);
  }
  return performance.now();
}

function appendOptions(c: { aggregate: { id: string; type: string }; key?: string }) {
  return c.key === undefined ? { aggregate: c.aggregate } : { aggregate: c.aggregate, key: c.key };
}

const ownEvents = (t: TestTerminal): readonly EventEnvelope[] => t.store.eventsByWriter().get(t.store.writer) ?? [];

const relayOf = (t: TestTerminal): RelayConnection => (t.sync as unknown as { relay: RelayConnection }).relay;

function spreadText(ms: readonly number[]): string {
  const s = [...ms].sort((a, b) => a - b);
  const f = (v: number) => (v / 1000).toFixed(2);
  return `min ${f(s[0]!)} p50 ${f(percentile(s, 50))} p90 ${f(percentile(s, 90))} max ${f(s[s.length - 1]!)} s`;
}

async function postBatches(url: string, token: string, events: readonly EventEnvelope[]): Promise<void> {
  for (let i = 0; i < events.length; i += BATCH) {
    const body = `{"events":[${events.slice(i, i + BATCH).map((e) => JSON.stringify(e)).join(',')}]}`;
    const res = await fetch(`${url}/api/events`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body });
    const text = await res.text();
    if (!res.ok) throw new Error(`floor POST: HTTP ${res.status} ${text.slice(0, 200)}`);
  }
}

// ───────────────────────────── 1 + 2: convergence ─────────────────────────────

async function convergenceRows(quick: boolean): Promise<BenchRow[]> {
  const TERMS = 3;
  const PER = quick ? 1000 : 5000;
  const TOTAL = TERMS * PER;
  const location = 'sync-bench';
  const dataDir = makeDataDir('rms-bench-sync-');
  const server = await spawnServer({ dataDir, secret: TEST_SECRET, built: true });
  const rest = await startTcpProxy(server.port);
  const relay = await startTcpProxy(server.port);
  const floorProxy = await startTcpProxy(server.port);
  const terminals: TestTerminal[] = [];
  try {
    // Warm the server's code paths (JIT, SQLite statements) for both sides alike.
    const warm = await startTerminal({ location: 'warmup', terminal: 'warm-1', apiBase: server.url, syncEndpoint: server.wsUrl });
    for (const c of ticketCommands(1000, 3, 'W')) await warm.store.append(c.type, c.payload, appendOptions(c));
    await warm.sync.syncNow();
    await postBatches(server.url, await mint('warmup-floor', 'terminal', 'warm-2'), ownEvents(warm));
    warm.close();

    for (let i = 0; i < TERMS; i++) {
      terminals.push(await startTerminal({ location, terminal: `till-${i + 1}`, apiBase: rest.url, syncEndpoint: relay.wsUrl }));
    }
    await until(() => terminals.every((t) => t.sync.status.relay === 'connected'), 'relay connected', 20_000);

    // Cut off: both proxies refuse new connections, live ones are dropped.
    await Promise.all([rest.refuse(true), relay.refuse(true)]);
    rest.cut();
    relay.cut();
    await until(() => terminals.every((t) => t.sync.status.relay !== 'connected'), 'cut off', 10_000);
    const cutAt = performance.now();
    for (const [i, t] of terminals.entries()) {
      for (const c of ticketCommands(PER, 11 + i, `T${i + 1}`)) await t.store.append(c.type, c.payload, appendOptions(c));
    }
    const writeMs = performance.now() - cutAt;
    const outbox = terminals.flatMap((t) => [...ownEvents(t)]);
    if (outbox.length !== TOTAL) throw new Error(`wrote ${outbox.length} events, expected ${TOTAL}`);
    const jsonBytes = outbox.reduce((a, e) => a + Buffer.byteLength(JSON.stringify(e)), 0) / TOTAL;

    // Anchor: the same events, POSTed by a bare loop in batches of 250 (to another location).
    floorProxy.resetBytes();
    const floorToken = await mint('sync-floor', 'terminal', 'floor');
    const floorStart = performance.now();
    await postBatches(floorProxy.url, floorToken, outbox);
    const floorMs = performance.now() - floorStart;
    const floorUp = floorProxy.bytes().up;

    await sleep(200);
    const relayAttempts = terminals.map((t) => relayOf(t).attempt);
    const outageMs = performance.now() - cutAt;
    rest.resetBytes();
    relay.resetBytes();
    const sentBefore = terminals.reduce((a, t) => a + t.sync.status.metrics.eventsSent, 0);
    const bytesBefore = terminals.reduce((a, t) => a + t.sync.status.metrics.bytesSent, 0);
    const writers = terminals.map((t) => t.store.writer);

    // Reconnect.
    const t0 = performance.now();
    await Promise.all([rest.refuse(false), relay.refuse(false)]);
    const syncing = Promise.all(terminals.map((t) => t.sync.syncNow()));
    let serverAt = 0;
    let relayUpAt = 0;
    const serverHoldsAll = () => {
      const marks: Record<string, number> = {};
      for (const t of terminals) for (const [w, n] of Object.entries(t.sync.watermarks())) marks[w] = Math.max(marks[w] ?? 0, n);
      return writers.every((w) => (marks[w] ?? 0) >= PER);
    };
    const termsHoldAll = () => {
      if (!relayUpAt && terminals.every((t) => t.sync.status.relay === 'connected')) relayUpAt = performance.now();
      if (!serverAt && serverHoldsAll()) serverAt = performance.now();
      return serverAt > 0 && terminals.every((t) => t.store.projection.size === TOTAL && t.sync.status.owed === 0);
    };
    const allAt = await until(termsHoldAll, 'terminals converge', 120_000, 2);
    await syncing;
    const serverMs = serverAt - t0;
    const allMs = allAt - t0;

    // Verify against the canonical store itself.
    const stored = await serverEvents(server.url, location);
    if (stored.length !== TOTAL || new Set(stored.map((e) => e.id)).size !== TOTAL) {
      throw new Error(`server holds ${stored.length} events (${new Set(stored.map((e) => e.id)).size} distinct), expected ${TOTAL}`);
    }
    const eventsSent = terminals.reduce((a, t) => a + t.sync.status.metrics.eventsSent, 0) - sentBefore;
    const bodyBytes = terminals.reduce((a, t) => a + t.sync.status.metrics.bytesSent, 0) - bytesBefore;
    const restUp = rest.bytes().up;
    const relayBytes = relay.bytes();
    const docEntries = terminals.map((t) => readAllEventJson(t.store.doc).length);

    const scale = `${TERMS} × ${PER.toLocaleString('en')}`;
    return [
      {
        suite: SUITE,
        metric: `reconnect → server holds all (${scale})`,
        ours: serverMs,
        anchor: floorMs,
        anchorName: 'bare POST loop, 250/batch',
        unit: 'ms',
        target: { op: '<', value: 3000, on: 'ours' },
        note: `outage ${(outageMs / 1000).toFixed(1)} s (writing took ${(writeMs / 1000).toFixed(1)} s); relay backoff failures at reconnect ${relayAttempts.join('/')}; all relays connected after ${relayUpAt ? (relayUpAt - t0).toFixed(0) : '?'} ms`,
      },
      {
        suite: SUITE,
        metric: `reconnect → every terminal holds all, owed 0 (${scale})`,
        ours: allMs,
        anchor: floorMs,
        anchorName: 'bare POST loop, 250/batch',
        unit: 'ms',
        target: { op: '<', value: 3000, on: 'ours' },
      },
      {
        suite: SUITE,
        metric: 'upload throughput during reconvergence',
        ours: TOTAL / (serverMs / 1000),
        anchor: TOTAL / (floorMs / 1000),
        anchorName: 'bare POST loop',
        unit: 'events/s',
        target: { op: '>=', value: 0.5, on: 'ratio' },
        note: `${eventsSent} events uploaded for ${TOTAL} (${(eventsSent / TOTAL).toFixed(2)}×; >1 means other terminals' events re-uploaded after their grace)`,
      },
      {
        suite: SUITE,
        metric: 'REST bytes on the wire per uploaded event (request side)',
        ours: restUp / Math.max(1, eventsSent),
        anchor: jsonBytes,
        anchorName: 'event JSON',
        unit: 'B',
        target: { op: '<=', value: 1.2, on: 'ratio' },
        note: `request bodies ${(bodyBytes / Math.max(1, eventsSent)).toFixed(0)} B/event (metrics.bytesSent); bare loop ${(floorUp / TOTAL).toFixed(0)} B/event on the wire; REST responses ${(rest.bytes().down / Math.max(1, eventsSent)).toFixed(0)} B/event`,
      },
      {
        suite: SUITE,
        metric: `relay bytes on the wire per event delivery (${TERMS} terminals)`,
        ours: (relayBytes.up + relayBytes.down) / (TERMS * TOTAL),
        anchor: jsonBytes,
        anchorName: 'event JSON',
        unit: 'B',
        target: { op: '<=', value: 1.5, on: 'ratio' },
        note: `a delivery = one event up from its writer or down to one other terminal (${TERMS}×${TOTAL.toLocaleString('en')}); up ${(relayBytes.up / 1e6).toFixed(1)} MB, down ${(relayBytes.down / 1e6).toFixed(1)} MB`,
      },
      {
        suite: SUITE,
        metric: 'log entries held per event after reconvergence',
        ours: docEntries.reduce((a, b) => a + b, 0) / docEntries.length / TOTAL,
        anchor: 1,
        anchorName: 'one entry per event',
        unit: '×',
        target: { op: '<=', value: 1, on: 'ratio' },
        note: `entries in each terminal's doc: ${docEntries.join(', ')} for ${TOTAL} events`,
      },
    ];
  } finally {
    for (const t of terminals) t.close();
    await Promise.all([rest.close(), relay.close(), floorProxy.close()]);
    await server.stop();
    removeDataDir(dataDir);
  }
}

// ───────────────────────────── 3: reconnect storm ─────────────────────────────

interface Bare {
  port: number;
  kill9(): Promise<void>;
}

/**
 * The bare relay built to plain JavaScript like our server (vite.config.ts, `--ssr`), so
 * neither side of the restart comparison pays for a TypeScript loader.
 */
function bareRelayScript(): string {
  const outDir = 'bench/.out/bare-relay';
  buildIfStale({ what: 'the bare relay', outDir, sources: ['bench/sync-bare-relay.ts'], args: ['--ssr', 'bench/sync-bare-relay.ts', '--outDir', outDir] });
  return resolve(ROOT, outDir, 'sync-bare-relay.js');
}

async function spawnBareRelay(): Promise<Bare> {
  const child: ChildProcess = spawn(process.execPath, [bareRelayScript()], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((res) => child.once('exit', () => res()));
  const port = await new Promise<number>((res, rej) => {
    const timer = setTimeout(() => rej(new Error('bare relay did not start in 20 s')), 20_000);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        const msg = JSON.parse(line) as { msg?: string; port?: number };
        if (msg.msg === 'listening' && typeof msg.port === 'number') {
          clearTimeout(timer);
          res(msg.port);
        }
      } catch {
        // not ours
      }
    });
    void exited.then(() => rej(new Error('bare relay exited before listening')));
  });
  return {
    port,
    async kill9() {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** One reconnect storm: `clients` each report (via `mark`) when they count as back. */
interface StormResult {
  restartMs: number;
  /** Kill → the relay (or server) is reachable again. */
  downMs: number;
  /** Per client, ms from the kill until it owed nothing (ours only). */
  uploadedMs: number[];
  /** Relay backoff failures counted when all were back. */
  attempts: number[];
  /** Per client, ms from the kill until it counted as back (connected, and owed 0 for ours). */
  backMs: number[];
  connectedMs: number[];
}

/** The anchor storm: N RelayConnections to a bare relay process, kill -9, restart after at least `downMs`. */
async function bareStorm(N: number, locations: readonly string[], downMs: number): Promise<StormResult> {
  let bare = await spawnBareRelay();
  const proxy = await startTcpProxy(bare.port);
  const clients: { relay: RelayConnection; doc: Y.Doc }[] = [];
  try {
    const connectedAt = new Array<number>(N).fill(0);
    let armed = false;
    for (let i = 0; i < N; i++) {
      const doc = new Y.Doc();
      doc.getArray<string>('x').push([`client-${i}`]);
      const idx = i;
      const conn: RelayConnection = new RelayConnection({
        url: proxy.wsUrl,
        room: locations[i % locations.length]!,
        doc,
        token: 'bare',
        timers: realTimers,
        WebSocketImpl: WebSocket as unknown as typeof globalThis.WebSocket,
        onChange: () => {
          if (armed && !connectedAt[idx] && conn.state === 'connected') connectedAt[idx] = performance.now();
        },
      });
      conn.start();
      clients.push({ relay: conn, doc });
    }
    await until(() => clients.every((c) => c.relay.state === 'connected'), 'bare: all connected', 60_000, 20);
    await proxy.refuse(true);
    const t0 = performance.now();
    await bare.kill9();
    await until(() => clients.every((c) => c.relay.state !== 'connected'), 'bare: all disconnected', 10_000, 5);
    armed = true;
    const restartStart = performance.now();
    bare = await spawnBareRelay();
    const restartMs = performance.now() - restartStart;
    const wait = t0 + downMs - performance.now();
    if (wait > 0) await sleep(wait);
    const upAt = performance.now();
    proxy.retarget(bare.port);
    await proxy.refuse(false);
    await until(() => connectedAt.every((v) => v > 0), 'bare: all back', 180_000, 20);
    const connectedMs = connectedAt.map((v) => v - t0);
    return { restartMs, downMs: upAt - t0, backMs: connectedMs, connectedMs, uploadedMs: [], attempts: clients.map((c) => c.relay.attempt) };
  } finally {
    for (const c of clients) {
      c.relay.destroy();
      c.doc.destroy();
    }
    await proxy.close();
    await bare.kill9();
  }
}

async function stormRows(quick: boolean): Promise<BenchRow[]> {
  const N = quick ? 50 : 200;
  const PER_ROOM = 10;
  const BEFORE = 3;
  const DURING = 2;
  const locations = Array.from({ length: N / PER_ROOM }, (_, i) => `storm-${i + 1}`);

  // ── ours ──
  const dataDir = makeDataDir('rms-bench-storm-');
  let server: ServerProcess = await spawnServer({ dataDir, secret: TEST_SECRET, built: true });
  const rest = await startTcpProxy(server.port);
  const relay = await startTcpProxy(server.port);
  const terminals: TestTerminal[] = [];
  let ours: StormResult;
  let lost: number;
  try {
    for (let i = 0; i < N; i++) {
      terminals.push(
        await startTerminal({ location: locations[i % locations.length]!, terminal: `till-${Math.floor(i / locations.length) + 1}`, apiBase: rest.url, syncEndpoint: relay.wsUrl }),
      );
    }
    await until(() => terminals.every((t) => t.sync.status.relay === 'connected'), `${N} relays connected`, 60_000, 20);
    for (const [i, t] of terminals.entries()) {
      for (const c of ticketCommands(BEFORE, 100 + i, `S${i}`)) await t.store.append(c.type, c.payload, appendOptions(c));
    }
    await until(() => terminals.every((t) => t.sync.status.owed === 0 && t.sync.status.relay === 'connected'), 'storm set-up synced', 60_000, 20);

    const connectedAt = new Array<number>(N).fill(0);
    const backAt = new Array<number>(N).fill(0);
    const uploadedAt = new Array<number>(N).fill(0);
    let t0 = 0;
    let armed = false;
    const unsubs = terminals.map((t, i) =>
      t.sync.subscribe((s) => {
        if (!armed) return;
        const now = performance.now();
        if (!connectedAt[i] && s.relay === 'connected') connectedAt[i] = now;
        if (!backAt[i] && s.relay === 'connected' && s.owed === 0) backAt[i] = now;
        if (!uploadedAt[i] && s.owed === 0) uploadedAt[i] = now;
      }),
    );

    await Promise.all([rest.refuse(true), relay.refuse(true)]);
    t0 = performance.now();
    await server.kill9();
    await until(() => terminals.every((t) => t.sync.status.relay !== 'connected'), 'storm: all disconnected', 10_000, 5);
    armed = true;
    // Staff keep working through the outage: each terminal writes a little more.
    for (const [i, t] of terminals.entries()) {
      for (const c of ticketCommands(DURING, 500 + i, `D${i}`)) await t.store.append(c.type, c.payload, appendOptions(c));
    }
    const restartStart = performance.now();
    server = await spawnServer({ dataDir, secret: TEST_SECRET, built: true });
    const restartMs = performance.now() - restartStart;
    rest.retarget(server.port);
    relay.retarget(server.port);
    await Promise.all([rest.refuse(false), relay.refuse(false)]);
    const upAt = performance.now();
    await until(() => backAt.every((v) => v > 0), 'storm: all back', 180_000, 20);
    unsubs.forEach((u) => u());
    ours = {
      restartMs,
      downMs: upAt - t0,
      backMs: backAt.map((v) => v - t0),
      connectedMs: connectedAt.map((v) => v - t0),
      uploadedMs: uploadedAt.map((v) => v - t0),
      attempts: terminals.map((t) => relayOf(t).attempt),
    };

    let stored = 0;
    const ids = new Set<string>();
    for (const loc of locations) {
      for (const e of await serverEvents(server.url, loc)) {
        stored++;
        ids.add(e.id);
      }
    }
    const written = terminals.reduce((a, t) => a + ownEvents(t).length, 0);
    if (written !== N * (BEFORE + DURING)) throw new Error(`storm: wrote ${written}`);
    lost = written - ids.size;
    if (stored !== ids.size) throw new Error(`storm: server holds duplicates (${stored} rows, ${ids.size} ids)`);
  } finally {
    for (const t of terminals) t.close();
    await Promise.all([rest.close(), relay.close()]);
    await server.stop();
    removeDataDir(dataDir);
  }

  // ── anchors: a bare forwarding relay, the same clients' RelayConnection path ──
  // (a) restarted as fast as it starts; (b) held down as long as our server was (kill →
  // listening), which leaves the start-up time out and compares the reconnect itself.
  const bareFast = await bareStorm(N, locations, 0);
  // (b) only in the full run: --quick must stay under a minute, and each storm can take 30 s of jitter.
  const bareEqual = quick ? null : await bareStorm(N, locations, ours.downMs);

  const maxOf = (xs: number[]) => Math.max(...xs);
  const attemptsText = (xs: number[]) => {
    const sorted = [...xs].sort((a, b) => a - b);
    return `median ${percentile(sorted, 50)}, max ${sorted[sorted.length - 1]}`;
  };
  const fromUp = (r: StormResult, xs: number[]) => xs.map((v) => v - r.downMs);
  const equalOutage: BenchRow[] = bareEqual === null ? [] : [
    {
      suite: SUITE,
      metric: `storm, equal outage: reachable again → all ${N} connected and owed 0`,
      ours: maxOf(fromUp(ours, ours.backMs)),
      anchor: maxOf(fromUp(bareEqual, bareEqual.connectedMs)),
      anchorName: 'bare ws relay down as long, all connected',
      unit: 'ms',
      spread: spreadText(fromUp(ours, ours.backMs)),
      target: { op: '<=', value: 2, on: 'ratio' },
      note: `outage (kill → reachable) ours ${(ours.downMs / 1000).toFixed(1)} s, bare ${(bareEqual.downMs / 1000).toFixed(1)} s; bare spread ${spreadText(fromUp(bareEqual, bareEqual.connectedMs))}; bare backoff failures ${attemptsText(bareEqual.attempts)}`,
    },
  ];
  return [
    {
      suite: SUITE,
      metric: `storm: kill -9 → all ${N} connected and owed 0`,
      ours: maxOf(ours.backMs),
      anchor: maxOf(bareFast.connectedMs),
      anchorName: 'bare ws relay, all connected',
      unit: 'ms',
      spread: spreadText(ours.backMs),
      target: { op: '<=', value: 2, on: 'ratio' },
      note: `${N} terminals in ${locations.length} locations of ${PER_ROOM}; ${BEFORE} events each before the kill, ${DURING} during the outage; owed 0 (uploads alone): ${spreadText(ours.uploadedMs)}; relay backoff failures before reconnecting: ours ${attemptsText(ours.attempts)}, bare ${attemptsText(bareFast.attempts)}; bare spread ${spreadText(bareFast.connectedMs)}`,
    },
    {
      suite: SUITE,
      metric: `storm: kill -9 → all ${N} relays connected`,
      ours: maxOf(ours.connectedMs),
      anchor: maxOf(bareFast.connectedMs),
      anchorName: 'bare ws relay',
      unit: 'ms',
      spread: spreadText(ours.connectedMs),
      target: { op: '<=', value: 2, on: 'ratio' },
    },
    ...equalOutage,
    {
      suite: SUITE,
      metric: 'storm: restart until listening',
      ours: ours.restartMs,
      anchor: bareFast.restartMs,
      anchorName: 'bare ws relay',
      unit: 'ms',
      target: null,
    },
    {
      suite: SUITE,
      metric: `storm: events lost (of ${N * (BEFORE + DURING)})`,
      ours: lost,
      anchor: null,
      anchorName: '',
      unit: 'events',
      target: { op: '<=', value: 0, on: 'ours' },
    },
  ];
}
