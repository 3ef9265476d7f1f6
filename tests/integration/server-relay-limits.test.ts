import { describe, expect, it } from 'vitest';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import WebSocket from 'ws';
import * as syncProtocol from 'y-protocols/sync';
import * as Y from 'yjs';
import { RelayConnection as ClientRelayConnection, STABLE_MS } from '../../client/sync/relay-connection';
import { MessageType } from '../../server/relay/messages';
import { CloseReason, isRetriableCloseCode } from '../../shared/protocol/close-reasons';
import { ManualTimers } from '../helpers/manual-timers';
import { connectSynced, legacyAdminToken, mint, waitFor } from '../helpers/server-clients';
import { startTestServer, type InProcessServer } from '../helpers/server-in-process';
import { testScope } from '../helpers/test-scope';

const { defer, inProcess } = testScope();

/** A raw y-websocket client that records what it reads: frames by (type, sync step), and bytes. */
class RawClient {
  readonly doc = new Y.Doc();
  readonly frames = new Map<string, number>();
  bytes = 0;
  closedWith: number | null = null;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => this.read(new Uint8Array(data)));
    ws.on('close', (code) => (this.closedWith = code));
  }

  static async open(url: string): Promise<RawClient> {
    const ws = new WebSocket(url);
    const client = new RawClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return client;
  }

  /** Stops reading: the kernel buffers fill, then the server's. */
  pause(): void {
    (this.ws as unknown as { _socket: { pause(): void } })._socket.pause();
  }

  resume(): void {
    (this.ws as unknown as { _socket: { resume(): void } })._socket.resume();
  }

  count(kind: string): number {
    return this.frames.get(kind) ?? 0;
  }

  private read(frame: Uint8Array): void {
    this.bytes += frame.byteLength;
    const decoder = decoding.createDecoder(frame);
    const type = decoding.readVarUint(decoder);
    let kind = `type ${type}`;
    if (type === MessageType.sync) {
      kind = `sync ${decoding.peekVarUint(decoder)}`;
      syncProtocol.readSyncMessage(decoder, encoding.createEncoder(), this.doc, 'server');
    }
    this.frames.set(kind, this.count(kind) + 1);
  }
}

const STEP_2 = `sync ${syncProtocol.messageYjsSyncStep2}`;
const AWARENESS = `type ${MessageType.awareness}`;

function frameOf(type: number, write?: (e: encoding.Encoder) => void): Buffer {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, type);
  write?.(e);
  return Buffer.from(encoding.toUint8Array(e));
}

describe('relay limits: a client that asks and never reads', () => {
  it('[SRV26] repeated sync step 1 and presence queries are not each answered into server memory: one answer follows once it reads again, and the room is unaffected', async () => {
    const server = await inProcess();
    const location = 'loc-ask-flood';
    const writer = await connectSynced(server.wsUrl, location, await mint(location, 'terminal', 'till-1'));
    defer(() => writer.destroy());
    writer.provider.awareness.setLocalState({ name: 'writer' });
    // A room doc above the backpressure limit (256 KiB): one answer to a step 1 fills the socket.
    const docBytes = 300 * 1024;
    const list = writer.doc.getArray<string>('list');
    for (let i = 0; i < 40; i++) list.push([`${i}:${'x'.repeat(docBytes / 40)}`]);
    const writerWs = writer.provider.ws as unknown as { bufferedAmount: number };
    await waitFor(() => writerWs.bufferedAmount === 0, 'writer sent its doc');

    const asker = await RawClient.open(`${server.wsUrl}/${location}?token=${await mint(location, 'terminal', 'till-2')}`);
    asker.pause();
    const asks = 200;
    const step1 = frameOf(MessageType.sync, (e) => syncProtocol.writeSyncStep1(e, new Y.Doc()));
    const queryAwareness = frameOf(MessageType.queryAwareness);
    for (let i = 0; i < asks; i++) {
      asker.ws.send(step1);
      asker.ws.send(queryAwareness);
    }
    // Its last frame, an update, reaching the writer: the server has handled every ask before it.
    const own = new Y.Doc();
    own.getArray<string>('asker').push(['done']);
    asker.ws.send(frameOf(MessageType.sync, (e) => syncProtocol.writeUpdate(e, Y.encodeStateAsUpdate(own))));
    await waitFor(() => writer.doc.getArray('asker').length === 1, 'the server handled every ask', 30_000);
    // The room is unaffected: the writer keeps writing, and a third client syncs it all.
    list.push(['after']);
    const witness = await connectSynced(server.wsUrl, location, await mint(location, 'terminal', 'till-3'));
    defer(() => witness.destroy());
    await waitFor(() => witness.doc.getArray('list').length === 41, 'another client syncs the room', 30_000);

    asker.resume();
    // 'after' went out after every answer: once the asker has it, it has read everything sent.
    await waitFor(() => asker.doc.getArray('list').length === 41, 'the asker caught up', 30_000);
    expect(asker.doc.getArray('list').toArray()).toEqual(list.toArray());
    expect(asker.closedWith).toBeNull();
    // Answered while the kernel's socket buffers took the answers (a few MB on loopback), then
    // once more after it drained: not once per ask.
    expect(asker.count(STEP_2)).toBeLessThan(asks / 4);
    expect(asker.bytes).toBeLessThan((asks / 4) * docBytes);
    expect(asker.count(AWARENESS)).toBeGreaterThan(0);
    expect(asker.count(AWARENESS)).toBeLessThan(asks / 4);
    asker.ws.terminate();
  });
});

