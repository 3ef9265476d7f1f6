import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';
import { WebSocketServer, type WebSocket } from 'ws';
import type { AppServer } from '../tests/helpers/browser';
import { benchPage, call, clockOffset, launchContext, nodeEpoch, sleep, type BenchContext } from './browser-harness';
import type { BenchRow } from './report';
import { percentile } from './stats';
import { ticketCommands } from './workload';

/**
 * 6. End to end: terminal A (one Chromium, our EventStore on IndexedDB + SyncManager, the
 * product's relay and uploader) appends one workload event; measured until it is held by
 * terminal B (another Chromium) AND is in the server's canonical SQLite log (`events`,
 * what GET /api/events serves; polled in-process with a read-only connection every ms).
 * Clocks: each page's epoch is mapped to Node's by the smallest-RTT evaluate round trip.
 *
 * Anchor: the sum of the floors' p99, each measured here with the same event JSON:
 * append = one raw IndexedDB put in a strict transaction (page A); relay = a bare Node ws
 * forward A → B; ingest = one better-sqlite3 insert in its own transaction (WAL, NORMAL,
 * as the server's database).
 */
const SUITE = 'browser';
const LOCATION = 'bench-e2e';

export async function e2eRows(app: AppServer, quick: boolean): Promise<BenchRow[]> {
  const samples = quick ? 15 : 100;
  const GAP_MS = 300; // staff pace: one change every ~0.3 s
  const contexts: BenchContext[] = [];
  const canon = new Database(join(app.dataDir, 'rms.sqlite'), { readonly: true, fileMustExist: true });
  const has = canon.prepare('SELECT received_at FROM events WHERE location = ? AND id = ?');
  try {
    contexts.push(await launchContext(), await launchContext());
    const [a, b] = await Promise.all(contexts.map((c) => benchPage(c.context, app.url)));
    const pages = [a!, b!];
    const terminals = ['e2e-a', 'e2e-b'];
    for (let i = 0; i < 2; i++) {
      const token = await app.server.mintToken({ location: LOCATION, role: 'terminal', terminal: terminals[i]!, ttlSeconds: 3600 });
      await call(pages[i]!, 'e2eOpen', { location: LOCATION, terminal: terminals[i]!, token });
    }
    for (const p of pages) await waitFor(async () => (await call(p, 'e2eStatus')).relay === 'connected', 'relay connected', 20_000);
    const offA = await clockOffset(a!);
    const offB = await clockOffset(b!);

    const cmds = [...ticketCommands(samples + 5, 21, 'E')];
    const total: number[] = [];
    const toB: number[] = [];
    const toServer: number[] = [];
    for (let i = 0; i < cmds.length; i++) {
      const started = nodeEpoch();
      const r = await call(a!, 'e2eAppend', cmds[i]!);
      const t0 = r.t0 - offA.offset;
      const deadline = performance.now() + 15_000;
      const late = (where: string) => new Error(`e2e: event ${r.id} not ${where} after 15 s`);
      // Two loops side by side: the SQLite poll must not wait for a page round trip. B
      // records when it received the event itself, so its poll needs no precision: every
      // 10 ms (a tighter one only took CPU from the terminals and the server, 2 cores here).
      const [stored, seen] = await Promise.all([
        (async () => {
          while (has.get(LOCATION, r.id) === undefined) {
            if (performance.now() > deadline) throw late('in the server');
            await sleep(1);
          }
          return nodeEpoch();
        })(),
        (async () => {
          for (;;) {
            const got = (await call(b!, 'e2eReceived', [r.id]))[0];
            if (got !== null && got !== undefined) return got - offB.offset;
            if (performance.now() > deadline) throw late('on B');
            await sleep(10);
          }
        })(),
      ]);
      if (i >= 5) {
        // the first five warm up the connections and the server's statements
        total.push(Math.max(stored, seen) - t0);
        toB.push(seen - t0);
        toServer.push(stored - t0);
      }
      const wait = GAP_MS - (nodeEpoch() - started);
      if (wait > 0) await sleep(wait);
    }

    // Floors.
    const putFloor = await call(a!, 'idbPutSamples', { name: 'floor-put', count: samples, seed: 21 });
    const relayFloor = await wsFloor(pages, offA.offset, offB.offset, samples);
    const ingestFloor = sqliteFloor(samples);
    const p99 = (s: readonly number[]) => percentile([...s].sort((x, y) => x - y), 99);
    const p50 = (s: readonly number[]) => percentile([...s].sort((x, y) => x - y), 50);
    const floorSum = p99(putFloor) + p99(relayFloor) + p99(ingestFloor);
    const floorText = `raw IDB put p99 ${p99(putFloor).toFixed(1)} + bare ws forward p99 ${p99(relayFloor).toFixed(1)} + better-sqlite3 insert p99 ${p99(ingestFloor).toFixed(2)} ms`;
    return [
      {
        suite: SUITE,
        metric: `end to end p99: append on A → on B and in server SQLite (${samples} events)`,
        ours: p99(total),
        anchor: floorSum,
        anchorName: 'sum of floors',
        unit: 'ms',
        spread: `p50 ${p50(total).toFixed(1)}`,
        target: { op: '<=', value: 1.3, on: 'ratio' },
        note: `${samples} ticketCommands events appended one every ${GAP_MS} ms on A (two Chromium processes, the real server in-process); to B alone p99 ${p99(toB).toFixed(1)} (p50 ${p50(toB).toFixed(1)}) ms, to the server's events table alone p99 ${p99(toServer).toFixed(1)} (p50 ${p50(toServer).toFixed(1)}) ms; floors: ${floorText}; clock mapping error ≤ ${Math.max(offA.error, offB.error).toFixed(2)} ms`,
      },
      {
        suite: SUITE,
        metric: 'append on A → held by B p99 (relay path only)',
        ours: p99(toB),
        anchor: p99(putFloor) + p99(relayFloor),
        anchorName: 'IDB put + ws forward floors',
        unit: 'ms',
        spread: `p50 ${p50(toB).toFixed(1)}`,
        target: null,
      },
    ];
  } finally {
    canon.close();
    for (const c of contexts) await c.close();
  }
}

