import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import * as awarenessProtocol from 'y-protocols/awareness';
import * as Y from 'yjs';
import { CloseReason } from '../../shared/protocol/close-reasons';
import type { StoreHealth } from '../store/store-health';
import type { RelayConnection } from './connection';
import type { RelayHook } from './hooks';
import { encodeAwareness, updateFrame } from './messages';
import { asRoomOrigin, connectionOf } from './origins';

/** A hook failed on an update (e.g. the store is unwritable): the server's fault, not the client's. */
export class RoomHookError extends Error {
  override readonly name = 'RoomHookError';
  constructor(
    readonly hook: string,
    override readonly cause: unknown,
  ) {
    super(`relay hook ${hook} failed: ${String(cause)}`);
  }
}

/**
 * Updates applied within this long are stored in one transaction (group commit). One SQLite
 * transaction per event-loop turn was about a fifth of the relay's main-thread time at
 * 10 terminals × 100 updates/s (nearly every update arrives in its own turn); nobody waits
 * for it (frames go out at the end of each turn, and `relayed` marks are published every
 * 150 ms), and until it commits the senders still hold what is unstored (they are not told
 * it is relayed), so a crash loses nothing.
 */
export const COMMIT_WINDOW_MS = 10;

/**
 * A room logs a failed commit at most this often: on a full disk every commit fails, 100 a second
 * at a busy location (rms_store_errors_total counts them all).
 */
export const COMMIT_FAILURE_LOG_EVERY_MS = 10_000;

/** Who hears of a room's commits: the store's health, and the log for a failed one. */
export interface RoomCommitWatch {
  storeHealth: StoreHealth;
  log: { error(obj: object, msg: string): void };
}

/**
 * Presence client ids one connection may speak for over its life: a tab has one (its doc's
 * client id), a reconnect is a new connection. Each is kept in server memory until it goes.
 */
export const MAX_PRESENCE_IDS_PER_CONNECTION = 8;

/**
 * How long the clock of a presence client id is kept once its connection went: clients send
 * back every presence change they receive, and one that comes back late must be seen as old,
 * not make its sender speak for the id (y-protocols' own limit for a silent client).
 */
const RELEASED_PRESENCE_KEPT_MS = awarenessProtocol.outdatedTimeout;

/**
 * One location's shared document, its awareness and its live connections. A room is created
 * empty, filled by the onLoad hooks, and only then handed to connections (see RoomRegistry).
 *
 * An update is relayed to the other connections when the doc applied it (their sockets
 * written at the end of that event-loop turn), and then stored by the hooks' onCommit, once
 * per COMMIT_WINDOW_MS (group commit). Durability is published only after that commit (the event index's
 * `relayed` marks): a crash between the two loses only updates nobody was told are held, and
 * their senders still have them and send them again at their next sync.
 */
export class Room {
  readonly doc = new Y.Doc();
  readonly awareness = new awarenessProtocol.Awareness(this.doc);
  readonly connections = new Set<RelayConnection>();
  /** Presence client ids each connection speaks for (see applyPresence), forgotten when it goes. */
  private readonly controlled = new Map<RelayConnection, Set<number>>();
  /** The connection speaking for each presence client id: the inverse of `controlled`. */
  private readonly controller = new Map<number, RelayConnection>();
  /** When the connection of each presence client id went, oldest first (see RELEASED_PRESENCE_KEPT_MS). */
  private readonly released = new Map<number, number>();
  /** Updates were applied since the last successful commit. */
  private uncommitted = false;
  /** Connections whose updates are not stored yet: closed if storing them fails. */
  private readonly uncommittedSenders = new Set<RelayConnection>();
  private commitScheduled: NodeJS.Timeout | null = null;
  private commitFailureLoggedAt = -Infinity;
  /**
   * This turn's relayed updates (see relayUpdate): none yet, one written at once, or the
   * connections corked for the rest of the turn.
   */
  private turn: 'idle' | 'sent' | RelayConnection[] = 'idle';

