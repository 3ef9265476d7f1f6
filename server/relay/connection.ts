import type { Duplex } from 'node:stream';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import * as syncProtocol from 'y-protocols/sync';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { CloseReason, isRetriableCloseCode, type CloseReasonInfo } from '../../shared/protocol/close-reasons';
import type { TokenClaims } from '../../shared/protocol/token-claims';
import type { RelayHook } from './hooks';
import { MessageType, encodeSyncStep1, updateFrame } from './messages';
import { remoteOrigin, type RoomOrigin } from './origins';
import { RoomHookError, type Room } from './room';

export interface ConnectionOptions {
  maxMessageBytes: number;
  maxConnectionsPerRoom: number;
  maxConnectionsPerDevice: number;
  hooks: readonly RelayHook[];
  /** Called once the socket is gone, after the room forgot it. */
  onGone(conn: RelayConnection, room: Room | null): void;
  /** Hears of every close the server initiates (metrics). */
  onClosed?(reason: CloseReasonInfo): void;
  log: RelayConnectionLog;
  now?: () => number;
}

export interface RelayConnectionLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/**
 * How loud a close the server initiates is logged. The unexpected ones (too large, malformed,
 * room full, internal error) are warnings: after 4413 or 4422 (terminal) a till stops syncing
 * live until reloaded, and nothing else says why. Closes at a shutdown are not logged one by
 * one: the shutdown is (all are counted).
 */
function closeLogLevel(reason: CloseReasonInfo): 'info' | 'warn' | null {
  switch (reason.code) {
    case CloseReason.serverShuttingDown.code:
      return null;
    case CloseReason.tokenExpired.code:
    case CloseReason.tokenRevoked.code:
    case CloseReason.superseded.code:
      return 'info';
    default:
      return 'warn';
  }
}

/** Longest delay setTimeout accepts; longer expiries are re-armed in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;
const PING_EVERY_MS = 30_000;
/**
 * Bytes waiting in a socket above which its room updates are held back (see sendUpdate):
 * a few hundred single updates, well above one turn's batch to a reader that keeps up.
 */
const BACKED_UP_BYTES = 256 * 1024;
/** Presence (awareness) is a few names and flags per client: a frame above this is not presence. */
const MAX_AWARENESS_BYTES = 64 * 1024;
/**
 * Frames a connection may queue while its room loads: a client sends its sync step, its
 * presence and what it wrote offline, not a stream (each frame is within maxMessageBytes too).
 */
const MAX_QUEUED_FRAMES = 256;

/**
 * One authenticated websocket in one room. Frames that arrive before the room finished
 * loading are queued (the socket is accepted first so no frame is lost), and nothing is
 * sent to the client until attach(): no document byte leaves before the state is loaded.
 *
 *   queued ──attach(room)──► live ──close(reason) / socket closed / token expired──► gone
 */
export class RelayConnection {
  readonly origin: RoomOrigin;
  private room: Room | null = null;
  private queue: Uint8Array[] | null = [];
  private gone = false;
  private alive = true;
  private expiryTimer: NodeJS.Timeout | undefined;
  /**
   * The room doc's state vector before the first update this connection was not sent
   * because its socket was backed up; null while it keeps up.
   */
  private heldSince: Map<number, number> | null = null;
  /** Presence changes were not sent (backed-up socket): the whole presence, removals too, follows once it drained. */
  private presenceHeld = false;
  /**
   * A sync step 1 came while the socket was backed up: its answer is the catch-up (heldSince
   * includes the state vector it sent), written as the sync step 2 the client waits for.
   */
  private step2Owed = false;
  /** Bytes in `queue`. */
  private queuedBytes = 0;
  private readonly pingTimer: NodeJS.Timeout;
  private readonly now: () => number;
  /** One callback for every send (not a closure per frame). */
  private readonly afterSend = (err?: Error): void => {
    if (err) this.teardown();
  };
  /** Once a backed-up socket drained: everything held back, as one update. */
  private readonly catchUp = (): void => {
    const since = this.heldSince;
    this.heldSince = null;
    if (this.presenceHeld && this.room !== null) {
      this.presenceHeld = false;
      const presence = this.room.presenceCatchUp();
      if (presence !== null) this.send(presence);
    }
    const step2Owed = this.step2Owed;
    this.step2Owed = false;
    if (since === null || this.room === null) return;
    if (step2Owed) return this.send(encodeSyncStep2(this.room.doc, Y.encodeStateVector(since)));
    const frame = updateFrame(Y.encodeStateAsUpdate(this.room.doc, Y.encodeStateVector(since)));
    if (this.writeFrame(frame)) for (const hook of this.options.hooks) hook.onBytes?.('out', frame.byteLength);
  };

