import { Agent, request } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as Y from 'yjs';
import { CURRENT_VERSIONS } from '../shared/events/catalog';
import { canonicalEventJson, type EventEnvelope } from '../shared/events/envelope';
import { newEventId } from '../shared/events/event-id';
import { BRIDGE_EVERY_MS, OWN_EVENTS_GRACE_MS } from '../server/ingest/room-bridge';
import { createEventIndex } from '../server/relay/event-index-hook';
import { persistenceHook } from '../server/relay/persistence-hook';
import { Room } from '../server/relay/room';
import { openDatabase } from '../server/store/database';
import { SqliteRoomStore, type RoomStore } from '../server/store/room-store';
import { startUpdateMerger } from '../server/store/update-merger';
import type { BenchRow } from './report';
import { benchTokens, spawnOurServer, spawnProc } from './server-spawn';
import { gc, summarize } from './stats';
import { ticketCommands } from './workload';

/**
 * Ingest (issue "Server", benchmarks): 100,000 realistic events (bench/workload.ts tickets,
 * stamped into valid envelopes, 20 terminals with their own origin.n), each terminal posting its own
 * events with its own token (as tills do), over loopback
 * HTTP to our server in its own process, in batches of 100 and of 500, two requests in
 * flight. Beside it, in the same run, the two limits it cannot beat:
 *  - the database: better-sqlite3, the same `events` table, a prepared INSERT OR IGNORE
 *    loop in one WAL transaction per batch (rows precomputed);
 *  - HTTP: a plain node:http server in a child process that only JSON.parses each body.
 * Then the same batches again (all duplicates), and a cold load of the room the bridge filled.
 *
 * The replay starts once the first write's own events are bridged (their grace and one
 * bridge interval after the last answer): before, that bridging ran during the replay, which
 * so paid for the last 3 s of the first write's work (at 500 per POST, most of it), and
 * "replay at least as fast as the first write" depended on how much of it fell there, not
 * on duplicates. The server CPU of that bridging is given in the first write's note instead.
 */
const SUITE = 'server-ingest';
const LOCATION = 'bench';
const TERMINALS = 20;
const IN_FLIGHT = 2;

function makeEvents(count: number): EventEnvelope[] {
  const out: EventEnvelope[] = [];
  const nOf = new Array<number>(TERMINALS).fill(0);
  const seqOf = new Map<string, number>();
  let at = 1_764_000_000_000;
  let ticket = 0;
  let lastAggregate = '';
  for (const c of ticketCommands(count)) {
    if (c.aggregate.id !== lastAggregate) {
      ticket += 1;
      lastAggregate = c.aggregate.id;
    }
    const t = ticket % TERMINALS;
    nOf[t]! += 1;
    const seq = (seqOf.get(c.aggregate.id) ?? 0) + 1;
    seqOf.set(c.aggregate.id, seq);
    at += 7;
    const event: EventEnvelope = {
      id: newEventId(at),
      seq,
      at,
      type: c.type,
      v: CURRENT_VERSIONS[c.type as keyof typeof CURRENT_VERSIONS] ?? 1,
      aggregate: c.aggregate,
      origin: { terminal: `till-${t}`, n: nOf[t]! },
      payload: c.payload,
    };
    if (c.key !== undefined) event.key = c.key;
    out.push(event);
  }
  return out;
}

interface Batch {
  /** The terminal whose events these are, and whose token posts them. */
  terminal: string;
  body: string;
  events: EventEnvelope[];
}

/**
 * Each terminal uploads its own events (the realistic case: a till's outbox holds what it
 * wrote), `size` at a time, batches in the order their first event was written. The
 * bridge treats these as the uploader's own (deferred by its grace period), exactly as in
 * production, where the terminal's relay usually delivers them first.
 */
function batchesOf(events: readonly EventEnvelope[], size: number): Batch[] {
  const out: Batch[] = [];
  const open = new Map<string, EventEnvelope[]>();
  const emit = (terminal: string, slice: EventEnvelope[]): void => {
    out.push({ terminal, body: JSON.stringify({ events: slice }), events: slice });
  };
  for (const e of events) {
    const terminal = e.origin.terminal;
    let slice = open.get(terminal);
    if (slice === undefined) open.set(terminal, (slice = []));
    slice.push(e);
    if (slice.length === size) {
      emit(terminal, slice);
      open.delete(terminal);
    }
  }
  for (const [terminal, slice] of open) emit(terminal, slice);
  return out;
}

