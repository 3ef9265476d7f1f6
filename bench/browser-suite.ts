import { loadavg } from 'node:os';
import type { Page } from 'playwright-core';
import { logLoadedMode, startAppServer, storedCheckpoint, waitForOfflineShell, type AppServer } from '../tests/helpers/browser';
import { buildBenchSite, SITE } from './browser-build';
import { assertLoopbackOnly, benchPage, call, launchContext, median, sleep, spread } from './browser-harness';
import { e2eRows } from './browser-e2e';
import type { BenchRow } from './report';
import { percentile } from './stats';
import { ticketCommands } from './workload';

/**
 * Browser benchmarks: our EventStore in Chromium on a real on-disk IndexedDB, and the
 * built staff app served by the real server, each beside its anchors measured in the same
 * run. Workload everywhere: `ticketCommands` (bench/workload.ts) — whole tickets of ~15
 * events (open, 3–6 items, note, kitchen, bumps, payment, close, sale), ~200 B of JSON each.
 *
 *  1. durable append rate, awaited one by one and in batches of 50 (fired together, then
 *     awaited): ours vs raw IndexedDB puts of the same JSON in one strict transaction per
 *     batch (floor) vs PouchDB bulkDocs per batch with a by-aggregate view brought up to date;
 *  2. read by aggregate: ours (getByAggregate) vs raw IndexedDB index vs the PouchDB view;
 *  3. cold start with 100k events stored (10k quick): EventStore.open → full projection and
 *     the staff app's page load until the tickets screen shows the stored data, vs
 *     y-indexeddb + Y.Doc of the same doc (floor) and PouchDB allDocs of the same events;
 *  4. stored bytes per event: counted record bytes and navigator.storage.estimate() deltas;
 *  5. input-to-paint of "add item" in the staff app, p95;
 *  6. end to end, terminal A append → visible on B and in the server's SQLite (bench/browser-e2e.ts).
 */
const SUITE = 'browser';

export interface BrowserBenchOptions {
  quick: boolean;
}

