import { assertNever } from '../../shared/assert-never';
import type { RelayConnection } from './connection';

/**
 * Typed origins of every transaction on a room's Y.Doc. Hooks branch on them: persistence
 * does not re-store what it just loaded, and the relay does not echo an update back to the
 * connection that sent it.
 */
export type RoomOrigin =
  | { readonly kind: 'persistence' }
  | { readonly kind: 'remote'; readonly connection: RelayConnection }
  | { readonly kind: 'server' };

export const PERSISTENCE_ORIGIN: RoomOrigin = Object.freeze({ kind: 'persistence' });
export const SERVER_ORIGIN: RoomOrigin = Object.freeze({ kind: 'server' });

export function remoteOrigin(connection: RelayConnection): RoomOrigin {
  return Object.freeze({ kind: 'remote', connection });
}

/** Narrows a transaction origin to ours; anything else (null, foreign objects) → null. */
export function asRoomOrigin(origin: unknown): RoomOrigin | null {
  if (origin === null || typeof origin !== 'object' || !('kind' in origin)) return null;
  const kind = (origin as { kind: unknown }).kind;
  return kind === 'persistence' || kind === 'remote' || kind === 'server' ? (origin as RoomOrigin) : null;
}

/** The connection whose update this was, if any (to skip echoing it back). */
export function connectionOf(origin: unknown): RelayConnection | null {
  const o = asRoomOrigin(origin);
  if (o === null) return null;
  switch (o.kind) {
    case 'remote':
      return o.connection;
    case 'persistence':
    case 'server':
      return null;
    default:
      return assertNever(o, 'origin');
  }
}
