import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it, vi } from 'vitest';
import * as Y from 'yjs';
import { persistenceHook } from '../../server/relay/persistence-hook';
import { COMMIT_WINDOW_MS, Room } from '../../server/relay/room';
import { SERVER_ORIGIN, remoteOrigin } from '../../server/relay/origins';
import { openDatabase } from '../../server/store/database';
import { MemoryRoomStore } from '../helpers/memory-room-store';
import { SqliteRoomStore, type RoomSnapshot, type RoomStore } from '../../server/store/room-store';
import { startUpdateMerger } from '../../server/store/update-merger';
import { MAX_CHUNKS, MERGE_BURST_FACTOR } from '../../shared/log/stored-updates';

/** Every worker thread started, to end the merger's as a crash would. */
const workersStarted = vi.hoisted(() => [] as Worker[]);
vi.mock('node:worker_threads', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:worker_threads')>();
  class RecordedWorker extends real.Worker {
    constructor(...args: ConstructorParameters<typeof real.Worker>) {
      super(...args);
      workersStarted.push(this);
    }
  }
  return { ...real, Worker: RecordedWorker };
});

const merger = startUpdateMerger();
afterAll(() => merger.close());

/** A MemoryRoomStore that counts full-state writes and merged chunks. */
class CountingStore extends MemoryRoomStore implements RoomStore {
  fullWrites = 0;
  merges = 0;
  override putState(room: string, state: Uint8Array): void {
    this.fullWrites += 1;
    super.putState(room, state);
  }
  override appendChunk(room: string, chunk: Uint8Array): number {
    this.merges += 1;
    return super.appendChunk(room, chunk);
  }
}

async function loadRoom(store: RoomStore, mergeEvery: number, mergeIdleMs?: number): Promise<{ room: Room; hook: ReturnType<typeof persistenceHook> }> {
  const hook = persistenceHook(store, merger, { mergeEvery, mergeIdleMs });
  const room = new Room('r', [hook]);
  await hook.onLoad!(room);
  return { room, hook };
}

