import WebSocket from 'ws';
import type { BenchRow } from './report';
import { HIST_BUCKETS, histPercentile, type ClientsConfig, type ClientsResult } from './server-procs';
import { benchTokens, spawnNode, spawnOurServer, spawnProc, type Child } from './server-spawn';

/**
 * Relay fan-out (issue "Server", benchmarks): N terminals in one room, each sending
 * `rate` updates per second; every update must reach the N−1 others. Three relays, each
 * in its own process, same clients, same load, same run:
 *  - ours: server/main.ts with auth (a token per terminal) and SQLite persistence on;
 *  - bare: a ws server that forwards each frame to the room's other sockets (the limit);
 *  - reference: @y/websocket-server's setupWSConnection on a plain ws server (no persistence).
 * Terminals are raw-ws y-protocols clients (bench/server-procs.ts relay-clients), spread
 * over client processes; the send time rides in each update and gives the latency.
 * RSS per connection: after one warm-up connection (opened and closed), RSS with every
 * terminal connected minus RSS before, each read after a full GC in the relay process; the
 * load starts only after the second reading.
 * Each light-load run sends for a warm-up second first (not counted, see ClientsConfig.warmupMs).
 * The light-load configurations run LIGHT_ROUNDS rounds (bare, reference, ours in turn, so
 * drift in the machine hits all three alike) and report each figure's median over the rounds:
 * single-run p99s of the same relay differed by 5× on this machine.
 */
const SUITE = 'server-relay';
const ROOM = 'bench';
const LIGHT_ROUNDS = 3;

interface Figures {
  deliveriesPerSec: number;
  offeredPerSec: number;
  p50: number;
  p99: number;
  rssPerConn: number;
  lost: number;
}

interface Config {
  terminals: number;
  rate: number;
  durationMs: number;
  /** Unmeasured sending first (light load only: at saturation it would only pile up a backlog). */
  warmupMs: number;
  processes: number;
  /** Offered more than any relay delivers (deliveries/s is then capacity, latency only queueing). */
  saturating: boolean;
  quick: boolean;
}

/** RSS of `relay` after a full garbage collection in it (bench/gc-on-signal.ts). */
async function rssAfterGc(relay: Child): Promise<number> {
  await new Promise((r) => setTimeout(r, 300));
  relay.child.kill('SIGUSR2');
  await new Promise((r) => setTimeout(r, 300));
  return relay.rss();
}

/**
 * One connection opened and closed before the measured ones: what the first connection
 * costs once per process and room (loading the room, code compiled on first use), which is
 * not a cost per connection.
 */
async function warmUp(url: string): Promise<void> {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => {
      // A relay that greets (sync step 1) has then served the connection; the bare one never does.
      ws.once('message', () => resolve());
      setTimeout(resolve, 500);
    });
    ws.once('error', reject);
  });
  ws.close();
}

