import { afterAll, beforeAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type BrowserContext, type LaunchOptions, type Page } from 'playwright-core';
import { configWith } from '../../server/config';
import { startServer, type RunningServer } from '../../server/main';
import type { EventEnvelope } from '../../shared/events/envelope';
import { buildStaffApp } from '../../scripts/builds.mjs';

/**
 * Browser tests of the staff app against the real server: the app is built once into
 * dist/ (reused while newer than its sources), the server runs in-process on 127.0.0.1
 * with a temporary data directory and the demo location, and Chromium (never downloaded:
 * /usr/bin/chromium) plays the terminals, one browser context per terminal.
 *
 * Without Chromium the suite fails under CI=true and is skipped locally, saying why.
 */
export const CHROMIUM_PATH = '/usr/bin/chromium';
export const ROOT = resolve(import.meta.dirname, '../..');
export const DIST = join(ROOT, 'dist');
const TMP = join(ROOT, 'tests', '.tmp');
/** The README's screenshots are rewritten only when asked (`UPDATE_SCREENSHOTS=1 npm test`). */
export const SCREENSHOTS = process.env.UPDATE_SCREENSHOTS ? join(ROOT, 'docs', 'screenshots') : join(TMP, 'screenshots');

const hasChromium = existsSync(CHROMIUM_PATH);
const inCI = process.env.CI === 'true' || process.env.CI === '1';

/** True when browser tests must be skipped (local machine without Chromium). */
export const skipBrowserTests = !hasChromium && !inCI;
if (skipBrowserTests) {
  console.warn(`[e2e] SKIPPED: ${CHROMIUM_PATH} is missing. Install Chromium (apt-get install chromium) to run the browser tests.`);
}

/** Call in beforeAll: under CI a missing Chromium is a failure, never a skip. */
export function requireChromium(): void {
  if (!hasChromium) throw new Error(`${CHROMIUM_PATH} is missing: browser tests cannot run (CI=true never skips them)`);
}

/** Resolves to the test server, but is no loopback name: pages there are not a secure context. */
export const INSECURE_HOST = 'till-lan.test';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // Nothing but the test server: any other host name fails to resolve, but for a name of
  // the test server that is not loopback (an insecure origin, as a LAN address is).
  `--host-resolver-rules=MAP ${INSECURE_HOST} 127.0.0.1, MAP * ~NOTFOUND, EXCLUDE 127.0.0.1`,
];

export const VIEWPORT = { width: 1024, height: 768 };

export function launchOptions(): LaunchOptions {
  return { executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true };
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch(launchOptions());
}

// ---------------------------------------------------------------------------------------
// Build

/**
 * `vite build` into dist/ unless it is up to date (scripts/builds.mjs, as `npm start`). Test
 * files run in parallel workers: a directory lock makes one of them build while the others
 * wait and reuse it.
 */
