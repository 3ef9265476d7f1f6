import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { outdatedTimeout } from 'y-protocols/awareness';
import * as encoding from 'lib0/encoding';
import WebSocket from 'ws';
import { configWith } from '../../server/config';
import { MessageType } from '../../server/relay/messages';
import { Relay } from '../../server/relay/relay';
import { MAX_PRESENCE_IDS_PER_CONNECTION, type Room } from '../../server/relay/room';
import { StoreHealth } from '../../server/store/store-health';
import { connectSynced, mint, serveRelay, tokens, waitFor, type TestClient } from '../helpers/server-clients';
import { testScope } from '../helpers/test-scope';

const { defer } = testScope();

type PresenceEntry = [clientId: number, clock: number, state: unknown];

/** A presence (awareness) update naming `entries`. */
function presenceUpdate(entries: PresenceEntry[]): Uint8Array {
  const update = encoding.createEncoder();
  encoding.writeVarUint(update, entries.length);
  for (const [clientId, clock, state] of entries) {
    encoding.writeVarUint(update, clientId);
    encoding.writeVarUint(update, clock);
    encoding.writeVarString(update, JSON.stringify(state));
  }
  return encoding.toUint8Array(update);
}

/** The frame carrying a presence update. */
function framed(update: Uint8Array): Buffer {
  const frame = encoding.createEncoder();
  encoding.writeVarUint(frame, MessageType.awareness);
  encoding.writeVarUint8Array(frame, update);
  return Buffer.from(encoding.toUint8Array(frame));
}

/** A presence frame naming `entries` (client id, clock, state). */
function presenceFrame(entries: PresenceEntry[]): Buffer {
  return framed(presenceUpdate(entries));
}

/** A presence update of exactly `bytes` for one client id, its state padded to fit. */
function presenceUpdateOf(bytes: number, clientId: number, clock: number): Uint8Array {
  const padded = (pad: number) => presenceUpdate([[clientId, clock, { pad: 'x'.repeat(pad) }]]);
  let pad = bytes - padded(0).byteLength;
  // The state's length prefix grows with it: a byte or two less padding.
  while (padded(pad).byteLength > bytes) pad -= 1;
  return padded(pad);
}

/** A raw websocket that counts the presence frames it reads and records its close code. */
async function openRaw(url: string): Promise<{ ws: WebSocket; presenceFrames(): number; closedWith(): number | null }> {
  const ws = new WebSocket(url);
  let presence = 0;
  let closed: number | null = null;
  ws.on('message', (data: Buffer) => {
    if (data[0] === MessageType.awareness) presence += 1;
  });
  ws.on('close', (code) => (closed = code));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { ws, presenceFrames: () => presence, closedWith: () => closed };
}

