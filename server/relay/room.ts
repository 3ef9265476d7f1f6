import * as awarenessProtocol from 'y-protocols/awareness';
import * as Y from 'yjs';
import { CloseReason } from '../../shared/protocol/close-reasons';
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
  /** Awareness client ids each connection controls, removed when it goes. */
  private readonly controlled = new Map<RelayConnection, Set<number>>();
  /** Updates were applied since the last successful commit. */
  private uncommitted = false;
  /** Connections whose updates are not stored yet: closed if storing them fails. */
  private readonly uncommittedSenders = new Set<RelayConnection>();
  private commitScheduled: NodeJS.Timeout | null = null;
  /**
   * This turn's relayed updates (see relayUpdate): none yet, one written at once, or the
   * connections corked for the rest of the turn.
   */
  private turn: 'idle' | 'sent' | RelayConnection[] = 'idle';

  constructor(
    readonly name: string,
    private readonly hooks: readonly RelayHook[],
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
    this.awareness.on(
      'update',
      ({ added, updated, removed }: { added: number[]; updated: number[]; removed: number[] }, origin: unknown) => {
        const conn = this.connections.has(origin as RelayConnection) ? (origin as RelayConnection) : null;
        if (conn !== null) {
          const ids = this.controlled.get(conn);
          if (ids !== undefined) {
            for (const id of added) ids.add(id);
            for (const id of removed) ids.delete(id);
          }
        }
        const changed = [...added, ...updated, ...removed];
        if (changed.length === 0 || this.connections.size === 0) return;
        const message = encodeAwareness(this.awareness, changed);
        for (const c of this.connections) c.sendAwareness(message);
      },
    );
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
    const ids = this.controlled.get(conn);
    this.controlled.delete(conn);
    if (ids !== undefined && ids.size > 0) awarenessProtocol.removeAwarenessStates(this.awareness, [...ids], null);
    for (const hook of this.hooks) hook.onConnectionsChanged?.(this);
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
      } catch {
        for (const sender of this.uncommittedSenders) sender.close(CloseReason.internalError);
        this.uncommittedSenders.clear();
        return;
      }
    }
    this.uncommitted = false;
    this.uncommittedSenders.clear();
  }

  /** The awareness states of everyone connected, as one message (null when none). */
  awarenessSnapshot(): Uint8Array | null {
    const clients = [...this.awareness.getStates().keys()];
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
