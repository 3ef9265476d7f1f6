import { observeLog } from '../../shared/log/log-doc';
import type { RelayHook } from '../relay/hooks';
import { asRoomOrigin } from '../relay/origins';
import type { Room } from '../relay/room';
import type { IngestLog, IngestResult, IngestService, UploadBatch, Uploader } from './ingest-service';

/**
 * The relay as a way into the canonical store. Events a terminal's update brings into its
 * location's room are ingested as if that terminal had posted them (the same checks and
 * idempotency, its token as the uploader), right after the update was relayed (the next
 * turn of the event loop), not at the room's group commit: the back office has a sale as
 * soon as the other terminals do. Under load, what arrives within RELAY_INGEST_WINDOW_MS
 * of the last batch waits for the window's end and goes as one batch: one transaction per
 * window for every connection's events, not one per update or per terminal. A crash before that commit loses the update from the room
 * only; its sender and the terminals it was relayed to still hold it and sync it back.
 * The watermarks reach every terminal through `acks` (the room bridge): a sale is
 * acknowledged a few milliseconds after it was relayed, with no HTTP request of its own.
 *
 * The outbox stays the guarantee. What this does not store (rejected here: the writer's
 * upload gets the reason and quarantines it; a crash first), terminals still upload; an
 * event that arrives both ways is stored once. A graceful shutdown stores everything the
 * relay brought first (see close()): the rooms store it too, and nothing ingests a room's
 * stored updates again, so a relay-only terminal (SYN5) would never deliver it.
 *
 * Only updates from connections count: the server's own writes (REST bridging, restores)
 * hold events that are canonical already, and a room's load holds what was relayed before.
 */
export const RELAY_INGEST_BATCH = 500;
export const RELAY_INGEST_WINDOW_MS = 10;

export interface RelayIngest {
  readonly hook: RelayHook;
  /**
   * Graceful shutdown, once no connection is left: stores every window still pending or
   * being stored (all of it, not just the chunk in progress), then stops taking events.
   */
  close(): Promise<void>;
}

export interface RelayIngestOptions {
  log: IngestLog;
  /** After each batch stored (metrics). */
  onIngested?(location: string, result: IngestResult): void;
}

/** What one connection's updates added since the last batch. */
interface Pending {
  uploader: Uploader;
  jsons: string[];
}

class RoomIngest {
  /** Per connection (its token's role and terminal), in arrival order. */
  pending = new Map<string, Pending>();
  scheduled: { cancel(): void } | null = null;
  /** When the last batch was taken (performance.now()). */
  drainedAt = -Infinity;
  /** This room's batches are stored one after the other, in the order they arrived. */
  writing: Promise<void> = Promise.resolve();
  stop: () => void = () => {};
}

export function relayIngestHook(ingest: Pick<IngestService, 'ingestEach'>, options: RelayIngestOptions): RelayIngest {
  /** Loaded rooms (close() drains each), forgotten at unload. */
  const rooms = new Map<Room, RoomIngest>();
  const writes = new Set<Promise<void>>();
  let closed = false;

  /** Stores one window's events, every connection's in one transaction (RELAY_INGEST_BATCH events at most each). */
  const store = async (room: Room, window: readonly Pending[]): Promise<void> => {
    const chunks: UploadBatch[][] = [[]];
    let size = 0;
    for (const { uploader, jsons } of window) {
      let raws: unknown[] | null = null;
      for (const json of jsons) {
        let raw: unknown;
        try {
          raw = JSON.parse(json);
        } catch {
          continue; // Not an event: the log readers skip it, and so does the canonical store.
        }
        if (size === RELAY_INGEST_BATCH) {
          chunks.push([]);
          size = 0;
          raws = null;
        }
        if (raws === null) chunks.at(-1)!.push({ raws: (raws = []), uploader });
        raws.push(raw);
        size += 1;
      }
    }
    for (const [i, chunk] of chunks.entries()) {
      // A terminal back from a long outage brings thousands: let frames and requests through between chunks.
      if (i > 0) await new Promise((resolve) => setImmediate(resolve));
      if (closed || chunk.length === 0) return;
      try {
        const results = await ingest.ingestEach(room.name, chunk);
        for (const result of results) options.onIngested?.(room.name, result);
      } catch (err) {
        // The events stay in the room and in their terminals' outboxes: uploaded later.
        const terminals = chunk.map((b) => b.uploader?.terminal ?? null);
        options.log.error({ location: room.name, terminals, err: String(err) }, 'relay ingest failed');
        return;
      }
    }
  };

  const drain = (room: Room): void => {
    const state = rooms.get(room);
    if (state === undefined) return;
    state.scheduled?.cancel();
    state.scheduled = null;
    state.drainedAt = performance.now();
    if (state.pending.size === 0 || closed) return;
    const batches = [...state.pending.values()];
    state.pending = new Map();
    const write = state.writing.then(() => store(room, batches));
    state.writing = write;
    writes.add(write);
    void write.finally(() => writes.delete(write));
  };

  return {
    hook: {
      name: 'relay-ingest',
      onLoad(room) {
        const state = new RoomIngest();
        rooms.set(room, state);
        state.stop = observeLog(room.doc, {
          onAdded(jsons, origin) {
            const typed = asRoomOrigin(origin);
            if (typed?.kind !== 'remote' || closed) return;
            const { role, terminal } = typed.connection.claims;
            const key = `${role}:${terminal ?? ''}`;
            let pending = state.pending.get(key);
            if (pending === undefined) {
              pending = { uploader: { role, terminal: terminal ?? null }, jsons: [] };
              state.pending.set(key, pending);
            }
            pending.jsons.push(...jsons);
            state.scheduled ??= schedule(() => drain(room), state.drainedAt + RELAY_INGEST_WINDOW_MS - performance.now());
          },
        });
      },
      onFlush: drain,
      onUnload(room) {
        const state = rooms.get(room);
        state?.scheduled?.cancel();
        state?.stop();
        rooms.delete(room);
      },
    },
    async close() {
      // Not `closed` first: that dropped the windows still pending and the rest of a backlog
      // being stored in chunks, while the rooms' unload then stored those events in the room,
      // where nothing ingests them again (a relay-only till's sales never reached the back
      // office). The connections are gone by now, so the windows only shrink.
      for (const room of rooms.keys()) drain(room);
      while (writes.size > 0) await Promise.allSettled([...writes]);
      closed = true;
    },
  };
}

/** At the next turn of the event loop, or after `delayMs` if that is later. */
function schedule(run: () => void, delayMs: number): { cancel(): void } {
  if (delayMs <= 0) {
    const immediate = setImmediate(run);
    return { cancel: () => clearImmediate(immediate) };
  }
  const timer = setTimeout(run, delayMs);
  return { cancel: () => clearTimeout(timer) };
}
