import type { Statement } from 'better-sqlite3';
import type { Db } from './database';

export interface Revocation {
  location: string;
  terminal: string;
  /** ms since the epoch. */
  revokedAt: number;
}

/** The devices cut off, one row per (location, terminal): the latest revocation. */
export class SqliteRevocationStore {
  private readonly selectAll: Statement;
  private readonly upsert: Statement;

  constructor(db: Db) {
    this.selectAll = db.prepare('SELECT location, terminal, revoked_at AS revokedAt FROM revocations');
    this.upsert = db.prepare(
      `INSERT INTO revocations (location, terminal, revoked_at) VALUES (?, ?, ?)
       ON CONFLICT(location, terminal) DO UPDATE SET revoked_at = excluded.revoked_at`,
    );
  }

  all(): Revocation[] {
    return this.selectAll.all() as Revocation[];
  }

  record(revocation: Revocation): void {
    this.upsert.run(revocation.location, revocation.terminal, revocation.revokedAt);
  }
}
