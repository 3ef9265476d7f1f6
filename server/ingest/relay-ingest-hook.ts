import { SERVER_WRITER } from '../../shared/events/envelope';
import { eventHeadOf, parseEntry } from '../../shared/log/event-head';
import { observeLog, readAllEventJson } from '../../shared/log/log-doc';
import { acknowledges, type Acknowledgements } from '../../shared/log/acknowledgements';
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
 * relay brought first (see close()). What a room holds and the canonical log does not (a
 * kill between the room's commit and this one, an ingest that failed, events relayed while
 * RELAY_INGEST was off) is caught up: when the room loads, and at the room's next flush
 * after a failed batch. Without that, events of a till that reaches only the relay (SYN5)
 * waited for another terminal's upload on its behalf, or forever if none could post.
 *
 * Only updates from connections count: the server's own writes (REST bridging, restores)
 * hold events that are canonical already; a room's load is compared with the log (catch-up).
 *
 * Catch-up skips, per writer, what it already judged this server life (up to a mark: a writer
 * stuck at a gap is read once, its refusals counted and logged once; duplicates not counted,
 * SRV21); a failed batch, or an event the server puts back below a mark (the room guard) or
 * below what the running catch-up will mark, takes the mark back.
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
  /** What the canonical log acknowledges of a location (what catch-up need not look at). */
  acknowledgements(location: string): Promise<Acknowledgements>;
  /** Per writer, the highest origin.n the room holds (the event index): catch-up reads only writers above their watermark. */
  held(room: Room): ReadonlyMap<string, number>;
  /** After each batch stored (metrics, the log of refusals); `caughtUp` for catch-up's batches. */
  onIngested?(location: string, result: IngestResult, caughtUp: boolean): void;
  /** A batch could not be stored (store health, metrics). */
  onFailed?(location: string, err: unknown): void;
}

/** What one connection's updates added since the last batch. */
interface Pending {
  uploader: Uploader;
  jsons: string[];
}

/** The uploader's entry in `byUploader`, added if missing (one per role and terminal). */
function pendingOf(byUploader: Map<string, Pending>, uploader: Uploader): Pending {
  const key = `${uploader.role}:${uploader.terminal ?? ''}`;
  let pending = byUploader.get(key);
  if (pending === undefined) {
    pending = { uploader, jsons: [] };
    byUploader.set(key, pending);
  }
  return pending;
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
  /** Per writer, what the catch-up being run marks judged once it stored all: an event put back at or below it was maybe read before it came back. */
  catchingUp: ReadonlyMap<string, number> | null = null;
}

