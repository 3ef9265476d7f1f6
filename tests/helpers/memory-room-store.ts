import type { RoomSnapshot, RoomStore } from '../../server/store/room-store';

/** RoomStore in memory, for relay tests without a database (the server always stores rooms in SQLite). */
export class MemoryRoomStore implements RoomStore {
  private readonly states = new Map<string, Uint8Array>();
  private readonly updates = new Map<string, Array<{ seq: number; data: Uint8Array }>>();
  private seq = 0;

  async load(room: string): Promise<RoomSnapshot> {
    const state = this.states.get(room);
    const rows = this.updates.get(room) ?? [];
    return {
      updates: [...(state ? [state] : []), ...rows.map((r) => r.data)],
      lastSeq: rows.at(-1)?.seq ?? 0,
    };
  }

  appendUpdate(room: string, update: Uint8Array): number {
    this.seq += 1;
    const rows = this.updates.get(room) ?? [];
    rows.push({ seq: this.seq, data: update.slice() });
    this.updates.set(room, rows);
    return this.seq;
  }

  appendUpdates(room: string, updates: readonly Uint8Array[]): number[] {
    return updates.map((u) => this.appendUpdate(room, u));
  }

  putState(room: string, state: Uint8Array): void {
    this.states.set(room, state.slice());
  }

  appendChunk(room: string, chunk: Uint8Array): number {
    return this.appendUpdate(room, chunk);
  }

  dropUpdates(room: string, seqs: readonly number[]): number {
    const wanted = new Set(seqs);
    return this.drop(room, (r) => wanted.has(r.seq), seqs.length);
  }

  dropThrough(room: string, toSeq: number, limit: number): number {
    return this.drop(room, (r) => r.seq <= toSeq, limit);
  }

  private drop(room: string, matches: (row: { seq: number }) => boolean, limit: number): number {
    const rows = this.updates.get(room) ?? [];
    const drop = new Set(rows.filter(matches).slice(0, limit));
    this.updates.set(room, rows.filter((r) => !drop.has(r)));
    return drop.size;
  }
}
