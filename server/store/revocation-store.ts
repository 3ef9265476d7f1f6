import type { Statement } from 'better-sqlite3';
import type { Role } from '../../shared/protocol/token-claims';
import type { Db } from './database';

export interface Revocation {
  location: string;
  /** The name revoked: a terminal or one of its writer ids. */
  terminal: string;
  /** The revoker's role: what it cuts off (canRevoke). */
  revokedBy: Role;
  /** ms since the epoch. */
  revokedAt: number;
}

/** The devices cut off, one row per (location, terminal, revoker's role): the latest revocation. */
export class SqliteRevocationStore {
  private readonly selectAll: Statement;
  private readonly upsert: Statement;

  constructor(db: Db) {
    this.selectAll = db.prepare('SELECT location, terminal, revoked_by AS revokedBy, revoked_at AS revokedAt FROM revocations');
    this.upsert = db.prepare(
      `INSERT INTO revocations (location, terminal, revoked_by, revoked_at) VALUES (?, ?, ?, ?)
       ON CONFLICT(location, terminal, revoked_by) DO UPDATE SET revoked_at = excluded.revoked_at`,
    );
  }

  all(): Revocation[] {
    return this.selectAll.all() as Revocation[];
  }

  record(revocation: Revocation): void {
    this.upsert.run(revocation.location, revocation.terminal, revocation.revokedBy, revocation.revokedAt);
  }
}
