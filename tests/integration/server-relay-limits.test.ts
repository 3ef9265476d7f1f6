import { describe, expect, it } from 'vitest';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import WebSocket from 'ws';
import * as syncProtocol from 'y-protocols/sync';
import * as Y from 'yjs';
import { MessageType } from '../../server/relay/messages';
import { connectSynced, mint, waitFor } from '../helpers/server-clients';
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