async function runClients(config: Config, urlFor: (terminal: string) => Promise<string>, relay: Child, handshake = true): Promise<Figures> {
  const ids = Array.from({ length: config.terminals }, (_, i) => `t-${i}`);
  const urls = await Promise.all(ids.map(urlFor));
  await warmUp(await urlFor('warm-up'));
  const baseRss = await rssAfterGc(relay);
  const per = Math.ceil(config.terminals / config.processes);
  const drainMs = config.quick ? 700 : 1500;
  const clients: Child[] = [];
  for (let p = 0; p * per < config.terminals; p++) {
    const cfg: ClientsConfig = {
      urls: urls.slice(p * per, (p + 1) * per),
      ids: ids.slice(p * per, (p + 1) * per),
      rate: config.rate,
      durationMs: config.durationMs,
      warmupMs: config.warmupMs,
      drainMs,
      handshake,
    };
    clients.push(spawnNode(['bench/server-procs.ts', 'relay-clients'], { RMS_BENCH_CLIENTS: JSON.stringify(cfg) }));
  }
  try {
    await Promise.all(clients.map((c) => c.next('ready', 30_000)));
    // What a connection costs: RSS with every terminal connected and synced, before any load
    // (during the load RSS mostly follows the document and GC timing, not the connections).
    const connectedRss = await rssAfterGc(relay);
    for (const c of clients) c.child.kill('SIGUSR2'); // start sending
    const results = await Promise.all(
      clients.map((c) => c.next<{ result: ClientsResult }>('result', config.durationMs + drainMs + 60_000)),
    );
    const hist = new Array<number>(HIST_BUCKETS).fill(0);
    let sent = 0;
    let delivered = 0;
    let received = 0;
    for (const { result } of results) {
      sent += result.sent;
      delivered += result.delivered;
      received += result.received;
      result.hist.forEach((v, i) => (hist[i]! += v));
    }
    const expected = sent * (config.terminals - 1);
    return {
      // Below saturation every relay is offered the same updates and one that keeps up
      // delivers them all: its rate is what it delivered of them by the end of the drain
      // (arrivals counted within the window differ by a few per second between runs of the
      // same relay, which decided "≥ the reference" between two relays that lost nothing).
      // Saturated, what arrived within the window (the drain would add its backlog).
      deliveriesPerSec: (config.saturating ? delivered : received) / (config.durationMs / 1000),
      offeredPerSec: expected / (config.durationMs / 1000),
      p50: histPercentile(hist, 50),
      p99: histPercentile(hist, 99),
      rssPerConn: (connectedRss - baseRss) / config.terminals,
      lost: Math.max(0, expected - received),
    };
  } finally {
    await Promise.all(clients.map((c) => c.stop()));
  }
}

async function ours(config: Config): Promise<Figures> {
  // RMS_BENCH_CPU_PROF=dir: profile our server process (node --cpu-prof, written at exit).
  const prof = process.env.RMS_BENCH_CPU_PROF;
  const server = await spawnOurServer({}, ['--import', './bench/gc-on-signal.ts', ...(prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}`] : [])]);
  try {
    return await runClients(
      config,
      async (terminal) => {
        const token = await benchTokens.mint({ location: ROOM, role: 'terminal', terminal, ttlSeconds: 3600 });
        return `ws://127.0.0.1:${server.port}/sync/${ROOM}?token=${encodeURIComponent(token)}`;
      },
      server,
    );
  } finally {
    await server.dispose();
  }
}

async function other(mode: 'bare-relay' | 'reference-relay', config: Config): Promise<Figures> {
  const relay = await spawnProc(mode);
  try {
    return await runClients(config, async () => `ws://127.0.0.1:${relay.port}/${ROOM}`, relay, mode !== 'bare-relay');
  } finally {
    await relay.stop();
  }
}

interface Targets {
  /** Latency targets apply (not at saturation, where latency is only queueing). */
  latency: boolean;
  /** The absolute p99 < 50 ms target. */
  p99Absolute: boolean;
}

/** Each figure's median over the rounds (the middle one of 3). */
function medianOf(rounds: readonly Figures[]): Figures {
  const mid = (pick: (f: Figures) => number): number => {
    const xs = rounds.map(pick).sort((a, b) => a - b);
    return xs[Math.floor(xs.length / 2)]!;
  };
  return {
    deliveriesPerSec: mid((f) => f.deliveriesPerSec),
    offeredPerSec: mid((f) => f.offeredPerSec),
    p50: mid((f) => f.p50),
    p99: mid((f) => f.p99),
    rssPerConn: mid((f) => f.rssPerConn),
    lost: mid((f) => f.lost),
  };
}

/** "a–b" over the rounds, for the notes. */
function rangeOf(rounds: readonly Figures[], pick: (f: Figures) => number, digits: number): string {
  const xs = rounds.map(pick);
  return `${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)}`;
}

