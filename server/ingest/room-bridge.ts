import { ackRangesOf, acksOf, publishRanges } from '../../shared/log/log-doc';
import type { StoredAbove } from '../../shared/protocol/rest-events';
import type { EventIndex } from '../relay/event-index-hook';
import { SERVER_ORIGIN } from '../relay/origins';
import { serverSegmentsOf } from '../relay/server-segments';
import type { RoomRegistry } from '../relay/room-registry';
import { isWriterOf, type EventEnvelope } from '../../shared/events/envelope';
import type { IngestHook, IngestLog } from './ingest-service';

/**
 * Bridges committed REST batches into the location's room, so connected terminals see
 * them live:
 *  - each accepted event the room does not hold yet is appended once, in the server's own
 *    segments (SERVER_WRITER: no terminal ever writes there), as `JSON.stringify(event)`;
 *  - the watermarks go into `acks`, only ever increasing (a late, smaller value is ignored),
 *    and what is stored above them into `ackRanges`, as the last batch's answer says (a
 *    writer it names none for loses its key: its mark rose through them);
 * Both happen in one transaction tagged with the `server` origin.
 *
 * A terminal's own events (origin = the uploading terminal or one of its tabs) are bridged
 * only after OWN_EVENTS_GRACE_MS, if the room still lacks them then: that terminal's relay
 * normally delivers them first, and bridging at once would leave every such event twice
 * in every doc (its segment and the server's). Anything else — a back-office integration,
 * another terminal's events uploaded on its behalf — is bridged at once.
 *
 * The room is written after the response, not on the request path, and a location's work
 * is gathered into one transaction per write: events to bridge at once are written at the
 * next turn of the event loop, watermarks at most BRIDGE_EVERY_MS later, and own events
 * whose grace ended at most BRIDGE_EVERY_MS after it ended. Per batch, a transaction (and
 * its room update, stored and later merged by the persistence hook) cost about as much as
 * the SQLite insert of the batch; per write of many batches it is paid once. The canonical
 * store is the truth either way: a crash before a write loses nothing the server answered.
 */
export const OWN_EVENTS_GRACE_MS = 3_000;
export const BRIDGE_EVERY_MS = 100;

export interface RoomBridgeOptions {
  graceMs?: number;
  everyMs?: number;
  now?: () => number;
}

/**
 * What is waiting to be written into one location's room: the events only (their canonical
 * JSON, which the room does not use, is not kept alive through the grace).
 */
class PendingRoom {
  /** Events to write at the next write. */
  readonly ready: EventEnvelope[] = [];
  /** Own events in their grace, oldest first (one grace for all: due times only increase). */
  readonly waiting: Array<{ due: number; events: readonly EventEnvelope[] }> = [];
  /** Highest watermark per terminal not written into `acks` yet. */
  readonly acks = new Map<string, number>();
  /** The last batch's `storedAbove`, not written into `ackRanges` yet. */
  ranges: StoredAbove | null = null;
  timer: ReturnType<typeof setTimeout> | null = null;
  timerAt = Infinity;
  /** Writes of one location run one after the other (a write may wait for the room to load). */
  writing: Promise<void> = Promise.resolve();
}

export function roomBridgeHook(rooms: RoomRegistry, index: EventIndex, log: IngestLog, options: RoomBridgeOptions = {}): IngestHook {
  const graceMs = options.graceMs ?? OWN_EVENTS_GRACE_MS;
  const everyMs = options.everyMs ?? BRIDGE_EVERY_MS;
  const now = options.now ?? Date.now;
  const pending = new Map<string, PendingRoom>();

  const schedule = (location: string, p: PendingRoom, at: number): void => {
    if (p.timer !== null && p.timerAt <= at) return;
    if (p.timer !== null) clearTimeout(p.timer);
    p.timerAt = at;
    p.timer = setTimeout(() => {
      p.timer = null;
      p.timerAt = Infinity;
      void enqueueWrite(location, p, false);
    }, Math.max(0, at - now()));
    p.timer.unref?.();
  };

  const enqueueWrite = (location: string, p: PendingRoom, everything: boolean): Promise<void> => {
    p.writing = p.writing.then(() =>
      write(location, p, everything).catch((err: unknown) => {
        // The batches are committed: the canonical store is the truth, the room catches up
        // when their terminals' relays deliver them.
        log.error({ location, err: String(err) }, 'room bridge write failed');
      }),
    );
    return p.writing;
  };

  /** Writes what is ready (and every waiting event when `everything`, at shutdown) in one transaction. */
  const write = async (location: string, p: PendingRoom, everything: boolean): Promise<void> => {
    const clock = now();
    const events = p.ready.splice(0);
    let due = 0;
    while (due < p.waiting.length && (everything || p.waiting[due]!.due <= clock)) due += 1;
    for (const { events: own } of p.waiting.splice(0, due)) events.push(...own);
    const acks = [...p.acks];
    p.acks.clear();
    const ranges = p.ranges;
    p.ranges = null;
    if (p.waiting.length > 0) schedule(location, p, p.waiting[0]!.due + everyMs);
    if (events.length === 0 && acks.length === 0 && ranges === null) return;

    const room = await rooms.acquire(location);
    try {
      const seen = new Set<string>();
      const fresh: string[] = [];
      for (const event of events) {
        if (index.holds(room, event.id) || seen.has(event.id)) continue;
        seen.add(event.id);
        // The envelope's own key order (id first, as terminals write it), not the canonical
        // sorted one: readers parse JSON either way, and the relay's index reads the id and
        // origin of this layout without a full parse (shared/log/event-head.ts).
        fresh.push(JSON.stringify(event));
      }
      room.doc.transact(() => {
        if (fresh.length > 0) serverSegmentsOf(room).append(fresh);
        const published = acksOf(room.doc);
        for (const [terminal, n] of acks) {
          if ((published.get(terminal) ?? 0) < n) published.set(terminal, n);
        }
        if (ranges !== null) publishRanges(ackRangesOf(room.doc), ranges);
      }, SERVER_ORIGIN);
    } finally {
      rooms.release(room);
    }
  };

  return {
    name: 'room-bridge',
    afterIngest({ location, accepted, watermarks, storedAbove, uploader }) {
      let p = pending.get(location);
      if (p === undefined) pending.set(location, (p = new PendingRoom()));
      const own = (e: EventEnvelope) => uploader !== null && isWriterOf(e.origin.terminal, uploader);
      const events = accepted.map((a) => a.event);
      const later = graceMs > 0 ? events.filter(own) : [];
      const atOnce = later.length === 0 ? events : events.filter((e) => !own(e));
      p.ready.push(...atOnce);
      // Every write re-asserts the location's watermarks (a replica that lowered an ack is corrected).
      for (const [terminal, n] of Object.entries(watermarks)) {
        if ((p.acks.get(terminal) ?? 0) < n) p.acks.set(terminal, n);
      }
      p.ranges = storedAbove;
      const clock = now();
      if (later.length > 0) {
        p.waiting.push({ due: clock + graceMs, events: later });
        schedule(location, p, p.waiting[0]!.due + everyMs);
      }
      if (atOnce.length > 0) schedule(location, p, clock);
      else schedule(location, p, clock + everyMs);
    },
    async flush() {
      for (const [location, p] of [...pending]) {
        if (p.timer !== null) clearTimeout(p.timer);
        p.timer = null;
        await enqueueWrite(location, p, true);
      }
    },
  };
}