  constructor(
    readonly name: string,
    private readonly hooks: readonly RelayHook[],
    private readonly commitWatch: RoomCommitWatch | null = null,
  ) {
    // The server itself is not a participant.
    this.awareness.setLocalState(null);
    this.doc.on('update', (update: Uint8Array, origin: unknown, _doc: Y.Doc, transaction: Y.Transaction) => {
      const typed = asRoomOrigin(origin);
      for (const hook of this.hooks) {
        try {
          hook.onUpdate?.(this, update, typed);
        } catch (err) {
          throw new RoomHookError(hook.name, err);
        }
      }
      const sender = connectionOf(origin);
      if (sender !== null) this.uncommittedSenders.add(sender);
      this.uncommitted = true;
      this.commitScheduled ??= setTimeout(() => this.commit(), COMMIT_WINDOW_MS);
      this.relayUpdate(update, sender, transaction.beforeState);
    });
    this.awareness.on('update', ({ added, updated, removed }: { added: number[]; updated: number[]; removed: number[] }) => {
      const changed = [...added, ...updated, ...removed];
      if (changed.length === 0 || this.connections.size === 0) return;
      const message = encodeAwareness(this.awareness, changed);
      for (const c of this.connections) c.sendAwareness(message);
    });
  }

  /**
   * Sends `update` to every connection but its sender, as one websocket frame built once
   * (updateFrame). The first update of an event-loop turn is written at once: at light load
   * every update arrives in a turn of its own and waits for nothing. Later updates of the
   * same turn are held in the corked sockets and go out in one write per connection at the
   * end of the turn (or at a commit). With one syscall per frame and connection instead, 100
   * terminals in a room cost 99 writes per update, and on a busy machine the relay fell
   * seconds behind.
   */
  private relayUpdate(update: Uint8Array, sender: RelayConnection | null, stateBefore: Map<number, number>): void {
    if (this.connections.size <= (sender !== null && this.connections.has(sender) ? 1 : 0)) return;
    if (this.turn === 'idle') {
      this.turn = 'sent';
      // At the end of the turn; a no-op if a commit uncorked them first.
      setImmediate(() => this.uncorkAll());
    } else if (this.turn === 'sent') {
      this.turn = [...this.connections];
      for (const conn of this.turn) conn.cork();
    }
    const frame = updateFrame(update);
    let sent = 0;
    for (const conn of this.connections) if (conn !== sender && conn.sendUpdate(frame, stateBefore)) sent += 1;
    for (const hook of this.hooks) hook.onBytes?.('out', frame.byteLength * sent);
  }

  /** Sends what this turn held back. */
  private uncorkAll(): void {
    const corked = Array.isArray(this.turn) ? this.turn : [];
    this.turn = 'idle';
    for (const conn of corked) conn.uncork();
  }

  add(conn: RelayConnection): void {
    this.connections.add(conn);
    this.controlled.set(conn, new Set());
    for (const hook of this.hooks) hook.onConnectionsChanged?.(this);
  }

  remove(conn: RelayConnection): void {
    if (!this.connections.delete(conn)) return;
    const ids = [...(this.controlled.get(conn) ?? [])];
    this.controlled.delete(conn);
    awarenessProtocol.removeAwarenessStates(this.awareness, ids, null);
    const now = Date.now();
    for (const id of ids) {
      this.controller.delete(id);
      this.released.set(id, now);
    }
    this.forgetReleased(now);
    for (const hook of this.hooks) hook.onConnectionsChanged?.(this);
  }

  /** Drops the clocks of presence client ids released RELEASED_PRESENCE_KEPT_MS ago. */
  private forgetReleased(now: number): void {
    for (const [id, at] of this.released) {
      if (now - at < RELEASED_PRESENCE_KEPT_MS) return;
      this.released.delete(id);
      this.awareness.meta.delete(id);
    }
  }

