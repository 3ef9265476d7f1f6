import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import * as ws from 'ws';
import * as syncProtocol from 'y-protocols/sync';
import * as Y from 'yjs';
import { SegmentWriter, relayedOf } from '../../shared/log/log-doc';
import { CloseReason, type CloseReasonInfo } from '../../shared/protocol/close-reasons';
import type { RelayConnection } from '../../server/relay/connection';
import { createEventIndex } from '../../server/relay/event-index-hook';
import { remoteOrigin } from '../../server/relay/origins';
import { MessageType, encodeSyncStep1, updateFrame } from '../../server/relay/messages';
import { persistenceHook } from '../../server/relay/persistence-hook';
import { startUpdateMerger } from '../../server/store/update-merger';
import { COMMIT_WINDOW_MS, Room } from '../../server/relay/room';
import { MemoryRoomStore } from '../helpers/memory-room-store';
import { RoomRegistry } from '../../server/relay/room-registry';
import { StoreHealth } from '../../server/store/store-health';
import { startTestServer, type InProcessServer } from '../helpers/server-in-process';
import { connectSynced, mint, ticketOpenedEvent, waitFor, type TestClient } from '../helpers/server-clients';

/** What the room asks of a connection when it relays, recorded. */
class FakeConnection {
  readonly updates: Uint8Array[] = [];
  /** Each relayed frame as written at once (`write`) or held in the corked socket (`held`), and each uncork. */
  readonly socket: string[] = [];
  private corked = 0;
  closedWith: CloseReasonInfo | null = null;
  cork(): void {
    this.corked += 1;
  }
  uncork(): void {
    this.corked -= 1;
    this.socket.push('uncork');
  }
  send(): void {}
  sendUpdate(frame: Buffer): boolean {
    this.updates.push(frame);
    this.socket.push(this.corked > 0 ? 'held' : 'write');
    return true;
  }
  close(reason: CloseReasonInfo): void {
    this.closedWith = reason;
  }
}

/** A store whose appends fail while `failing` is set (a full or read-only disk). */
class FlakyStore extends MemoryRoomStore {
  failing = false;
  override appendUpdates(room: string, updates: readonly Uint8Array[]): number[] {
    if (this.failing) throw new Error('disk full');
    return super.appendUpdates(room, updates);
  }
}

const merger = startUpdateMerger();
afterAll(() => merger.close());

async function loadedRoom(store: MemoryRoomStore) {
  const index = createEventIndex({ publishEveryMs: 1 });
  const hooks = [persistenceHook(store, merger, { mergeEvery: 500 }), index.hook];
  const room = new Room('r', hooks);
  for (const hook of hooks) await hook.onLoad!(room);
  const sender = new FakeConnection();
  const other = new FakeConnection();
  room.add(sender as unknown as RelayConnection);
  room.add(other as unknown as RelayConnection);
  // Event n of till-1 arrives through `sender`, as its frames would.
  const client = new Y.Doc();
  const writer = new SegmentWriter(client, 'till-1');
  client.on('update', (u: Uint8Array) => Y.applyUpdate(room.doc, u, remoteOrigin(sender as unknown as RelayConnection)));
  const append = (n: number): void => client.transact(() => writer.append([JSON.stringify(ticketOpenedEvent('till-1', n))]));
  return { room, index, sender, other, append };
}

describe('relay fan-out: relayed at once, stored per commit window, acknowledged once stored', () => {
  it('[SRV11] the first update of a turn is written at once; later ones of the same turn go out together at its end', async () => {
    const { other, append } = await loadedRoom(new MemoryRoomStore());
    append(1);
    append(2);
    append(3);
    expect(other.socket).toEqual(['write', 'held', 'held']);
    await new Promise((r) => setImmediate(r)); // the turn ends
    expect(other.socket).toEqual(['write', 'held', 'held', 'uncork']);
    append(4); // a new turn: at once again
    expect(other.socket.at(-1)).toBe('write');
  });

  it('[SRV11] an update reaches the other connections before its commit; `relayed` counts it only after', async () => {
    const store = new MemoryRoomStore();
    const { room, index, sender, other, append } = await loadedRoom(store);
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] }); // the commit window, not the turn
    try {
      append(1);
      expect(other.updates).toHaveLength(1); // relayed while the sender's frame is handled
      expect(sender.updates).toHaveLength(0); // never echoed
      expect((await store.load('r')).updates).toHaveLength(0);
      expect(index.relayed(room).get('till-1')).toBeUndefined();
      await new Promise((r) => setImmediate(r)); // the turn ends: sent, not yet stored
      expect((await store.load('r')).updates).toHaveLength(0);
      vi.advanceTimersByTime(COMMIT_WINDOW_MS); // the group commit
      expect((await store.load('r')).updates).toHaveLength(1);
      expect(index.relayed(room).get('till-1')).toBe(1);
      vi.runOnlyPendingTimers(); // the index publishes its marks
    } finally {
      vi.useRealTimers();
    }
    await waitFor(() => relayedOf(room.doc).get('till-1') === 1, 'relayed published');
  });

  it('[SRV11] when storing fails, the senders are closed, nothing is acknowledged, and the next commit stores it', async () => {
    const store = new FlakyStore();
    const { room, index, sender, other, append } = await loadedRoom(store);
    store.failing = true;
    append(1);
    room.commit();
    expect(sender.closedWith).toEqual(CloseReason.internalError);
    expect(other.closedWith).toBeNull();
    expect(index.relayed(room).get('till-1')).toBeUndefined();
    store.failing = false;
    room.commit();
    expect((await store.load('r')).updates).toHaveLength(1);
    expect(index.relayed(room).get('till-1')).toBe(1);
  });
});

