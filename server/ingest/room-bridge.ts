import { SERVER_WRITER, SegmentWriter, acksOf } from '../../shared/log/log-doc';
import type { EventIndex } from '../relay/event-index-hook';
import { SERVER_ORIGIN } from '../relay/origins';
import type { Room } from '../relay/room';
import type { RoomRegistry } from '../relay/room-registry';
import type { IngestHook } from './ingest-service';
import type { ValidEvent } from '../store/event-store';
import type { Watermarks } from '../../shared/protocol/rest-events';

/**
 * Bridges committed REST batches into the location's room, so connected terminals see
 * them live:
 *  - each accepted event the room does not hold yet is appended once, in the server's own
 *    segments (SERVER_WRITER: no terminal ever writes there), as `JSON.stringify(event)`;
 *  - the watermarks go into `acks`, only ever increasing (a late, smaller value is ignored).
 * Both happen in one transaction tagged with the `server` origin.
 *
 * A terminal's own events (origin = the uploading terminal or one of its tabs) are bridged
 * only after OWN_EVENTS_GRACE_MS, if the room still lacks them then: that terminal's relay
 * normally delivers them first, and bridging at once would leave every such event twice
 * in every doc (its segment and the server's). Anything else — a back-office integration,
 * another terminal's events uploaded on its behalf — is bridged at once.
 */
export const OWN_EVENTS_GRACE_MS = 3_000;

export function roomBridgeHook(rooms: RoomRegistry, index: EventIndex, graceMs = OWN_EVENTS_GRACE_MS): IngestHook {
  const writers = new WeakMap<Room, SegmentWriter>();
  const deferred = new Set<{ timer: ReturnType<typeof setTimeout>; run: () => Promise<void> }>();

  const bridge = async (location: string, events: readonly ValidEvent[], watermarks: Watermarks): Promise<void> => {
    const room = await rooms.acquire(location);
    try {
      const seen = new Set<string>();
      const fresh: string[] = [];
      for (const { event } of events) {
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
  };

  const defer = (location: string, events: readonly ValidEvent[]): void => {
    const entry = {
      timer: setTimeout(() => void entry.run(), graceMs),
      run: async () => {
        if (!deferred.delete(entry)) return;
        clearTimeout(entry.timer);
        await bridge(location, events, {});
      },
    };
    entry.timer.unref?.();
    deferred.add(entry);
  };

  return {
    name: 'room-bridge',
    async afterIngest({ location, accepted, watermarks, uploader }) {
      const own = (e: ValidEvent) => uploader !== null && (e.event.origin.terminal === uploader || e.event.origin.terminal.startsWith(`${uploader}.`));
      const later = graceMs > 0 ? accepted.filter(own) : [];
      await bridge(location, later.length === 0 ? accepted : accepted.filter((e) => !own(e)), watermarks);
      if (later.length > 0) defer(location, later);
    },
    async flush() {
      for (const entry of [...deferred]) await entry.run();
    },
  };
}
