import * as Y from 'yjs';
import { eventHeadOf, parseEntry } from '../../shared/log/event-head';
import { acknowledges, type Acknowledgements } from '../../shared/log/acknowledgements';
import { ackRangesOf, acksOf, collectStrings, compactedOf, publishRanges, relayedOf, segmentsOf, type Tombstone } from '../../shared/log/log-doc';
import { parseEnvelope } from '../../shared/events/envelope';
import type { RelayHook } from './hooks';
import { SERVER_ORIGIN, asRoomOrigin, type RoomOrigin } from './origins';
import type { Room } from './room';
import { serverSegmentsOf } from './server-segments';

/**
 * What a terminal's update may not do to its location's room, undone by the server right
 * after it (a Yjs update cannot be refused in part, and a terminal's sync legitimately carries
 * other writers' items):
 *
 *  - Change `acks`, `ackRanges` or `relayed`. They are the server's word: terminals stop uploading what
 *    `acks` and `ackRanges` cover, so a forged mark would hide another till's unsent sales, and an old
 *    server's marks, carried back by terminals after the data directory was replaced or
 *    restored from a backup, would stop them re-delivering. After any transaction from a
 *    connection that changed them, and when a room loads, the server writes its truth over
 *    each changed key: the canonical store's watermarks into `acks` (and what it stores above
 *    them into `ackRanges`, every key: publishRanges), the event index's marks
 *    into `relayed`, deleting keys it has no mark for. Terminals that see their marks go
 *    down upload again what the canonical store lacks.
 *  - Delete an event the canonical store does not hold. Compaction deletes only events under
 *    their writer's watermark; deleting any other would lose a sale before it reached the back
 *    office (the writer's own store drops it too). Nor one it holds, but by a compaction (which
 *    tombstones the event's aggregate in the same transaction): else a till paired later never
 *    saw that open ticket. The server appends each such event back, in its own segments, and
 *    logs who deleted it.
 *
 *    An event it acknowledges above a gap (storedAbove) is the canonical store's too: deleted by a
 *    compaction, it stays deleted.
 *
 * And what the room lacks: an event the canonical store acknowledges that the room never got
 * (a REST batch of a client with no document, such as a back-office integration, is bridged
 * into the room after its answer: a crash in between, or a room that failed to load, and only
 * the store had it; or a till's own upload, bridged only after its grace, the server killed
 * within it). RESTORE_AFTER_LOAD_MS after a room loads, each writer whose mark in the room
 * (`relayed`, which counts what compaction removed) is below what the store acknowledges (its
 * watermark, or the end of a range stored above it) gets the events in between the room does
 * not hold, in the server's segments. Not at once: a
 * terminal reconnecting syncs its own events into the room within that time, and the room
 * would hold each of them twice.
 */
export const RESTORE_AFTER_LOAD_MS = 5_000;

export interface RoomGuardSources {
  /** The canonical store's watermarks of a location, and what it stores above them. */
  acknowledged(location: string): Promise<Acknowledgements>;
  /** What the room holds, stored (the event index). */
  relayed(room: Room): ReadonlyMap<string, number>;
  /** Whether the room holds (or held, before a compaction) the event (the event index). */
  holds(room: Room, id: string): boolean;
  /** The canonical store's event JSON of one writer with after < n <= upTo. */
  stored(location: string, terminal: string, after: number, upTo: number): Promise<string[]>;
  /** Of the aggregates compacted (id → the tombstone's time), those the canonical log lets leave a terminal (the tombstone may stand). */
  mayLeave(location: string, compactedAt: ReadonlyMap<string, number>): Promise<Set<string>>;
  /** Default RESTORE_AFTER_LOAD_MS. */
  restoreAfterLoadMs?: number;
  warn(obj: object, msg: string): void;
  onError(err: unknown): void;
}

/** A tombstone's time as a number: a forged one's junk (NaN passes every "not before" check) counts as the epoch. */
function timeOf(stone: Tombstone | undefined): number {
  const at: unknown = stone?.at;
  return typeof at === 'number' && Number.isFinite(at) ? at : 0;
}