describe('relay limits: connections per device', () => {
  /** A server whose rooms take 6 connections, 3 of them one device's; disposed after the test. */
  async function smallRelay(): Promise<InProcessServer> {
    const server = await startTestServer({ relay: { maxConnectionsPerRoom: 6, maxConnectionsPerDevice: 3 } });
    defer(() => server.dispose());
    return server;
  }

  /** A raw socket in its room: resolved once the server sent its sync step 1 (it is attached). */
  async function attached(server: InProcessServer, location: string, token: string): Promise<RawClient> {
    const client = await RawClient.open(`${server.wsUrl}/${location}?token=${token}`);
    defer(() => client.ws.terminate());
    await waitFor(() => client.bytes > 0 || client.closedWith !== null, 'attached or refused');
    return client;
  }

  it('[SRV40] one device opening more connections than its cap closes its own oldest (superseded, retriable), never filling the room: other devices still connect and sync, and the per-room limit still holds', async () => {
    const server = await smallRelay();
    const location = 'loc-device-cap';
    const till9 = await mint(location, 'terminal', 'till-9');
    const own: RawClient[] = [];
    for (let i = 0; i < 10; i++) own.push(await attached(server, location, till9));
    await waitFor(() => own.filter((c) => c.closedWith !== null).length === 7, 'the device down to its cap');
    expect(own.map((c) => c.closedWith)).toEqual([...Array(7).fill(CloseReason.superseded.code), null, null, null]);
    expect(isRetriableCloseCode(CloseReason.superseded.code)).toBe(true);

    // Two other devices get in and sync with each other.
    const writer = await connectSynced(server.wsUrl, location, await mint(location, 'terminal', 'till-2'));
    defer(() => writer.destroy());
    const reader = await connectSynced(server.wsUrl, location, await mint(location, 'manager', 'manager-1'));
    defer(() => reader.destroy());
    writer.doc.getMap('m').set('order', 'soup');
    await waitFor(() => reader.doc.getMap('m').get('order') === 'soup', 'another device syncs');

    // The room's own limit: a sixth connection fits, a seventh (of yet another device) is refused.
    expect((await attached(server, location, await mint(location, 'terminal', 'till-3'))).closedWith).toBeNull();
    const seventh = await attached(server, location, await mint(location, 'terminal', 'till-4'));
    await waitFor(() => seventh.closedWith !== null, 'the seventh refused');
    expect(seventh.closedWith).toBe(CloseReason.roomFull.code);
    expect(own.slice(7).map((c) => c.closedWith)).toEqual([null, null, null]);
  });

  it('[SRV40] tokens naming no device (minted before every token had to: separate back-office integrations) are not one device: none closes another\'s socket', async () => {
    const server = await smallRelay();
    const location = 'loc-legacy-tokens';
    const integrations: RawClient[] = [];
    for (let i = 0; i < 4; i++) integrations.push(await attached(server, location, await legacyAdminToken(location)));
    // One more connection of a device, then a round trip: a close the relay sent has arrived by then.
    const till = await connectSynced(server.wsUrl, location, await mint(location, 'terminal', 'till-2'));
    defer(() => till.destroy());
    expect(integrations.map((c) => c.closedWith)).toEqual([null, null, null, null]);
  });

  it('[SRV40] a tab superseded by its own device waits ever longer to come back, however long it was open: more tabs than the cap do not take turns every half second', async () => {
    const server = await startTestServer({ relay: { maxConnectionsPerDevice: 1 } });
    defer(() => server.dispose());
    const location = 'loc-device-turns';
    const token = await mint(location, 'terminal', 'till-9');
    const timers = new ManualTimers(5);
    const tab = (): ClientRelayConnection => {
      const relay = new ClientRelayConnection({
        url: server.wsUrl,
        room: location,
        doc: new Y.Doc(),
        token,
        timers,
        WebSocketImpl: WebSocket as unknown as typeof globalThis.WebSocket,
        onChange: () => {},
      });
      defer(() => relay.destroy());
      return relay;
    };
    const [a, b] = [tab(), tab()];
    a.start();
    await waitFor(() => a.state === 'connected', 'tab a connected');
    b.start();
    await waitFor(() => b.state === 'connected' && a.attempt === 1 && a.nextAttemptAt !== null, 'tab a superseded by tab b');
    timers.advance(a.nextAttemptAt! - timers.now());
    await waitFor(() => a.state === 'connected' && b.attempt === 1 && b.nextAttemptAt !== null, 'tab a back, superseding tab b');
    b.pause();
    timers.advance(STABLE_MS); // tab a open long enough to count as stable
    b.start();
    await waitFor(() => b.state === 'connected' && a.nextAttemptAt !== null, 'tab a superseded again');
    expect(a.attempt).toBe(2);
  });
});