describe('relay fan-out: one frame for every socket', () => {
  it('updateFrame writes the bytes ws frames a y-websocket update message with, at every length class', () => {
    // ws's own framing (exported by ws, not declared in @types/ws).
    const { Sender } = ws as unknown as {
      Sender: { frame(data: Buffer, options: { fin: boolean; opcode: number; mask: boolean; readOnly: boolean; rsv1: boolean }): Buffer[] };
    };
    for (const length of [0, 1, 120, 127, 128, 16_383, 16_384, 65_530, 65_536, 70_000]) {
      const update = Buffer.alloc(length, 7);
      const encoder = encoding.createEncoder();
      encoding.writeVarUint(encoder, 0); // sync
      syncProtocol.writeUpdate(encoder, update);
      const message = Buffer.from(encoding.toUint8Array(encoder));
      const expected = Buffer.concat(Sender.frame(message, { fin: true, opcode: 2, mask: false, readOnly: false, rsv1: false }));
      expect(updateFrame(update).equals(expected)).toBe(true);
    }
  });
});

describe('relay fan-out: a reader that falls behind', () => {
  let server: InProcessServer;
  const clients: TestClient[] = [];
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    for (const c of clients) c.destroy();
    await server.dispose();
  });

  /**
   * A writer and a reader of `location`, the reader reading nothing (the kernel buffers fill,
   * then the server's) and counting what it is sent (and the sync steps among it); and a client
   * that keeps up, connected once the writer is done, to know what the server holds.
   */
  async function writerAndStalledReader(location: string) {
    const writer = await connectSynced(server.wsUrl, location, await mint(location, 'terminal', 'till-1'));
    const reader = await connectSynced(server.wsUrl, location, await mint(location, 'terminal', 'till-2'));
    clients.push(writer, reader);
    const readerWs = reader.provider.ws as unknown as { _socket: { pause(): void; resume(): void }; addEventListener(t: 'message', f: (e: { data: ArrayBuffer }) => void): void };
    const sent = { messages: 0, syncSteps: [] as number[] };
    readerWs.addEventListener('message', (e) => {
      sent.messages += 1;
      const [type, step] = new Uint8Array(e.data);
      if (type === MessageType.sync) sent.syncSteps.push(step!);
    });
    readerWs._socket.pause();
    const witness = async (): Promise<TestClient> => {
      const writerWs = writer.provider.ws as unknown as { bufferedAmount: number };
      await waitFor(() => writerWs.bufferedAmount === 0, 'writer sent everything', 30_000);
      const client = await connectSynced(server.wsUrl, location, await mint(location, 'terminal', 'till-3'));
      clients.push(client);
      return client;
    };
    return { writer, reader, sent, resume: () => readerWs._socket.resume(), witness };
  }

  it('gets what it missed as one catch-up once its socket drains, not every update piled up', async () => {
    const { writer, reader, sent, resume, witness: connectWitness } = await writerAndStalledReader('loc-slow');
    const updates = 800;
    const list = writer.doc.getArray<string>('list');
    const payload = 'x'.repeat(32 * 1024);
    for (let i = 0; i < updates; i++) list.push([`${i}:${payload}`]);
    // The server applied everything (a second reader, keeping up, has it all).
    const witness = await connectWitness();
    await waitFor(() => witness.doc.getArray('list').length === updates, 'witness has every update', 30_000);
    const before = sent.messages;
    resume();
    await waitFor(() => reader.doc.getArray('list').length === updates, 'slow reader caught up', 30_000);
    expect(reader.doc.getArray('list').toArray()).toEqual(list.toArray());
    expect(sent.messages - before).toBeLessThan(updates / 2);
  });

  it('[SRV26] a sync step 1 read while the socket was backed up is answered once it drained as a sync step 2 (what a client marks itself synced on)', async () => {
    const { writer, reader, sent, resume, witness: connectWitness } = await writerAndStalledReader('loc-step1');
    const updates = 300;
    const list = writer.doc.getArray<string>('list');
    for (let i = 0; i < updates; i++) list.push([`${i}:${'x'.repeat(32 * 1024)}`]);
    const witness = await connectWitness();
    await waitFor(() => witness.doc.getArray('list').length === updates, 'witness has every update', 30_000);
    (reader.provider.ws as unknown as ws.WebSocket).send(encodeSyncStep1(reader.doc));
    // Frames are read in order: once its presence reached the witness, the server read the step 1.
    reader.provider.awareness.setLocalState({ name: 'till-2' });
    await waitFor(() => (witness.provider.awareness.getStates().get(reader.doc.clientID) as { name?: string } | undefined)?.name === 'till-2', 'the server read the sync step 1');
    const before = sent.syncSteps.length;
    resume();
    await waitFor(() => reader.doc.getArray('list').length === updates, 'the reader caught up', 30_000);
    expect(sent.syncSteps.slice(before)).toContain(syncProtocol.messageYjsSyncStep2);
  });

  it('[SRV26] a client backed up before it sent its first sync step 1 still gets the whole room once it drained, what came before it joined too', async () => {
    const location = 'loc-fresh';
    const writer = await connectSynced(server.wsUrl, location, await mint(location, 'terminal', 'till-1'));
    const earlier = await connectSynced(server.wsUrl, location, await mint(location, 'terminal', 'till-3'));
    clients.push(writer, earlier);
    const list = writer.doc.getArray<string>('list');
    list.push(['w0']);
    const readerHas = Y.encodeStateAsUpdate(writer.doc);
    for (let i = 1; i <= 5; i++) list.push([`w${i}`]);
    earlier.doc.getMap('m').set('k', 'written before the reader joined');
    await waitFor(() => earlier.doc.getArray('list').length === 6 && writer.doc.getMap('m').size === 1, 'the server has both');

    // A raw client, to send its sync step 1 only once its socket is backed up.
    const doc = new Y.Doc();
    Y.applyUpdate(doc, readerHas);
    const syncSteps: number[] = [];
    const reader = new ws.WebSocket(`${server.wsUrl}/${location}?token=${await mint(location, 'terminal', 'till-2')}`);
    try {
      reader.on('message', (data: Buffer) => {
        const decoder = decoding.createDecoder(new Uint8Array(data));
        if (decoding.readVarUint(decoder) !== MessageType.sync) return;
        syncSteps.push(decoding.peekVarUint(decoder));
        syncProtocol.readSyncMessage(decoder, encoding.createEncoder(), doc, null);
      });
      await new Promise((r) => reader.once('message', r)); // attached: the server's sync step 1
      const socket = (reader as unknown as { _socket: { pause(): void; resume(): void } })._socket;
      socket.pause();
      const flood = 300;
      for (let i = 0; i < flood; i++) list.push([`f${i}:${'x'.repeat(32 * 1024)}`]);
      await waitFor(() => earlier.doc.getArray('list').length === 6 + flood, 'the server has the flood', 30_000);
      reader.send(encodeSyncStep1(doc));
      // Then an update of its own: read in order, so once the writer has it the server read the step 1.
      const own = encoding.createEncoder();
      encoding.writeVarUint(own, MessageType.sync);
      const ownDoc = new Y.Doc();
      ownDoc.getMap('r').set('k', 'from the reader');
      syncProtocol.writeUpdate(own, Y.encodeStateAsUpdate(ownDoc));
      reader.send(encoding.toUint8Array(own));
      await waitFor(() => writer.doc.getMap('r').get('k') === 'from the reader', 'the server read the sync step 1');
      socket.resume();
      await waitFor(() => syncSteps.includes(syncProtocol.messageYjsSyncStep2), 'the catch-up', 30_000);
      // Answered from what the client said it has, not from where holding its updates began.
      expect(doc.getArray('list').length).toBe(6 + flood);
      expect(doc.getMap('m').get('k')).toBe('written before the reader joined');
    } finally {
      reader.terminate();
    }
  });

  it('[SRV4] presence too: a reader that stops reading is not sent every change piled up, and gets the latest once it drains; presence above 64 KiB is refused', async () => {
    const { writer, reader, sent, resume, witness: connectWitness } = await writerAndStalledReader('loc-presence');
    const changes = 400;
    const note = 'x'.repeat(32 * 1024);
    for (let i = 0; i < changes; i++) writer.provider.awareness.setLocalState({ i, note });
    writer.doc.getArray<string>('list').push(['after the presence']);
    const latest = (c: TestClient) => (c.provider.awareness.getStates().get(writer.doc.clientID) as { i?: number } | undefined)?.i;
    // The server has the last change (a second reader, keeping up, has it).
    const witness = await connectWitness();
    await waitFor(() => latest(witness) === changes - 1 && witness.doc.getArray('list').length === 1, 'witness has the latest presence and the update', 30_000);
    const before = sent.messages;
    resume();
    await waitFor(() => reader.doc.getArray('list').length === 1, 'the reader has the catch-up update', 30_000);
    // Sent just before the catch-up update, not at the writer's next renewal (15 s on).
    expect(latest(reader)).toBe(changes - 1);
    expect(sent.messages - before).toBeLessThan(changes / 2);

    const closed = new Promise<number>((resolve) => (writer.provider.ws as unknown as { addEventListener(t: 'close', f: (e: { code: number }) => void): void }).addEventListener('close', (e) => resolve(e.code)));
    writer.provider.awareness.setLocalState({ note: 'x'.repeat(70 * 1024) });
    expect(await closed).toBe(CloseReason.messageTooLarge.code);
  });
});