function rows(label: string, runs: { ours: Figures[]; bare: Figures[]; ref: Figures[] }, targets: Targets): BenchRow[] {
  const [o, bare, ref] = [medianOf(runs.ours), medianOf(runs.bare), medianOf(runs.ref)];
  const several = runs.ours.length > 1;
  /** What the rounds ranged over, as a note (none for a single round). */
  const ranges = (what: string, pick: (f: Figures) => number, unit: string): string | undefined =>
    several ? `${what} over ${runs.ours.length} rounds: ours ${rangeOf(runs.ours, pick, 1)}, reference ${rangeOf(runs.ref, pick, 1)} ${unit}` : undefined;
  const note = `${several ? `median of ${runs.ours.length} rounds; ` : ''}offered ${o.offeredPerSec.toFixed(0)} deliveries/s; not delivered by the end of the drain: ours ${o.lost}, bare ${bare.lost}, reference ${ref.lost}`;
  const lat = (value: number) => (targets.latency ? { op: '<=' as const, value, on: 'ratio' as const } : null);
  return [
    { suite: SUITE, metric: `${label}: deliveries/s vs bare ws relay`, ours: o.deliveriesPerSec, anchor: bare.deliveriesPerSec, anchorName: 'bare relay', unit: '/s', target: { op: '>=', value: 0.8, on: 'ratio' }, note },
    { suite: SUITE, metric: `${label}: deliveries/s vs reference`, ours: o.deliveriesPerSec, anchor: ref.deliveriesPerSec, anchorName: '@y/websocket-server', unit: '/s', target: { op: '>=', value: 1, on: 'ratio' } },
    { suite: SUITE, metric: `${label}: p50 latency vs reference`, ours: o.p50, anchor: ref.p50, anchorName: '@y/websocket-server', unit: 'ms', target: lat(1), spread: `bare ${bare.p50.toFixed(1)}`, note: ranges('p50', (f) => f.p50, 'ms') },
    { suite: SUITE, metric: `${label}: p99 latency vs reference`, ours: o.p99, anchor: ref.p99, anchorName: '@y/websocket-server', unit: 'ms', target: lat(1), spread: `bare ${bare.p99.toFixed(1)}`, note: ranges('p99', (f) => f.p99, 'ms') },
    ...(targets.p99Absolute
      ? [{ suite: SUITE, metric: `${label}: p99 latency (absolute)`, ours: o.p99, anchor: bare.p99, anchorName: 'bare relay', unit: 'ms', target: { op: '<' as const, value: 50, on: 'ours' as const } }]
      : []),
    { suite: SUITE, metric: `${label}: RSS per connection vs reference`, ours: o.rssPerConn / 1024, anchor: ref.rssPerConn / 1024, anchorName: '@y/websocket-server', unit: 'KiB', target: { op: '<=', value: 1, on: 'ratio' }, spread: `bare ${(bare.rssPerConn / 1024).toFixed(0)}`, note: ranges('RSS per connection', (f) => f.rssPerConn / 1024, 'KiB') },
  ];
}

export async function serverRelayBench({ quick }: { quick: boolean }): Promise<BenchRow[]> {
  const durationMs = quick ? 1500 : 6000;
  const warmupMs = quick ? 300 : 1000;
  // "100 updates/s" read both ways: per terminal (100 terminals: 990k deliveries/s offered,
  // beyond any relay and client on 2 cores: a saturation test, throughput only) and per room.
  const configs: Array<{ label: string; config: Config; targets: Targets }> = [
    { label: '10 terminals × 100 updates/s each', config: { terminals: 10, rate: 100, durationMs, warmupMs, processes: 1, saturating: false, quick }, targets: { latency: true, p99Absolute: false } },
    { label: '100 terminals × 100 updates/s each (saturating)', config: { terminals: 100, rate: 100, durationMs, warmupMs: 0, processes: 2, saturating: true, quick }, targets: { latency: false, p99Absolute: false } },
    { label: '100 terminals, 100 updates/s per room', config: { terminals: 100, rate: 1, durationMs, warmupMs, processes: 2, saturating: false, quick }, targets: { latency: true, p99Absolute: true } },
  ];
  const out: BenchRow[] = [];
  for (const { label, config, targets } of configs) {
    if (quick && config.rate * config.terminals > 5000) continue; // the saturation run: full runs only
    const runs = { ours: [] as Figures[], bare: [] as Figures[], ref: [] as Figures[] };
    const rounds = targets.latency && !quick ? LIGHT_ROUNDS : 1;
    for (let r = 0; r < rounds; r++) {
      runs.bare.push(await other('bare-relay', config));
      runs.ref.push(await other('reference-relay', config));
      runs.ours.push(await ours(config));
    }
    out.push(...rows(label, runs, targets));
  }
  return out;
}
