import Database from 'better-sqlite3';
import { existsSync, mkdirSync, statSync } from 'node:fs';
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
  // Reads of what a request needs instead of a whole location's log (SRV28): an aggregate's
  // events, the tickets with an event in a report's window (by the event's `at`), and the
  // tickets that may be open now. `ticket_ends` counts per ticket opened its closes and voids
  // and its `reopen` resolutions: only a reopening can undo a close or a void
  // (ticket-resolutions.ts), so a ticket with no end, or reopened, is all that may be open.
  // Kept by the store as it inserts those four types (sqlite-canonical-log.ts): a trigger, even
  // one whose WHEN is false for most events, cost more than the insert itself.
  `
  ALTER TABLE events ADD COLUMN type TEXT;
  ALTER TABLE events ADD COLUMN at INTEGER;
  UPDATE events SET type = json_extract(json, '$.type'), at = json_extract(json, '$.at');
  CREATE INDEX events_location_aggregate ON events(location, aggregate_id);
  CREATE INDEX events_location_aggregate_type_at ON events(location, aggregate_type, at);
  CREATE TABLE ticket_ends (
    location TEXT NOT NULL, ticket_id TEXT NOT NULL, ends INTEGER NOT NULL, resolutions INTEGER NOT NULL,
    PRIMARY KEY (location, ticket_id)
  ) WITHOUT ROWID;
  INSERT INTO ticket_ends (location, ticket_id, ends, resolutions)
    SELECT location, aggregate_id, SUM(type IN ('ticket.closed', 'ticket.voided')), SUM(type = 'conflict.resolved')
    FROM events WHERE aggregate_type = 'ticket' AND (type IN ('ticket.opened', 'ticket.closed', 'ticket.voided')
      OR (type = 'conflict.resolved' AND json_extract(json, '$.payload.resolution.kind') = 'reopen'))
    GROUP BY location, aggregate_id;
  CREATE INDEX ticket_ends_maybe_open ON ticket_ends(location, ticket_id) WHERE ends = 0 OR resolutions > 0;
  `,
  // A revocation cuts off only the roles its revoker may (a manager's never an admin's token),
  // so it keeps the revoker's role. Those made before were by managers or admins, unknown
  // which: kept as an admin's, which cut off every role, as they did.
  `
  CREATE TABLE revocations_by_role (
    location TEXT NOT NULL, terminal TEXT NOT NULL, revoked_by TEXT NOT NULL, revoked_at INTEGER NOT NULL,
    PRIMARY KEY (location, terminal, revoked_by)
  ) WITHOUT ROWID;
  INSERT INTO revocations_by_role (location, terminal, revoked_by, revoked_at)
    SELECT location, terminal, 'admin', revoked_at FROM revocations;
  DROP TABLE revocations;
  ALTER TABLE revocations_by_role RENAME TO revocations;
  `,
];

/** The locations the database holds events of (one index walk: few locations, many events). */
export function locationsWithEvents(db: Db): string[] {
  return (db.prepare('SELECT DISTINCT location FROM events ORDER BY location').all() as { location: string }[]).map((r) => r.location);
}

/** Opens (creating if needed) the data directory's database, in WAL mode, migrated. */
export function openDatabase(dataDir: string): Db {
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, DB_FILE);
  // SQLite opens an empty file as a new blank database: terminals would then see every ack
  // vanish and upload everything again, a back office following the log would see nothing.
  // A database the server ever wrote has its header in the file, or a WAL beside it.
  if (existsSync(path) && statSync(path).size === 0 && !existsSync(`${path}-wal`)) {
    throw new Error(`${path} is empty (truncated?): restore it, or delete it to start a new database`);
  }
  const db = new Database(path);
  // WAL: readers never block the writer; NORMAL is durable against process crashes
  // (kill -9), which is what a committed batch must survive. The first statement is the
  // first read of the file: a file that is no database says so here, naming it.
  try {
    db.pragma('journal_mode = WAL');
  } catch (err) {
    db.close();
    throw new Error(`cannot open the database ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  try {
    migrate(db);
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}

/**
 * Runs the migrations `db` has not had, up to the first `through` of them (all by default: a test
 * stops earlier to write an older schema). Refuses a database a newer build migrated further
 * (a rollback): this build would keep its derived tables (`ticket_ends`) without what the newer
 * migrations expect of them, and the newer build, started again, would never repair them.
 */
export function migrate(db: Db, through = MIGRATIONS.length): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new Error(
      `${db.name}: schema version ${current} is newer than this server's ${MIGRATIONS.length} (written by a newer RMS); refusing to downgrade`,
    );
  }
  for (let i = current; i < through; i++) {
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

/** Any event or room of any location: a relay-only room may hold events not ingested yet. */
export function holdsAnyData(db: Db): boolean {
  const row = db
    .prepare('SELECT EXISTS (SELECT 1 FROM events) OR EXISTS (SELECT 1 FROM room_states) OR EXISTS (SELECT 1 FROM room_updates) AS held')
    .get() as { held: number };
  return row.held === 1;
}