export function roomGuardHook(sources: RoomGuardSources): RelayHook {
  const stops = new WeakMap<Room, () => void>();

  const correctAcks = async (room: Room, keys: Iterable<string> | null): Promise<void> => {
    const truth = await sources.acknowledged(room.name);
    if (room.doc.isDestroyed) return;
    overwrite(room, acksOf(room.doc), keys, (terminal) => truth.marks[terminal]);
  };
  const correctRanges = async (room: Room): Promise<void> => {
    const truth = await sources.acknowledged(room.name);
    if (room.doc.isDestroyed) return;
    room.doc.transact(() => publishRanges(ackRangesOf(room.doc), truth.above), SERVER_ORIGIN);
  };
  const correctRelayed = (room: Room, keys: Iterable<string> | null): void => {
    const truth = sources.relayed(room);
    overwrite(room, relayedOf(room.doc), keys, (terminal) => truth.get(terminal));
  };
  /**
   * A tombstone hides its aggregate on every till. One a connection writes where there was none
   * stands only if the canonical log lets the aggregate go (else any token holder could hide an
   * open ticket from every till); one it updates (late events of an archived aggregate) hides
   * nothing new. Judged once per transaction, for the tombstone's undo and the deletions both.
   */
  const hiddenBy = new WeakMap<Y.Transaction, { hidden: ReadonlyMap<string, Tombstone | undefined>; allowed: Promise<Set<string>> }>();
  const judgeTombstones = (room: Room, tr: Y.Transaction, written: ReadonlyMap<string, Tombstone | undefined>) => {
    const hidden = new Map([...written].filter(([, before]) => before === undefined));
    const compactedAt = new Map([...hidden.keys()].map((aggregateId) => [aggregateId, timeOf(compactedOf(room.doc).get(aggregateId))]));
    const judged = { hidden, allowed: hidden.size === 0 ? Promise.resolve(new Set<string>()) : sources.mayLeave(room.name, compactedAt) };
    hiddenBy.set(tr, judged);
    return judged;
  };

  const undoForgedTombstones = async (room: Room, judged: ReturnType<typeof judgeTombstones>, by: RoomOrigin): Promise<void> => {
    const allowed = await judged.allowed;
    const forged = [...judged.hidden.keys()].filter((aggregateId) => !allowed.has(aggregateId) && compactedOf(room.doc).has(aggregateId));
    if (forged.length === 0 || room.doc.isDestroyed) return;
    room.doc.transact(() => {
      for (const aggregateId of forged) compactedOf(room.doc).delete(aggregateId);
    }, SERVER_ORIGIN);
    const terminal = by.kind === 'remote' ? (by.connection.claims.terminal ?? null) : null;
    sources.warn({ location: room.name, terminal, aggregates: forged }, 'a connection tombstoned aggregates the canonical log does not let go: undone');
  };

  const restoreDeleted = async (room: Room, removed: readonly string[], by: RoomOrigin, tr: Y.Transaction): Promise<void> => {
    const acks = await sources.acknowledged(room.name);
    const judged = hiddenBy.get(tr);
    const allowed = judged === undefined ? new Set<string>() : await judged.allowed;
    if (room.doc.isDestroyed) return;
    const compacted = compactedOf(room.doc);
    // Once per event: the transaction may have deleted several copies of it (one a till wrote back).
    const seen = new Set<string>();
    const lost = removed.filter((json) => {
      const head = eventHeadOf(json);
      if (head === null || head.terminal === null || seen.has(head.id)) return false;
      seen.add(head.id);
      if (!acknowledges(acks, head.terminal, head.n)) return true;
      // Acknowledged: a compaction's to delete, which tombstones its aggregate in the same
      // transaction (or did before: late events of an archived one), and only an aggregate the
      // canonical log lets go (not an open ticket).
      const parsed = parseEnvelope(parseEntry(json));
      if (!parsed.success) return false;
      const aggregateId = parsed.data.aggregate.id;
      const stone = compacted.get(aggregateId);
      if (stone === undefined || parsed.data.at > stone.at) return true;
      // This transaction's forged tombstone is gone by now (undoForgedTombstones, on the same
      // judgement, ran first): still there, another transaction wrote it again in between, which
      // only sources answering after real I/O allow (SQLite's answer within the same turn).
      return judged?.hidden.has(aggregateId) === true && !allowed.has(aggregateId);
    });
    if (lost.length === 0) return;
    room.doc.transact(() => serverSegmentsOf(room).append(lost), SERVER_ORIGIN);
    const terminal = by.kind === 'remote' ? (by.connection.claims.terminal ?? null) : null;
    sources.warn({ location: room.name, terminal, events: lost.length }, 'a connection deleted events the canonical store does not hold, or held without a compaction: restored');
  };

  /**
   * Up to what the store acknowledged at the load, its watermarks and what it stores above them
   * (a till's uploads past a gap its lost events left): what was posted since is the room
   * bridge's to write (a terminal's own events after their grace, or its relay brings them).
   * Not what a compaction removed (a tombstone of the aggregate written after the event).
   */
  const restoreMissing = async (room: Room, acknowledgedAtLoad: Acknowledgements): Promise<void> => {
    const compacted = compactedOf(room.doc);
    const missing: string[] = [];
    for (const [terminal, n] of highestAcknowledged(acknowledgedAtLoad)) {
      const mark = sources.relayed(room).get(terminal) ?? 0;
      if (n <= mark) continue;
      for (const json of await sources.stored(room.name, terminal, mark, n)) {
        const parsed = parseEnvelope(JSON.parse(json));
        if (!parsed.success || sources.holds(room, parsed.data.id)) continue;
        const stone = compacted.get(parsed.data.aggregate.id);
        if (stone !== undefined && parsed.data.at <= stone.at) continue;
        // In the envelope's own key order, as the bridge writes (the relay's index reads it without a full parse).
        missing.push(JSON.stringify(parsed.data));
      }
    }
    if (missing.length === 0 || room.doc.isDestroyed) return;
    room.doc.transact(() => serverSegmentsOf(room).append(missing), SERVER_ORIGIN);
    sources.warn({ location: room.name, events: missing.length }, 'the room lacked events the canonical store holds: added');
  };

  return {
    name: 'room-guard',
    async onLoad(room) {
      const acknowledgedAtLoad = await sources.acknowledged(room.name);
      await correctAcks(room, null);
      await correctRanges(room);
      correctRelayed(room, null);
      const stopAcks = watchMarks(acksOf(room.doc), (keys) => void correctAcks(room, keys).catch(sources.onError));
      const stopRanges = watchMarks(ackRangesOf(room.doc), () => void correctRanges(room).catch(sources.onError));
      const stopRelayed = watchMarks(relayedOf(room.doc), (keys) => correctRelayed(room, keys));
      // The tombstones' observer runs before the deletions' (a map's observers before deep ones), so a transaction's judgement is there for both.
      const stopTombstones = watchTombstones(room.doc, (written, by, tr) => void undoForgedTombstones(room, judgeTombstones(room, tr, written), by).catch(sources.onError));
      const stopDeletes = watchDeletedEvents(room.doc, (removed, by, tr) => void restoreDeleted(room, removed, by, tr).catch(sources.onError));
      const restore = setTimeout(() => void restoreMissing(room, acknowledgedAtLoad).catch(sources.onError), sources.restoreAfterLoadMs ?? RESTORE_AFTER_LOAD_MS);
      restore.unref();
      stops.set(room, () => {
        clearTimeout(restore);
        stopAcks();
        stopRanges();
        stopRelayed();
        stopDeletes();
        stopTombstones();
      });
    },
    onUnload(room) {
      stops.get(room)?.();
      stops.delete(room);
    },
  };
}

