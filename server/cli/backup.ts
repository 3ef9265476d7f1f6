import Database from 'better-sqlite3';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { SECRET_FILE, secretFilePath } from '../auth/secret';
import { loadConfig, type ServerConfig } from '../config';
import { servedRootOf } from '../http/static-files';
import { DB_FILE } from '../store/database';

/**
 * npm run backup -- <target-dir>
 * Copies DATA_DIR/rms.sqlite, while the server runs, into <target-dir>/rms-<UTC time>.sqlite
 * with SQLite's online backup (a file copy of a WAL database can be torn), checks the copy, and
 * puts DATA_DIR/token-secret beside it. Restoring is in docs/server.md, "Backup and restore".
 */

const USAGE = `Usage: npm run backup -- <target-dir>

Writes <target-dir>/rms-<UTC time>.sqlite, a consistent copy of the server's database taken while
it runs, checks it, and copies DATA_DIR/token-secret beside it as token-secret (without it every
device must be paired again after a restore). Keep <target-dir> as private as DATA_DIR.

Environment:
  DATA_DIR     the server's data directory, holding rms.sqlite and token-secret (default: ./data)
  RMS_SECRET   set when the server runs with it: there is no token-secret file to copy then
  STATIC_DIR   served to anyone: <target-dir> may not lie inside it (default: ./dist)
  (the server's whole environment is checked, as at its start: a bad variable stops this too)
`;

/** Pages per backup step: all of them, so one read transaction copies everything and the server's writes meanwhile never restart the copy. */
const ALL_PAGES = 0x7fffffff;

/** Every sale, and the secret that signs admin tokens: unreadable by others, as token-secret is in DATA_DIR. */
const PRIVATE_FILE_MODE = 0o600;

interface BackupResult {
  file: string;
  events: number;
  schemaVersion: number;
  bytes: number;
  /** What became of the token secret, for the printed line. */
  secretNote: string;
}

/** Backs up `config.dataDir` into `targetDir`; throws one-line errors, leaving no file behind. */
async function backupDataDir(config: ServerConfig, targetDir: string, now = new Date()): Promise<BackupResult> {
  const source = join(config.dataDir, DB_FILE);
  if (!existsSync(source)) {
    throw new Error(`no database at ${resolve(source)}: set DATA_DIR to the server's data directory`);
  }
  checkTargetNotServed(config.staticDir, targetDir);
  makeTargetDir(targetDir);
  const file = resolve(targetDir, `rms-${utcStamp(now)}.sqlite`);
  if (existsSync(file)) throw new Error(`${file} already exists: wait a second and run the backup again`);
  const secret = secretToCopy(config, resolve(targetDir, SECRET_FILE));
  const partialFile = `${file}.partial`;
  const partialSecret = `${resolve(targetDir, SECRET_FILE)}.partial`;
  try {
    await copyDatabase(source, partialFile);
    chmodSync(partialFile, PRIVATE_FILE_MODE);
    const { events, schemaVersion } = checkCopy(partialFile, source);
    if (secret.copyFrom !== undefined) {
      copyFileSync(secret.copyFrom, partialSecret);
      chmodSync(partialSecret, PRIVATE_FILE_MODE);
      renameSync(partialSecret, resolve(targetDir, SECRET_FILE));
    }
    renameSync(partialFile, file);
    return { file, events, schemaVersion, bytes: statSync(file).size, secretNote: secret.note };
  } catch (err) {
    for (const leftover of [partialFile, `${partialFile}-wal`, `${partialFile}-shm`, `${partialFile}-journal`, partialSecret]) {
      rmSync(leftover, { force: true });
    }
    throw err;
  }
}

/** The one line printed after a backup. */
function formatBackup(result: BackupResult): string {
  const { file, events, schemaVersion, bytes, secretNote } = result;
  return `backup: wrote ${file} (${events} events, schema version ${schemaVersion}, ${formatBytes(bytes)}, integrity ok); ${secretNote}\n`;
}

/** A backup under STATIC_DIR would be served to anyone, as a data directory there would (SRV39). */
function checkTargetNotServed(staticDir: string, targetDir: string): void {
  if (servedRootOf(staticDir, targetDir) === null) return;
  throw new Error(
    `the backup directory ${resolve(targetDir)} is inside STATIC_DIR (${resolve(staticDir)}): the server would serve every sale and the token secret to anyone; back up outside STATIC_DIR`,
  );
}

