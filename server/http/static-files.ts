import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

/**
 * Serves the built staff app when `dir` holds one (npm run build). The app routes by hash
 * (#/pair?...), so `/` serving index.html is all a deep link needs.
 */
export async function registerStaticFiles(app: FastifyInstance, dir: string): Promise<boolean> {
  const root = resolve(dir);
  if (!existsSync(resolve(root, 'index.html'))) return false;
  await app.register(fastifyStatic, { root, index: ['index.html'], wildcard: true });
  return true;
}
