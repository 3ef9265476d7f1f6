import type * as Y from 'yjs';
import { observeLog, readAllEventJson, relayedOf } from '../../shared/log/log-doc';
import { eventHeadOf } from '../../shared/log/event-head';
import type { RelayHook } from './hooks';
import { SERVER_ORIGIN } from './origins';
import type { Room } from './room';

/**
 * Per loaded room, what its doc holds, kept from each transaction's own changes (observeLog),
 * never by rescanning (one pass over the log at load, reading only id and origin):
 *  - the set of event ids, so the REST bridge appends an event into the room only when no
 *    replica put it there yet;
 *  - per terminal, the highest contiguous origin.n held (events of any segment, the
 *    server's bridged ones included), published into the doc's `relayed` map so terminals
 *    can show "relayed". An event counts once the room's commit stored it (the room relays
 *    updates before that), so `relayed` never claims what a crash could still lose.
 *    Published only ever increasing, with the `server` origin, and debounced: a burst of
 *    updates causes one small map update per `publishEveryMs`.
 *
 * Ids and origins removed by compaction stay counted on purpose: a compacted event was in
 * the room, re-appending it would undo the compaction, and a watermark never goes back. After
 * a restart the doc no longer holds them, so a load starts each mark from the one published
 * before (`relayed`, at most what the canonical store acknowledges: compaction only removes
 * acknowledged events), not from the gap they left.
 */
export interface EventIndex {
  readonly hook: RelayHook;
  holds(room: Room, id: string): boolean;
  /** terminal → highest contiguous origin.n the room holds, stored (what `relayed` converges to). */
  relayed(room: Room): ReadonlyMap<string, number>;
  /** terminal → highest origin.n the room holds, gaps below it or not (what relay ingest's catch-up compares). */
  highest(room: Room): ReadonlyMap<string, number>;
}

export interface EventIndexOptions {
  /** Debounce of `relayed` map writes (default 150 ms). */
  publishEveryMs?: number;
  /** The canonical store's watermarks of a location: what a mark published before may be taken up to. */
  acknowledged?: (location: string) => Promise<Readonly<Record<string, number>>>;
}

/** Contiguous high mark of one terminal, plus the n held above it. */
class Contiguous {
  mark = 0;
  private readonly above = new Set<number>();

  /** Records n; true when the mark advanced. */
  add(n: number): boolean {
    if (n <= this.mark) return false;
    if (n !== this.mark + 1) {
      this.above.add(n);
      return false;
    }
    this.mark = n;
    while (this.above.delete(this.mark + 1)) this.mark += 1;
    return true;
  }

  /** Takes the mark up to n (what was held before, compacted since); true when it advanced. */
  raiseTo(n: number): boolean {
    if (n <= this.mark) return false;
    this.mark = n;
    for (const held of this.above) if (held <= n) this.above.delete(held);
    while (this.above.delete(this.mark + 1)) this.mark += 1;
    return true;
  }
}

class RoomIndex {
  readonly ids = new Set<string>();
  readonly origins = new Map<string, Contiguous>();
  readonly highest = new Map<string, number>();
  /** Origins of events the doc holds but the store may not yet (counted at the commit). */
  private uncommitted: Array<{ terminal: string; n: number }> = [];
  /** Terminals whose mark advanced since the last publish. */
  readonly dirty = new Set<string>();
  timer: NodeJS.Timeout | undefined;
  stop: () => void = () => {};

  /** Events now in the doc: their ids at once, their origins once stored (see commit). */
  addAll(jsons: readonly string[]): void {
    for (const json of jsons) {
      const head = eventHeadOf(json);
      if (head === null) continue; // a malformed entry holds no event
      this.ids.add(head.id);
      if (head.terminal === null) continue;
      this.uncommitted.push({ terminal: head.terminal, n: head.n });
      if (head.n > (this.highest.get(head.terminal) ?? 0)) this.highest.set(head.terminal, head.n);
    }
  }

  /** What addAll saw is stored: count it towards the marks. */
  commit(): void {
    for (const { terminal, n } of this.uncommitted) {
      let c = this.origins.get(terminal);
      if (c === undefined) {
        c = new Contiguous();
        this.origins.set(terminal, c);
      }
      if (c.add(n)) this.dirty.add(terminal);
    }
    this.uncommitted = [];
  }

  /** Each mark up to the one published before, as far as the canonical store acknowledges. */
  raiseTo(published: Y.Map<number>, acknowledged: Readonly<Record<string, number>>): void {
    for (const [terminal, mark] of published) {
      const upTo = Math.min(typeof mark === 'number' ? mark : 0, acknowledged[terminal] ?? 0);
      if (upTo <= 0) continue;
      let c = this.origins.get(terminal);
      if (c === undefined) this.origins.set(terminal, (c = new Contiguous()));
      c.raiseTo(upTo);
    }
  }

  marks(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [terminal, c] of this.origins) if (c.mark > 0) out.set(terminal, c.mark);
    return out;
  }
}

export function createEventIndex(options: EventIndexOptions = {}): EventIndex {
  const publishEveryMs = options.publishEveryMs ?? 150;
  const rooms = new WeakMap<Room, RoomIndex>();

  const publish = (room: Room, index: RoomIndex): void => {
    clearTimeout(index.timer);
    index.timer = undefined;
    if (index.dirty.size === 0) return;
    const relayed = relayedOf(room.doc);
    const changes: Array<[string, number]> = [];
    for (const terminal of index.dirty) {
      const mark = index.origins.get(terminal)?.mark ?? 0;
      if (mark > (relayed.get(terminal) ?? 0)) changes.push([terminal, mark]);
    }
    index.dirty.clear();
    if (changes.length === 0) return;
    room.doc.transact(() => {
      for (const [terminal, mark] of changes) relayed.set(terminal, mark);
    }, SERVER_ORIGIN);
  };

  return {
    holds(room, id) {
      return rooms.get(room)?.ids.has(id) ?? false;
    },
    relayed(room) {
      return rooms.get(room)?.marks() ?? new Map();
    },
    highest(room) {
      return rooms.get(room)?.highest ?? new Map();
    },
    hook: {
      name: 'event-index',
      async onLoad(room) {
        const index = new RoomIndex();
        index.addAll(readAllEventJson(room.doc));
        index.commit(); // loaded from the store
        if (options.acknowledged !== undefined) index.raiseTo(relayedOf(room.doc), await options.acknowledged(room.name));
        rooms.set(room, index);
        // Catch up at once (a crash may have lost a debounced write; the doc is the truth).
        for (const terminal of index.origins.keys()) index.dirty.add(terminal);
        publish(room, index);
        index.stop = observeLog(room.doc, { onAdded: (jsons) => index.addAll(jsons) });
      },
      onCommit(room) {
        const index = rooms.get(room);
        if (index === undefined) return;
        index.commit();
        if (index.dirty.size === 0 || index.timer !== undefined) return;
        index.timer = setTimeout(() => {
          if (rooms.get(room) !== index) return;
          try {
            publish(room, index);
          } catch {
            // A hook failed storing the write (e.g. disk full): the map is advisory and
            // recomputed from the log at the next load; the next advance retries.
          }
        }, publishEveryMs);
        index.timer.unref();
      },
      onFlush(room) {
        const index = rooms.get(room);
        if (index !== undefined) publish(room, index);
      },
      onUnload(room) {
        const index = rooms.get(room);
        if (index === undefined) return;
        clearTimeout(index.timer);
        index.stop();
        rooms.delete(room);
      },
    },
  };
}
