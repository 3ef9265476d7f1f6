// Builds that running the app needs, each made only when missing, made from other sources or
// made with other settings: `npm start` (start.mjs), the browser tests and the benchmarks run
// what these produce.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadEnv } from 'vite';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
const VITE = join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js');
/** Written into the output folder after a build completed: what it was built from. */
const STAMP = '.build.json';

/** Adds to `into` each file at or under `path` (node_modules aside) as "path size mtime", path relative to the root. */
function listFiles(path, into) {
  const stat = statSync(path);
  if (!stat.isDirectory()) {
    into.push(`${relative(ROOT, path)} ${stat.size} ${stat.mtimeMs}`);
    return;
  }
  for (const entry of readdirSync(path).sort()) {
    if (entry !== 'node_modules') listFiles(join(path, entry), into);
  }
}

/**
 * A digest of which files `sources` (paths under the root; missing ones are skipped) hold, with
 * their sizes and modification times: it changes when a file is edited, added or deleted, and
 * when one is replaced by an older file (a `mv` keeps the mtime), which "newer than the last
 * build" alone would miss. Only stat calls: it runs at every `npm start`.
 */
function sourcesDigest(sources) {
  const files = [];
  for (const source of sources) {
    if (existsSync(join(ROOT, source))) listFiles(join(ROOT, source), files);
  }
  return createHash('sha256').update(files.join('\n')).digest('hex');
}

/**
 * Runs `vite build …args` into `outDir` unless the stamp of its last completed build there was
 * made from the same `sources` (see sourcesDigest), `args` and `settings` (the build-time
 * environment it bakes in).
 */
export function buildIfStale({ what, outDir, sources, args, settings = {}, env = process.env }) {
  const stamp = join(ROOT, outDir, STAMP);
  // Taken before the build: a file edited while it runs makes the next start build again.
  const made = JSON.stringify({ args, settings, sources: sourcesDigest(sources) });
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === made) return;
  console.log(`Building ${what} (vite build ${args.join(' ')})…`);
  execFileSync(process.execPath, [VITE, 'build', ...args, '--logLevel', 'warn'], { cwd: ROOT, env, stdio: ['ignore', 'inherit', 'inherit'] });
  writeFileSync(stamp, made);
}

/**
 * The VITE_* values the staff app bakes in, as `vite build` resolves them (its envDir is the
 * root): those of the env files it reads in production mode (.env, .env.local, .env.production,
 * .env.production.local in `envDir`), overridden by those of `env`; empty counts as unset.
 */
export function viteSettings(env = process.env, envDir = ROOT) {
  const fromEnv = Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith('VITE_')));
  const resolved = { ...loadEnv('production', envDir, 'VITE_'), ...fromEnv };
  return Object.fromEntries(
    Object.keys(resolved)
      .filter((k) => resolved[k] !== '')
      .sort()
      .map((k) => [k, resolved[k]]),
  );
}

/** The staff app, into dist/ (served by the server), for the VITE_* settings of `env` and the env files. */
export function buildStaffApp(env = process.env) {
  buildIfStale({
    what: 'the staff app',
    outDir: 'dist',
    sources: ['client', 'shared', 'vite.config.ts', 'svelte.config.js', 'package-lock.json'],
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
