import { existsSync, mkdirSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { configWith } from '../../server/config';
import { startServer } from '../../server/main';
import { TEST_SECRET } from '../helpers/server-clients';
import { makeDataDir, removeDataDir } from '../helpers/server-process';

/**
 * The built app's directory (STATIC_DIR) is served to anyone without a token: no file there may
 * be a secret, so the data directory must not lie in it and dotfiles are not served.
 */
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A temp directory holding a built app (index.html, an asset) and a stray `.env`, `.git/config` and `assets/.secret`. */
function staticDir(): string {
  const dir = makeDataDir('rms-static-');
  cleanups.push(() => removeDataDir(dir));
  mkdirSync(join(dir, 'assets'));
  mkdirSync(join(dir, '.git'));
  writeFileSync(join(dir, 'index.html'), '<html>app</html>');
  writeFileSync(join(dir, 'assets', 'index-abc.js'), 'console.log("app")');
  writeFileSync(join(dir, '.env'), 'RMS_SECRET=not-for-the-world\n');
  writeFileSync(join(dir, '.git', 'config'), '[core]\n');
  writeFileSync(join(dir, 'assets', '.secret'), 'hidden\n');
  return dir;
}

function start(staticDir: string, dataDir: string): ReturnType<typeof startServer> {
  return startServer(configWith({ port: 0, host: '127.0.0.1', dataDir, secret: TEST_SECRET, seedDemo: false, logLevel: 'silent', staticDir, corsOrigins: [] }));
}

/** The error of a start that must be refused; a server that starts anyway is closed. */
async function startError(staticDir: string, dataDir: string): Promise<string> {
  try {
    await (await start(staticDir, dataDir)).close();
    return 'started';
  } catch (err) {
    return String(err);
  }
}

async function get(url: string): Promise<{ status: number; text: string }> {
  const response = await fetch(url);
  return { status: response.status, text: await response.text() };
}

describe('static files', () => {
  it('[SRV39] a DATA_DIR inside STATIC_DIR, the same directory or reached through a symlink, stops the start naming both, before the data directory is created', async () => {
    const root = staticDir();
    const real = realpathSync(root);
    const nested = join(root, 'data');
    expect(await startError(root, nested)).toContain(`DATA_DIR (${join(real, 'data')}) is inside STATIC_DIR (${real}): the server would serve the token secret and the database to anyone`);
    expect(existsSync(nested)).toBe(false);
    expect(await startError(root, root)).toContain(`DATA_DIR (${real}) is inside STATIC_DIR (${real})`);

    // STATIC_DIR names the build through a symlink; DATA_DIR names a directory in it by its real path.
    const elsewhere = makeDataDir('rms-static-link-');
    cleanups.push(() => removeDataDir(elsewhere));
    const link = join(elsewhere, 'site');
    symlinkSync(root, link);
    expect(await startError(link, join(root, 'data'))).toContain(`DATA_DIR (${join(real, 'data')}) is inside STATIC_DIR (${real})`);

    // DATA_DIR spelt through a link inside STATIC_DIR to a directory elsewhere: served through the link.
    const outside = join(elsewhere, 'rms-data');
    mkdirSync(outside);
    symlinkSync(outside, join(root, 'data-link'));
    expect(await startError(root, join(root, 'data-link'))).toContain(`DATA_DIR (${join(root, 'data-link')}) is inside STATIC_DIR (${root})`);
  });

  it('[SRV39] with DATA_DIR elsewhere the app is served and dotfiles answer the 404 of an unknown path', async () => {
    const root = staticDir();
    const dataDir = makeDataDir();
    cleanups.push(() => removeDataDir(dataDir));
    const server = await start(root, dataDir);
    cleanups.push(() => server.close());

    expect(await get(`${server.url}/`)).toEqual({ status: 200, text: '<html>app</html>' });
    expect(await get(`${server.url}/index.html`)).toEqual({ status: 200, text: '<html>app</html>' });
    expect(await get(`${server.url}/assets/index-abc.js`)).toEqual({ status: 200, text: 'console.log("app")' });
    for (const path of ['/.env', '/.git/config', '/assets/.secret', '/%2eenv', '/no-such-page']) {
      expect({ path, ...(await get(server.url + path)) }).toEqual({ path, status: 404, text: expect.stringContaining('"error":"notFound"') });
    }
    expect((await get(`${server.url}/healthz`)).status).toBe(200);
  });
});