interface PostRun {
  rowsPerSec: number;
  p99: number;
  p50: number;
  statuses: Map<string, number>;
}

/** CPU time (user + system, all threads) a process has used so far, from /proc (clock ticks of 10 ms). */
function cpuMsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Posts every body, IN_FLIGHT at a time, keep-alive; per-request latency. */
async function postAll(port: number, path: string, tokens: ReadonlyMap<string, string> | null, batches: readonly Batch[], rows: number, countStatuses = false): Promise<PostRun> {
  const agent = new Agent({ keepAlive: true, maxSockets: IN_FLIGHT });
  const latencies: number[] = [];
  const statuses = new Map<string, number>();
  let next = 0;
  const one = ({ body, terminal }: Batch): Promise<string> =>
    new Promise((resolve, reject) => {
      const headers: Record<string, string> = { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) };
      if (tokens !== null) headers.authorization = `Bearer ${tokens.get(terminal)}`;
      const req = request({ host: '127.0.0.1', port, path, method: 'POST', agent, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => (res.statusCode === 200 ? resolve(Buffer.concat(chunks).toString()) : reject(new Error(`HTTP ${res.statusCode}: ${Buffer.concat(chunks).toString().slice(0, 300)}`))));
      });
      req.on('error', reject);
      req.end(body);
    });
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < batches.length) {
        const batch = batches[next++]!;
        const s = performance.now();
        const text = await one(batch);
        latencies.push(performance.now() - s);
        if (countStatuses) {
          for (const r of (JSON.parse(text) as { results: { status: string }[] }).results) statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        }
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  agent.destroy();
  const s = summarize(latencies);
  return { rowsPerSec: rows / seconds, p99: s.p99, p50: s.p50, statuses };
}

