import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { configWith } from '../../server/config';
import { persistenceHook } from '../../server/relay/persistence-hook';
import { Relay } from '../../server/relay/relay';
import { MemoryRoomStore } from '../helpers/memory-room-store';
import type { RoomSnapshot } from '../../server/store/room-store';
import { StoreHealth } from '../../server/store/store-health';
import { startUpdateMerger } from '../../server/store/update-merger';
import { connectClient, mint, serveRelay, tokens, waitFor } from '../helpers/server-clients';

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
