import * as Y from 'yjs';
import { MANAGER_EVENT_TYPES, refusedToTerminal } from '../../shared/events/catalog';
import type { EventEnvelope } from '../../shared/events/envelope';
import { eventHeadOf } from '../../shared/log/event-head';
import { acksOf, collectStrings, deleteEvents, observeLog, relayedOf, segmentsOf } from '../../shared/log/log-doc';
import type { RelayHook } from './hooks';
import { SERVER_ORIGIN, asRoomOrigin, type RoomOrigin } from './origins';
import type { Room } from './room';
import { serverSegmentsOf } from './server-segments';

/**
 * What a terminal's update may not do to its location's room, undone by the server right
 * after it (a Yjs update cannot be refused in part, and a terminal's sync legitimately carries
 * other writers' items):
 *
 *  - Change `acks` or `relayed`. They are the server's word: terminals stop uploading what
 *    `acks` covers, so a forged mark would hide another till's unsent sales, and an old
 *    server's marks, carried back by terminals after the data directory was replaced or
 *    restored from a backup, would stop them re-delivering. After any transaction from a
 *    connection that changed them, and when a room loads, the server writes its truth over
 *    each changed key: the canonical store's watermarks into `acks`, the event index's marks
 *    into `relayed`, deleting keys it has no mark for. Terminals that see their marks go
 *    down upload again what the canonical store lacks.
 *  - Delete an event the canonical store does not hold. Compaction deletes only events under
 *    their writer's watermark; deleting any other would lose a sale before it reached the back
 *    office (the writer's own store drops it too). The server appends each such event back,
 *    in its own segments, and logs who deleted it.
 *  - Write a manager's event (a void, a comp, a refund, a menu change: MANAGER_EVENT_TYPES) of
 *    its own writer from a terminal token. The canonical store refuses it (CMD2), but in the
 *    room every other terminal would fold it: a modified till could comp its own tables on
 *    every screen. The server deletes it from the room right after the update (the other
 *    terminals unfold it) and logs who wrote it. As at ingest, events of other writers that a
 *    till carries on their behalf pass.
 */
export interface RoomGuardSources {
  /** The canonical store's watermarks of a location. */
  acknowledged(location: string): Promise<Readonly<Record<string, number>>>;
  /** What the room holds, stored (the event index). */
  relayed(room: Room): ReadonlyMap<string, number>;
  warn(obj: object, msg: string): void;
  onError(err: unknown): void;
}

export function roomGuardHook(sources: RoomGuardSources): RelayHook {
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
  const restoreUnacknowledged = async (room: Room, removed: readonly string[], by: RoomOrigin): Promise<void> => {
    const marks = await sources.acknowledged(room.name);
    if (room.doc.isDestroyed) return;
    const lost = removed.filter((json) => {
      const head = eventHeadOf(json);
      return head !== null && head.terminal !== null && head.n > (marks[head.terminal] ?? 0);
    });
    if (lost.length === 0) return;
    room.doc.transact(() => serverSegmentsOf(room).append(lost), SERVER_ORIGIN);
    const terminal = by.kind === 'remote' ? (by.connection.claims.terminal ?? null) : null;
    sources.warn({ location: room.name, terminal, events: lost.length }, 'a connection deleted events the canonical store does not hold: restored');
  };

  return {
    name: 'room-guard',
    async onLoad(room) {
      await correctAcks(room, null);
      correctRelayed(room, null);
      const stopAcks = watchMarks(acksOf(room.doc), (keys) => void correctAcks(room, keys).catch(sources.onError));
      const stopRelayed = watchMarks(relayedOf(room.doc), (keys) => correctRelayed(room, keys));
      const stopDeletes = watchDeletedEvents(room.doc, (removed, by) => void restoreUnacknowledged(room, removed, by).catch(sources.onError));
      const stopManagers = watchRefusedEvents(room.doc, (refused, by) => {
        room.doc.transact(() => deleteEvents(room.doc, new Set(refused.map((e) => e.id))), SERVER_ORIGIN);
        const types = [...new Set(refused.map((e) => e.type))];
        sources.warn({ location: room.name, terminal: by.terminal, events: refused.length, types }, 'a terminal token wrote a manager\'s events into the room: removed');
      });
      stops.set(room, () => {
        stopAcks();
        stopRelayed();
        stopDeletes();
        stopManagers();
      });
    },
    onUnload(room) {
      stops.get(room)?.();
      stops.delete(room);
    },
  };
}

function remoteOriginOf(tr: Y.Transaction): RoomOrigin | null {
  const origin = asRoomOrigin(tr.origin);
  return origin?.kind === 'remote' ? origin : null;
}

/** Calls `changed` with the keys a connection's transaction changed in `map`. */
function watchMarks(map: Y.Map<number>, changed: (keys: string[]) => void): () => void {
  const observer = (event: Y.YMapEvent<number>, tr: Y.Transaction) => {
    if (remoteOriginOf(tr) !== null) changed([...event.keysChanged]);
  };
  map.observe(observer);
  return () => map.unobserve(observer);
}

/** Calls `removed` with the event JSON a connection's transaction deleted from the log (entries or whole segments). */
function watchDeletedEvents(doc: Y.Doc, removed: (jsons: string[], by: RoomOrigin) => void): () => void {
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
    if (jsons.length > 0) removed(jsons, by);
  };
  segments.observeDeep(observer);
  return () => segments.unobserveDeep(observer);
}

/** `"ticket.voided"` and the like: an event JSON without any of these is no manager's event (a cheap test before parsing). */
const MANAGER_TYPE_LITERALS = [...MANAGER_EVENT_TYPES].map((type) => JSON.stringify(type));

/**
 * Calls `refused` with the events a terminal token's transaction added that it may not write
 * (refusedToTerminal), and the token's terminal.
 */
function watchRefusedEvents(doc: Y.Doc, refused: (events: Pick<EventEnvelope, 'id' | 'type'>[], by: { terminal: string }) => void): () => void {
  return observeLog(doc, {
    onAdded(jsons, origin) {
      const by = asRoomOrigin(origin);
      if (by?.kind !== 'remote') return;
      const { role, terminal } = by.connection.claims;
      if (role !== 'terminal' || terminal === undefined) return;
      const found: Pick<EventEnvelope, 'id' | 'type'>[] = [];
      for (const json of jsons) {
        if (!MANAGER_TYPE_LITERALS.some((literal) => json.includes(literal))) continue;
        const event = parsedEvent(json);
        if (event !== null && refusedToTerminal({ role, terminal }, event)) found.push(event);
      }
      if (found.length > 0) refused(found, { terminal });
    },
  });
}

/** The parts of an event JSON refusedToTerminal reads, and its id; null when it holds none. */
function parsedEvent(json: string): { id: string; type: string; origin: { terminal: string } } | null {
  try {
    const e = JSON.parse(json) as { id?: unknown; type?: unknown; origin?: { terminal?: unknown } } | null;
    if (typeof e?.id !== 'string' || typeof e.type !== 'string' || typeof e.origin?.terminal !== 'string') return null;
    return { id: e.id, type: e.type, origin: { terminal: e.origin.terminal } };
  } catch {
    return null;
  }
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
