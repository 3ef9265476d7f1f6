import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

export type Db = Database.Database;

export const DB_FILE = 'rms.sqlite';

/**
 * Schema migrations, applied in order; `user_version` records how many ran. Append only:
 * a shipped migration is never edited, so every data directory reaches the same schema.
 */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE events (
    cursor INTEGER PRIMARY KEY AUTOINCREMENT,
    location TEXT NOT NULL,
    id TEXT NOT NULL,
    terminal TEXT NOT NULL,
    n INTEGER NOT NULL,
    aggregate_type TEXT NOT NULL,
    aggregate_id TEXT NOT NULL,
    json TEXT NOT NULL,
    received_at INTEGER NOT NULL
  );
  CREATE UNIQUE INDEX events_location_id ON events(location, id);
  CREATE UNIQUE INDEX events_location_origin ON events(location, terminal, n);
  CREATE INDEX events_location_cursor ON events(location, cursor);
  CREATE TABLE watermarks (
    location TEXT NOT NULL, terminal TEXT NOT NULL, n INTEGER NOT NULL,
    PRIMARY KEY (location, terminal)
  ) WITHOUT ROWID;
  CREATE TABLE watermark_gaps (
    location TEXT NOT NULL, terminal TEXT NOT NULL, n INTEGER NOT NULL,
    PRIMARY KEY (location, terminal, n)
  ) WITHOUT ROWID;
  CREATE TABLE room_updates (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    room TEXT NOT NULL,
    data BLOB NOT NULL
  );
  CREATE INDEX room_updates_room ON room_updates(room, seq);
  CREATE TABLE room_states (
    room TEXT PRIMARY KEY,
    data BLOB NOT NULL,
    updated_at INTEGER NOT NULL
  );
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  `,
  `
  CREATE TABLE revocations (
    location TEXT NOT NULL, terminal TEXT NOT NULL, revoked_at INTEGER NOT NULL,
    PRIMARY KEY (location, terminal)
  ) WITHOUT ROWID;
  `,
];

/** Opens (creating if needed) the data directory's database, in WAL mode, migrated. */
export function openDatabase(dataDir: string): Db {
  mkdirSync(dataDir, { recursive: true });
  const db = new Database(join(dataDir, DB_FILE));
  // WAL: readers never block the writer; NORMAL is durable against process crashes
  // (kill -9), which is what a committed batch must survive.
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  migrate(db);
  return db;
}

function migrate(db: Db): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  for (let i = current; i < MIGRATIONS.length; i++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[i]!);
      db.pragma(`user_version = ${i + 1}`);
    })();
  }
}

export function getMeta(db: Db, key: string): string | undefined {
  const row = db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined;
  return row?.value;
}

export function setMeta(db: Db, key: string, value: string): void {
  db.prepare('INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(
    key,
    value,
  );
}
