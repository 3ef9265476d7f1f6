import type { RoomSnapshot, RoomStore } from './room-store';

/** RoomStore in memory: for tests and for embedding without a data directory. */
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

  piecesThrough(room: string, upToSeq: number): Uint8Array[] {
    const state = this.states.get(room);
    const rows = (this.updates.get(room) ?? []).filter((r) => r.seq <= upToSeq);
    return [...(state ? [state] : []), ...rows.map((r) => r.data)];
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

  compact(room: string, state: Uint8Array, upToSeq: number): void {
    this.states.set(room, state.slice());
    this.updates.set(
      room,
      (this.updates.get(room) ?? []).filter((r) => r.seq > upToSeq),
    );
  }

  mergeRange(room: string, fromSeq: number, toSeq: number, merged: Uint8Array): void {
    const rows = (this.updates.get(room) ?? []).filter((r) => r.seq < fromSeq || r.seq > toSeq);
    rows.push({ seq: toSeq, data: merged.slice() });
    rows.sort((a, b) => a.seq - b.seq);
    this.updates.set(room, rows);
  }
}
