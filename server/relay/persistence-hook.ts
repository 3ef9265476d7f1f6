import * as Y from 'yjs';
import type { RoomStore } from '../store/room-store';
import type { RelayHook } from './hooks';
import { PERSISTENCE_ORIGIN } from './origins';
import type { Room } from './room';

interface Progress {
  /** Sequence number of the newest update stored for the room. */
  lastSeq: number;
  /** Updates appended since the state row was last rewritten. */
  sinceCompact: number;
}

/**
 * Stores every room update as it happens and folds them into one state row from time to time.
 * Loading applies state + updates with the `persistence` origin, which this hook then skips,
 * so loading never re-stores what it read.
 */
export function persistenceHook(store: RoomStore, compactEveryUpdates: number): RelayHook {
  const progress = new Map<string, Progress>();

  const compact = (room: Room): void => {
    const p = progress.get(room.name);
    if (p === undefined || p.sinceCompact === 0) return;
    store.compact(room.name, Y.encodeStateAsUpdate(room.doc), p.lastSeq);
    p.sinceCompact = 0;
  };

  return {
    name: 'persistence',
    async onLoad(room) {
      const snapshot = await store.load(room.name);
      if (snapshot.updates.length > 0) {
        Y.applyUpdate(room.doc, Y.mergeUpdates(snapshot.updates), PERSISTENCE_ORIGIN);
      }
      // More than one stored piece means there is something to fold on the next flush.
      progress.set(room.name, { lastSeq: snapshot.lastSeq, sinceCompact: Math.max(0, snapshot.updates.length - 1) });
    },
    onUpdate(room, update, origin) {
      if (origin?.kind === 'persistence') return;
      const p = progress.get(room.name);
      if (p === undefined) return; // updates during onLoad come from persistence only
      p.lastSeq = store.appendUpdate(room.name, update);
      p.sinceCompact += 1;
      if (p.sinceCompact >= compactEveryUpdates) compact(room);
    },
    onFlush: compact,
    onUnload(room) {
      progress.delete(room.name);
    },
  };
}
