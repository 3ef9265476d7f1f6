/**
 * Child processes of the server benchmarks (bench/server-ingest.ts, bench/server-relay.ts),
 * so load generators and servers never share an event loop:
 *
 *   node --import tsx bench/server-procs.ts http-floor       plain node:http, only parses the JSON body
 *   node --import tsx bench/server-procs.ts bare-relay       ws, forwards each frame to the room's other sockets
 *   node --import tsx bench/server-procs.ts reference-relay  @y/websocket-server's setupWSConnection on ws
 *   node --import tsx bench/server-procs.ts relay-clients    terminals: raw-ws y-protocols clients (config in RMS_BENCH_CLIENTS)
 *
 * Servers print `{"port":…}` on stdout once listening (127.0.0.1, any free port).
 */
import { createServer } from 'node:http';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import * as syncProtocol from 'y-protocols/sync';
import WebSocket, { WebSocketServer } from 'ws';
import * as Y from 'yjs';
import { SegmentWriter } from '../shared/log/log-doc';
import { newEventId } from '../shared/events/event-id';

const mode = process.argv[2];

function listening(server: import('node:http').Server): void {
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    process.stdout.write(`${JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 })}\n`);
  });
}

export interface ClientsConfig {
  /** Full ws URLs, one per terminal (token included where needed). */
  urls: string[];
  /** Terminal ids, parallel to urls (embedded in each update to skip echoes). */
  ids: string[];
  /** Updates per second per terminal. */
  rate: number;
  /**
   * How long sending lasts. It starts when the process gets SIGUSR2 (plus START_DELAY_MS):
   * the driver sends it to every client process once all terminals are connected and it has
   * read the relay's RSS, so that reading never overlaps the load however slowly the
   * processes started.
   */
  durationMs: number;
  /**
   * Sending at the same rate for this long before the measured window: neither what is sent
   * then nor its deliveries are counted. Every relay is measured in its steady state, not
   * while its code is still being compiled (ours runs far more code per update than the
   * others, so the first second of traffic weighed on its p99 alone).
   */
  warmupMs: number;
  drainMs: number;
  /** y-protocols handshake (step 1 / step 2) — off for the bare relay, which would forward it to every other client. */
  handshake: boolean;
}

export interface ClientsResult {
  /** Updates due in the measured window (every relay is offered the same). */
  sent: number;
  /**
   * Updates of other terminals that arrived within the measured window, whenever sent: the
   * delivery rate at saturation (bench/server-relay.ts). Counted by arrival at both edges (warm-up updates arriving after its start
   * in, measured ones arriving after its end out), so a relay's latency does not bias it; by
   * send window instead, the end edge alone cut the updates still in flight, and at light load,
   * where every relay delivers everything, a higher latency read as fewer deliveries.
   */
  delivered: number;
  /** Updates due in some sender's measured window received by the end of the drain (losses are the rest). */
  received: number;
  echoes: number;
  /** Latency histogram (see latencyBucket), one count per delivery (window and drain). */
  hist: number[];
}

export const HIST_BUCKETS = 4001;

/** 0.1 ms buckets below 100 ms, 10 ms buckets above, capped near 30 s. */
export function latencyBucket(ms: number): number {
  if (ms < 100) return Math.max(0, Math.floor(ms * 10));
  return Math.min(HIST_BUCKETS - 1, 1000 + Math.floor((ms - 100) / 10));
}

export function bucketUpperMs(bucket: number): number {
  return bucket < 1000 ? (bucket + 1) / 10 : 100 + (bucket - 999) * 10;
}

export function histPercentile(hist: readonly number[], p: number): number {
  const total = hist.reduce((a, b) => a + b, 0);
  if (total === 0) return NaN;
  const want = Math.ceil((p / 100) * total);
  let seen = 0;
  for (let i = 0; i < hist.length; i++) {
    seen += hist[i]!;
    if (seen >= want) return bucketUpperMs(i);
  }
  return bucketUpperMs(hist.length - 1);
}

/** From the start signal to the first send, so that every client process got the signal. */
const START_DELAY_MS = 50;

