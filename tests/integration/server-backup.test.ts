import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { configWith } from '../../server/config';
import { startServer, type RunningServer } from '../../server/main';
import { canonicalEventJson, type EventEnvelope } from '../../shared/events/envelope';
import { SegmentWriter } from '../../shared/log/log-doc';
import { api, connectSynced, postEvents, TEST_SECRET, ticketOpenedEvent, waitForAsync, type TestClient } from '../helpers/server-clients';
import { makeDataDir, removeDataDir } from '../helpers/server-process';

/**
 * [SRV41] npm run backup (server/cli/backup.ts), run as a child process against a server running
 * in this one: an online copy of DATA_DIR/rms.sqlite and its token-secret, and a restore from it.
 */
const REPO_ROOT = resolve(import.meta.dirname, '../..');
const LOCATION = 'bk';
const BACKUP_LINE = /^backup: wrote (\S+rms-\d{8}T\d{6}Z\.sqlite) \((\d+) events, schema version \d+, [\d.]+ (?:B|KiB|MiB), integrity ok\); (.*)\n$/;

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function tempRoot(): string {
  const root = makeDataDir('rms-backup-');
  cleanups.push(() => removeDataDir(root));
  return root;
}

/** A server that keeps its own token-secret in `dataDir` (no RMS_SECRET), as `npm start` runs. */
async function serve(dataDir: string): Promise<RunningServer & { wsUrl: string }> {
  const server = await startServer(
    configWith({ port: 0, host: '127.0.0.1', dataDir, secret: undefined, seedDemo: false, logLevel: 'silent', staticDir: join(dataDir, 'no-static'), corsOrigins: [] }),
  );
  cleanups.push(() => server.close());
  return { ...server, wsUrl: `ws://127.0.0.1:${server.port}/sync` };
}

interface CliRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** `node --import tsx server/cli/backup.ts <args>` with DATA_DIR (and `env`); never blocks this process's event loop. */
function runBackup(dataDir: string, args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, ...env };
  if (env.RMS_SECRET === undefined) delete childEnv.RMS_SECRET;
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/cli/backup.ts', ...args], { cwd: REPO_ROOT, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((done, fail) => {
    child.on('error', fail);
    child.on('close', (status) => done({ status, stdout, stderr }));
  });
}

/** Writes an event into the writer's segments over the relay, as a terminal's EventStore does. */
function write(c: TestClient, writer: string, event: EventEnvelope): void {
  c.doc.transact(() => new SegmentWriter(c.doc, writer).append([canonicalEventJson(event)]), 'local');
}

async function storedIds(url: string, token: string): Promise<string[]> {
  const ids: string[] = [];
  let after = '';
  for (let page = 0; page < 100; page++) {
    const res = await api<{ events: { id: string }[]; next: string; hasMore: boolean }>(url, `/api/events?after=${after}&limit=1000`, token);
    expect(res.status).toBe(200);
    ids.push(...res.body.events.map((e) => e.id));
    after = res.body.next;
    if (!res.body.hasMore) return ids;
  }
  throw new Error('paging did not end');
}

/** A data directory with a database, and a server no longer running on it. */
async function dataDirWithDatabase(root: string): Promise<string> {
  const dataDir = join(root, 'data');
  await (await serve(dataDir)).close();
  return dataDir;
}

