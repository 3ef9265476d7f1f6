import { SERVER_WRITER, SegmentWriter, acksOf } from '../../shared/log/log-doc';
import type { EventIndex } from '../relay/event-index-hook';
import { SERVER_ORIGIN } from '../relay/origins';
import type { Room } from '../relay/room';
import type { RoomRegistry } from '../relay/room-registry';
import type { IngestHook } from './ingest-service';

/**
 * Bridges committed REST batches into the location's room, so connected terminals see
 * them live:
 *  - each accepted event the room does not hold yet is appended once, in the server's own
 *    segments (SERVER_WRITER: no terminal ever writes there), as `JSON.stringify(event)`;
 *  - the watermarks go into `acks`, only ever increasing (a late, smaller value is ignored).
 * Both happen in one transaction tagged with the `server` origin.
 */
export function roomBridgeHook(rooms: RoomRegistry, index: EventIndex): IngestHook {
  const writers = new WeakMap<Room, SegmentWriter>();
  return {
    name: 'room-bridge',
    async afterIngest({ location, accepted, watermarks }) {
      const room = await rooms.acquire(location);
      try {
        const seen = new Set<string>();
        const fresh: string[] = [];
        for (const { event } of accepted) {
          if (index.holds(room, event.id) || seen.has(event.id)) continue;
          seen.add(event.id);
          // The envelope's own key order (id first, as terminals write it), not the canonical
          // sorted one: readers parse JSON either way, and the relay's index reads the id and
          // origin of this layout without a full parse (shared/log/event-head.ts).
          fresh.push(JSON.stringify(event));
        }
        room.doc.transact(() => {
          if (fresh.length > 0) {
            let writer = writers.get(room);
            if (writer === undefined) {
              writer = new SegmentWriter(room.doc, SERVER_WRITER);
              writers.set(room, writer);
            }
            writer.append(fresh);
          }
          const acks = acksOf(room.doc);
          for (const [terminal, n] of Object.entries(watermarks)) {
            if ((acks.get(terminal) ?? 0) < n) acks.set(terminal, n);
          }
        }, SERVER_ORIGIN);
      } finally {
        rooms.release(room);
      }
    },
  };
}