/** The database limit: same table and indexes (openDatabase), prepared insert, one transaction per batch. */
function dbFloor(batches: readonly Batch[]): number {
  const dir = mkdtempSync(join(tmpdir(), 'rms-bench-db-'));
  const db = openDatabase(dir);
  try {
    const insert = db.prepare(
      `INSERT OR IGNORE INTO events (location, id, terminal, n, aggregate_type, aggregate_id, type, at, json, received_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const rowsOf = (e: EventEnvelope) => [LOCATION, e.id, e.origin.terminal, e.origin.n, e.aggregate.type, e.aggregate.id, e.type, e.at, canonicalEventJson(e), 1] as const;
    const slices = batches.map((b) => b.events.map(rowsOf));
    const batch = db.transaction((slice: ReturnType<typeof rowsOf>[]) => {
      for (const r of slice) insert.run(...r);
    });
    const count = slices.reduce((a, s) => a + s.length, 0);
    const t0 = performance.now();
    for (const slice of slices) batch(slice);
    return count / ((performance.now() - t0) / 1000);
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Cold load of the room the bridge filled: our hooks (persistence + event index) vs applying the same pieces. */
async function roomLoad(dataDir: string): Promise<{ ours: number; floor: number; events: number }> {
  const db = openDatabase(dataDir);
  // Never used: the loaded room commits nothing, so nothing is merged.
  const merger = startUpdateMerger();
  try {
    const store = new SqliteRoomStore(db);
    const pieces = (await store.load(LOCATION)).updates;
    const times = { ours: [] as number[], floor: [] as number[] };
    let events = 0;
    for (let run = 0; run < 3; run++) {
      gc();
      let t0 = performance.now();
      const bare = new Y.Doc();
      bare.transact(() => {
        for (const p of pieces) Y.applyUpdate(bare, p);
      });
      times.floor.push(performance.now() - t0);
      bare.destroy();
      gc();
      // A store that reads the same pieces but never writes (the measurement must not change the data).
      const readOnly: RoomStore = {
        load: async () => ({ updates: pieces, lastSeq: 0 }),
        appendUpdate: () => 0,
        appendUpdates: () => [],
        putState: () => {},
        appendChunk: () => 0,
        dropUpdates: () => 0,
        dropThrough: () => 0,
      };
      const index = createEventIndex();
      const hooks = [persistenceHook(readOnly, merger, { mergeEvery: 500 }), index.hook];
      t0 = performance.now();
      const room = new Room(LOCATION, hooks);
      for (const hook of hooks) await hook.onLoad?.(room);
      times.ours.push(performance.now() - t0);
      events = [...index.relayed(room).values()].reduce((a, b) => a + b, 0);
      for (const hook of hooks) hook.onUnload?.(room);
      room.destroy();
    }
    const median = (xs: number[]): number => xs.sort((a, b) => a - b)[1]!;
    return { ours: median(times.ours), floor: median(times.floor), events };
  } finally {
    await merger.close();
    db.close();
  }
}

export async function serverIngestBench({ quick }: { quick: boolean }): Promise<BenchRow[]> {
  const count = quick ? 20_000 : 100_000;
  const events = makeEvents(count);
  const label = `${count / 1000}k events`;
  const rows: BenchRow[] = [];
  const http = await spawnProc('http-floor');
  try {
    for (const size of [100, 500]) {
      const batches = batchesOf(events, size);
      const httpRun = await postAll(http.port, '/api/events', null, batches, count);
      const db = dbFloor(batches);
      // RMS_BENCH_CPU_PROF=dir: profile our server process (node --cpu-prof, written at exit).
      const prof = process.env.RMS_BENCH_CPU_PROF;
      const server = await spawnOurServer({}, prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}`] : []);
      let first: PostRun;
      let replay: PostRun;
      let bridgedAfterMs = 0;
      try {
        const tokens = new Map<string, string>();
        for (const terminal of new Set(batches.map((b) => b.terminal))) {
          tokens.set(terminal, await benchTokens.mint({ location: LOCATION, role: 'terminal', terminal, ttlSeconds: 3600 }));
        }
        first = await postAll(server.port, '/api/events', tokens, batches, count, true);
        if (first.statuses.get('accepted') !== count) throw new Error(`ingest accepted ${JSON.stringify([...first.statuses])} of ${count}`);
        const cpuBefore = cpuMsOf(server.child.pid!);
        await new Promise((r) => setTimeout(r, OWN_EVENTS_GRACE_MS + BRIDGE_EVERY_MS + 500));
        bridgedAfterMs = cpuMsOf(server.child.pid!) - cpuBefore;
        replay = await postAll(server.port, '/api/events', tokens, batches, count, true);
        if (replay.statuses.get('duplicate') !== count) throw new Error(`replay: ${JSON.stringify([...replay.statuses])}`);
        await server.stop(); // graceful: flushes the room
        if (size === 500) {
          const load = await roomLoad(server.dataDir);
          rows.push({ suite: SUITE, metric: `room cold load, ${label} bridged from REST (persistence + event index + relayed marks)`, ours: load.ours, anchor: load.floor, anchorName: 'Y.applyUpdate of the same rows', unit: 'ms', target: null, note: `the index read ${load.events} origins` });
        }
      } finally {
        await server.dispose();
      }
      const lower = Math.min(db, httpRun.rowsPerSec);
      const lowerName = db <= httpRun.rowsPerSec ? 'SQLite floor' : 'HTTP floor';
      rows.push(
        { suite: SUITE, metric: `ingest ${label} in POSTs of ${size}: rows/s vs the lower floor`, ours: first.rowsPerSec, anchor: lower, anchorName: lowerName, unit: 'rows/s', target: { op: '>=', value: 0.7, on: 'ratio' }, note: `floors: SQLite ${db.toFixed(0)} rows/s, HTTP ${httpRun.rowsPerSec.toFixed(0)} rows/s; after the last answer the server spent ${bridgedAfterMs} ms of CPU bridging the last grace's events` },
        { suite: SUITE, metric: `ingest POSTs of ${size}: p99 batch latency vs HTTP floor`, ours: first.p99, anchor: httpRun.p99, anchorName: 'HTTP floor', unit: 'ms', spread: `p50 ${first.p50.toFixed(1)}`, target: null },
        { suite: SUITE, metric: `replay of the same POSTs of ${size} (all duplicates) vs first write`, ours: replay.rowsPerSec, anchor: first.rowsPerSec, anchorName: 'first write', unit: 'rows/s', target: { op: '>=', value: 1, on: 'ratio' } },
      );
    }
  } finally {
    await http.stop();
  }
  return rows;
}

