import { afterAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { MAX_CHUNKS, persistenceHook } from '../../server/relay/persistence-hook';
import { Room } from '../../server/relay/room';
import { remoteOrigin } from '../../server/relay/origins';
import { MemoryRoomStore } from '../../server/store/memory-room-store';
import type { RoomSnapshot, RoomStore } from '../../server/store/room-store';
import { startUpdateMerger } from '../../server/store/update-merger';

const merger = startUpdateMerger();
afterAll(() => merger.close());

/** A MemoryRoomStore that counts full-state writes and merged chunks. */
class CountingStore extends MemoryRoomStore implements RoomStore {
  fullWrites = 0;
  merges = 0;
  override compact(room: string, state: Uint8Array, upToSeq: number): void {
    this.fullWrites += 1;
    super.compact(room, state, upToSeq);
  }
  override mergeRange(room: string, fromSeq: number, toSeq: number, merged: Uint8Array): void {
    this.merges += 1;
    super.mergeRange(room, fromSeq, toSeq, merged);
  }
}

async function loadRoom(store: RoomStore, mergeEvery: number): Promise<{ room: Room; hook: ReturnType<typeof persistenceHook> }> {
  const hook = persistenceHook(store, merger, mergeEvery);
  const room = new Room('r', [hook]);
  await hook.onLoad!(room);
  return { room, hook };
}

describe('room persistence: bounded work per update', () => {
  it('[SRV11] merges single updates into chunks and rewrites the whole state only after MAX_CHUNKS chunks; reload is exact', async () => {
    const store = new CountingStore();
    const mergeEvery = 10;
    const { room, hook } = await loadRoom(store, mergeEvery);
    const origin = remoteOrigin({} as never);
    const client = new Y.Doc();
    client.on('update', (u: Uint8Array) => Y.applyUpdate(room.doc, u, origin));
    const list = client.getArray<string>('list');
    const total = mergeEvery * (MAX_CHUNKS + 1) + 5;
    // One update per event-loop turn: each is its own group commit.
    for (let i = 0; i < total; i++) {
      list.push([`e${i}`]);
      room.commit();
    }
    // Merges run in the worker: the commits stored every update without waiting for them.
    expect((await store.load('r')).updates.length).toBe(total);
    await hook.settled();
    // MAX_CHUNKS chunks, then the next merge folds everything into the state row once.
    expect(store.fullWrites).toBe(1);
    expect(store.merges).toBe(MAX_CHUNKS);
    const stored = (await store.load('r')) as RoomSnapshot;
    expect(stored.updates.length).toBeLessThanOrEqual(1 + mergeEvery);
    hook.onFlush!(room);
    await hook.settled();
    expect((await store.load('r')).updates.length).toBe(2); // state row + one chunk
    hook.onUnload!(room);
    room.destroy();

    const again = await loadRoom(store, mergeEvery);
    expect(again.room.doc.getArray('list').toArray()).toEqual(list.toArray());
    expect(again.room.doc.getArray('list').length).toBe(total);
  });

  it('[SRV11] updates of one event-loop turn are stored in one group commit', async () => {
    const store = new CountingStore();
    let batches = 0;
    const appendUpdates = store.appendUpdates.bind(store);
    store.appendUpdates = (room, updates) => {
      batches += 1;
      return appendUpdates(room, updates);
    };
    const { room } = await loadRoom(store, 500);
    const client = new Y.Doc();
    const origin = remoteOrigin({} as never);
    client.on('update', (u: Uint8Array) => Y.applyUpdate(room.doc, u, origin));
    for (let i = 0; i < 20; i++) client.getArray<string>('list').push([`e${i}`]);
    expect((await store.load('r')).updates).toHaveLength(0); // nothing stored yet
    await new Promise((r) => setImmediate(r));
    expect(batches).toBe(1);
    expect((await store.load('r')).updates).toHaveLength(20);
  });

  it('merges many single updates of many writers, in bounded fan-in, into the same document', async () => {
    const writers = Array.from({ length: 20 }, () => new Y.Doc());
    const updates: Uint8Array[] = [];
    for (const w of writers) w.on('update', (u: Uint8Array) => updates.push(u));
    for (let i = 0; i < 300; i++) writers[i % writers.length]!.getArray<string>(`w${i % writers.length}`).push([`e${i}`]);
    const direct = new Y.Doc();
    for (const u of updates) Y.applyUpdate(direct, u);
    const merged = new Y.Doc();
    Y.applyUpdate(merged, await merger.merge(updates));
    for (let w = 0; w < writers.length; w++) {
      expect(merged.getArray(`w${w}`).toArray()).toEqual(direct.getArray(`w${w}`).toArray());
      expect(merged.getArray(`w${w}`).length).toBe(15);
    }
    expect(Y.encodeStateVector(merged)).toEqual(Y.encodeStateVector(direct));
  });

  it('a rebuild drops the content of deleted items; a merge of the same pieces keeps it', async () => {
    const doc = new Y.Doc();
    const pieces: Uint8Array[] = [];
    doc.on('update', (u: Uint8Array) => pieces.push(u));
    const map = doc.getMap<string>('events');
    for (let i = 0; i < 50; i++) map.set(`e${i}`, 'x'.repeat(200));
    for (let i = 0; i < 50; i++) map.delete(`e${i}`);
    map.set('kept', 'y');
    const rebuilt = await merger.rebuild(pieces);
    const merged = await merger.merge(pieces);
    expect(rebuilt.byteLength).toBeLessThan(merged.byteLength / 10);
    const reloaded = new Y.Doc();
    Y.applyUpdate(reloaded, rebuilt);
    expect(reloaded.getMap('events').toJSON()).toEqual({ kept: 'y' });
  });

  it('a merge that fails leaves the stored updates as they were, and later merges still run', async () => {
    const store = new CountingStore();
    const errors: unknown[] = [];
    const failing = { ...merger, merge: () => Promise.reject(new Error('worker gone')) };
    const hook = persistenceHook(store, failing, 5, (err) => errors.push(err));
    const room = new Room('r', [hook]);
    await hook.onLoad!(room);
    const client = new Y.Doc();
    client.on('update', (u: Uint8Array) => Y.applyUpdate(room.doc, u, remoteOrigin({} as never)));
    for (let i = 0; i < 12; i++) {
      client.getArray<string>('list').push([`e${i}`]);
      room.commit();
    }
    await hook.settled();
    expect(errors).toHaveLength(2);
    expect(store.merges).toBe(0);
    expect((await store.load('r')).updates).toHaveLength(12);
    const again = await loadRoom(store, 5);
    expect(again.room.doc.getArray('list').length).toBe(12);
  });
});
