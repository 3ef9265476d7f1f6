import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { configWith, type RelayLimits } from '../../server/config';
import { MessageType, encodeSyncStep1 } from '../../server/relay/messages';
import { persistenceHook } from '../../server/relay/persistence-hook';
import { Relay } from '../../server/relay/relay';
import { MemoryRoomStore } from '../helpers/memory-room-store';
import type { RoomSnapshot } from '../../server/store/room-store';
import { StoreHealth } from '../../server/store/store-health';
import { startUpdateMerger } from '../../server/store/update-merger';
import { CloseReason } from '../../shared/protocol/close-reasons';
import { connectClient, mint, serveRelay, tokens, waitFor } from '../helpers/server-clients';
import { testScope } from '../helpers/test-scope';

/** A room store whose loads wait until the test opens the gate. */
class GatedRoomStore extends MemoryRoomStore {
  loadsRequested = 0;
  private open: () => void = () => {};
  private readonly gate = new Promise<void>((res) => (this.open = res));
  release(): void {
    this.open();
  }
  override async load(room: string): Promise<RoomSnapshot> {
    this.loadsRequested += 1;
    await this.gate;
    return super.load(room);
  }
}

describe('relay: a room serves nobody before its persisted state is loaded', () => {
  let served: { wsUrl: string; close(): Promise<void> };
  let relay: Relay;
  let store: GatedRoomStore;
  let wsUrl: string;
  const merger = startUpdateMerger();

  beforeAll(async () => {
    store = new GatedRoomStore();
    const persisted = new Y.Doc();
    persisted.getMap('m').set('k', 'persisted before start');
    store.appendUpdate('loc-slow', Y.encodeStateAsUpdate(persisted));
    relay = new Relay({
      tokens,
      limits: configWith({}).relay,
      hooks: [persistenceHook(store, merger, { mergeEvery: 100 })],
      storeHealth: new StoreHealth(Date.now),
      log: { warn() {}, info() {}, error() {} },
    });
    served = await serveRelay(relay);
    wsUrl = served.wsUrl;
  });

  afterAll(async () => {
    await relay.close();
    await merger.close();
    await served.close();
  });

  it('clients connected during the load are answered only after it, with the persisted state', async () => {
    const token = await mint('loc-slow');
    const a = connectClient(wsUrl, 'loc-slow', token);
    const b = connectClient(wsUrl, 'loc-slow', token);
    await waitFor(() => a.provider.wsconnected && b.provider.wsconnected && store.loadsRequested > 0, 'connected, loading');
    // Writes made while the room is loading are queued, not lost.
    a.doc.getMap('m').set('early', 'written during the load');
    expect(a.provider.synced).toBe(false);
    expect(b.provider.synced).toBe(false);
    expect(store.loadsRequested).toBe(1); // both share one load
    store.release();
    await waitFor(() => a.provider.synced && b.provider.synced, 'synced after load');
    expect(a.doc.getMap('m').get('k')).toBe('persisted before start');
    expect(b.doc.getMap('m').get('k')).toBe('persisted before start');
    await waitFor(() => b.doc.getMap('m').get('early') === 'written during the load', 'queued write relayed');
    a.destroy();
    b.destroy();
  });
});

