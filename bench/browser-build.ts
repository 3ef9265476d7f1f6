import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build } from 'vite';
import { DIST, ensureBuilt } from '../tests/helpers/browser';

/**
 * Builds the browser bench page (bench/browser/, its own root and entry; the app's
 * vite.config.ts is not used) into bench/.out/browser-dist, and lays out the site the real
 * server serves during the browser suite: the staff app's build (dist/, built by the
 * e2e helper when stale) at `/`, the bench page at `/bench/` — one origin, so the bench
 * page and the staff app share IndexedDB.
 */
const ROOT = resolve(import.meta.dirname, '..');
const PAGE_ROOT = join(ROOT, 'bench', 'browser');
export const BENCH_DIST = join(ROOT, 'bench', '.out', 'browser-dist');
export const SITE = join(ROOT, 'bench', '.out', 'site');

function newest(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let n = st.mtimeMs;
  for (const entry of readdirSync(path)) if (entry !== 'node_modules' && entry !== '.out') n = Math.max(n, newest(join(path, entry)));
  return n;
}

function benchBuildIsFresh(): boolean {
  const marker = join(BENCH_DIST, 'index.html');
  if (!existsSync(marker)) return false;
  const sources = Math.max(newest(PAGE_ROOT), newest(join(ROOT, 'bench', 'workload.ts')), newest(join(ROOT, 'client')), newest(join(ROOT, 'shared')));
  return statSync(marker).mtimeMs >= sources;
}

export async function buildBenchSite(): Promise<void> {
  await ensureBuilt();
  if (!benchBuildIsFresh()) {
    await build({
      configFile: false,
      root: PAGE_ROOT,
      base: '/bench/',
      logLevel: 'warn',
      envDir: PAGE_ROOT,
      resolve: { alias: { events: join(PAGE_ROOT, 'events-shim.js') } },
      define: { 'process.browser': 'true' },
      build: { outDir: BENCH_DIST, emptyOutDir: true, target: 'es2022', minify: false, reportCompressedSize: false },
    });
  }
  rmSync(SITE, { recursive: true, force: true });
  mkdirSync(SITE, { recursive: true });
  cpSync(DIST, SITE, { recursive: true });
  cpSync(BENCH_DIST, join(SITE, 'bench'), { recursive: true });
}