export async function browserBench(options: BrowserBenchOptions): Promise<BenchRow[]> {
  const { quick } = options;
  // `BENCH_BROWSER_PARTS=cold,e2e` runs only the parts whose names contain one of these words.
  const parts = process.env.BENCH_BROWSER_PARTS?.split(',').filter(Boolean);
  const load = loadavg()[0]!.toFixed(1);
  await buildBenchSite();
  const app = await startAppServer({ staticDir: SITE });
  const rows: BenchRow[] = [];
  try {
    for (const [part, run] of [
      ['append, read, bytes', storeRows],
      ['cold start', coldRows],
      ['input to paint', paintRows],
      ['end to end', e2eRows],
    ] as const) {
      if (parts && !parts.some((p) => part.includes(p))) continue;
      const t0 = performance.now();
      rows.push(...(await run(app, quick)));
      console.error(`[browser] ${part}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
    assertLoopbackOnly();
  } finally {
    await app.close();
  }
  rows[0]!.note = `load average ${load} at start, ${loadavg()[0]!.toFixed(1)} at end; ${rows[0]!.note ?? ''}`;
  return rows;
}

const WORKLOAD = 'ticketCommands workload (tickets of ~15 events, ~200 B JSON each)';

// ───────────────────────── 1, 2, 4: append, read, bytes ─────────────────────────

async function storeRows(app: AppServer, quick: boolean): Promise<BenchRow[]> {
  const runs = quick ? 3 : 4;
  const oneCount = quick ? 40 : 200;
  const batchCount = quick ? 500 : 2000;
  const BATCH = 50;
  const ctx = await launchContext();
  try {
    const page = await benchPage(ctx.context, app.url);
    const rate: Record<string, number[]> = {};
    const pouchWriteOnly: number[] = [];
    const add = (k: string, events: number, ms: number) => (rate[k] ??= []).push((events / ms) * 1000);
    let n = 0;
    for (let r = 0; r < runs; r++) {
      const last = r === runs - 1;
      if (r > 0) await call(page, 'deleteAll');
      // Interleaved per run, so drift in the machine hits every system alike.
      for (const system of ['raw', 'ours', 'pouch'] as const) {
        const one = await call(page, 'appendRun', { system, name: `one-${system}-${n++}`, count: oneCount, batch: 1, seed: 7 });
        add(`${system}-1`, one.events, one.ms + one.indexMs);
        const many = await call(page, 'appendRun', { system, name: last ? `read-${system}` : `batch-${system}-${n++}`, count: batchCount, batch: BATCH, seed: 7 });
        add(`${system}-${BATCH}`, many.events, many.ms + many.indexMs);
        if (system === 'pouch') pouchWriteOnly.push((many.events / many.ms) * 1000);
      }
    }
    const rows: BenchRow[] = [];
    for (const b of [1, BATCH]) {
      const ours = rate[`ours-${b}`]!;
      const how = b === 1 ? `awaited one by one (${oneCount} events)` : `batches of ${BATCH} fired then awaited (${batchCount} events)`;
      rows.push({
        suite: SUITE,
        metric: `durable append, ${how}, vs raw IndexedDB`,
        ours: median(ours),
        anchor: median(rate[`raw-${b}`]!),
        anchorName: 'raw IDB put, 1 strict tx per batch',
        unit: 'ev/s',
        spread: spread(ours),
        target: { op: '>=', value: 0.7, on: 'ratio' },
        note: `${WORKLOAD}; median of ${runs} runs; ours and raw both durability 'strict'; raw stores {id, aggregate, json} with an index on aggregate; raw spread ${spread(rate[`raw-${b}`]!)}`,
      });
      rows.push({
        suite: SUITE,
        metric: `durable append, ${how}, vs PouchDB`,
        ours: median(ours),
        anchor: median(rate[`pouch-${b}`]!),
        anchorName: 'PouchDB bulkDocs + view',
        unit: 'ev/s',
        spread: spread(ours),
        target: { op: '>=', value: 3, on: 'ratio' },
        note: `PouchDB 9 (pouchdb-browser, idb adapter, its default durability) bulkDocs per batch, then its by-aggregate view brought up to date (ours indexes on append); spread ${spread(rate[`pouch-${b}`]!)}${b === BATCH ? `; bulkDocs alone ${median(pouchWriteOnly).toFixed(0)} ev/s` : ''}`,
      });
    }

    // 2. Read by aggregate on the last run's batched databases.
    // The tickets the last run wrote (the same seeded workload), the last one possibly partial.
    const tickets = new Set(Array.from(ticketCommands(batchCount, 7), (c) => c.aggregate.id)).size;
    const queries = quick ? 100 : 300;
    const perLookup: Record<string, number> = {};
    const tails: Record<string, number> = {};
    for (const system of ['ours', 'raw', 'pouch'] as const) {
      await call(page, 'readRun', { system, name: `read-${system}`, tickets, queries: 20 }); // warm-up
      const r = await call(page, 'readRun', { system, name: `read-${system}`, tickets, queries });
      perLookup[system] = (r.totalMs / queries) * 1000;
      tails[system] = percentile([...r.samples].sort((x, y) => x - y), 99) * 1000;
    }
    const readNote = `${queries} lookups of one ticket (~15 events) among ${batchCount} events, one after the other; mean µs per lookup (the page clock is coarsened to 100 µs, so single lookups of ours cannot be timed); ours answers from the in-memory projection, raw = index getAll + JSON.parse, PouchDB = view query include_docs; p99 raw ${tails.raw!.toFixed(0)} µs, PouchDB ${tails.pouch!.toFixed(0)} µs`;
    rows.push({ suite: SUITE, metric: 'read by aggregate, mean per lookup, vs raw IndexedDB index', ours: perLookup.ours!, anchor: perLookup.raw!, anchorName: 'raw IDB index getAll', unit: 'µs', target: null, note: readNote });
    rows.push({ suite: SUITE, metric: 'read by aggregate, mean per lookup, vs PouchDB view query', ours: perLookup.ours!, anchor: perLookup.pouch!, anchorName: 'PouchDB query', unit: 'µs', target: null });
    await call(page, 'deleteAll');

    // 4. Stored bytes per event, each system in a fresh database.
    const count = quick ? 1000 : 5000;
    const bytes: Record<string, { counted: number; usageDelta: number; json: number }> = {};
    for (const system of ['raw', 'ours', 'pouch'] as const) bytes[system] = await call(page, 'bytesRun', { system, name: `bytes-${system}`, count });
    const per = (v: number) => v / count;
    const jsonPer = per(bytes.ours!.json);
    const bytesNote = `${count} events, written in batches of 50; counted = keys + values of every IndexedDB record (PouchDB: its document, sequence and view databases); usage = navigator.storage.estimate() delta (LevelDB on disk, coarse): ours ${per(bytes.ours!.usageDelta).toFixed(0)}, raw IDB ${per(bytes.raw!.usageDelta).toFixed(0)}, PouchDB ${per(bytes.pouch!.usageDelta).toFixed(0)} B/event`;
    rows.push({ suite: SUITE, metric: 'stored bytes per event (counted) vs raw event JSON', ours: per(bytes.ours!.counted), anchor: jsonPer, anchorName: 'event JSON', unit: 'B', target: null, note: bytesNote });
    rows.push({ suite: SUITE, metric: 'stored bytes per event (counted) vs PouchDB', ours: per(bytes.ours!.counted), anchor: per(bytes.pouch!.counted), anchorName: 'PouchDB', unit: 'B', target: null });
    rows.push({ suite: SUITE, metric: 'stored bytes per event (storage.estimate delta) vs PouchDB', ours: per(bytes.ours!.usageDelta), anchor: per(bytes.pouch!.usageDelta), anchorName: 'PouchDB', unit: 'B', target: null, note: `raw IDB counted ${per(bytes.raw!.counted).toFixed(0)} B/event` });
    await call(page, 'deleteAll');
    return rows;
  } finally {
    await ctx.close();
  }
}

// ───────────────────────── 3: cold start ─────────────────────────

const MARKER = 'Z-999';

/**
 * Installed in every page: ms from navigation start until the marker ticket is in the DOM
 * and a frame was painted. A string: tsx's helpers do not exist in the page.
 */
export const watchMarker = (marker: string): string => `(() => {
  const sel = 'button[aria-label^="Ticket ${marker},"]';
  const obs = new MutationObserver(() => {
    if (!document.querySelector(sel)) return;
    obs.disconnect();
    const found = performance.now();
    requestAnimationFrame(() => {
      const ch = new MessageChannel();
      ch.port1.onmessage = () => { window.__rmsReady = { found, painted: performance.now() }; };
      ch.port2.postMessage(0);
    });
  });
  obs.observe(document, { subtree: true, childList: true });
})();`;

/** Waits (at most 60 s) until a checkpoint other than `before` is stored. */
async function waitForNewCheckpoint(page: Page, location: string, before: string | undefined): Promise<void> {
  for (let i = 0; i < 240; i++) {
    if ((await storedCheckpoint(page, location))?.signature !== before) return;
    await sleep(250);
  }
  throw new Error('the staff app wrote no projection checkpoint within 60 s');
}

async function coldRows(app: AppServer, quick: boolean): Promise<BenchRow[]> {
  const size = quick ? 10_000 : 100_000;
  const runs = quick ? 2 : 3;
  const ctx = await launchContext();
  try {
    let page = await benchPage(ctx.context, app.url);
    // The stored log: `size` events written by another terminal of the location, plus one
    // open ticket (the marker the tickets screen must show).
    const fill = await call(page, 'fillOursFast', { location: 'demo', terminal: 'till-fill', count: size, marker: MARKER });
    // The first open reads and folds every event (no checkpoint of this log yet) and writes
    // one on close; later opens restore it.
    await page.reload();
    page = await benchPage(ctx.context, app.url, page);
    const firstOpen = await call(page, 'coldOurs', { location: 'demo', terminal: 'till-cold', expect: size, readViews: false, checkpoint: false });
    const ours: number[] = [];
    const oursViews: number[] = [];
    for (let r = 0; r < 2 * runs; r++) {
      await page.reload();
      page = await benchPage(ctx.context, app.url, page);
      const readViews = r % 2 === 1;
      (readViews ? oursViews : ours).push(await call(page, 'coldOurs', { location: 'demo', terminal: 'till-cold', expect: size, readViews, checkpoint: true }));
    }
    await call(page, 'copyDb', { from: 'rms:demo', to: 'yidb-copy' });
    const yidb: number[] = [];
    for (let r = 0; r < runs; r++) {
      page = await benchPage(ctx.context, app.url, page);
      yidb.push(await call(page, 'coldYidb', { name: 'yidb-copy', expectEntries: size }));
    }
    const pouchFillMs = await call(page, 'fillPouch', { name: 'pouch-cold', count: size });
    // allDocs of 100k takes ~20 s per load: one load in a full run (the time budget).
    const pouchRuns = quick ? runs : 1;
    const pouch: number[] = [];
    for (let r = 0; r < pouchRuns; r++) {
      page = await benchPage(ctx.context, app.url, page);
      pouch.push(await call(page, 'coldPouch', { name: 'pouch-cold', expect: size }));
    }
    await page.close();

    // The staff app, paired as another till of the demo location, on the same origin.
    // The relay is kept out (its first sync would push the whole log to the server):
    // measured loads are offline, served by the service worker, data from IndexedDB.
    await ctx.context.routeWebSocket(/\/sync/, (ws) => ws.close());
    await ctx.context.addInitScript(watchMarker(MARKER));
    const appPage = await ctx.context.newPage();
    await appPage.goto(await app.pairingLink('till-cold'));
    await appPage.waitForFunction(() => (window as unknown as { __rmsReady?: unknown }).__rmsReady !== undefined, undefined, { timeout: 120_000 });
    await waitForOfflineShell(appPage);
    await ctx.context.setOffline(true);
    const interactive: number[] = [];
    const restored: boolean[] = [];
    for (let r = 0; r < runs + 1; r++) {
      const checkpointBefore = (await storedCheckpoint(appPage, 'demo'))?.signature;
      await appPage.reload();
      const ready = (await appPage.waitForFunction(() => (window as unknown as { __rmsReady?: { painted: number } }).__rmsReady, undefined, { timeout: 120_000, polling: 50 }).then((h) => h.jsonValue())) as { painted: number };
      const mode = await logLoadedMode(appPage);
      if (r > 0) {
        interactive.push(ready.painted);
        restored.push(mode === 'restored');
        continue;
      }
      // The first reload warms the service worker's cache. A till that has been running has
      // its projection checkpoint: if this load had to fold the log, let it write one.
      if (mode !== 'restored') await waitForNewCheckpoint(appPage, 'demo', checkpointBefore);
    }
    await ctx.context.setOffline(false);
    const k = `${size / 1000}k`;
    const note = `${size} ${WORKLOAD} stored in our log layout (written by another till through our IdbPersistence, ${(fill.ms / 1000).toFixed(1)} s to write, ${((fill.storedBytes ?? 0) / 1e6).toFixed(1)} MB), plus one open marker ticket; median of ${runs} page loads`;
    return [
      { suite: SUITE, metric: `cold start ${k}: EventStore.open → projection ready (checkpoint) vs y-indexeddb + Y.Doc`, ours: median(ours), anchor: median(yidb), anchorName: 'y-indexeddb whenSynced', unit: 'ms', spread: spread(ours), target: null, note: `${note}; fresh page per load; floor spread ${spread(yidb)}; every view then read once: ${median(oursViews).toFixed(0)} ms (${spread(oursViews)}); the first open, with no checkpoint yet, reads and folds every event: ${firstOpen.toFixed(0)} ms` },
      { suite: SUITE, metric: `cold start ${k}: EventStore.open → full projection vs PouchDB allDocs`, ours: median(ours), anchor: median(pouch), anchorName: 'PouchDB allDocs include_docs', unit: 'ms', spread: spread(ours), target: null, note: `the same events as PouchDB docs (filled in ${(pouchFillMs / 1000).toFixed(1)} s by bulkDocs of 1000); ${pouchRuns} loads, spread ${spread(pouch)}` },
      { suite: SUITE, metric: `cold start ${k}: staff app load → tickets screen painted with the stored data`, ours: median(interactive), anchor: median(yidb), anchorName: 'y-indexeddb whenSynced', unit: 'ms', spread: spread(interactive), target: { op: '<', value: 1500, on: 'ours' }, note: `ms from navigation start to the marker ticket in the list plus a frame (rAF + task); offline reload served by the service worker, relay blocked; the first (warm-up) load not counted, its projection checkpoint written before the next, as a till that has been running has one; ${restored.filter(Boolean).length} of ${restored.length} loads restored it (closed tickets restored after the first screen)` },
    ];
  } finally {
    await ctx.close();
  }
}

// ───────────────────────── 5: input to paint ─────────────────────────

/** Records, per click on an "Add …" menu button: input timestamp → new line in the DOM → next frame. */
const WATCH_ADDS = `(() => {
  window.__adds = [];
  document.addEventListener('click', (ev) => {
    const btn = ev.target && ev.target.closest ? ev.target.closest('button[aria-label^="Add "]') : null;
    if (!btn) return;
    const t0 = ev.timeStamp;
    const before = document.querySelectorAll('[data-testid="line"]').length;
    const obs = new MutationObserver(() => {
      if (document.querySelectorAll('[data-testid="line"]').length <= before) return;
      obs.disconnect();
      const inDom = performance.now();
      requestAnimationFrame(() => {
        const ch = new MessageChannel();
        ch.port1.onmessage = () => window.__adds.push({ t0, inDom, painted: performance.now() });
        ch.port2.postMessage(0);
      });
    });
    obs.observe(document.body, { subtree: true, childList: true });
  }, true);
})();`;

async function paintRows(app: AppServer, quick: boolean): Promise<BenchRow[]> {
  const adds = quick ? 50 : 100;
  const PER_TICKET = 8;
  const ctx = await launchContext();
  try {
    const page = await ctx.context.newPage();
    await page.goto(await app.pairingLink('till-paint'));
    await page.getByRole('button', { name: /^Add Cheeseburger/ }).waitFor({ timeout: 30_000 });
    await page.evaluate(WATCH_ADDS);
    const items = await page.getByRole('button', { name: /^Add / }).evaluateAll((els) => els.map((e) => e.getAttribute('aria-label')!));
    for (let i = 0; i < adds; i++) {
      if (i % PER_TICKET === 0) await openTicket(page, i / PER_TICKET);
      await page.getByRole('button', { name: items[i % items.length]!, exact: true }).click();
      await page.waitForFunction((n) => (window as unknown as { __adds: unknown[] }).__adds.length >= n, i + 1, { polling: 'raf' });
      await page.locator('section[aria-label="Ticket"][aria-busy="false"]').waitFor();
    }
    const samples = (await page.evaluate(() => (window as unknown as { __adds: { t0: number; inDom: number; painted: number }[] }).__adds)) as { t0: number; inDom: number; painted: number }[];
    const paint = samples.map((s) => s.painted - s.t0).sort((a, b) => a - b);
    const dom = samples.map((s) => s.inDom - s.t0).sort((a, b) => a - b);
    return [
      {
        suite: SUITE,
        metric: `add item: click → new line painted, p95 over ${samples.length} adds`,
        ours: percentile(paint, 95),
        anchor: null,
        anchorName: '',
        unit: 'ms',
        spread: `p50 ${percentile(paint, 50).toFixed(1)}, max ${paint[paint.length - 1]!.toFixed(1)}`,
        target: { op: '<', value: 50, on: 'ours' },
        note: `the built staff app on the real server, relay connected; real clicks (CDP input) on the menu buttons, ${PER_TICKET} items per ticket; from the click's event timestamp to the line in the DOM (p95 ${percentile(dom, 95).toFixed(1)} ms) plus the next frame (rAF then a task)`,
      },
    ];
  } finally {
    await ctx.close();
  }
}

async function openTicket(page: Page, k: number): Promise<void> {
  await page.getByRole('button', { name: '+ New ticket' }).click();
  const tables = page.getByRole('button', { name: /^New ticket for table / });
  const count = await tables.count();
  await tables.nth(k % count).click();
  await page.locator('section[aria-label="Ticket"][aria-busy="false"] [data-testid="ticket-number"]').waitFor();
  await page.getByRole('button', { name: /^Add / }).first().waitFor();
}
