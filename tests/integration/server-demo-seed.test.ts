import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import Database from 'better-sqlite3';
import { decodeJwt } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/browser';
import { api, postEvents, ticketOpenedEvent } from '../helpers/server-clients';
import { makeDataDir, removeDataDir } from '../helpers/server-process';
import { settleDemoLocation } from '../../server/demo/demo-seed';
import { IngestService } from '../../server/ingest/ingest-service';
import { holdsAnyData, openDatabase } from '../../server/store/database';
import { SqliteRoomStore } from '../../server/store/room-store';
import { SqliteCanonicalLog } from '../../server/store/sqlite-canonical-log';
import type { EventEnvelope } from '../../shared/events/envelope';

/**
 * Whether a data directory holds the demo location is decided at its first start, once: a real
 * restaurant's database (a first start with SEED_DEMO=0) never gets the demo, its pairing links
 * or a `--location demo` hint at a later plain start. Real server processes (`npm run server`'s
 * entry point) on 127.0.0.1, the banner read as the owner reads it.
 */
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Started {
  url: string;
  /** The human lines the start printed, from "RMS server ready" to the blank line ending them. */
  banner: string[];
  stop(): Promise<number | null>;
}

/** Starts server/main.ts on `dataDir` with its own secret (token-secret there); SEED_DEMO unset unless given. */
async function start(dataDir: string, env: Record<string, string> = {}): Promise<Started> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'warn', STATIC_DIR: join(dataDir, 'no-static'), ...env };
  delete childEnv.RMS_SECRET;
  delete childEnv.PUBLIC_URL;
  if (env.SEED_DEMO === undefined) delete childEnv.SEED_DEMO;
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], { cwd: ROOT, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const stop = (): Promise<number | null> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    return exited;
  };
  cleanups.push(stop);
  const banner = await new Promise<string[]>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no banner in 30 s\n${stderr}`)), 30_000);
    const lines: string[] = [];
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (lines.length === 0 && !line.startsWith('RMS server ready')) return;
      if (line !== '') return void lines.push(line);
      clearTimeout(timer);
      resolve(lines);
    });
    void exited.then((code) => reject(new Error(`server exited with ${code} before its banner\n${stderr}`)));
  });
  const url = /RMS server ready: open (\S+)/.exec(banner[0]!)![1]!;
  return { url, banner, stop };
}

/** Runs a token command as a banner line prints it (env assignments, then `npm run token -- …`), `location` in for the placeholder. */
async function runPrinted(line: string, location: string): Promise<string> {
  const words = line.replace(/^First step:\s+/, '').split(/\s+/);
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.RMS_SECRET;
  delete env.PORT;
  while (/^[A-Z_]+=/.test(words[0]!)) {
    const [name, ...value] = words.shift()!.split('=');
    env[name!] = value.join('=');
  }
  expect(words.slice(0, 3)).toEqual(['npm', 'run', 'token']);
  const args = words.slice(3).map((w) => (w === '<your-location>' ? location : w));
  const child = spawn('npm', ['run', '--silent', 'token', ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  expect(code, err).toBe(0);
  return out;
}

/** Events per location and the recorded demo choice, read from the stopped server's database. */
function stored(dataDir: string): { byLocation: Record<string, number>; demoChoice: string | undefined } {
  const db = new Database(join(dataDir, 'rms.sqlite'), { fileMustExist: true });
  try {
    const rows = db.prepare('SELECT location, count(*) AS n FROM events GROUP BY location').all() as { location: string; n: number }[];
    const meta = db.prepare("SELECT value FROM meta WHERE key = 'demo_seeded'").get() as { value: string } | undefined;
    return { byLocation: Object.fromEntries(rows.map((r) => [r.location, r.n])), demoChoice: meta?.value };
  } finally {
    db.close();
  }
}

const FIRST_STEP = /^First step: +(.*)$/;

describe('the demo location, decided once per data directory', () => {
  it('[SRV13] a first start with SEED_DEMO=0 is a real restaurant for good: a later plain start seeds no demo and prints no demo link nor `--location demo`, only the first step, a manager token command that works as printed', async () => {
    const dataDir = makeDataDir('rms-day0-');
    cleanups.push(() => removeDataDir(dataDir));
    const first = await start(dataDir, { SEED_DEMO: '0' });
    expect(await first.stop()).toBe(0);

    const later = await start(dataDir);
    const printed = later.banner.join('\n');
    expect(printed).not.toMatch(/token=|Pair a |--location demo|Mint tokens:/);
    const firstStep = later.banner.map((line) => FIRST_STEP.exec(line)?.[0]).find((line) => line !== undefined);
    expect(firstStep).toBe(`First step:     DATA_DIR=${dataDir} PUBLIC_URL=${later.url} npm run token -- --location <your-location> --role manager --terminal manager-1`);
    expect(later.banner[later.banner.indexOf(firstStep!) + 1]).toMatch(/manager tablet.*Console \(Devices\).*tills/);

    // The printed command, as the owner runs it: a manager's pairing link that opens at this server.
    const minted = await runPrinted(firstStep!, 'bistro-nord');
    const link = /^(http\S+#\/pair\?\S+)$/m.exec(minted)?.[1];
    expect(link, minted).toBeDefined();
    expect(link!.startsWith(`${later.url}/`)).toBe(true);
    const pairing = new URLSearchParams(new URL(link!).hash.split('?')[1]);
    expect([pairing.get('location'), pairing.get('terminal')]).toEqual(['bistro-nord', 'manager-1']);
    expect(decodeJwt(pairing.get('token')!)).toMatchObject({ location: 'bistro-nord', role: 'manager', terminal: 'manager-1' });
    expect((await api(later.url, '/api/events', pairing.get('token'))).status).toBe(200);
    expect(await later.stop()).toBe(0);

    expect(stored(dataDir)).toEqual({ byLocation: {}, demoChoice: 'skipped' });
  }, 120_000);

  it('[SRV13] a first start with the default seeds the demo and prints its links; later starts, with SEED_DEMO=0 or not, seed nothing more and keep the `--location demo` hint', async () => {
    const dataDir = makeDataDir('rms-day0-');
    cleanups.push(() => removeDataDir(dataDir));
    const first = await start(dataDir);
    expect(first.banner).toContainEqual(expect.stringMatching(/^Pair a till: .*location=demo&terminal=till-1$/));
    expect(first.banner).toContainEqual(expect.stringMatching(/^Pair a manager: .*location=demo&terminal=manager-1$/));
    expect(await first.stop()).toBe(0);

    const laterEnvs: Record<string, string>[] = [{}, { SEED_DEMO: '0' }];
    for (const env of laterEnvs) {
      const later = await start(dataDir, env);
      expect(later.banner.join('\n')).not.toMatch(/token=|First step:/);
      expect(later.banner).toContainEqual(expect.stringMatching(/^Mint tokens: .*npm run token -- --location demo --role terminal --terminal till-2$/));
      expect(await later.stop()).toBe(0);
    }
    expect(stored(dataDir)).toEqual({ byLocation: { demo: 21 }, demoChoice: expect.stringMatching(/^\d+$/) });
  }, 120_000);

  it('[SRV13] a first start stopped right after storing the demo\'s seed, before recording it, keeps the demo at the next start (not taken for a real restaurant\'s data)', async () => {
    const dataDir = makeDataDir('rms-day0-');
    cleanups.push(() => removeDataDir(dataDir));
    const db = openDatabase(dataDir);
    cleanups.push(() => db.close());
    const store = new SqliteCanonicalLog(db);
    const service = new IngestService(store, [], { error: () => {} });
    const log = { info: () => {}, error: () => {} };
    // The seed's transaction commits; the process is killed before the choice is recorded.
    const killed = (location: string, events: EventEnvelope[]) => service.ingest(location, events).then(() => Promise.reject(new Error('killed')));
    await expect(settleDemoLocation({ db, store, seedDemo: true, ingest: killed, now: Date.now, log })).rejects.toThrow('killed');
    const next = await settleDemoLocation({ db, store, seedDemo: false, ingest: (location, events) => service.ingest(location, events), now: Date.now, log });
    expect(next).toEqual({ demoLocation: 'demo', demoCreated: false });
    expect(stored(dataDir)).toEqual({ byLocation: { demo: 21 }, demoChoice: expect.stringMatching(/^\d+$/) });
  });

  it('[SRV13] the first step names a DATA_DIR with a space in it as one shell word', async () => {
    const dataDir = makeDataDir('rms day0 ');
    cleanups.push(() => removeDataDir(dataDir));
    const first = await start(dataDir, { SEED_DEMO: '0' });
    expect(first.banner.find((line) => line.startsWith('First step:'))).toContain(`DATA_DIR='${dataDir}' PUBLIC_URL=${first.url} npm run token -- `);
    expect(await first.stop()).toBe(0);
  }, 120_000);

  it('[SRV13] a data directory whose terminals synced only through the relay (single room updates, nothing merged, nothing ingested) holds data: no demo is seeded over it', () => {
    const dataDir = makeDataDir('rms-day0-');
    cleanups.push(() => removeDataDir(dataDir));
    const db = openDatabase(dataDir);
    cleanups.push(() => db.close());
    expect(holdsAnyData(db)).toBe(false);
    new SqliteRoomStore(db).appendUpdate('bistro-nord', new Uint8Array([0, 0]));
    expect(holdsAnyData(db)).toBe(true);
  });

  it('[SRV13] an older data directory holding another location\'s events and no recorded choice is never seeded by a plain start', async () => {
    const dataDir = makeDataDir('rms-day0-');
    cleanups.push(() => removeDataDir(dataDir));
    const first = await start(dataDir, { SEED_DEMO: '0' });
    const minted = await runPrinted(`DATA_DIR=${dataDir} PUBLIC_URL=${first.url} npm run token -- --location bistro-nord --role manager --terminal manager-1`, 'bistro-nord');
    const token = new URLSearchParams(new URL(/^(http\S+)$/m.exec(minted)![1]!).hash.split('?')[1]).get('token')!;
    const sale = ticketOpenedEvent('manager-1', 1);
    expect((await postEvents(first.url, token, [sale])).body.results).toEqual([{ id: sale.id, status: 'accepted' }]);
    expect(await first.stop()).toBe(0);
    // As a data directory of a version that recorded nothing when it skipped the seed.
    const db = new Database(join(dataDir, 'rms.sqlite'), { fileMustExist: true });
    db.prepare("DELETE FROM meta WHERE key = 'demo_seeded'").run();
    db.close();

    const later = await start(dataDir);
    expect(later.banner.join('\n')).not.toMatch(/token=|--location demo/);
    // Trading already: no "first step" minting manager-1 again (a second device of that name is revoked with the first).
    expect(later.banner.join('\n')).not.toMatch(FIRST_STEP);
    expect(later.banner).toContainEqual(expect.stringMatching(/^Pair a device: +a manager's Console \(Devices\), or .*npm run token -- --location <your-location> --role terminal --terminal <a-new-name>$/));
    expect(await later.stop()).toBe(0);
    expect(stored(dataDir)).toEqual({ byLocation: { 'bistro-nord': 1 }, demoChoice: 'skipped' });
  }, 120_000);
});
