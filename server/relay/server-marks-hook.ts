import type * as Y from 'yjs';
import { acksOf, relayedOf } from '../../shared/log/log-doc';
import type { RelayHook } from './hooks';
import { SERVER_ORIGIN, asRoomOrigin } from './origins';
import type { Room } from './room';

/**
 * `acks` and `relayed` are the server's word: terminals stop uploading what `acks` covers.
 * Any terminal's update can carry other values there: forged ones (a till marking another
 * till's unsent sales as acknowledged), or an old server's, when the data directory was
 * replaced or restored from a backup and the terminals bring their docs back. So after every
 * transaction from a connection that changed them, and once when the room loads, the server
 * writes its truth over each changed key: the canonical store's watermarks into `acks`, the
 * event index's marks into `relayed`, deleting keys it has no mark for. Terminals then see
 * the lower marks and upload again what the canonical store lacks.
 */
export interface ServerMarksSources {
  /** The canonical store's watermarks of a location. */
  acknowledged(location: string): Promise<Readonly<Record<string, number>>>;
  /** What the room holds, stored (the event index). */
  relayed(room: Room): ReadonlyMap<string, number>;
  onError(err: unknown): void;
}

export function serverMarksHook(sources: ServerMarksSources): RelayHook {
  const stops = new WeakMap<Room, () => void>();

  const correctAcks = async (room: Room, keys: Iterable<string> | null): Promise<void> => {
    const truth = await sources.acknowledged(room.name);
    if (room.doc.isDestroyed) return;
    overwrite(room, acksOf(room.doc), keys, (terminal) => truth[terminal]);
  };
  const correctRelayed = (room: Room, keys: Iterable<string> | null): void => {
    const truth = sources.relayed(room);
    overwrite(room, relayedOf(room.doc), keys, (terminal) => truth.get(terminal));
  };

  return {
    name: 'server-marks',
    async onLoad(room) {
      await correctAcks(room, null);
      correctRelayed(room, null);
      const watch = (map: Y.Map<number>, correct: (keys: Iterable<string>) => void) => {
        const observer = (event: Y.YMapEvent<number>, tr: Y.Transaction) => {
          if (asRoomOrigin(tr.origin)?.kind !== 'remote') return;
          correct([...event.keysChanged]);
        };
        map.observe(observer);
        return () => map.unobserve(observer);
      };
      const stopAcks = watch(acksOf(room.doc), (keys) => void correctAcks(room, keys).catch(sources.onError));
      const stopRelayed = watch(relayedOf(room.doc), (keys) => correctRelayed(room, keys));
      stops.set(room, () => {
        stopAcks();
        stopRelayed();
      });
    },
    onUnload(room) {
      stops.get(room)?.();
      stops.delete(room);
    },
  };
}

/** Sets each key (every key when null) to the server's value, or deletes it; one transaction, only if something differs. */
function overwrite(room: Room, map: Y.Map<number>, keys: Iterable<string> | null, truthOf: (key: string) => number | undefined): void {
  const wrong: string[] = [];
  for (const key of keys ?? map.keys()) if (map.get(key) !== truthOf(key)) wrong.push(key);
  if (wrong.length === 0) return;
  room.doc.transact(() => {
    for (const key of wrong) {
      const truth = truthOf(key);
      if (truth === undefined) map.delete(key);
      else map.set(key, truth);
    }
  }, SERVER_ORIGIN);
}