/** Per writer, the highest n the store acknowledges: its watermark or the end of its last range stored above it. */
function highestAcknowledged(acks: Acknowledgements): Map<string, number> {
  const highest = new Map(Object.entries(acks.marks));
  for (const [terminal, ranges] of Object.entries(acks.above)) {
    for (const [, to] of ranges) highest.set(terminal, Math.max(to, highest.get(terminal) ?? 0));
  }
  return highest;
}

function remoteOriginOf(tr: Y.Transaction): RoomOrigin | null {
  const origin = asRoomOrigin(tr.origin);
  return origin?.kind === 'remote' ? origin : null;
}

/** Calls `changed` with the keys a connection's transaction changed in `map`. */
function watchMarks<T>(map: Y.Map<T>, changed: (keys: string[]) => void): () => void {
  const observer = (event: Y.YMapEvent<T>, tr: Y.Transaction) => {
    if (remoteOriginOf(tr) !== null) changed([...event.keysChanged]);
  };
  map.observe(observer);
  return () => map.unobserve(observer);
}

/** Calls `written` with the tombstones a connection's transaction set, and the value each had before. */
function watchTombstones(doc: Y.Doc, written: (before: Map<string, Tombstone | undefined>, by: RoomOrigin, tr: Y.Transaction) => void): () => void {
  const compacted = compactedOf(doc);
  const observer = (event: Y.YMapEvent<Tombstone>, tr: Y.Transaction) => {
    const by = remoteOriginOf(tr);
    if (by === null) return;
    const before = new Map<string, Tombstone | undefined>();
    for (const [key, change] of event.changes.keys) if (change.action !== 'delete') before.set(key, change.oldValue as Tombstone | undefined);
    if (before.size > 0) written(before, by, tr);
  };
  compacted.observe(observer);
  return () => compacted.unobserve(observer);
}

/** Calls `removed` with the event JSON a connection's transaction deleted from the log (entries or whole segments). */
function watchDeletedEvents(doc: Y.Doc, removed: (jsons: string[], by: RoomOrigin, tr: Y.Transaction) => void): () => void {
  const segments = segmentsOf(doc);
  const observer = (events: Y.YEvent<Y.AbstractType<unknown>>[], tr: Y.Transaction) => {
    const by = remoteOriginOf(tr);
    // Most updates delete nothing: only then are the events' changes computed.
    if (by === null || tr.deleteSet.clients.size === 0) return;
    const jsons: string[] = [];
    for (const ev of events) {
      if (ev.target === segments) {
        for (const change of ev.changes.keys.values()) {
          if (change.action !== 'add' && change.oldValue instanceof Y.Array) collectAll(change.oldValue, jsons);
        }
      } else {
        for (const item of ev.changes.deleted) collectStrings(item, jsons);
      }
    }
    if (jsons.length > 0) removed(jsons, by, tr);
  };
  segments.observeDeep(observer);
  return () => segments.unobserveDeep(observer);
}

/** Every entry of a segment, deleted ones included (their content is still there until the transaction ends). */
function collectAll(segment: Y.Array<unknown>, into: string[]): void {
  for (let item = segment._start; item !== null; item = item.right) collectStrings(item, into);
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