describe('npm run backup', () => {
  it('[SRV41] a backup taken while the server stores posts and relayed events restores on a new data directory: its events, none after it, and tokens minted before', async () => {
    const root = tempRoot();
    const dataDir = join(root, 'data');
    const backupDir = join(root, 'backups');
    const server = await serve(dataDir);
    // A reader holding its snapshot (a long report) keeps checkpoints from moving what is stored
    // next into rms.sqlite: those events are in the WAL alone while the backup runs, where a copy
    // of the file would miss them.
    const reader = new Database(join(dataDir, 'rms.sqlite'), { readonly: true });
    cleanups.push(() => reader.close());
    reader.exec('BEGIN');
    reader.prepare('SELECT COUNT(*) FROM events').get();
    const token = await server.mintToken({ location: LOCATION, role: 'terminal', terminal: 'till-1', ttlSeconds: 3600 });
    const before = [1, 2, 3].map((n) => ticketOpenedEvent('till-1', n));
    expect((await postEvents(server.url, token, before)).body.results.map((r) => r.status)).toEqual(['accepted', 'accepted', 'accepted']);

    // A till writes over the relay for as long as the backup runs (relay ingest stores each event).
    const till = await connectSynced(server.wsUrl, LOCATION, await server.mintToken({ location: LOCATION, role: 'terminal', terminal: 'till-2', ttlSeconds: 3600 }));
    cleanups.push(() => till.destroy());
    const firstRelayed = ticketOpenedEvent('till-2', 1);
    write(till, 'till-2', firstRelayed);
    await waitForAsync(async () => (await storedIds(server.url, token)).includes(firstRelayed.id), 'the relayed event stored');
    const relayed = [firstRelayed.id];
    let finished = false;
    const backup = runBackup(dataDir, [backupDir]).finally(() => (finished = true));
    for (let n = 2; !finished && n <= 500; n++) {
      const event = ticketOpenedEvent('till-2', n);
      write(till, 'till-2', event);
      relayed.push(event.id);
      await new Promise((r) => setTimeout(r, 5));
    }
    const result = await backup;
    expect(relayed.length).toBeGreaterThan(1);
    reader.exec('COMMIT');
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const line = BACKUP_LINE.exec(result.stdout);
    expect(line, result.stdout).not.toBeNull();
    const [, file, count, secretNote] = line!;
    expect(secretNote).toBe(`token secret copied to ${resolve(backupDir, 'token-secret')}`);
    // Nothing but the copy and the secret: no partial file, no -wal beside the copy. Both private.
    expect(readdirSync(backupDir).sort()).toEqual([file!.slice(resolve(backupDir).length + 1), 'token-secret'].sort());
    expect(statSync(file!).mode & 0o777).toBe(0o600);
    expect(statSync(join(backupDir, 'token-secret')).mode & 0o777).toBe(0o600);

    const after = [4, 5].map((n) => ticketOpenedEvent('till-1', n));
    expect((await postEvents(server.url, token, after)).body.results.map((r) => r.status)).toEqual(['accepted', 'accepted']);
    till.destroy();
    await server.close();

    // The restore of docs/server.md: a new data directory holding the copy and the secret.
    const restoredDir = join(root, 'restored');
    mkdirSync(restoredDir);
    copyFileSync(file!, join(restoredDir, 'rms.sqlite'));
    copyFileSync(join(backupDir, 'token-secret'), join(restoredDir, 'token-secret'));
    const restored = await serve(restoredDir);
    const ids = await storedIds(restored.url, token);
    expect(ids).toHaveLength(Number(count));
    expect(ids).toEqual(expect.arrayContaining([...before.map((e) => e.id), firstRelayed.id]));
    for (const e of after) expect(ids).not.toContain(e.id);
    const written = new Set([...before.map((e) => e.id), ...relayed]);
    expect(ids.filter((id) => !written.has(id))).toEqual([]);
  });

  it('[SRV41] with RMS_SECRET set there is no secret file to copy, and the line says so', async () => {
    const root = tempRoot();
    const dataDir = await dataDirWithDatabase(root);
    const backupDir = join(root, 'backups');
    const result = await runBackup(dataDir, [backupDir], { RMS_SECRET: TEST_SECRET });
    expect(result.status).toBe(0);
    expect(BACKUP_LINE.exec(result.stdout)?.[3]).toMatch(/^RMS_SECRET is set, so there is no token-secret file to copy/);
    expect(readdirSync(backupDir)).toHaveLength(1);
  });

  it('[SRV41] run again into the same directory (a nightly cron): a second copy beside the first and the same token-secret; the directory is private', async () => {
    const root = tempRoot();
    const dataDir = await dataDirWithDatabase(root);
    const backupDir = join(root, 'backups');
    const first = await runBackup(dataDir, [backupDir]);
    expect(first.status, first.stderr).toBe(0);
    // the next copy's name is a second later
    await new Promise((r) => setTimeout(r, 1100));
    const second = await runBackup(dataDir, [backupDir]);
    expect(second.status, second.stderr).toBe(0);
    expect(readdirSync(backupDir).filter((f) => f.endsWith('.sqlite'))).toHaveLength(2);
    expect(statSync(backupDir).mode & 0o777).toBe(0o700);
  });

  it('[SRV41] a missing database, a target inside STATIC_DIR or not a directory, or holding another token secret: exit 1, one line naming the problem, nothing written', async () => {
    const root = tempRoot();
    const target = join(root, 'backups');

    const missing = await runBackup(join(root, 'no-data'), [target]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toBe(`backup: no database at ${join(root, 'no-data', 'rms.sqlite')}: set DATA_DIR to the server's data directory\n`);
    expect(existsSync(target)).toBe(false);

    const dataDir = await dataDirWithDatabase(root);
    const staticDir = join(root, 'dist');
    const served = await runBackup(dataDir, [join(staticDir, 'backups')], { STATIC_DIR: staticDir });
    expect(served.status).toBe(1);
    expect(served.stderr).toMatch(/^backup: the backup directory \S+ is inside STATIC_DIR \S+: the server would serve every sale and the token secret to anyone; back up outside STATIC_DIR\n$/);
    expect(existsSync(staticDir)).toBe(false);

    const aFile = join(root, 'a-file');
    writeFileSync(aFile, '');
    const notDir = await runBackup(dataDir, [aFile]);
    expect(notDir.status).toBe(1);
    expect(notDir.stderr).toMatch(/^backup: cannot write to the backup directory \S+a-file: .*\n$/);

    mkdirSync(target);
    writeFileSync(join(target, 'token-secret'), 'another-servers-secret-0123456789\n', { mode: 0o600 });
    const otherSecret = await runBackup(dataDir, [target]);
    expect(otherSecret.status).toBe(1);
    expect(otherSecret.stderr).toMatch(/^backup: \S+token-secret holds another token secret .*: back up into another directory\n$/);
    expect(readdirSync(target)).toEqual(['token-secret']);
  });

  it('[SRV41] an unknown option is one line and the usage, exit 1 (not Node\'s own error)', async () => {
    const root = tempRoot();
    const result = await runBackup(join(root, 'data'), ['--foo', join(root, 'backups')]);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^backup: unknown option --foo\n\nUsage: npm run backup -- <target-dir>\n/);
    expect(result.stderr).not.toContain('ERR_PARSE_ARGS');
    expect(existsSync(join(root, 'backups'))).toBe(false);
  });
});
