import * as encoding from 'lib0/encoding';
import * as awarenessProtocol from 'y-protocols/awareness';
import * as syncProtocol from 'y-protocols/sync';
import type * as Y from 'yjs';

/** y-websocket message types (the first varuint of every frame). */
export const MessageType = {
  sync: 0,
  awareness: 1,
  auth: 2,
  queryAwareness: 3,
} as const;

export function encodeSyncStep1(doc: Y.Doc): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, MessageType.sync);
  syncProtocol.writeSyncStep1(e, doc);
  return encoding.toUint8Array(e);
}

export function encodeAwareness(awareness: awarenessProtocol.Awareness, clients: number[]): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, MessageType.awareness);
  encoding.writeVarUint8Array(e, awarenessProtocol.encodeAwarenessUpdate(awareness, clients));
  return encoding.toUint8Array(e);
}

/** Bytes of `n` as a lib0 varuint (7 bits a byte, least significant first). */
function varUintLength(n: number): number {
  let bytes = 1;
  while (n > 0x7f) {
    n = Math.floor(n / 128);
    bytes += 1;
  }
  return bytes;
}

/**
 * The y-websocket update message of `update` (sync, update, varuint length, bytes) as one
 * unmasked binary websocket frame (RFC 6455 §5.2): the bytes ws would write for it, built in
 * one allocation. A room builds it once per update and writes it to every socket: framing per
 * socket (a header and a write through ws's sender each) was more than half of the fan-out's
 * CPU, and building a catch-up of megabytes through a lib0 encoder copied it twice more.
 */
export function updateFrame(update: Uint8Array): Buffer {
  const length = 2 + varUintLength(update.byteLength) + update.byteLength;
  const headerBytes = length < 126 ? 2 : length < 65_536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(headerBytes + length);
  frame[0] = 0x82; // FIN, opcode 2 (binary)
  if (length < 126) {
    frame[1] = length;
  } else if (length < 65_536) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeBigUInt64BE(BigInt(length), 2);
  }
  let at = headerBytes;
  frame[at++] = MessageType.sync;
  frame[at++] = syncProtocol.messageYjsUpdate;
  for (let n = update.byteLength; ; n = Math.floor(n / 128)) {
    if (n <= 0x7f) {
      frame[at++] = n;
      break;
    }
    frame[at++] = 0x80 | (n & 0x7f);
  }
  frame.set(update, at);
  return frame;
}