export function relayIngestHook(ingest: Pick<IngestService, 'ingestEach'>, options: RelayIngestOptions): RelayIngest {
  /** Loaded rooms (close() drains each), forgotten at unload. */
  const rooms = new Map<Room, RoomIngest>();
  const writes = new Set<Promise<void>>();
  let closed = false;

  /**
   * Per location, per writer: every event of it up to this origin.n the room held was judged
   * (stored, a duplicate or refused). Kept across loads for the server's life: a handful of
   * writers per location.
   */
  const judged = new Map<string, Map<string, number>>();
  const judgedOf = (location: string): Map<string, number> => {
    let marks = judged.get(location);
    if (marks === undefined) judged.set(location, (marks = new Map()));
    return marks;
  };
  /**
   * Locations where a batch failed, or the server put an event in below a mark, in any of their
   * rooms (the one loaded now, or one unloaded with work still queued): the room loaded compares
   * itself with the canonical log at its next flush (or its load).
   */
  const catchUpDue = new Set<string>();
  /**
   * Per location, times catch-up became due. A mark read before the last of them (a catch-up's,
   * a flush's) may cover an event the canonical log lacks and is not taken, even once a flush
   * since then scheduled the next catch-up.
   */
  const dues = new Map<string, number>();
  const duesOf = (location: string): number => dues.get(location) ?? 0;
  const catchUpBecameDue = (location: string): void => {
    catchUpDue.add(location);
    dues.set(location, duesOf(location) + 1);
  };
  const markJudged = (location: string, held: ReadonlyMap<string, number>): void => {
    const marks = judgedOf(location);
    for (const [writer, n] of held) if (n > (marks.get(writer) ?? 0)) marks.set(writer, n);
  };
  /**
   * Events the room holds now that may not be judged: each writer's mark goes below them, and
   * catch-up is due. So too below the running catch-up's mark (after a failed batch the marks are
   * gone): it read the room maybe before the event came back.
   */
  const unjudge = (room: Room, state: RoomIngest, jsons: readonly string[]): void => {
    const marks = judged.get(room.name);
    for (const json of jsons) {
      const head = eventHeadOf(json);
      if (head === null || head.terminal === null) continue;
      if (marks !== undefined && head.n <= (marks.get(head.terminal) ?? 0)) marks.set(head.terminal, head.n - 1);
      else if (head.n > (state.catchingUp?.get(head.terminal) ?? 0)) continue;
      catchUpBecameDue(room.name);
    }
  };

  /**
   * Stores one window's events, every connection's in one transaction (RELAY_INGEST_BATCH
   * events at most each). Returns whether all of it was stored.
   */
  const store = async (room: Room, state: RoomIngest, window: readonly Pending[], caughtUp = false): Promise<boolean> => {
    const chunks: UploadBatch[][] = [[]];
    let size = 0;
    for (const { uploader, jsons } of window) {
      let raws: unknown[] | null = null;
      for (const json of jsons) {
        const raw = parseEntry(json);
        // Not an event (not JSON, or too long to be one): the log readers skip it, and so does the canonical store.
        if (raw === undefined) continue;
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
      if (closed) return false;
      if (chunk.length === 0) return true;
      try {
        const results = await ingest.ingestEach(room.name, chunk);
        for (const result of results) options.onIngested?.(room.name, result, caughtUp);
      } catch (err) {
        // The events stay in the room and in their terminals' outboxes: uploaded later.
        const terminals = chunk.map((b) => b.uploader?.terminal ?? null);
        options.log.error({ location: room.name, terminals, err }, 'relay ingest failed');
        options.onFailed?.(room.name, err);
        judged.delete(room.name);
        catchUpBecameDue(room.name);
        return false;
      }
    }
    return true;
  };

  /** Runs `write` after this room's earlier batches; close() waits for it. */
  const enqueue = (state: RoomIngest, write: () => Promise<void>): void => {
    const next = state.writing.then(write);
    state.writing = next;
    writes.add(next);
    void next.finally(() => writes.delete(next));
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
    enqueue(state, async () => void (await store(room, state, batches)));
  };

  /**
   * Ingests the room's events above the canonical watermarks and not judged yet, each as
   * uploaded by its own writer's terminal token (the strictest uploader it could have had: a
   * manager's void is refused here and left to the manager's outbox). Usually no writer is
   * behind and nothing is read; otherwise one pass over the events' heads (~0.2 s at 100k
   * events), taking those of the writers behind, less those stored above a gap (storedAbove).
   */
  const catchUp = async (room: Room, state: RoomIngest, held: ReadonlyMap<string, number>, duesThen: number): Promise<void> => {
    // After the connection that loaded the room got its first answer.
    await new Promise((resolve) => setImmediate(resolve));
    state.catchingUp = held;
    const acks = await options.acknowledgements(room.name);
    const judgedHere = judgedOf(room.name);
    const from = (writer: string): number => Math.max(acks.marks[writer] ?? 0, judgedHere.get(writer) ?? 0);
    const behindWriters = new Set<string>();
    for (const [writer, n] of held) if (writer !== SERVER_WRITER && n > from(writer)) behindWriters.add(writer);
    if (behindWriters.size === 0) return;
    const behind = new Map<string, Pending>();
    for (const json of readAllEventJson(room.doc)) {
      const head = eventHeadOf(json);
      if (head === null || head.terminal === null || !behindWriters.has(head.terminal)) continue;
      if (head.n <= from(head.terminal) || acknowledges(acks, head.terminal, head.n)) continue;
      pendingOf(behind, { role: 'terminal', terminal: head.terminal }).jsons.push(json);
    }
    const judgedAll = behind.size === 0 || (await store(room, state, [...behind.values()], true));
    // A failed store, or an event put in below a mark meanwhile, made catch-up due: the next one reads it all again.
    if (judgedAll && duesOf(room.name) === duesThen) markJudged(room.name, held);
  };

  const scheduleCatchUp = (room: Room, state: RoomIngest): void => {
    catchUpDue.delete(room.name);
    // Read now: a flush is followed by the unload, which forgets the room's index.
    const held = new Map(options.held(room));
    const duesThen = duesOf(room.name);
    enqueue(state, () =>
      catchUp(room, state, held, duesThen)
        .catch((err: unknown) => {
          options.log.error({ location: room.name, err }, 'relay ingest catch-up failed');
          catchUpBecameDue(room.name);
        })
        .finally(() => (state.catchingUp = null)),
    );
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
            if (closed) return;
            // The server's own writes are canonical (REST bridging, restores), bar the room guard's undoing a deletion.
            if (typed?.kind === 'server') unjudge(room, state, jsons);
            if (typed?.kind !== 'remote') return;
            const { role, terminal } = typed.connection.claims;
            pendingOf(state.pending, { role, terminal: terminal ?? null }).jsons.push(...jsons);
            state.scheduled ??= schedule(() => drain(room), state.drainedAt + RELAY_INGEST_WINDOW_MS - performance.now());
          },
        });
        scheduleCatchUp(room, state);
      },
      onFlush(room) {
        drain(room);
        const state = rooms.get(room);
        if (state === undefined || closed) return;
        if (catchUpDue.has(room.name)) scheduleCatchUp(room, state);
        // Every event the room holds now came in live (judged by the batches queued before
        // this) or at its load (judged by catch-up): unless one of them fails, all is judged.
        const held = new Map(options.held(room));
        const duesThen = duesOf(room.name);
        enqueue(state, async () => {
          if (duesOf(room.name) === duesThen) markJudged(room.name, held);
        });
      },
      onUnload(room) {
        const state = rooms.get(room);
        state?.scheduled?.cancel();
        state?.stop();
        rooms.delete(room);
      },
    },
    async close() {
      // Not `closed` first: that dropped the windows still pending and the rest of a backlog
      // being stored in chunks, while the rooms' unload then stored those events in the room
      // (caught up only at the room's next load, after the restart). The connections are
      // gone by now, so the windows only shrink.
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
