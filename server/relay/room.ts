import * as awarenessProtocol from 'y-protocols/awareness';
import * as Y from 'yjs';
import { CloseReason } from '../../shared/protocol/close-reasons';
import type { RelayConnection } from './connection';
import type { RelayHook } from './hooks';
import { encodeAwareness, encodeUpdate } from './messages';
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
 * One location's shared document, its awareness and its live connections. A room is created
 * empty, filled by the onLoad hooks, and only then handed to connections (see RoomRegistry).
 */
export class Room {
  readonly doc = new Y.Doc();
  readonly awareness = new awarenessProtocol.Awareness(this.doc);
  readonly connections = new Set<RelayConnection>();
  /** Awareness client ids each connection controls, removed when it goes. */
  private readonly controlled = new Map<RelayConnection, Set<number>>();
  /**
   * Messages held until the updates before them are stored (group commit): an update is
   * relayed to everyone but its sender (`to` null), a reply goes to one connection.
   */
  private outbox: Array<{ message: Uint8Array; raw: boolean; sender: RelayConnection | null; to: RelayConnection | null }> = [];
  private commitScheduled: NodeJS.Immediate | null = null;

  constructor(
    readonly name: string,
    private readonly hooks: readonly RelayHook[],
  ) {
    // The server itself is not a participant.
    this.awareness.setLocalState(null);
    this.doc.on('update', (update: Uint8Array, origin: unknown) => {
      const typed = asRoomOrigin(origin);
      // Hooks first (persistence buffers the update), then it waits for the commit: every
      // update of this event-loop turn is stored in one transaction, and only then relayed.
      for (const hook of this.hooks) {
        try {
          hook.onUpdate?.(this, update, typed);
        } catch (err) {
          throw new RoomHookError(hook.name, err);
        }
      }
      // Kept raw: framed at commit, and only if someone else is connected to receive it (a
      // REST-bridged batch into a room nobody is in was framed, a full copy, for no one).
      this.outbox.push({ message: update, raw: true, sender: connectionOf(origin), to: null });
      this.commitScheduled ??= setImmediate(() => this.commit());
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
        for (const c of this.connections) c.send(message);
      },
    );
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
   * Sends `message` to `conn` once every update applied before it is stored (a sync reply
   * carries the doc's state, which must not include anything a crash could still lose).
   */
  reply(conn: RelayConnection, message: Uint8Array): void {
    if (this.outbox.length === 0) conn.send(message);
    else this.outbox.push({ message, raw: false, sender: null, to: conn });
  }

  /**
   * Stores what is pending (hooks' onCommit) and then sends the held messages, in order.
   * If storing fails, nothing held is relayed and the senders of those updates are closed
   * with internalError (the server's fault; clients keep their edits and resync later).
   */
  commit(): void {
    if (this.commitScheduled !== null) clearImmediate(this.commitScheduled);
    this.commitScheduled = null;
    if (this.outbox.length === 0) return;
    const held = this.outbox;
    this.outbox = [];
    for (const hook of this.hooks) {
      try {
        hook.onCommit?.(this);
      } catch {
        for (const { sender } of held) sender?.close(CloseReason.internalError);
        return;
      }
    }
    const single = held.length === 1;
    if (!single) for (const conn of this.connections) conn.cork();
    try {
      for (const { message, raw, sender, to } of held) {
        if (to !== null) to.send(message);
        else if (this.connections.size > (sender !== null && this.connections.has(sender) ? 1 : 0)) {
          const framed = raw ? encodeUpdate(message) : message;
          for (const conn of this.connections) if (conn !== sender) conn.send(framed);
        }
      }
    } finally {
      if (!single) for (const conn of this.connections) conn.uncork();
    }
  }

  /** The awareness states of everyone connected, as one message (null when none). */
  awarenessSnapshot(): Uint8Array | null {
    const clients = [...this.awareness.getStates().keys()];
    return clients.length === 0 ? null : encodeAwareness(this.awareness, clients);
  }

  destroy(): void {
    if (this.commitScheduled !== null) clearImmediate(this.commitScheduled);
    this.commitScheduled = null;
    this.awareness.destroy();
    this.doc.destroy();
  }
}