function makeTargetDir(targetDir: string): void {
  try {
    mkdirSync(targetDir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new Error(`cannot write to the backup directory ${resolve(targetDir)}: ${messageOf(err)}`);
  }
}

/**
 * Where the token secret comes from, checked before anything is written. A token-secret the target
 * already holds and that differs is another server's (or one since replaced): the backups beside
 * it need it, so it is never overwritten.
 */
function secretToCopy(config: ServerConfig, targetSecret: string): { copyFrom?: string; note: string } {
  if (config.secret !== undefined) {
    return { note: 'RMS_SECRET is set, so there is no token-secret file to copy: keep RMS_SECRET with the backup' };
  }
  const stored = secretFilePath(config.dataDir);
  if (!existsSync(stored)) {
    return { note: `no token secret copied: ${resolve(stored)} does not exist (tokens then need pairing again after a restore)` };
  }
  const note = `token secret copied to ${targetSecret}`;
  if (!existsSync(targetSecret)) return { copyFrom: stored, note };
  if (readFileSync(targetSecret, 'utf8') === readFileSync(stored, 'utf8')) return { note };
  throw new Error(`${targetSecret} holds another token secret (another server's, or one since replaced) that the backups beside it need: back up into another directory`);
}

/** SQLite's online backup: a consistent copy while the server writes (a copied file can be torn between it and its WAL). */
async function copyDatabase(source: string, target: string): Promise<void> {
  let db: Database.Database;
  try {
    db = new Database(source, { readonly: true, fileMustExist: true });
  } catch (err) {
    throw new Error(`cannot open ${resolve(source)}: ${messageOf(err)}`);
  }
  try {
    db.pragma('busy_timeout = 5000');
    await db.backup(target, { progress: () => ALL_PAGES });
  } catch (err) {
    throw new Error(`cannot back up ${resolve(source)} to ${target}: ${messageOf(err)}`);
  } finally {
    db.close();
  }
}

/**
 * Opens the copy as a restore would, and turns it into one self-contained file (rollback journal:
 * no -wal beside it to lose on the way; the server sets WAL again when it opens it).
 */
function checkCopy(file: string, source: string): { events: number; schemaVersion: number } {
  const copy = new Database(file, { fileMustExist: true });
  try {
    copy.pragma('journal_mode = DELETE');
    const integrity = copy.pragma('integrity_check', { simple: true });
    if (integrity !== 'ok') throw new Error(`the copy of ${resolve(source)} fails its integrity check: ${String(integrity)}`);
    const schemaVersion = copy.pragma('user_version', { simple: true }) as number;
    if (schemaVersion === 0) throw new Error(`${resolve(source)} holds no RMS database (schema version 0)`);
    const { events } = copy.prepare('SELECT COUNT(*) AS events FROM events').get() as { events: number };
    return { events, schemaVersion };
  } finally {
    copy.close();
  }
}

/** 20261127T134002Z: sorts by time, and no colon (not allowed in Windows file names). */
function utcStamp(date: Date): string {
  return date.toISOString().replace(/\.\d+Z$/, 'Z').replace(/[-:]/g, '');
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The target directory from the command line, or undefined for --help. */
function parseBackupArgs(argv: readonly string[]): string | undefined {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: { help: { type: 'boolean', short: 'h', default: false } }, strict: true, allowPositionals: true });
  } catch (err) {
    // Node's own message spans lines and says nothing of what the command takes.
    const code = (err as { code?: unknown }).code;
    const line = code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? `unknown option ${/'([^']*)'/.exec(messageOf(err))?.[1]}` : '--help takes no value';
    throw new Error(`${line}\n\n${USAGE}`);
  }
  const { values, positionals } = parsed;
  if (values.help) return undefined;
  if (positionals.length !== 1) throw new Error(`expected one argument, the backup directory (got ${positionals.length})\n\n${USAGE}`);
  return positionals[0]!;
}

async function main(argv: readonly string[]): Promise<void> {
  const targetDir = parseBackupArgs(argv);
  if (targetDir === undefined) {
    process.stdout.write(USAGE);
    return;
  }
  process.stdout.write(formatBackup(await backupDataDir(loadConfig(), targetDir)));
}

// Run as a program only (npm run backup; tests run it as a child process too).
main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`backup: ${messageOf(err)}\n`);
  process.exit(1);
});