async function waitFor(check: () => Promise<boolean>, label: string, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`e2e: timed out waiting for ${label}`);
    await sleep(50);
  }
}

/** A bare forwarding relay on 127.0.0.1: each message goes to every other client. */
async function wsFloor(pages: Page[], offA: number, offB: number, samples: number): Promise<number[]> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  const clients = new Set<WebSocket>();
  wss.on('connection', (ws) => {
    clients.add(ws);
    ws.on('message', (data, isBinary) => {
      for (const c of clients) if (c !== ws) c.send(data, { binary: isBinary });
    });
    ws.on('close', () => clients.delete(ws));
  });
  try {
    const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
    for (const p of pages) await call(p, 'wsOpen', url);
    const [a, b] = pages as [Page, Page];
    const events = await call(a, 'envelopes', samples + 5, 21, 'W');
    const out: number[] = [];
    for (let i = 0; i < events.length; i++) {
      const t0 = (await call(a, 'wsSend', events[i]!)) - offA;
      let got: number | null = null;
      const deadline = performance.now() + 5000;
      while (got === null) {
        const v = (await call(b, 'wsReceived', [events[i]!.id]))[0];
        if (v !== null && v !== undefined) got = v - offB;
        else if (performance.now() > deadline) throw new Error('ws floor: message lost');
      }
      if (i >= 5) out.push(got - t0);
      await sleep(20);
    }
    return out;
  } finally {
    for (const c of clients) c.terminate();
    await new Promise<void>((r) => wss.close(() => r()));
  }
}

/** One insert of the event JSON per transaction, as the server's database is configured. */
function sqliteFloor(samples: number): number[] {
  const dir = mkdtempSync(join(tmpdir(), 'rms-bench-sqlite-'));
  const db = new Database(join(dir, 'floor.sqlite'));
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.exec('CREATE TABLE events (cursor INTEGER PRIMARY KEY AUTOINCREMENT, location TEXT NOT NULL, id TEXT NOT NULL, json TEXT NOT NULL, received_at INTEGER NOT NULL); CREATE UNIQUE INDEX events_location_id ON events(location, id);');
    const insert = db.prepare('INSERT INTO events (location, id, json, received_at) VALUES (?, ?, ?, ?)');
    const tx = db.transaction((id: string, json: string) => insert.run(LOCATION, id, json, Date.now()));
    const out: number[] = [];
    let i = 0;
    for (const c of ticketCommands(samples + 5, 21, 'S')) {
      const json = JSON.stringify({ id: `floor-${i}`, seq: 1, at: Date.now(), type: c.type, v: 1, aggregate: c.aggregate, origin: { terminal: 'floor', n: i + 1 }, payload: c.payload });
      const t0 = performance.now();
      tx(`floor-${i}`, json);
      const ms = performance.now() - t0;
      if (i++ >= 5) out.push(ms);
    }
    return out;
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
