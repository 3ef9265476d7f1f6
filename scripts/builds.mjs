// Builds that running the app needs, each made only when missing or older than its sources:
// `npm start` (start.mjs) and the benchmarks run what these produce.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
const VITE = join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js');

/** Newest modification time of a file, or of any file under a folder (node_modules aside). */
export function newestMtime(path) {
  if (!statSync(path).isDirectory()) return statSync(path).mtimeMs;
  let newest = 0;
  for (const entry of readdirSync(path)) {
    if (entry !== 'node_modules') newest = Math.max(newest, newestMtime(join(path, entry)));
  }
  return newest;
}

/** Runs `vite build …args` unless `output` (relative to the root) is newer than every one of `sources`. */
export function buildIfStale(what, output, sources, args) {
  const newest = Math.max(...sources.map((s) => newestMtime(join(ROOT, s))));
  const built = join(ROOT, output);
  if (existsSync(built) && statSync(built).mtimeMs >= newest) return built;
  console.log(`Building ${what} (vite build ${args.join(' ')})…`);
  execFileSync(process.execPath, [VITE, 'build', ...args, '--logLevel', 'warn'], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  return built;
}

/** The staff app, into dist/ (served by the server). */
export function buildStaffApp() {
  return buildIfStale('the staff app', 'dist/index.html', ['client', 'shared', 'vite.config.ts', 'svelte.config.js'], []);
}

/** The server, into dist-server/main.js (vite.config.ts, `--ssr`); returns its path. */
export function buildServer() {
  return buildIfStale('the server', 'dist-server/main.js', ['server', 'shared', 'vite.config.ts'], ['--ssr', 'server/main.ts']);
}