describe('room persistence: bounded work per update', () => {
  it('[SRV11] a burst merges single updates into chunks and rewrites the whole state only after MAX_CHUNKS chunks; reload is exact', async () => {
    const store = new CountingStore();
    const mergeEvery = 10;
    const burst = mergeEvery * MERGE_BURST_FACTOR;
    const { room, hook } = await loadRoom(store, mergeEvery);
    const origin = remoteOrigin({} as never);
    const client = new Y.Doc();
    client.on('update', (u: Uint8Array) => Y.applyUpdate(room.doc, u, origin));
    const list = client.getArray<string>('list');
    const total = burst * (MAX_CHUNKS + 1) + 5;
    // One update per group commit, with no pause: only the burst limit merges.
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
    expect(stored.updates.length).toBeLessThanOrEqual(1 + burst);
    hook.onFlush!(room);
    await hook.settled();
    expect((await store.load('r')).updates.length).toBe(2); // state row + one chunk
    hook.onUnload!(room);
    room.destroy();

    const again = await loadRoom(store, mergeEvery);
    expect(again.room.doc.getArray('list').toArray()).toEqual(list.toArray());
    expect(again.room.doc.getArray('list').length).toBe(total);
  });

  it('[SRV11] fewer updates than a burst are merged once the room\'s writes pause, not while they go on', async () => {
    const store = new CountingStore();
    const idleMs = 50;
    const { room, hook } = await loadRoom(store, 10, idleMs);
    const client = new Y.Doc();
    client.on('update', (u: Uint8Array) => Y.applyUpdate(room.doc, u, remoteOrigin({} as never)));
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      for (let i = 0; i < 15; i++) {
        client.getArray<string>('list').push([`e${i}`]);
        room.commit();
        vi.advanceTimersByTime(idleMs - 10); // writes going on: each one defers the merge
      }
      expect(store.merges).toBe(0);
      vi.advanceTimersByTime(idleMs); // a pause
    } finally {
      vi.useRealTimers();
    }
    await hook.settled();
    expect(store.merges).toBe(1);
    expect((await store.load('r')).updates).toHaveLength(1);
    hook.onUnload!(room);
    room.destroy();
  });

  it('[SRV11] SQLite: a chunk is stored first, then the rows it holds are dropped a slice at a time, never others', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rms-rooms-'));
    const db = openDatabase(dir);
    try {
      const store = new SqliteRoomStore(db);
      const seqs = Array.from({ length: 450 }, (_, i) => store.appendUpdate('r', Uint8Array.of(i % 256)));
      store.appendUpdate('other', Uint8Array.of(1));
      const chunkSeq = store.appendChunk('r', Uint8Array.of(9, 9));
      // A chunk's own rows, by their numbers: the rows around and the chunk itself stay.
      expect(store.dropUpdates('r', seqs.slice(0, 200))).toBe(200);
      expect(store.dropUpdates('r', seqs.slice(200, 400))).toBe(200);
      let left = await store.load('r');
      expect(left.updates).toHaveLength(51); // the 50 after them, then the chunk
      expect(left.updates.at(-1)).toEqual(Uint8Array.of(9, 9));
      expect(left.lastSeq).toBe(chunkSeq);
      // A rebuild's rows, by range and a slice at a time.
      const slices: number[] = [];
      for (let n = -1; n !== 0; ) slices.push((n = store.dropThrough('r', seqs[449]!, 20)));
      expect(slices).toEqual([20, 20, 10, 0]);
      left = await store.load('r');
      expect(left.updates).toEqual([Uint8Array.of(9, 9)]);
      expect((await store.load('other')).updates).toHaveLength(1);
    } finally {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('[SRV11] a chunk stored while later updates are committed is never dropped with them (it takes a sequence number among theirs)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rms-rooms-'));
    const db = openDatabase(dir);
    try {
      const store = new SqliteRoomStore(db);
      const mergeEvery = 10;
      const { room, hook } = await loadRoom(store, mergeEvery);
      const client = new Y.Doc();
      const origin = remoteOrigin({} as never);
      client.on('update', (u: Uint8Array) => Y.applyUpdate(room.doc, u, origin));
      const list = client.getArray<string>('list');
      const push = (count: number): void => {
        for (let i = 0; i < count; i++) {
          list.push([`e${list.length}`]);
          room.commit();
        }
      };
      // A burst: its chunk is merged in the worker while traffic goes on.
      push(mergeEvery * MERGE_BURST_FACTOR);
      push(5);
      await hook.settled(); // the chunk lands after these five, before the next five
      push(5);
      hook.onFlush!(room); // chunks the ten around it
      await hook.settled();
      hook.onUnload!(room);
      room.destroy();

      const again = await loadRoom(store, mergeEvery);
      expect(again.room.doc.getArray('list').toArray()).toEqual(list.toArray());
      again.hook.onUnload!(again.room);
      again.room.destroy();
    } finally {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('[SRV11] updates of one commit window, over several event-loop turns, are stored in one group commit', async () => {
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
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] }); // the window, not the turns
    try {
      for (let i = 0; i < 20; i++) {
        client.getArray<string>('list').push([`e${i}`]);
        if (i % 5 === 4) await new Promise((r) => setImmediate(r)); // four turns
      }
      expect((await store.load('r')).updates).toHaveLength(0); // nothing stored yet
      vi.advanceTimersByTime(COMMIT_WINDOW_MS);
    } finally {
      vi.useRealTimers();
    }
    expect(batches).toBe(1);
    expect((await store.load('r')).updates).toHaveLength(20);
  });

  it('[SRV11] a room\'s load does not store again what it read: a commit after it adds no row', async () => {
    const store = new MemoryRoomStore();
    const client = new Y.Doc();
    client.on('update', (u: Uint8Array) => store.appendUpdates('r', [u]));
    for (let i = 0; i < 5; i++) client.getArray<string>('list').push([`e${i}`]);
    const { room } = await loadRoom(store, 500);
    room.commit();
    expect((await store.load('r')).updates).toHaveLength(5);
    expect(room.doc.getArray('list').length).toBe(5);
  });

  it('[SRV11] a room loaded from more than MAX_CHUNKS pieces (and more than a drop slice) rewrites its whole state at its next merge, dropping every piece', async () => {
    const store = new CountingStore();
    const writer = new Y.Doc();
    // Pieces left by earlier runs: a server restarted again and again must not count from 0.
    const pieces = 250;
    expect(pieces).toBeGreaterThan(Math.max(MAX_CHUNKS, 200)); // 200: a drop slice
    for (let i = 0; i < pieces; i++) {
      writer.getArray('a').push([i]);
      store.appendUpdate('r', Y.encodeStateAsUpdate(writer));
    }
    const { room, hook } = await loadRoom(store, 500);
    room.doc.transact(() => room.doc.getArray('a').push(['new']), SERVER_ORIGIN);
    room.commit();
    hook.onFlush!(room);
    await hook.settled();
    expect(store.fullWrites).toBe(1);
    const stored = await store.load('r');
    expect(stored.updates).toHaveLength(1);
    const reloaded = new Y.Doc();
    Y.applyUpdate(reloaded, stored.updates[0]!);
    expect(reloaded.getArray('a').length).toBe(pieces + 1);
    room.destroy();
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

  it('a merge after the merge worker died (a crash, out of memory) runs in a new worker', { timeout: 10_000 }, async () => {
    const ownMerger = startUpdateMerger();
    try {
      const client = new Y.Doc();
      const updates: Uint8Array[] = [];
      client.on('update', (u: Uint8Array) => updates.push(u));
      client.getArray('x').push([1]);
      client.getArray('x').push([2]);
      await ownMerger.merge(updates);
      await workersStarted.at(-1)!.terminate();
      const merged = new Y.Doc();
      Y.applyUpdate(merged, await ownMerger.merge(updates));
      expect(merged.getArray('x').toArray()).toEqual([1, 2]);
    } finally {
      await ownMerger.close();
    }
  });

  it('a merge that fails leaves the stored updates as they were, and later merges still run; the failure names its room', async () => {
    const store = new CountingStore();
    const errors: unknown[] = [];
    const failing = { ...merger, merge: () => Promise.reject(new Error('worker gone')) };
    const hook = persistenceHook(store, failing, { mergeEvery: 5, mergeIdleMs: 0, onMergeError: (err, room) => errors.push([room, (err as Error).message]) });
    const room = new Room('r', [hook]);
    await hook.onLoad!(room);
    const client = new Y.Doc();
    client.on('update', (u: Uint8Array) => Y.applyUpdate(room.doc, u, remoteOrigin({} as never)));
    const writeAndFlush = async (from: number, count: number): Promise<void> => {
      for (let i = from; i < from + count; i++) {
        client.getArray<string>('list').push([`e${i}`]);
        room.commit();
      }
      hook.onFlush!(room);
      await hook.settled();
    };
    await writeAndFlush(0, 6);
    await writeAndFlush(6, 6);
    expect(errors).toEqual([['r', 'worker gone'], ['r', 'worker gone']]); // the second merge was still attempted
    expect(store.merges).toBe(0);
    expect((await store.load('r')).updates).toHaveLength(12);
    const again = await loadRoom(store, 5);
    expect(again.room.doc.getArray('list').length).toBe(12);
  });
});
