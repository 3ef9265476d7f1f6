import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT, ensureBuilt } from '../helpers/browser';
import { makeDataDir, removeDataDir } from '../helpers/server-process';

/**
 * The README's first command, as a newcomer runs it: `npm start` (scripts/start.mjs) on an
 * empty data directory, no secret and no database set up by hand. The app is built first
 * (ensureBuilt, shared with the browser tests), so this test does not race them for dist/.
 */
let dataDir: string | null = null;
afterEach(() => {
  if (dataDir !== null) removeDataDir(dataDir);
  dataDir = null;
});

describe('npm start', () => {
  it('[SRV13] starts from an empty data directory: serves the app, the API and the demo location, prints working pairing links, stops on SIGTERM', async () => {
    await ensureBuilt();
    dataDir = makeDataDir('rms-npm-start-');
    // The app's settings as ensureBuilt built it (same-origin API and relay, whatever the shell
    // says), so `npm start` finds dist/ current and never rebuilds it under the browser tests.
    const env: NodeJS.ProcessEnv = { ...process.env, VITE_API_BASE: '', VITE_SYNC_ENDPOINT: '', PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'warn' };
    delete env.RMS_SECRET;
    delete env.SEED_DEMO;
    delete env.STATIC_DIR;
    // Through npm, as a newcomer runs it: SIGTERM to npm must reach the server (it does
    // because the script execs node; with a shell in between the server was left running).
    const child = spawn('npm', ['start'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const banner = await new Promise<{ url: string; till: string }>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ready banner in 60 s\n${stderr}`)), 60_000);
        let url: string | null = null;
        createInterface({ input: child.stdout }).on('line', (line) => {
          url ??= /RMS server ready: open (\S+)/.exec(line)?.[1] ?? null;
          const till = /Pair a till:\s+(\S+)/.exec(line)?.[1];
          if (url !== null && till !== undefined) {
            clearTimeout(timer);
            resolve({ url, till });
          }
        });
        void exited.then((code) => reject(new Error(`npm start exited with ${code} before it was ready\n${stderr}`)));
      });

      expect((await fetch(`${banner.url}/healthz`)).status).toBe(200);
      const page = await fetch(`${banner.url}/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<div id="app"');

      // The printed till link pairs: its token reads the demo location's seeded log.
      const pairing = new URLSearchParams(new URL(banner.till).hash.split('?')[1]);
      expect(pairing.get('location')).toBe('demo');
      const events = await fetch(`${banner.url}/api/events?limit=1000`, { headers: { authorization: `Bearer ${pairing.get('token')}` } });
      expect(events.status).toBe(200);
      const body = (await events.json()) as { events: { type: string }[] };
      expect(body.events.some((e) => e.type === 'menu.item_defined')).toBe(true);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });
});