  /**
   * Applies the presence (awareness) update `update` from `conn`, only its entries for client
   * ids it speaks for: ids no one else does, from its first entry that sets a newer state
   * for one on (or ids another connection of the same device speaks for: a reconnect while the
   * old socket still looks alive). y-websocket clients send back every presence change they
   * receive, so entries for ids another device (or the server) speaks for, removals of ids no one does and
   * states no newer than the server's are dropped, not refused; y-protocols would keep a clock
   * for each new id named, forever. Returns false, applying nothing, when `conn` would speak
   * for more than MAX_PRESENCE_IDS_PER_CONNECTION ids.
   */
  applyPresence(conn: RelayConnection, update: Uint8Array): boolean {
    const own = this.controlled.get(conn);
    if (own === undefined) return true;
    this.forgetReleased(Date.now());
    const decoder = decoding.createDecoder(update);
    const kept: { clientId: number; clock: number; state: string }[] = [];
    const claimed = new Set<number>();
    for (let n = decoding.readVarUint(decoder); n > 0; n--) {
      const clientId = decoding.readVarUint(decoder);
      const clock = decoding.readVarUint(decoder);
      const state = decoding.readVarString(decoder);
      const controller = this.controller.get(clientId);
      if (controller === conn) {
        kept.push({ clientId, clock, state });
      } else if ((controller === undefined || sameDevice(controller, conn)) && this.isNewPresence(clientId, clock, state)) {
        claimed.add(clientId);
        kept.push({ clientId, clock, state });
      }
    }
    if (own.size + claimed.size > MAX_PRESENCE_IDS_PER_CONNECTION) return false;
    for (const id of claimed) {
      // The same device reconnected while its old socket is not known dead yet (up to a minute
      // of pings): its newer presence is its own, not an impostor's.
      const previous = this.controller.get(id);
      if (previous !== undefined) this.controlled.get(previous)?.delete(id);
      own.add(id);
      this.controller.set(id, conn);
      this.released.delete(id);
    }
    if (kept.length === 0) return true;
    const encoder = encoding.createEncoder();
    encoding.writeVarUint(encoder, kept.length);
    for (const { clientId, clock, state } of kept) {
      encoding.writeVarUint(encoder, clientId);
      encoding.writeVarUint(encoder, clock);
      encoding.writeVarString(encoder, state);
    }
    awarenessProtocol.applyAwarenessUpdate(this.awareness, encoding.toUint8Array(encoder), conn);
    return true;
  }

  /** Whether an entry sets a newer state for an id (not the server's own) than the server has. */
  private isNewPresence(clientId: number, clock: number, state: string): boolean {
    return clientId !== this.awareness.clientID && clock > (this.awareness.meta.get(clientId)?.clock ?? 0) && JSON.parse(state) !== null;
  }

  /**
   * Sends what is still corked, then stores the updates applied since the last commit
   * (hooks' onCommit, in order: persistence first, so the event index publishes only what is
   * stored). If storing fails, the senders of those updates are closed with internalError (the
   * server's fault; clients keep their edits and send them again when they resync) and the
   * next commit retries.
   */
  commit(): void {
    if (this.commitScheduled !== null) clearTimeout(this.commitScheduled);
    this.commitScheduled = null;
    this.uncorkAll();
    if (!this.uncommitted) return;
    for (const hook of this.hooks) {
      try {
        hook.onCommit?.(this);
      } catch (err) {
        this.commitFailed(hook.name, err);
        for (const sender of this.uncommittedSenders) sender.close(CloseReason.internalError);
        this.uncommittedSenders.clear();
        return;
      }
    }
    this.uncommitted = false;
    this.uncommittedSenders.clear();
    this.commitWatch?.storeHealth.succeeded('room_commit');
  }

  private commitFailed(hook: string, err: unknown): void {
    if (this.commitWatch === null) return;
    this.commitWatch.storeHealth.failed('room_commit', err);
    const now = Date.now();
    if (now - this.commitFailureLoggedAt < COMMIT_FAILURE_LOG_EVERY_MS) return;
    this.commitFailureLoggedAt = now;
    this.commitWatch.log.error({ location: this.name, hook, err: String(err) }, 'room commit failed (its senders are closed and send again)');
  }

  /** The awareness states of everyone connected, as one message (null when none). */
  awarenessSnapshot(): Uint8Array | null {
    const clients = [...this.awareness.getStates().keys()];
    return clients.length === 0 ? null : encodeAwareness(this.awareness, clients);
  }

  /**
   * The presence of every client id the server keeps a clock for, as one message (null when
   * none): everyone connected, and the removals of those who left within
   * RELEASED_PRESENCE_KEPT_MS (or cleared their state), for a connection that was sent no
   * presence change for a while. A removal is no state, so the snapshot alone would leave
   * those who left in its presence until y-protocols' timeout.
   */
  presenceCatchUp(): Uint8Array | null {
    const clients = [...this.awareness.meta.keys()].filter((id) => id !== this.awareness.clientID);
    return clients.length === 0 ? null : encodeAwareness(this.awareness, clients);
  }

  destroy(): void {
    if (this.commitScheduled !== null) clearTimeout(this.commitScheduled);
    this.commitScheduled = null;
    this.uncorkAll();
    this.awareness.destroy();
    this.doc.destroy();
  }
}

/** Whether two connections are one device's (the terminal its token names). */
function sameDevice(a: RelayConnection, b: RelayConnection): boolean {
  return a.claims.terminal !== undefined && a.claims.terminal === b.claims.terminal;
}
