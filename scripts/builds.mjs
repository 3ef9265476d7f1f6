// Builds that running the app needs, each made only when missing, older than its sources or
// made with other settings: `npm start` (start.mjs), the browser tests and the benchmarks run
// what these produce.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
const VITE = join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js');
/** Written into the output folder after a build completed: what it was built from. */
const STAMP = '.build.json';

/** Newest modification time of a file, or of any file under a folder (node_modules aside). */
function newestMtime(path) {
  if (!statSync(path).isDirectory()) return statSync(path).mtimeMs;
  let newest = 0;
  for (const entry of readdirSync(path)) {
    if (entry !== 'node_modules') newest = Math.max(newest, newestMtime(join(path, entry)));
  }
  return newest;
}

/**
 * Runs `vite build …args` into `outDir` unless the stamp of its last completed build there is
 * newer than every one of `sources` (paths under the root; missing ones are skipped) and was
 * made with the same `args` and `settings` (the build-time environment it bakes in).
 */
export function buildIfStale({ what, outDir, sources, args, settings = {}, env = process.env }) {
  const stamp = join(ROOT, outDir, STAMP);
  const made = JSON.stringify({ args, settings });
  const present = sources.map((s) => join(ROOT, s)).filter((p) => existsSync(p));
  const newest = Math.max(0, ...present.map(newestMtime));
  if (existsSync(stamp) && statSync(stamp).mtimeMs >= newest && readFileSync(stamp, 'utf8') === made) return;
  console.log(`Building ${what} (vite build ${args.join(' ')})…`);
  execFileSync(process.execPath, [VITE, 'build', ...args, '--logLevel', 'warn'], { cwd: ROOT, env, stdio: ['ignore', 'inherit', 'inherit'] });
  writeFileSync(stamp, made);
}

/** The VITE_* variables the staff app bakes in at build time (empty counts as unset). */
function viteSettings(env) {
  return Object.fromEntries(
    Object.keys(env)
      .filter((k) => k.startsWith('VITE_') && env[k] !== '')
      .sort()
      .map((k) => [k, env[k]]),
  );
}

/** The staff app, into dist/ (served by the server), for the VITE_* settings of `env`. */
export function buildStaffApp(env = process.env) {
  buildIfStale({
    what: 'the staff app',
    outDir: 'dist',
    sources: ['client', 'shared', 'vite.config.ts', 'svelte.config.js', 'package-lock.json', '.env', '.env.local', '.env.production', '.env.production.local'],
    args: [],
    settings: viteSettings(env),
    env,
  });
}

/** The server, into dist-server/ (vite.config.ts, `--ssr`); returns the path of its main.js. */
export function buildServer() {
  buildIfStale({ what: 'the server', outDir: 'dist-server', sources: ['server', 'shared', 'vite.config.ts', 'package-lock.json'], args: ['--ssr', 'server/main.ts'] });
  return join(ROOT, 'dist-server', 'main.js');
}