  constructor(
    private readonly socket: WebSocket,
    readonly claims: TokenClaims,
    private readonly options: ConnectionOptions,
  ) {
    this.origin = remoteOrigin(this);
    this.now = options.now ?? Date.now;
    socket.binaryType = 'nodebuffer';
    socket.on('message', (data: Buffer, isBinary: boolean) => this.onFrame(data, isBinary));
    socket.on('close', () => this.teardown());
    socket.on('error', (err: Error & { code?: string }) => {
      // ws refuses a frame past its cap itself (1009) before onFrame sees it: the relay's refusal all the same.
      if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' && !this.gone) {
        this.reportClose(CloseReason.messageTooLarge, `${err.message}: a frame over the socket's cap, RELAY_MAX_MESSAGE_BYTES (${this.options.maxMessageBytes}) + 1 KiB`);
      }
      this.teardown();
    });
    socket.on('pong', () => {
      this.alive = true;
    });
    this.pingTimer = setInterval(() => {
      if (!this.alive) return void this.socket.terminate();
      this.alive = false;
      this.socket.ping();
    }, PING_EVERY_MS);
    this.pingTimer.unref();
    this.armExpiry();
  }

  /**
   * Joins the loaded room: sync step 1, awareness, then the frames queued meanwhile. A device
   * at its cap makes room by closing its own oldest connection (a reloaded till or reopened tab
   * replaces a socket that may be stale), so one device can never hold the whole room.
   */
  attach(room: Room): void {
    if (this.gone) return;
    // The device is its token's terminal. Tokens from before every token named one name no
    // device: separate back-office integrations, which must not close each other's sockets.
    if (this.claims.terminal !== undefined) {
      const ownDevice = [...room.connections].filter((c) => c.claims.terminal === this.claims.terminal);
      const excess = ownDevice.length - this.options.maxConnectionsPerDevice + 1;
      for (const oldest of ownDevice.slice(0, Math.max(0, excess))) oldest.close(CloseReason.superseded);
    }
    if (room.connections.size >= this.options.maxConnectionsPerRoom) {
      this.close(CloseReason.roomFull);
      return;
    }
    this.room = room;
    room.add(this);
    this.send(encodeSyncStep1(room.doc));
    const awareness = room.awarenessSnapshot();
    if (awareness !== null) this.send(awareness);
    const queued = this.queue ?? [];
    this.queue = null;
    for (const frame of queued) if (!this.gone) this.handle(frame);
  }

  send(message: Uint8Array): void {
    if (this.gone || this.socket.readyState !== WebSocket.OPEN) return;
    for (const hook of this.options.hooks) hook.onBytes?.('out', message.byteLength);
    this.socket.send(message, this.afterSend);
  }

  /**
   * Writes a room update, as the websocket frame `frame` (updateFrame: the same bytes for
   * every connection), applied on top of `stateBefore`. A client that reads slower than the
   * room changes (its socket holds more than BACKED_UP_BYTES) is not sent each update: they
   * would pile up in server memory and reach it one by one, ever later. Instead, once its
   * socket drained, it gets everything since the first update held back as one update (Yjs
   * ignores what it already has). Returns whether the frame was written.
   */
  sendUpdate(frame: Buffer, stateBefore: Map<number, number>): boolean {
    if (this.heldSince !== null) return false;
    if (this.backedUp()) {
      this.heldSince = stateBefore;
      return false;
    }
    return this.writeFrame(frame);
  }

  /**
   * Sends a presence change, unless the client reads slower than they come: then they are not
   * queued in server memory, and it gets the room's whole presence once its socket drained.
   */
  sendAwareness(message: Uint8Array): void {
    if (this.presenceHeld) return;
    if (this.backedUp()) {
      this.presenceHeld = true;
      return;
    }
    this.send(message);
  }

  /**
   * A sync step 1 (at the decoder) while the socket is backed up is read here and answered
   * once it drained, in the catch-up, instead of with a copy of the document queued per
   * request: a client that asks again and again and never reads would fill server memory.
   * Returns whether it was; anything else is left unread, for readSyncMessage.
   */
  private deferredStep1(decoder: decoding.Decoder): boolean {
    if (decoding.peekVarUint(decoder) !== syncProtocol.messageYjsSyncStep1 || !this.backedUp()) return false;
    decoding.readVarUint(decoder);
    const has = Y.decodeStateVector(decoding.readVarUint8Array(decoder));
    this.heldSince = this.heldSince === null ? has : lowerClocks(this.heldSince, has);
    this.step2Owed = true;
    return true;
  }

  /** The socket holds more than BACKED_UP_BYTES: true, and the catch-up is armed for its drain. */
  private backedUp(): boolean {
    if (this.socket.bufferedAmount <= BACKED_UP_BYTES) return false;
    const raw = rawSocketOf(this.socket);
    if (raw !== null && this.heldSince === null && !this.presenceHeld) raw.once('drain', this.catchUp);
    return true;
  }

  /**
   * Writes a whole websocket frame straight to the TCP socket: ws writes nothing else between
   * whole frames (no permessage-deflate queue on our server), so it cannot split one of its own.
   */
  private writeFrame(frame: Buffer): boolean {
    if (this.gone || this.socket.readyState !== WebSocket.OPEN) return false;
    const raw = rawSocketOf(this.socket);
    if (raw === null) return false;
    raw.write(frame);
    return true;
  }

  /**
   * Holds this connection's outgoing frames in the TCP socket until uncork(): the room sends
   * a batch of updates in one write per connection instead of one syscall per frame.
   * (ws corks its socket around each frame itself; Node's cork is counted, so ours wraps it.)
   */
  cork(): void {
    rawSocketOf(this.socket)?.cork();
  }

  uncork(): void {
    rawSocketOf(this.socket)?.uncork();
  }

  /** Closes the socket with `reason` (logged and counted; `detail`: what made the server close it). */
  close(reason: CloseReasonInfo, detail?: unknown): void {
    if (this.gone) return;
    this.reportClose(reason, detail);
    this.socket.close(reason.code, reason.reason);
    this.teardown();
  }

  /** Logs and counts a close the server makes (once per connection: callers check `gone`). */
  private reportClose(reason: CloseReasonInfo, detail?: unknown): void {
    const { location, terminal } = this.claims;
    const level = closeLogLevel(reason);
    if (level !== null) {
      this.options.log[level](
        {
          location,
          terminal: terminal ?? null,
          code: reason.code,
          reason: reason.reason,
          retriable: isRetriableCloseCode(reason.code),
          ...(detail === undefined ? {} : { err: String(detail) }),
        },
        'relay connection closed by the server',
      );
    }
    this.options.onClosed?.(reason);
  }

  private onFrame(data: Buffer, isBinary: boolean): void {
    if (this.gone) return;
    for (const hook of this.options.hooks) hook.onBytes?.('in', data.byteLength);
    if (data.byteLength > this.options.maxMessageBytes) {
      return this.close(CloseReason.messageTooLarge, `a message of ${data.byteLength} bytes, over RELAY_MAX_MESSAGE_BYTES (${this.options.maxMessageBytes})`);
    }
    if (!isBinary) return this.close(CloseReason.malformedMessage, 'a text frame');
    // A timer can fire late (sleeping laptop, busy loop): check expiry on every frame too.
    if (this.now() >= this.claims.exp * 1000) return this.close(CloseReason.tokenExpired);
    const frame = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (this.queue === null) return this.handle(frame);
    this.queuedBytes += frame.byteLength;
    if (this.queue.length >= MAX_QUEUED_FRAMES || this.queuedBytes > this.options.maxMessageBytes) {
      return this.close(CloseReason.messageTooLarge, `${this.queue.length + 1} frames, ${this.queuedBytes} bytes sent while its room loaded`);
    }
    this.queue.push(frame);
  }

  private handle(frame: Uint8Array): void {
    const room = this.room;
    if (room === null) return;
    try {
      const decoder = decoding.createDecoder(frame);
      const type = decoding.readVarUint(decoder);
      switch (type) {
        case MessageType.sync: {
          if (this.deferredStep1(decoder)) break;
          const encoder = encoding.createEncoder();
          encoding.writeVarUint(encoder, MessageType.sync);
          // y-protocols swallows update errors unless given a handler: rethrow to close below.
          syncProtocol.readSyncMessage(decoder, encoder, room.doc, this.origin, (err) => {
            throw err;
          });
          // Only the type byte means there is nothing to answer (it was an update or step 2).
          if (encoding.length(encoder) > 1) this.send(encoding.toUint8Array(encoder));
          break;
        }
        case MessageType.awareness: {
          const update = decoding.readVarUint8Array(decoder);
          if (update.byteLength > MAX_AWARENESS_BYTES || !room.applyPresence(this, update)) {
            return this.close(CloseReason.messageTooLarge, `a presence update of ${update.byteLength} bytes or for too many clients`);
          }
          break;
        }
        case MessageType.queryAwareness: {
          // Backed up: the whole presence follows once it drained, once however often it asked.
          const snapshot = room.awarenessSnapshot();
          if (snapshot !== null) this.sendAwareness(snapshot);
          break;
        }
        case MessageType.auth:
          // Authentication happened at the upgrade; y-protocols auth frames carry nothing for us.
          break;
        default:
          // Unknown types from a newer client are ignored, as y-websocket does.
          break;
      }
    } catch (err) {
      this.close(err instanceof RoomHookError ? CloseReason.internalError : CloseReason.malformedMessage, err);
    }
  }

  private armExpiry(): void {
    const left = this.claims.exp * 1000 - this.now();
    if (left <= 0) {
      this.close(CloseReason.tokenExpired);
      return;
    }
    this.expiryTimer = setTimeout(() => {
      if (this.now() >= this.claims.exp * 1000) this.close(CloseReason.tokenExpired);
      else this.armExpiry();
    }, Math.min(left + 5, MAX_TIMER_MS));
    this.expiryTimer.unref();
  }

  private teardown(): void {
    if (this.gone) return;
    this.gone = true;
    clearInterval(this.pingTimer);
    clearTimeout(this.expiryTimer);
    const room = this.room;
    this.room = null;
    this.queue = null;
    room?.remove(this);
    if (this.socket.readyState === WebSocket.OPEN || this.socket.readyState === WebSocket.CONNECTING) {
      this.socket.terminate();
    }
    this.options.onGone(this, room);
  }
}

/** The answer to a sync step 1 that sent `stateVector`: what of `doc` it lacks. */
function encodeSyncStep2(doc: Y.Doc, stateVector: Uint8Array): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, MessageType.sync);
  syncProtocol.writeSyncStep2(e, doc, stateVector);
  return encoding.toUint8Array(e);
}

/** Per client, the lower of two state vectors' clocks (absent: 0): what both are known to have. */
function lowerClocks(a: Map<number, number>, b: Map<number, number>): Map<number, number> {
  const out = new Map<number, number>();
  for (const [client, clock] of a) {
    const other = b.get(client);
    if (other !== undefined) out.set(client, Math.min(clock, other));
  }
  return out;
}

/** ws keeps the TCP socket in `_socket` (public enough: ws's own tests and many servers use it). */
function rawSocketOf(ws: WebSocket): Duplex | null {
  const raw = (ws as unknown as { _socket?: Duplex })._socket;
  return raw && !raw.destroyed ? raw : null;
}
