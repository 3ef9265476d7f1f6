import type { Statement } from 'better-sqlite3';
import type { Db } from './database';

/**
 * Persistence of relay rooms (one Y.Doc per location). Every update a room applies is
 * appended as it happens (so a kill -9 loses nothing acknowledged by SQLite); from time to
 * time updates are merged into a chunk row, or the whole state is written as one row, and
 * the rows they cover are dropped afterwards, a slice at a time (deleting 2,000 rows in one
 * statement took 6–19 ms on the event loop). Yjs updates are idempotent and commute, so a
 * row that is also in a chunk or in the state row is only redundant until it is dropped:
 * what is stored always holds every update, in whatever order it is read.
 */
export interface RoomStore {
  /** The stored state row (if any) followed by the updates appended after it. */
  load(room: string): Promise<RoomSnapshot>;
  /** Appends one update; returns its sequence number. */
  appendUpdate(room: string, update: Uint8Array): number;
  /** Appends updates in one transaction (group commit); returns their sequence numbers. */
  appendUpdates(room: string, updates: readonly Uint8Array[]): number[];
  /** Replaces the state row (with one that holds at least what the old one held). */
  putState(room: string, state: Uint8Array): void;
  /** Appends a merged chunk of stored updates (which stay until dropped); returns its seq. */
  appendChunk(room: string, chunk: Uint8Array): number;
  /**
   * Deletes the rows with these sequence numbers (those a chunk now holds): exactly these, never
   * a range, since a chunk stored meanwhile gets a sequence number among them.
   */
  dropUpdates(room: string, seqs: readonly number[]): number;
  /** Deletes at most `limit` of the rows with seq <= toSeq (those the state row now holds); returns how many. */
  dropThrough(room: string, toSeq: number, limit: number): number;
}

export interface RoomSnapshot {
  updates: Uint8Array[];
  lastSeq: number;
}

export class SqliteRoomStore implements RoomStore {
  private readonly getState: Statement;
  private readonly getUpdates: Statement;
  private readonly append: Statement;
  private readonly writeState: Statement;
  private readonly dropRows: Statement;
  private readonly dropSlice: Statement;
  private readonly runAppendAll: (room: string, updates: readonly Uint8Array[]) => number[];

  constructor(db: Db) {
    this.getState = db.prepare('SELECT data FROM room_states WHERE room = ?').pluck();
    this.getUpdates = db.prepare('SELECT seq, data FROM room_updates WHERE room = ? ORDER BY seq');
    this.append = db.prepare('INSERT INTO room_updates (room, data) VALUES (?, ?)');
    this.writeState = db.prepare(
      `INSERT INTO room_states (room, data, updated_at) VALUES (?, ?, ?)
       ON CONFLICT(room) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at`,
    );
    this.runAppendAll = db.transaction((room: string, updates: readonly Uint8Array[]) =>
      updates.map((u) => this.appendUpdate(room, u)),
    );
    this.dropRows = db.prepare('DELETE FROM room_updates WHERE room = ? AND seq IN (SELECT value FROM json_each(?))');
    this.dropSlice = db.prepare(
      `DELETE FROM room_updates WHERE seq IN
         (SELECT seq FROM room_updates WHERE room = ? AND seq <= ? ORDER BY seq LIMIT ?)`,
    );
  }

  async load(room: string): Promise<RoomSnapshot> {
    const updates: Uint8Array[] = [];
    const state = this.getState.get(room) as Buffer | undefined;
    if (state !== undefined) updates.push(new Uint8Array(state));
    let lastSeq = 0;
    for (const row of this.getUpdates.all(room) as { seq: number; data: Buffer }[]) {
      updates.push(new Uint8Array(row.data));
      lastSeq = row.seq;
    }
    return { updates, lastSeq };
  }

  appendUpdate(room: string, update: Uint8Array): number {
    const info = this.append.run(room, toBuffer(update));
    return Number(info.lastInsertRowid);
  }

  appendUpdates(room: string, updates: readonly Uint8Array[]): number[] {
    return updates.length === 1 ? [this.appendUpdate(room, updates[0]!)] : this.runAppendAll(room, updates);
  }

  putState(room: string, state: Uint8Array): void {
    this.writeState.run(room, toBuffer(state), Date.now());
  }

  appendChunk(room: string, chunk: Uint8Array): number {
    return this.appendUpdate(room, chunk);
  }

  dropUpdates(room: string, seqs: readonly number[]): number {
    return this.dropRows.run(room, JSON.stringify(seqs)).changes;
  }

  dropThrough(room: string, toSeq: number, limit: number): number {
    return this.dropSlice.run(room, toSeq, limit).changes;
  }
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