describe('relay: what a connection may do while its room loads', () => {
  const { defer } = testScope();

  /** A relay over a gated store, closed after the test (its load let through first). */
  async function gatedRelay(options: { revoked?: ReadonlySet<string>; limits?: Partial<RelayLimits> } = {}) {
    const store = new GatedRoomStore();
    const merger = startUpdateMerger();
    /** How many rooms were loaded after each load and unload. */
    const loadedRooms: number[] = [];
    const relay = new Relay({
      tokens,
      isRevoked: (claims) => options.revoked?.has(claims.terminal ?? '') ?? false,
      limits: { ...configWith({}).relay, ...options.limits },
      hooks: [persistenceHook(store, merger, { mergeEvery: 100 }), { name: 'rooms', onRoomsChanged: (n) => loadedRooms.push(n) }],
      storeHealth: new StoreHealth(Date.now),
      log: { warn() {}, info() {}, error() {} },
    });
    const served = await serveRelay(relay);
    defer(() => merger.close());
    defer(() => served.close());
    defer(() => relay.close());
    defer(() => store.release());
    return { store, relay, loadedRooms, wsUrl: served.wsUrl };
  }

  /** A raw socket into `location` that records what it reads, open once the upgrade answered. */
  async function openRaw(wsUrl: string, location: string, token: string) {
    const ws = new WebSocket(`${wsUrl}/${location}?token=${token}`);
    defer(() => ws.terminate());
    const received: Buffer[] = [];
    ws.on('message', (data: Buffer) => received.push(data));
    const closed = new Promise<number>((resolve) => ws.once('close', resolve));
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    return {
      ws,
      received,
      /** Its close code, or 'still open' after `ms`: a close that never comes fails fast. */
      closedWithin: (ms: number) => Promise.race([closed, new Promise<'still open'>((resolve) => setTimeout(() => resolve('still open'), ms))]),
    };
  }

  /** A frame of `bytes` the relay reads and ignores (a y-protocols auth frame). */
  const filler = (bytes: number) => Buffer.concat([Buffer.from([MessageType.auth]), Buffer.alloc(bytes - 1)]);
  const step1 = Buffer.from(encodeSyncStep1(new Y.Doc()));
  const isSyncStep2 = (frame: Buffer) => frame[0] === MessageType.sync && frame[1] === 1;

  it('[SRV24] a device revoked while its room loads is closed tokenRevoked once the load ends, never sent a byte of the room', async () => {
    const revoked = new Set<string>();
    const { store, wsUrl } = await gatedRelay({ revoked });
    const device = await openRaw(wsUrl, 'loc-load-revoked', await mint('loc-load-revoked', 'terminal', 'till-2'));
    await waitFor(() => store.loadsRequested > 0, 'loading');
    revoked.add('till-2'); // closeRevoked finds it in no room yet
    store.release();
    expect(await device.closedWithin(3_000)).toBe(CloseReason.tokenRevoked.code);
    expect(device.received).toEqual([]);
  });

  it('a room whose only connection went while it loaded is let go, and unloads once idle', async () => {
    const { store, relay, loadedRooms, wsUrl } = await gatedRelay({ limits: { roomIdleMs: 10 } });
    const device = await openRaw(wsUrl, 'loc-load-gone', await mint('loc-load-gone'));
    await waitFor(() => store.loadsRequested > 0, 'loading');
    device.ws.terminate();
    // ws forgets a socket in the same 'close' event the connection ends on.
    const sockets = (relay as unknown as { wss: { clients: Set<unknown> } }).wss.clients;
    await waitFor(() => sockets.size === 0, 'the server saw the socket go');
    store.release();
    await waitFor(() => loadedRooms.join() === '1,0', 'the room loaded, then unloaded');
  });

  it('[SRV26] frames sent while the room loads wait up to the message limit in bytes, all together: one byte more closes 4413', async () => {
    const maxMessageBytes = 4096;
    const { store, wsUrl } = await gatedRelay({ limits: { maxMessageBytes } });
    const token = await mint('loc-load-bytes');
    const atLimit = await openRaw(wsUrl, 'loc-load-bytes', token);
    const over = await openRaw(wsUrl, 'loc-load-bytes', token);
    await waitFor(() => store.loadsRequested > 0, 'loading');
    // Each frame under the limit; the last of atLimit's a sync step 1, answered once the room loaded.
    for (const frame of [filler(2048), filler(maxMessageBytes - 2048 - step1.length), step1]) atLimit.ws.send(frame);
    for (const frame of [filler(2048), filler(maxMessageBytes - 2048 + 1)]) over.ws.send(frame);
    expect(await over.closedWithin(3_000)).toBe(CloseReason.messageTooLarge.code);
    store.release();
    await waitFor(() => atLimit.received.some(isSyncStep2), 'the queued sync step 1 answered after the load', 3_000);
    expect(await atLimit.closedWithin(0)).toBe('still open');
  });

  it('[SRV26] at most 256 frames wait while the room loads, however small: the 257th closes 4413', async () => {
    const { store, wsUrl } = await gatedRelay();
    const token = await mint('loc-load-frames');
    const atLimit = await openRaw(wsUrl, 'loc-load-frames', token);
    const over = await openRaw(wsUrl, 'loc-load-frames', token);
    await waitFor(() => store.loadsRequested > 0, 'loading');
    for (let i = 1; i < 256; i++) atLimit.ws.send(filler(1));
    atLimit.ws.send(step1);
    for (let i = 0; i < 257; i++) over.ws.send(filler(1));
    expect(await over.closedWithin(3_000)).toBe(CloseReason.messageTooLarge.code);
    store.release();
    await waitFor(() => atLimit.received.some(isSyncStep2), 'the 256th frame answered after the load', 3_000);
    expect(await atLimit.closedWithin(0)).toBe('still open');
  });
});