const MARK = '@ts:';
const MARK_BYTES = Buffer.from(MARK);
/** After the timestamp: whether it was due in its sender's measured window (not the warm-up). */
const MEASURED = 'm'.charCodeAt(0);

/** Wall-clock ms with sub-ms precision, comparable across processes on one machine. */
const nowMs = (): number => performance.timeOrigin + performance.now();

/**
 * A terminal as the relay sees it, without a provider's cost on the receiving side: it
 * speaks y-protocols (sync step 1 on open, answers step 1 with step 2, sends each local
 * change as an update message) but does not apply what it receives; it reads the send
 * timestamp embedded in each update (`@ts:<terminal>|<ms>|<m or w>;`: m when due in its
 * sender's measured window, w in the warm-up) and counts it. The sender decides: client
 * processes get the start signal a little apart, so a receiver's own window would count an
 * update sent in the first moments of another process's window as warm-up, and lost. Each change is
 * what a terminal writes: one ~250-byte event appended to its own segment of the log
 * (shared/log/log-doc.ts), so the relay's real path (event index, relayed marks) runs.
 */
async function runClients(config: ClientsConfig): Promise<void> {
  const result: ClientsResult = { sent: 0, delivered: 0, received: 0, echoes: 0, hist: new Array<number>(HIST_BUCKETS).fill(0) };
  // Listening before `ready` is printed: SIGUSR2 would otherwise end the process.
  const started = new Promise<void>((resolve) => process.once('SIGUSR2', () => resolve()));
  let startAt = Infinity;
  let endAt = Infinity;
  const terminals = config.urls.map((url, i) => {
    const id = config.ids[i]!;
    const doc = new Y.Doc();
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.binaryType = 'nodebuffer';
    const frame = (write: (e: encoding.Encoder) => void): Uint8Array => {
      const e = encoding.createEncoder();
      write(e);
      return encoding.toUint8Array(e);
    };
    doc.on('update', (update: Uint8Array) => {
      if (ws.readyState !== WebSocket.OPEN) return;
      ws.send(frame((e) => {
        encoding.writeVarUint(e, 0);
        syncProtocol.writeUpdate(e, update);
      }));
    });
    const open = new Promise<void>((resolve, reject) => {
      ws.on('open', () => {
        if (!config.handshake) return resolve();
        ws.send(frame((e) => {
          encoding.writeVarUint(e, 0);
          syncProtocol.writeSyncStep1(e, doc);
        }));
        resolve();
      });
      ws.on('error', reject);
    });
    const ownTag = Buffer.from(`${MARK}${id}|`);
    ws.on('message', (data: Buffer) => {
      if (data[0] !== 0) return; // awareness etc.
      if (data[1] === 0) {
        if (!config.handshake) return;
        // The server's sync step 1: answer with our state (step 2), as a provider does.
        const decoder = decoding.createDecoder(new Uint8Array(data.buffer, data.byteOffset + 2, data.byteLength - 2));
        const sv = decoding.readVarUint8Array(decoder);
        ws.send(frame((e) => {
          encoding.writeVarUint(e, 0);
          syncProtocol.writeSyncStep2(e, doc, sv);
        }));
        return;
      }
      // One message can carry many terminals' updates (a relay may send a reader that fell
      // behind everything it missed as one update): each mark in it is one delivery.
      const now = nowMs();
      for (let at = data.indexOf(MARK_BYTES); at >= 0; at = data.indexOf(MARK_BYTES, at + MARK_BYTES.length)) {
        if (data.compare(ownTag, 0, ownTag.length, at, at + ownTag.length) === 0) {
          result.echoes += 1;
          continue;
        }
        if (now >= startAt && now <= endAt) result.delivered += 1;
        const bar = data.indexOf(124, at); // '|'
        const flag = data.indexOf(124, bar + 1) + 1;
        if (data[flag] !== MEASURED) continue; // due in the warm-up
        const sentAt = Number(data.toString('latin1', bar + 1, flag - 1));
        result.hist[latencyBucket(now - sentAt)]! += 1;
        result.received += 1;
      }
    });
    return { id, doc, ws, open, writer: new SegmentWriter(doc, id), n: 0 };
  });
  await Promise.all(terminals.map((t) => t.open));
  process.stdout.write(`${JSON.stringify({ ready: true })}\n`);

  await started;
  const sendFrom = nowMs() + START_DELAY_MS;
  startAt = sendFrom + config.warmupMs;
  endAt = startAt + config.durationMs;
  // Open loop: every tick, each terminal sends what its rate owes by now (spread evenly).
  await new Promise((r) => setTimeout(r, START_DELAY_MS));
  const owed = terminals.map(() => 0);
  const offset = terminals.map((_, i) => i / terminals.length);
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const now = nowMs();
      const elapsed = Math.min(now, endAt) - sendFrom;
      terminals.forEach((t, i) => {
        const due = Math.floor((elapsed / 1000) * config.rate + offset[i]!);
        while (owed[i]! < due) {
          owed[i]! += 1;
          // What a terminal writes: one event appended to its own segment of the log.
          t.n += 1;
          const sentAt = nowMs();
          // Measured by when it was due, not when a tick got to it: every relay is then
          // offered exactly the same updates (by send time, a tick late at the window's
          // start moved one or two of ~6,000 in or out, and "deliveries/s vs reference"
          // compared the load generator's timing).
          const measured = sendFrom + ((owed[i]! - offset[i]!) / config.rate) * 1000 >= startAt;
          if (measured) result.sent += 1;
          const event = {
            id: newEventId(sentAt),
            seq: t.n,
            at: Math.floor(sentAt),
            type: 'ticket.note_set',
            v: 1,
            aggregate: { id: `ticket-${t.id}-${Math.ceil(t.n / 15)}`, type: 'ticket' },
            origin: { terminal: t.id, n: t.n },
            payload: { note: `${MARK}${t.id}|${sentAt}|${measured ? 'm' : 'w'}; extra crispy, sauce on the side` },
          };
          t.doc.transact(() => t.writer.append([JSON.stringify(event)]));
        }
      });
      if (now >= endAt) resolve();
      else setTimeout(tick, 2);
    };
    tick();
  });
  await new Promise((r) => setTimeout(r, config.drainMs));
  for (const t of terminals) t.ws.terminate();
  process.stdout.write(`${JSON.stringify({ result })}\n`);
  process.exit(0);
}

