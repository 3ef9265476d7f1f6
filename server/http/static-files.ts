import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { existsSync, realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';

/**
 * Serves the built staff app when `dir` holds one (npm run build). The app routes by hash
 * (#/pair?...), so `/` serving index.html is all a deep link needs. Dotfiles (`.env`, `.git/`,
 * the build stamp) are not part of the app: they answer the plain 404 of an unknown path.
 */
export async function registerStaticFiles(app: FastifyInstance, dir: string): Promise<boolean> {
  const root = resolve(dir);
  if (!existsSync(resolve(root, 'index.html'))) return false;
  await app.register(fastifyStatic, { root, index: ['index.html'], wildcard: true, dotfiles: 'ignore' });
  return true;
}

/**
 * Throws when the data directory is the static directory or lies under it: every file there
 * would be served to anyone, token-secret (which signs admin tokens) and the database included.
 * Runs before either directory is created, so both may still be missing.
 */
export function checkDataDirNotServed(staticDir: string, dataDir: string): void {
  const served = servedRootOf(staticDir, dataDir);
  if (served !== null) {
    throw new Error(
      `DATA_DIR (${served.dir}) is inside STATIC_DIR (${served.root}): the server would serve the token secret and the database to anyone; move DATA_DIR out of STATIC_DIR`,
    );
  }
}

/**
 * The static root `dir` is or lies under, and the spelling of `dir` found there; null when it lies
 * outside. Both as written and with symlinks resolved, each way: a DATA_DIR spelt through a link
 * inside STATIC_DIR (static/data → /var/rms) is served through that link. Either may be missing.
 */
export function servedRootOf(staticDir: string, dir: string): { root: string; dir: string } | null {
  const roots = [resolve(staticDir), realPathOfMaybeMissing(staticDir)];
  for (const spelling of [resolve(dir), realPathOfMaybeMissing(dir)]) {
    const root = roots.find((r) => isWithin(r, spelling));
    if (root !== undefined) return { root, dir: spelling };
  }
  return null;
}

/** Whether `path` is `root` or lies under it (both absolute). */
function isWithin(root: string, path: string): boolean {
  const fromRoot = relative(root, path);
  return fromRoot === '' || (!isAbsolute(fromRoot) && fromRoot !== '..' && !fromRoot.startsWith(`..${sep}`));
}

/** `path` absolute with its symlinks resolved, as far as it exists: the rest is appended as written. */
function realPathOfMaybeMissing(path: string): string {
  const absolute = resolve(path);
  if (existsSync(absolute)) return realpathSync(absolute);
  const parent = dirname(absolute);
  return parent === absolute ? absolute : join(realPathOfMaybeMissing(parent), basename(absolute));
}