describe('relay presence: a connection speaks only for its own client ids', () => {
  let served: { wsUrl: string; close(): Promise<void> };
  let relay: Relay;
  let wsUrl: string;

  beforeAll(async () => {
    relay = new Relay({ tokens, limits: configWith({}).relay, hooks: [], storeHealth: new StoreHealth(Date.now), log: { warn() {}, info() {}, error() {} } });
    served = await serveRelay(relay);
    wsUrl = served.wsUrl;
  });

  afterAll(async () => {
    await relay.close();
    await served.close();
  });

  const roomOf = (location: string): Room => relay.rooms.peek(location)!;
  const join = async (location: string, terminal: string): Promise<TestClient> => {
    const client = await connectSynced(wsUrl, location, await mint(location, 'terminal', terminal));
    defer(() => client.destroy());
    return client;
  };
  /** The server's presence clients, and the clocks it keeps (its own among them). */
  const presenceKept = (room: Room) => ({ states: [...room.awareness.getStates().keys()].sort(), clocks: [...room.awareness.meta.keys()].sort() });
  /**
   * Date.now() `outdatedTimeout` later (frozen there until the test ends), then `client`'s
   * presence changed and reaching the server, which forgets released ids' clocks by then.
   */
  const laterPresence = async (room: Room, client: TestClient, state: { name: string }): Promise<void> => {
    vi.setSystemTime(Date.now() + outdatedTimeout + 1_000);
    defer(() => void vi.useRealTimers());
    client.provider.awareness.setLocalState(state);
    await waitFor(() => (room.awareness.getStates().get(client.doc.clientID) as { name?: string } | undefined)?.name === state.name, 'the server has the change');
  };

  it('[SRV34] a terminal\'s presence reaches the others, and once it left the server keeps nothing of it', async () => {
    const location = 'loc-presence';
    const a = await join(location, 'till-1');
    const b = await join(location, 'till-2');
    b.provider.awareness.setLocalState({ name: 'till-2' });
    const seenByA = () => a.provider.awareness.getStates().get(b.doc.clientID) as { name?: string } | undefined;
    await waitFor(() => seenByA()?.name === 'till-2', 'a sees b');
    a.provider.awareness.setLocalState({ name: 'till-1' });
    await waitFor(() => roomOf(location).awareness.getStates().has(a.doc.clientID), 'the server has a');

    b.destroy();
    await waitFor(() => seenByA() === undefined, 'a sees b leave');
    const room = roomOf(location);
    expect(presenceKept(room).states).toEqual([a.doc.clientID]);
    // Its clock is kept a while, so that its presence a sends back late is seen as old.
    expect(room.awareness.meta.has(b.doc.clientID)).toBe(true);
    await laterPresence(room, a, { name: 'till-1 later' });
    expect(presenceKept(room)).toEqual({ states: [a.doc.clientID], clocks: [a.doc.clientID, room.awareness.clientID].sort() });
  });

  it('[APP23] a connection joining a room is sent the presence of those already in it, unasked', async () => {
    const location = 'loc-presence-join';
    const a = await join(location, 'till-1');
    a.provider.awareness.setLocalState({ name: 'till-1' });
    await waitFor(() => roomOf(location).awareness.getStates().has(a.doc.clientID), 'the server has a');
    // y-websocket asks for presence only over BroadcastChannel: without this snapshot a newcomer
    // sees nobody until each renews (15 s). It comes before the answer to its sync step 1.
    const b = await join(location, 'till-2');
    expect(b.provider.awareness.getStates().get(a.doc.clientID)).toEqual({ name: 'till-1' });
  });

  it('[SRV26] a terminal that left while a reader was backed up is gone from that reader\'s presence once it drained', async () => {
    const location = 'loc-presence-left';
    const writer = await join(location, 'till-1');
    const peer = await join(location, 'till-2');
    const reader = await join(location, 'till-3');
    peer.provider.awareness.setLocalState({ name: 'till-2' });
    await waitFor(() => reader.provider.awareness.getStates().has(peer.doc.clientID), 'the reader sees the peer');
    const readerSocket = (reader.provider.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    readerSocket.pause();
    const room = roomOf(location);
    const latest = (states: Map<number, unknown>) => (states.get(writer.doc.clientID) as { i?: number } | undefined)?.i;
    const changes = 300;
    const note = 'x'.repeat(32 * 1024);
    for (let i = 0; i < changes; i++) writer.provider.awareness.setLocalState({ i, note });
    await waitFor(() => latest(room.awareness.getStates()) === changes - 1, 'the server has the last change', 30_000);
    peer.destroy();
    await waitFor(() => !room.awareness.getStates().has(peer.doc.clientID), 'the server dropped the peer');
    readerSocket.resume();
    // The last change and the peer's removal come in one message, the presence catch-up.
    await waitFor(() => latest(reader.provider.awareness.getStates()) === changes - 1, 'the reader caught up', 30_000);
    expect(reader.provider.awareness.getStates().has(peer.doc.clientID)).toBe(false);
  });

  it('[SRV34] a connection naming a flood of client ids is closed 4413 and the server keeps none of them; removals and others\' ids are dropped', async () => {
    const location = 'loc-presence-flood';
    const a = await join(location, 'till-1');
    a.provider.awareness.setLocalState({ name: 'till-1' });
    const room = roomOf(location);
    await waitFor(() => room.awareness.getStates().has(a.doc.clientID), 'the server has a');
    const before = presenceKept(room);

    const raw = await openRaw(`${wsUrl}/${location}?token=${await mint(location, 'terminal', 'till-2')}`);
    defer(() => raw.ws.terminate());
    // Thousands of new ids removed at once, and a's presence overwritten: dropped, not applied.
    raw.ws.send(presenceFrame(Array.from({ length: 5000 }, (_, i): PresenceEntry => [1_000_000 + i, 1, null])));
    raw.ws.send(presenceFrame([[a.doc.clientID, 1_000, { name: 'impostor' }]]));
    // Handled in order: the answer to this query comes after both were.
    const answered = raw.presenceFrames() + 1;
    raw.ws.send(Buffer.from([MessageType.queryAwareness]));
    await waitFor(() => raw.presenceFrames() >= answered, 'the query answered');
    expect(raw.closedWith()).toBeNull();
    expect(presenceKept(room)).toEqual(before);
    expect(room.awareness.getStates().get(a.doc.clientID)).toEqual({ name: 'till-1' });

    // Speaking for more ids than one tab has: closed, and what it named is forgotten.
    const ids = Array.from({ length: MAX_PRESENCE_IDS_PER_CONNECTION + 1 }, (_, i) => 2_000_000 + i);
    raw.ws.send(presenceFrame(ids.slice(0, 2).map((id): PresenceEntry => [id, 1, { name: 'x' }])));
    raw.ws.send(presenceFrame(ids.slice(2).map((id): PresenceEntry => [id, 1, { name: 'x' }])));
    await waitFor(() => raw.closedWith() !== null, 'the flooding connection closed');
    expect(raw.closedWith()).toBe(4413);
    await waitFor(() => room.connections.size === 1, 'the server let it go');
    expect(presenceKept(room).states).toEqual(before.states);
    await laterPresence(room, a, { name: 'till-1 later' });
    expect(presenceKept(room)).toEqual(before);
  });

  it('[SRV26] a presence update of 64 KiB is applied; one byte more closes 4413, far under the message limit', async () => {
    const location = 'loc-presence-size';
    expect(configWith({}).relay.maxMessageBytes).toBeGreaterThan(2 * 64 * 1024);
    const raw = await openRaw(`${wsUrl}/${location}?token=${await mint(location, 'terminal', 'till-1')}`);
    defer(() => raw.ws.terminate());
    const id = 3_000_000;
    const atCap = presenceUpdateOf(64 * 1024, id, 1);
    const over = presenceUpdateOf(64 * 1024 + 1, id, 2);
    expect([atCap.byteLength, over.byteLength]).toEqual([64 * 1024, 64 * 1024 + 1]);
    raw.ws.send(framed(atCap));
    await waitFor(() => relay.rooms.peek(location)?.awareness.meta.get(id)?.clock === 1, 'the server applied the 64 KiB update', 3_000);
    raw.ws.send(framed(over));
    await waitFor(() => raw.closedWith() !== null, 'the connection closed', 3_000);
    expect(raw.closedWith()).toBe(4413);
    expect(relay.rooms.peek(location)?.awareness.meta.get(id)?.clock).not.toBe(2);
  });

  it('[SRV34] a device that reconnects while its old socket still looks alive speaks for its presence again; another device cannot', async () => {
    const location = 'loc-presence-reconnect';
    const old = await join(location, 'till-1');
    old.provider.awareness.setLocalState({ name: 'till-1' });
    const room = roomOf(location);
    const id = old.doc.clientID;
    await waitFor(() => room.awareness.getStates().has(id), 'the server has the till');
    const clock = room.awareness.meta.get(id)!.clock;
    // The same till over a new socket (the old one half-open: the server learns it is dead only by its pings).
    const again = await openRaw(`${wsUrl}/${location}?token=${await mint(location, 'terminal', 'till-1')}`);
    defer(() => again.ws.terminate());
    again.ws.send(presenceFrame([[id, clock + 1, { name: 'till-1', staff: 'sam' }]]));
    await waitFor(() => (room.awareness.getStates().get(id) as { staff?: string } | undefined)?.staff === 'sam', 'the new socket speaks for the till');
    // Another device naming it with a newer clock still cannot.
    const other = await openRaw(`${wsUrl}/${location}?token=${await mint(location, 'terminal', 'till-2')}`);
    defer(() => other.ws.terminate());
    other.ws.send(presenceFrame([[id, clock + 5, { name: 'impostor' }]]));
    const answered = other.presenceFrames() + 1;
    other.ws.send(Buffer.from([MessageType.queryAwareness]));
    await waitFor(() => other.presenceFrames() >= answered, 'the query answered');
    expect(room.awareness.getStates().get(id)).toEqual({ name: 'till-1', staff: 'sam' });
    // The old socket going takes nothing with it: the presence is the new socket's.
    old.destroy();
    await waitFor(() => room.connections.size === 2, 'the old socket gone');
    expect(room.awareness.getStates().get(id)).toEqual({ name: 'till-1', staff: 'sam' });
  });

  it('[SRV34] a client id spoken for again after a reconnect keeps its clock once the ids released meanwhile are forgotten', async () => {
    const location = 'loc-presence-reclaimed';
    const other = await join(location, 'till-2');
    const room = roomOf(location);
    const id = 4_000_000;
    const first = await openRaw(`${wsUrl}/${location}?token=${await mint(location, 'terminal', 'till-1')}`);
    defer(() => first.ws.terminate());
    first.ws.send(presenceFrame([[id, 1, { name: 'till-1' }]]));
    await waitFor(() => room.awareness.getStates().has(id), 'the server has the till');
    first.ws.terminate();
    await waitFor(() => !room.awareness.getStates().has(id), 'the server released its id');
    // The same till reconnected (y-websocket keeps its client id), with a newer state.
    const again = await openRaw(`${wsUrl}/${location}?token=${await mint(location, 'terminal', 'till-1')}`);
    defer(() => again.ws.terminate());
    again.ws.send(presenceFrame([[id, 3, { name: 'till-1' }]]));
    await waitFor(() => room.awareness.getStates().has(id), 'the server has the till again');
    await laterPresence(room, other, { name: 'till-2 later' });
    expect(presenceKept(room)).toEqual({ states: [id, other.doc.clientID].sort(), clocks: [id, other.doc.clientID, room.awareness.clientID].sort() });
  });

  it(`[SRV34] a terminal that stays while more than ${MAX_PRESENCE_IDS_PER_CONNECTION} others come and go keeps its connection (it sends back their presence)`, async () => {
    const location = 'loc-presence-churn';
    const stayer = await join(location, 'till-0');
    stayer.provider.awareness.setLocalState({ name: 'till-0' });
    let closed = false;
    stayer.provider.on('connection-close', () => (closed = true));
    for (let i = 1; i <= MAX_PRESENCE_IDS_PER_CONNECTION + 2; i++) {
      const visitor = await join(location, `till-${i}`);
      visitor.provider.awareness.setLocalState({ name: `till-${i}` });
      await waitFor(() => stayer.provider.awareness.getStates().has(visitor.doc.clientID), `the stayer sees visitor ${i}`);
      visitor.destroy();
      await waitFor(() => !stayer.provider.awareness.getStates().has(visitor.doc.clientID), `the stayer sees visitor ${i} leave`);
    }
    const last = await join(location, 'till-last');
    last.provider.awareness.setLocalState({ name: 'till-last' });
    await waitFor(() => stayer.provider.awareness.getStates().has(last.doc.clientID), 'the stayer still sees newcomers');
    expect(closed).toBe(false);
    const room = roomOf(location);
    await laterPresence(room, stayer, { name: 'till-0 later' });
    expect(presenceKept(room).clocks).toEqual([stayer.doc.clientID, last.doc.clientID, room.awareness.clientID].sort());
  });
});
