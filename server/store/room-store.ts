import type { Statement } from 'better-sqlite3';
import type { Db } from './database';

/**
 * Persistence of relay rooms (one Y.Doc per location). Every update a room applies is
 * appended as it happens (so a kill -9 loses nothing acknowledged by SQLite); from time to
 * time the room writes its whole state as one row and drops the updates it covers.
 */
export interface RoomStore {
  /** The stored state row (if any) followed by the updates appended after it. */
  load(room: string): Promise<RoomSnapshot>;
  /** The stored state row (if any) followed by the updates with seq <= upToSeq. */
  piecesThrough(room: string, upToSeq: number): Uint8Array[];
  /** Appends one update; returns its sequence number. */
  appendUpdate(room: string, update: Uint8Array): number;
  /** Appends updates in one transaction (group commit); returns their sequence numbers. */
  appendUpdates(room: string, updates: readonly Uint8Array[]): number[];
  /** Replaces the state row and deletes the updates with seq <= upToSeq, atomically. */
  compact(room: string, state: Uint8Array, upToSeq: number): void;
  /**
   * Replaces the updates with fromSeq <= seq <= toSeq by one (their merge), stored at toSeq,
   * atomically: the stored order is kept and nothing outside the range is touched.
   */
  mergeRange(room: string, fromSeq: number, toSeq: number, merged: Uint8Array): void;
}

export interface RoomSnapshot {
  updates: Uint8Array[];
  lastSeq: number;
}

export class SqliteRoomStore implements RoomStore {
  private readonly getState: Statement;
  private readonly getUpdates: Statement;
  private readonly getUpdatesThrough: Statement;
  private readonly append: Statement;
  private readonly putState: Statement;
  private readonly dropUpdates: Statement;
  private readonly runCompact: (room: string, state: Uint8Array, upToSeq: number) => void;
  private readonly dropRange: Statement;
  private readonly putAt: Statement;
  private readonly runAppendAll: (room: string, updates: readonly Uint8Array[]) => number[];
  private readonly runMerge: (room: string, fromSeq: number, toSeq: number, merged: Uint8Array) => void;

  constructor(db: Db) {
    this.getState = db.prepare('SELECT data FROM room_states WHERE room = ?').pluck();
    this.getUpdates = db.prepare('SELECT seq, data FROM room_updates WHERE room = ? ORDER BY seq');
    this.getUpdatesThrough = db.prepare('SELECT data FROM room_updates WHERE room = ? AND seq <= ? ORDER BY seq').pluck();
    this.append = db.prepare('INSERT INTO room_updates (room, data) VALUES (?, ?)');
    this.putState = db.prepare(
      `INSERT INTO room_states (room, data, updated_at) VALUES (?, ?, ?)
       ON CONFLICT(room) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at`,
    );
    this.dropUpdates = db.prepare('DELETE FROM room_updates WHERE room = ? AND seq <= ?');
    this.runCompact = db.transaction((room: string, state: Uint8Array, upToSeq: number) => {
      this.putState.run(room, toBuffer(state), Date.now());
      this.dropUpdates.run(room, upToSeq);
    });
    this.runAppendAll = db.transaction((room: string, updates: readonly Uint8Array[]) =>
      updates.map((u) => this.appendUpdate(room, u)),
    );
    this.dropRange = db.prepare('DELETE FROM room_updates WHERE room = ? AND seq >= ? AND seq <= ?');
    this.putAt = db.prepare('INSERT INTO room_updates (seq, room, data) VALUES (?, ?, ?)');
    this.runMerge = db.transaction((room: string, fromSeq: number, toSeq: number, merged: Uint8Array) => {
      this.dropRange.run(room, fromSeq, toSeq);
      this.putAt.run(toSeq, room, toBuffer(merged));
    });
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

  piecesThrough(room: string, upToSeq: number): Uint8Array[] {
    const state = this.getState.get(room) as Buffer | undefined;
    const rows = this.getUpdatesThrough.all(room, upToSeq) as Buffer[];
    return [...(state ? [state] : []), ...rows].map((b) => new Uint8Array(b));
  }

  appendUpdate(room: string, update: Uint8Array): number {
    const info = this.append.run(room, toBuffer(update));
    return Number(info.lastInsertRowid);
  }

  appendUpdates(room: string, updates: readonly Uint8Array[]): number[] {
    return updates.length === 1 ? [this.appendUpdate(room, updates[0]!)] : this.runAppendAll(room, updates);
  }

  compact(room: string, state: Uint8Array, upToSeq: number): void {
    this.runCompact(room, state, upToSeq);
  }

  mergeRange(room: string, fromSeq: number, toSeq: number, merged: Uint8Array): void {
    this.runMerge(room, fromSeq, toSeq, merged);
  }
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
