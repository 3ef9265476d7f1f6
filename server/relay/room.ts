import * as awarenessProtocol from 'y-protocols/awareness';
import * as Y from 'yjs';
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

  constructor(
    readonly name: string,
    private readonly hooks: readonly RelayHook[],
  ) {
    // The server itself is not a participant.
    this.awareness.setLocalState(null);
    this.doc.on('update', (update: Uint8Array, origin: unknown) => {
      const typed = asRoomOrigin(origin);
      // Hooks first (persistence appends the update) and only then relay it.
      for (const hook of this.hooks) {
        try {
          hook.onUpdate?.(this, update, typed);
        } catch (err) {
          throw new RoomHookError(hook.name, err);
        }
      }
      const sender = connectionOf(origin);
      if (this.connections.size === 0) return;
      const message = encodeUpdate(update);
      for (const conn of this.connections) if (conn !== sender) conn.send(message);
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

  /** The awareness states of everyone connected, as one message (null when none). */
  awarenessSnapshot(): Uint8Array | null {
    const clients = [...this.awareness.getStates().keys()];
    return clients.length === 0 ? null : encodeAwareness(this.awareness, clients);
  }

  destroy(): void {
    this.awareness.destroy();
    this.doc.destroy();
  }
}
