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

/** A running `npm start` and the banner lines it printed, up to its token command. */
interface Started {
  banner: string[];
  url: string;
  /** SIGTERM, then its exit code. */
  stop(): Promise<number | null>;
}

async function npmStart(dir: string): Promise<Started> {
  // The app's settings as ensureBuilt built it (same-origin API and relay, whatever the shell
  // says), so `npm start` finds dist/ current and never rebuilds it under the browser tests.
  const env: NodeJS.ProcessEnv = { ...process.env, VITE_API_BASE: '', VITE_SYNC_ENDPOINT: '', PORT: '0', HOST: '127.0.0.1', DATA_DIR: dir, LOG_LEVEL: 'warn' };
  delete env.RMS_SECRET;
  delete env.SEED_DEMO;
  delete env.STATIC_DIR;
  // Through npm, as a newcomer runs it: SIGTERM to npm must reach the server (it does
  // because the script execs node; with a shell in between the server was left running).
  const child = spawn('npm', ['start'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const stop = (): Promise<number | null> => {
    child.kill('SIGTERM');
    return exited;
  };
  try {
    const banner = await new Promise<string[]>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ready banner in 60 s\n${stderr}`)), 60_000);
      const lines: string[] = [];
      createInterface({ input: child.stdout }).on('line', (line) => {
        if (lines.length > 0 || line.startsWith('RMS server ready')) lines.push(line);
        if (line.startsWith('Mint tokens:')) {
          clearTimeout(timer);
          resolve(lines);
        }
      });
      void exited.then((code) => reject(new Error(`npm start exited with ${code} before it was ready\n${stderr}`)));
    });
    const url = /RMS server ready: open (\S+)/.exec(banner[0] ?? '')?.[1];
    if (url === undefined) throw new Error(`no URL in the banner:\n${banner.join('\n')}`);
    return { banner, url, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

describe('npm start', () => {
  it('[SRV13] starts from an empty data directory: serves the app, the API and the demo location, prints working pairing links, stops on SIGTERM; a later start prints no token, only the command that mints a link opening at this server', async () => {
    await ensureBuilt();
    dataDir = makeDataDir('rms-npm-start-');
    const first = await npmStart(dataDir);
    try {
      const till = first.banner.map((line) => /Pair a till:\s+(\S+)/.exec(line)?.[1]).find((link) => link !== undefined);
      expect(till).toBeDefined();
      expect(first.banner.some((line) => line.startsWith('Pair a manager:'))).toBe(true);
      expect((await fetch(`${first.url}/healthz`)).status).toBe(200);
      const page = await fetch(`${first.url}/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<div id="app"');

      // The printed till link pairs: its token reads the demo location's seeded log.
      const pairing = new URLSearchParams(new URL(till!).hash.split('?')[1]);
      expect(pairing.get('location')).toBe('demo');
      const events = await fetch(`${first.url}/api/events?limit=1000`, { headers: { authorization: `Bearer ${pairing.get('token')}` } });
      expect(events.status).toBe(200);
      const body = (await events.json()) as { events: { type: string }[] };
      expect(body.events.some((e) => e.type === 'menu.item_defined')).toBe(true);
    } finally {
      expect(await first.stop()).toBe(0);
    }

    // A later start prints the URL and how to mint a link, never a token: whoever
    // reads the service log must not get a manager's rights on the demo location.
    const second = await npmStart(dataDir);
    try {
      expect(second.banner.join('\n')).not.toMatch(/token=|Pair a (till|manager):/);
      expect(second.banner).toContainEqual(expect.stringMatching(/^Pair a device: .*pairing link/));
      expect(second.banner).toContainEqual(expect.stringMatching(/^Mint tokens: .*npm run token -- --location demo /));
      // With the address the server's links open (another port here): the CLI's link opens there too.
      expect(second.banner).toContainEqual(expect.stringContaining(`PUBLIC_URL=${second.url} npm run token`));
      expect((await fetch(`${second.url}/healthz`)).status).toBe(200);
    } finally {
      expect(await second.stop()).toBe(0);
    }
  });
});