export async function ensureBuilt(): Promise<void> {
  mkdirSync(TMP, { recursive: true });
  const lock = join(TMP, 'vite-build.lock');
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      // A lock left by a killed run is stale after two minutes.
      if (existsSync(lock) && Date.now() - statSync(lock).mtimeMs > 120_000) rmSync(lock, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error('timed out waiting for another worker to build the app');
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  try {
    // Same-origin API and relay: the test server serves the app.
    buildStaffApp({ ...process.env, VITE_API_BASE: '', VITE_SYNC_ENDPOINT: '' });
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------
// Server

export interface AppServer {
  url: string;
  server: RunningServer;
  dataDir: string;
  /** Pairing link for a terminal of the demo location. */
  pairingLink(terminal: string, role?: 'terminal' | 'manager'): Promise<string>;
  /** The server's canonical log of the demo location (every page). */
  canonicalEvents(): Promise<EventEnvelope[]>;
  close(): Promise<void>;
}

export const LOCATION = 'demo';

/** The real server (startServer) on 127.0.0.1:0, serving dist/, with the demo location seeded. */
export async function startAppServer(options: { staticDir?: string } = {}): Promise<AppServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'rms-e2e-'));
  const server = await startServer(
    configWith({
      port: 0,
      host: '127.0.0.1',
      dataDir,
      secret: 'e2e-secret-0123456789abcdef',
      seedDemo: true,
      logLevel: 'error',
      staticDir: options.staticDir ?? DIST,
      corsOrigins: [],
    }),
  );
  const url = `http://127.0.0.1:${server.port}`;
  const reader = await server.mintToken({ location: LOCATION, role: 'manager', terminal: 'e2e-reader', ttlSeconds: 3600 });
  return {
    url,
    server,
    dataDir,
    async pairingLink(terminal, role = 'terminal') {
      const token = await server.mintToken({ location: LOCATION, role, terminal, ttlSeconds: 3600 });
      const q = new URLSearchParams({ token, location: LOCATION, terminal });
      return `${url}/#/pair?${q.toString()}`;
    },
    async canonicalEvents() {
      const out: EventEnvelope[] = [];
      let after = '';
      // Bounded: a paging bug fails the test here, not at its timeout.
      for (let pages = 0; pages < 10_000; pages++) {
        const res = await fetch(`${url}/api/events?after=${encodeURIComponent(after)}&limit=1000`, {
          headers: { authorization: `Bearer ${reader}` },
        });
        if (!res.ok) throw new Error(`GET /api/events → ${res.status}`);
        const body = (await res.json()) as { events: EventEnvelope[]; next: string | null; hasMore: boolean };
        out.push(...body.events);
        if (!body.hasMore || body.next === null) return out;
        if (String(body.next) === after) throw new Error(`GET /api/events: the cursor did not move past ${after}`);
        after = String(body.next);
      }
      throw new Error('GET /api/events: more than 10,000 pages');
    },
    async close() {
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

// ---------------------------------------------------------------------------------------
// Terminals

export interface Terminal {
  context: BrowserContext;
  page: Page;
}

/** A new browser context paired as `terminal` (its own IndexedDB, localStorage and service worker). */
export async function openTerminal(browser: Browser, app: AppServer, terminal: string, role: 'terminal' | 'manager' = 'terminal'): Promise<Terminal> {
  const context = await browser.newContext({ viewport: VIEWPORT });
  const page = await context.newPage();
  await pair(page, app, terminal, role);
  return { context, page };
}

export async function pair(page: Page, app: AppServer, terminal: string, role: 'terminal' | 'manager' = 'terminal'): Promise<void> {
  await page.goto(await app.pairingLink(terminal, role));
  // The menu arrives from the relay: then this terminal holds the location's log.
  await page.getByRole('button', { name: /^Add Cheeseburger/ }).waitFor({ timeout: 20_000 });
}

/**
 * Waits until the service worker is active, that is, has precached the whole build. The
 * page that installed it is not controlled yet (no clients.claim()); every later
 * navigation, a reload included, is served by it.
 */
export async function waitForOfflineShell(page: Page): Promise<void> {
  // Not page.waitForFunction: it does not await a predicate's promise, so an async one
  // passes at once (a Promise is truthy), before the worker has even installed.
  await waitUntil(
    () => page.evaluate(async () => (await navigator.serviceWorker.getRegistration())?.active?.state === 'activated'),
    'the service worker active (the whole build precached)',
  );
}

/** The projection checkpoint a location has stored in the page's IndexedDB (null if none yet). */
export interface StoredCheckpointInfo {
  /** Its hybrid clock and state vector: a new write changes them. */
  signature: string;
  /** Bucket keys; 16 and up hold settled aggregates (client/store/idb-persistence.ts). */
  buckets: number[];
}

export function storedCheckpoint(page: Page, location: string): Promise<StoredCheckpointInfo | null> {
  return page.evaluate(
    (name) =>
      new Promise<StoredCheckpointInfo | null>((resolve, reject) => {
        const open = indexedDB.open(name);
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const db = open.result;
          if (!db.objectStoreNames.contains('custom') || !db.objectStoreNames.contains('projection')) {
            db.close();
            return resolve(null);
          }
          const tx = db.transaction(['custom', 'projection']);
          const meta = tx.objectStore('custom').get('rms:checkpoint-meta');
          const keys = tx.objectStore('projection').getAllKeys();
          tx.oncomplete = () => {
            db.close();
            const m = meta.result as { clock: number; stateVector: Uint8Array } | undefined;
            resolve(m ? { signature: `${m.clock}:${m.stateVector.join(',')}`, buckets: keys.result as number[] } : null);
          };
          tx.onerror = () => reject(tx.error);
        };
      }),
    `rms:${location}`,
  );
}

/** How the page's store started its projection (EventStore's `rms:log-loaded` mark). */
export function logLoadedMode(page: Page): Promise<string> {
  return page.evaluate(() => {
    const mark = performance.getEntriesByName('rms:log-loaded')[0] as PerformanceMark | undefined;
    return (mark?.detail as { checkpoint?: string } | undefined)?.checkpoint ?? 'unknown';
  });
}

/** Bounded polling for a condition (tests wait for behaviour, never for a fixed time). */
export async function waitUntil(check: () => Promise<boolean> | boolean, label: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${label}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Pid of the main Chromium process using this user-data dir (not its renderers/zygotes). */
export function browserPidFor(userDataDir: string): number | null {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    const args = cmdline.split('\0');
    if (args.some((a) => a === `--user-data-dir=${userDataDir}`) && !args.some((a) => a.startsWith('--type='))) return Number(entry);
  }
  return null;
}

export function makeProfileDir(): string {
  mkdirSync(TMP, { recursive: true });
  return mkdtempSync(join(TMP, 'profile-'));
}

/** A copy of the built app to serve, that a test can turn into "the next release". */
export interface ReleaseBuild {
  readonly dir: string;
  /** Changes the service worker, as a new release does. */
  publishNext(): void;
  remove(): void;
}

export function copyOfBuild(): ReleaseBuild {
  const dir = mkdtempSync(join(tmpdir(), 'rms-build-'));
  cpSync(DIST, dir, { recursive: true });
  return {
    dir,
    publishNext: () => appendFileSync(join(dir, 'sw.js'), `\n// next release ${Date.now()}\n`),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * For a describe block of browser tests: builds the app once, starts the real server and
 * Chromium before the tests, and closes them (and any context registered) after. With
 * `ownBuild`, the server serves a copy of the build (`release()`) the tests may republish.
 */
export function useAppAndBrowser(options: { ownBuild?: boolean } = {}): {
  app(): AppServer;
  browser(): Browser;
  release(): ReleaseBuild;
  closeAfter(context: { close(): Promise<void> }): void;
} {
  let app: AppServer | undefined;
  let browser: Browser | undefined;
  let release: ReleaseBuild | undefined;
  const contexts: { close(): Promise<void> }[] = [];
  beforeAll(async () => {
    requireChromium();
    await ensureBuilt();
    if (options.ownBuild) release = copyOfBuild();
    app = await startAppServer(release ? { staticDir: release.dir } : {});
    browser = await launchBrowser();
  }, 180_000);
  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close();
    await app?.close();
    release?.remove();
  });
  return {
    app: () => app!,
    browser: () => browser!,
    release: () => {
      if (!release) throw new Error('useAppAndBrowser({ ownBuild: true }) serves a release build');
      return release;
    },
    closeAfter: (context) => void contexts.push(context),
  };
}