/** A registry storing in `store`, whose event index publishes only at a flush. */
function registryOver(store: MemoryRoomStore, { idleMs = 60_000 } = {}): RoomRegistry {
  return new RoomRegistry({
    hooks: [persistenceHook(store, merger, { mergeEvery: 500 }), createEventIndex({ publishEveryMs: 60_000 }).hook],
    commitWatch: { storeHealth: new StoreHealth(Date.now), log: { error() {} } },
    idleMs,
    flushEveryMs: 60_000,
  });
}

describe('relay rooms: the last flush', () => {
  it('[SRV10] the marks a room\'s flush publishes as it unloads (events of its last moment) are stored with it', async () => {
    const store = new MemoryRoomStore();
    // No publish before the flush: the events came in the room's last moment.
    const registry = registryOver(store);
    const room = await registry.acquire('r');
    const client = new Y.Doc();
    client.on('update', (u: Uint8Array) => Y.applyUpdate(room.doc, u, remoteOrigin(new FakeConnection() as unknown as RelayConnection)));
    client.transact(() => new SegmentWriter(client, 'till-1').append([1, 2].map((n) => JSON.stringify(ticketOpenedEvent('till-1', n)))));
    room.commit();
    expect(relayedOf(room.doc).get('till-1')).toBeUndefined();
    await registry.closeAll(CloseReason.serverShuttingDown);
    const stored = new Y.Doc();
    for (const update of (await store.load('r')).updates) Y.applyUpdate(stored, update);
    // Before, the flush's own write came after the room's commit and went with the room, unstored.
    expect(relayedOf(stored).get('till-1')).toBe(2);
  });

  it('[SRV20] a room still loading when shutdown starts is flushed and unloaded too, not left loaded', async () => {
    const registry = registryOver(new MemoryRoomStore());
    const loading = registry.acquire('r');
    await registry.closeAll(CloseReason.serverShuttingDown);
    await loading;
    expect(registry.size).toBe(0);
  });

  it('[SRV19] after shutdown no room is loaded again: it would never be flushed', async () => {
    const registry = registryOver(new MemoryRoomStore());
    await registry.closeAll(CloseReason.serverShuttingDown);
    await expect(registry.acquire('r')).rejects.toThrow(/shutting down/);
    expect(registry.size).toBe(0);
  });
});

describe('relay rooms: going idle', () => {
  it('a room released between a socket\'s acquire and its attach is not unloaded under that connection', async () => {
    const registry = registryOver(new MemoryRoomStore(), { idleMs: 10 });
    const room = await registry.acquire('r');
    registry.release(room); // the REST bridge lets go between a socket's acquire() and its attach
    room.add(new FakeConnection() as unknown as RelayConnection);
    await new Promise((r) => setTimeout(r, 50)); // the idle timer has fired
    expect(registry.peek('r')).toBe(room);
  });

  it('a room acquired again while it idles out (the REST bridge) is not unloaded under its new user', async () => {
    const registry = registryOver(new MemoryRoomStore(), { idleMs: 10 });
    const room = await registry.acquire('r');
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      registry.release(room);
      expect(await registry.acquire('r')).toBe(room);
      vi.advanceTimersByTime(10); // when the idle timer would fire
      expect(registry.peek('r')).toBe(room);
    } finally {
      vi.useRealTimers();
    }
  });
});