if (mode === 'http-floor') {
  // The HTTP limit: read the body, JSON.parse it, answer a small JSON. Nothing else.
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { events: unknown[] };
      const out = JSON.stringify({ received: body.events.length, serverTime: Date.now() });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) });
      res.end(out);
    });
  });
  server.keepAliveTimeout = 60_000;
  listening(server);
} else if (mode === 'bare-relay') {
  // The relay limit: no document, no auth, no storage; each frame goes to the other sockets of its path.
  await import('./gc-on-signal');
  const server = createServer();
  const wss = new WebSocketServer({ server });
  const rooms = new Map<string, Set<WebSocket>>();
  wss.on('connection', (ws, req) => {
    const name = (req.url ?? '/').split('?')[0]!;
    let room = rooms.get(name);
    if (room === undefined) rooms.set(name, (room = new Set()));
    room.add(ws);
    ws.on('message', (data: Buffer) => {
      for (const other of room) if (other !== ws && other.readyState === WebSocket.OPEN) other.send(data);
    });
    ws.on('close', () => room.delete(ws));
  });
  listening(server);
} else if (mode === 'reference-relay') {
  // The reference y-websocket server, as its own bin sets it up (no persistence configured).
  await import('./gc-on-signal');
  const { setupWSConnection } = (await import('@y/websocket-server/utils')) as {
    setupWSConnection: (ws: WebSocket, req: import('node:http').IncomingMessage) => void;
  };
  const server = createServer();
  const wss = new WebSocketServer({ server });
  wss.on('connection', (ws, req) => setupWSConnection(ws, req));
  listening(server);
} else if (mode === 'relay-clients') {
  await runClients(JSON.parse(process.env.RMS_BENCH_CLIENTS ?? '{}') as ClientsConfig);
}
