import { observeLog, readAllEventJson } from '../../shared/log/log-doc';
import type { RelayHook } from './hooks';
import type { Room } from './room';

/**
 * Keeps, per loaded room, the set of event ids its doc holds, so the REST bridge appends an
 * event into the room only when no replica put it there yet. Built once at load, then kept
 * current from each transaction's own changes (observeLog), never by rescanning.
 *
 * Ids removed by compaction stay in the set on purpose: a compacted event was in the room,
 * and re-appending it would undo the compaction.
 */
export interface EventIndex {
  readonly hook: RelayHook;
  holds(room: Room, id: string): boolean;
}

export function createEventIndex(): EventIndex {
  const ids = new WeakMap<Room, Set<string>>();
  const stops = new WeakMap<Room, () => void>();

  return {
    holds(room, id) {
      return ids.get(room)?.has(id) ?? false;
    },
    hook: {
      name: 'event-index',
      onLoad(room) {
        const set = new Set<string>();
        for (const json of readAllEventJson(room.doc)) addId(set, json);
        ids.set(room, set);
        stops.set(
          room,
          observeLog(room.doc, {
            onAdded: (jsons) => {
              for (const json of jsons) addId(set, json);
            },
          }),
        );
      },
      onUnload(room) {
        stops.get(room)?.();
        stops.delete(room);
        ids.delete(room);
      },
    },
  };
}

function addId(set: Set<string>, json: string): void {
  try {
    const parsed: unknown = JSON.parse(json);
    if (parsed !== null && typeof parsed === 'object' && typeof (parsed as { id?: unknown }).id === 'string') {
      set.add((parsed as { id: string }).id);
    }
  } catch {
    // A malformed entry written by a faulty client holds no event; nothing to index.
  }
}
