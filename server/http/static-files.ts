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
  const staticReal = realPathOfMaybeMissing(staticDir);
  const dataReal = realPathOfMaybeMissing(dataDir);
  const fromStatic = relative(staticReal, dataReal);
  const inside = fromStatic === '' || (!isAbsolute(fromStatic) && fromStatic !== '..' && !fromStatic.startsWith(`..${sep}`));
  if (inside) {
    throw new Error(
      `DATA_DIR (${dataReal}) is inside STATIC_DIR (${staticReal}): the server would serve the token secret and the database to anyone; move DATA_DIR out of STATIC_DIR`,
    );
  }
}

/** `path` absolute with its symlinks resolved, as far as it exists: the rest is appended as written. */
function realPathOfMaybeMissing(path: string): string {
  const absolute = resolve(path);
  if (existsSync(absolute)) return realpathSync(absolute);
  const parent = dirname(absolute);
  return parent === absolute ? absolute : join(realPathOfMaybeMissing(parent), basename(absolute));
}
