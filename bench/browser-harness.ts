import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { CHROMIUM_ARGS, CHROMIUM_PATH, VIEWPORT } from '../tests/helpers/browser';
import type { RmsBench } from './browser/main';
import { percentile } from './stats';

/**
 * Chromium for the browser suite: headless with exactly the e2e tests' flags (CHROMIUM_ARGS), one persistent
 * profile per context (a real on-disk IndexedDB: an off-the-record context keeps
 * IndexedDB in memory, which would make "durable" meaningless), and every request
 * checked to go to 127.0.0.1 only.
 */

const PROFILES = resolve(import.meta.dirname, '.out', 'profiles');

export interface BenchContext {
  context: BrowserContext;
  close(): Promise<void>;
}

const offHost: string[] = [];

/** Throws if any page of the suite asked for anything but 127.0.0.1. */
export function assertLoopbackOnly(): void {
  if (offHost.length > 0) throw new Error(`browser suite: requests left 127.0.0.1: ${offHost.slice(0, 5).join(', ')}`);
}

export async function launchContext(): Promise<BenchContext> {
  mkdirSync(PROFILES, { recursive: true });
  const dir = mkdtempSync(join(PROFILES, 'p-'));
  const context = await chromium.launchPersistentContext(dir, { executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true, viewport: VIEWPORT });
  const check = (url: string) => {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      return;
    }
    if (['http:', 'https:', 'ws:', 'wss:'].includes(u.protocol) && u.hostname !== '127.0.0.1') offHost.push(url);
  };
  context.on('request', (r) => check(r.url()));
  context.on('page', (p) => p.on('websocket', (ws) => check(ws.url())));
  for (const p of context.pages()) p.on('websocket', (ws) => check(ws.url()));
  return {
    context,
    async close() {
      await context.close().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The bench page of `origin` in a (new or given) page, ready. */
export async function benchPage(context: BrowserContext, origin: string, page?: Page): Promise<Page> {
  const p = page ?? (await context.newPage());
  p.on('pageerror', (err) => console.error(`[bench page] ${err.message}`));
  await p.goto(`${origin}/bench/index.html`);
  await p.waitForFunction(() => (window as unknown as { rmsBench?: unknown }).rmsBench !== undefined, undefined, { timeout: 30_000 });
  return p;
}

type Api = RmsBench;
/** Calls `window.rmsBench[fn](arg)` in the page. */
export function call<K extends keyof Api>(page: Page, fn: K, ...arg: Parameters<Api[K]>): Promise<Awaited<ReturnType<Api[K]>>> {
  return page.evaluate(
    ([f, a]) => {
      const api = (window as unknown as { rmsBench: Record<string, (...x: unknown[]) => unknown> }).rmsBench;
      return api[f as string]!(...(a as unknown[]));
    },
    [fn, arg] as const,
  ) as Promise<Awaited<ReturnType<Api[K]>>>;
}

/** Node epoch ms (high resolution). */
export const nodeEpoch = (): number => performance.timeOrigin + performance.now();

/**
 * page epoch − node epoch, from the evaluate round trip with the smallest RTT (the error
 * is at most half of it; returned too).
 */
export async function clockOffset(page: Page, tries = 25): Promise<{ offset: number; error: number }> {
  let best = { offset: 0, error: Infinity };
  for (let i = 0; i < tries; i++) {
    const n0 = nodeEpoch();
    const p = await call(page, 'epoch');
    const n1 = nodeEpoch();
    if ((n1 - n0) / 2 < best.error) best = { offset: p - (n0 + n1) / 2, error: (n1 - n0) / 2 };
  }
  return best;
}

export function median(values: readonly number[]): number {
  return percentile([...values].sort((a, b) => a - b), 50);
}

export function spread(values: readonly number[], digits = 0): string {
  const s = [...values].sort((a, b) => a - b);
  return `${s[0]!.toFixed(digits)}–${s[s.length - 1]!.toFixed(digits)}`;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
