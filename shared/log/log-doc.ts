import * as Y from 'yjs';
import type { StoredAbove } from '../protocol/rest-events';
import { flatRanges } from './acknowledgements';
import { eventIdOf } from './event-head';

/**
 * How a location's event log sits in its Y.Doc — shared by terminals and the relay.
 *
 *   Y.Map 'segments'   `${writer}/${index}` → Y.Array<string>   (event JSON, one entry each)
 *   Y.Map 'acks'       terminal → highest contiguous origin.n stored by the server (canonical log)
 *   Y.Map 'ackRanges'  terminal → the n it stores above that mark, [from, to, from, to…] (acknowledgements.ts)
 *   Y.Map 'relayed'    terminal → highest contiguous origin.n the relay's room doc holds
 *   Y.Map 'compacted'  aggregate id → Tombstone: the aggregate left the doc (compaction)
 *
 * Why segments (see DESIGN "Measured here"): consecutive items of one Yjs client merge,
 * and a merge copies the whole merged run, so one growing array makes every append cost
 * O(events held). A segment holds at most SEGMENT_SIZE events, which bounds what any one
 * append touches. Events are JSON strings because strings decode ~5× faster than objects.
 *
 * Each segment has exactly one writer: a writer is one tab of one terminal (its
 * origin.terminal) or the server. So no two replicas ever create the same map key
 * concurrently (which would drop one side's array), and appends never interleave.
 * Nor does one writer across its lives: a key's index is its Yjs client's (segmentIndex),
 * and a reloaded tab or a restarted server is a new client. A tab that relayed a write which
 * opened a segment, then died before storing it, would otherwise open "the next" segment
 * again under the same key, and one of the two arrays would vanish from every replica.
 * Entries are only ever deleted inside an array (compaction), never a whole segment:
 * a concurrent push into a deleted array would be lost.
 */
export const SEGMENTS = 'segments';
export const ACKS = 'acks';
export const ACK_RANGES = 'ackRanges';
export const RELAYED = 'relayed';
export const COMPACTED = 'compacted';
export const NUMBERED = 'numbered';
export const SEGMENT_SIZE = 256;

/** The writer id the server uses for events it bridges in from REST (defined with the envelope). */
export { SERVER_WRITER } from '../events/envelope';

export function segmentKey(writer: string, index: number): string {
  return `${writer}/${index}`;
}

/** Segments one Yjs client may open (256 events each): its indices never reach the next client's. */
const SEGMENTS_PER_CLIENT = 2 ** 20;

/**
 * The index of the `k`th segment a Yjs client opens for its writer: (clientID + 1) × 2^20 + k,
 * an integer below 2^53. Clients are unique (Yjs relies on it too), so no two lives of a
 * writer share a key; indices of an older layout (0, 1, 2…) stay below every one of them.
 */
export function segmentIndex(clientID: number, k: number): number {
  return (clientID + 1) * SEGMENTS_PER_CLIENT + k;
}

export function parseSegmentKey(key: string): { writer: string; index: number } | null {
  const slash = key.lastIndexOf('/');
  if (slash <= 0) return null;
  const index = Number(key.slice(slash + 1));
  return Number.isInteger(index) && index >= 0 ? { writer: key.slice(0, slash), index } : null;
}

export function segmentsOf(doc: Y.Doc): Y.Map<Y.Array<string>> {
  return doc.getMap<Y.Array<string>>(SEGMENTS);
}

/**
 * The segments' arrays, and below, their string entries: what a faulty or hostile client
 * may have put there instead (a number, a map, a string for a segment) holds no event and
 * is skipped, so it can never stop a room or a terminal from loading.
 */
function* segmentArrays(doc: Y.Doc): Generator<Y.Array<unknown>> {
  for (const value of segmentsOf(doc).values() as IterableIterator<unknown>) if (value instanceof Y.Array) yield value;
}

function entriesOf(segment: Y.Array<unknown>): string[] {
  return segment.toArray().filter((entry): entry is string => typeof entry === 'string');
}

/** Written only by the server: acknowledgements of the canonical store. */
export function acksOf(doc: Y.Doc): Y.Map<number> {
  return doc.getMap<number>(ACKS);
}

/**
 * Written only by the server: the ranges of n it stores above each writer's `acks` mark, flat
 * (flatRanges). A replica may hold anything there: read through storedAboveOf.
 */
export function ackRangesOf(doc: Y.Doc): Y.Map<unknown> {
  return doc.getMap<unknown>(ACK_RANGES);
}

/**
 * Sets `ackRanges` (ackRangesOf) to the server's ranges, writing only the keys that differ (its
 * truth: any other key goes). Must run inside a transaction the caller tags.
 */
export function publishRanges(published: Y.Map<unknown>, storedAbove: StoredAbove): void {
  for (const key of [...published.keys()]) if (!Object.hasOwn(storedAbove, key)) published.delete(key);
  for (const [terminal, ranges] of Object.entries(storedAbove)) {
    const flat = flatRanges(ranges);
    if (!sameNumbers(published.get(terminal), flat)) published.set(terminal, flat);
  }
}

function sameNumbers(value: unknown, flat: readonly number[]): boolean {
  return Array.isArray(value) && value.length === flat.length && flat.every((n, i) => value[i] === n);
}

/** Whether two lists of ranges are the same ranges, in the same order. */
export function sameRanges(a: readonly (readonly [number, number])[], b: readonly (readonly [number, number])[]): boolean {
  return sameNumbers(flatRanges(a), flatRanges(b));
}

/** Written only by the server: what the relay holds, so a terminal can show "relayed". */
export function relayedOf(doc: Y.Doc): Y.Map<number> {
  return doc.getMap<number>(RELAYED);
}

/**
 * Appends event JSON for one writer. Must run inside a transaction the caller tags
 * with its origin. Fills the segments its Yjs client opened (segmentIndex), never one of an
 * earlier life of the writer; the writer is the only one that ever touches its segments,
 * so this needs no coordination.
 */
export class SegmentWriter {
  /** The client the open segment belongs to, and how many segments it opened. */
  private client = -1;
  private opened = 0;
  private current: Y.Array<string> | null = null;

  constructor(
    private readonly doc: Y.Doc,
    readonly writer: string,
  ) {}

  append(jsons: readonly string[]): void {
    let offset = 0;
    while (offset < jsons.length) {
      const segment = this.openSegment();
      const room = SEGMENT_SIZE - segment.length;
      const chunk = jsons.slice(offset, offset + room);
      segment.push(chunk as string[]);
      offset += chunk.length;
    }
  }

  private openSegment(): Y.Array<string> {
    // Yjs gives a doc a new client id when it meets its own id in another's update. A segment
    // another replica deleted or replaced (a faulty or hostile client) takes nothing more:
    // whatever is pushed into a deleted array is deleted with it.
    if (this.client !== this.doc.clientID) this.locate();
    if (this.current !== null && (this.current._item?.deleted ?? true)) this.current = null;
    if (this.current !== null && this.current.length < SEGMENT_SIZE) return this.current;
    const fresh = new Y.Array<string>();
    segmentsOf(this.doc).set(segmentKey(this.writer, segmentIndex(this.client, this.opened)), fresh);
    this.opened += 1;
    this.current = fresh;
    return fresh;
  }

  /** This client's last segment for the writer, if it opened any (one deleted under it is skipped). */
  private locate(): void {
    this.client = this.doc.clientID;
    const first = segmentIndex(this.client, 0);
    let opened = 0;
    for (const key of segmentsOf(this.doc).keys()) {
      const parsed = parseSegmentKey(key);
      if (parsed === null || parsed.writer !== this.writer) continue;
      const k = parsed.index - first;
      if (k >= 0 && k < SEGMENTS_PER_CLIENT && k + 1 > opened) opened = k + 1;
    }
    this.opened = opened;
    const last: unknown = opened > 0 ? segmentsOf(this.doc).get(segmentKey(this.writer, first + opened - 1)) : null;
    // Only an array this client made (not a faulty client's write there): else openSegment opens the next index.
    this.current = last instanceof Y.Array && last._item?.id.client === this.client ? (last as Y.Array<string>) : null;
  }
}

/**
 * Left behind by compaction, so every replica agrees the aggregate is archived: a terminal
 * that was offline during it does not show a late event as a resurrected, partial ticket
 * (the late event is still uploaded, then compacted in turn). `number` keeps a ticket's
 * readable number reserved (numberedOf once the tombstone ended). A writer's counter does not go back when its events leave: it
 * continues from the highest of its last event held, its device reservation and its `acks`
 * watermark (EventStore).
 */
export interface Tombstone {
  at: number;
  by: string;
  events: number;
  number: string | null;
}

export function compactedOf(doc: Y.Doc): Y.Map<Tombstone> {
  return doc.getMap<Tombstone>(COMPACTED);
}

/**
 * The highest ticket ordinal of a number label whose tombstones ended (CMP8), keyed
 * `${label}/${replica}`: each replica writes only its own keys (two writing one key at once,
 * Yjs would keep either value, maybe the lower), a reader takes the highest per label. A few
 * keys per label: what keeps those numbers from being handed out again once their tombstones
 * are gone.
 */
export function numberedOf(doc: Y.Doc): Y.Map<number> {
  return doc.getMap<number>(NUMBERED);
}

/**
 * Deletes the given events from every segment, in one pass over the log, merging
 * adjacent entries into ranges. Must run inside a transaction. Returns how many it deleted.
 */
export function deleteEvents(doc: Y.Doc, eventIds: ReadonlySet<string>): number {
  let deleted = 0;
  for (const segment of segmentArrays(doc)) {
    const entries = segment.toArray();
    // From the end, so earlier indices stay valid while deleting.
    let i = entries.length - 1;
    while (i >= 0) {
      if (!eventIds.has(eventIdOf(entries[i]!) ?? '')) {
        i--;
        continue;
      }
      let start = i;
      while (start > 0 && eventIds.has(eventIdOf(entries[start - 1]!) ?? '')) start--;
      segment.delete(start, i - start + 1);
      deleted += i - start + 1;
      i = start - 1;
    }
  }
  return deleted;
}

/** Every event JSON held in the doc, segment by segment (order across segments is not meaningful). */
export function readAllEventJson(doc: Y.Doc): string[] {
  const out: string[] = [];
  for (const segment of segmentArrays(doc)) for (const json of entriesOf(segment)) out.push(json);
  return out;
}

export interface LogObserver {
  onAdded: (jsons: string[], origin: unknown) => void;
  onRemoved?: (jsons: string[], origin: unknown) => void;
  /** Transactions of these origins are not read (e.g. the observer's own writes). */
  ignoreOrigins?: readonly unknown[];
}

/**
 * Reports what compaction (or anyone) deleted from the log in each transaction, then the event
 * JSON it added. Reads only what the transaction touched.
 */
export function observeLog(doc: Y.Doc, observer: LogObserver): () => void {
  const segments = segmentsOf(doc);
  const ignored = new Set(observer.ignoreOrigins ?? []);
  const handler = (events: Y.YEvent<Y.AbstractType<unknown>>[], tr: Y.Transaction): void => {
    if (ignored.has(tr.origin)) return;
    const added: string[] = [];
    const removed: string[] = [];
    for (const ev of events) {
      if (ev.target === segments) {
        for (const [key, change] of ev.changes.keys) {
          if (change.action === 'add' || change.action === 'update') {
            const seg: unknown = segments.get(key);
            if (seg instanceof Y.Array) added.push(...entriesOf(seg));
          }
        }
      } else {
        for (const item of ev.changes.added) collectStrings(item, added);
        for (const item of ev.changes.deleted) collectStrings(item, removed);
      }
    }
    // Removals first: a transaction that deletes events and adds copies of them (the server
    // undoing a compaction, met by a till that was away as one update) must end with them held.
    if (removed.length > 0) observer.onRemoved?.(removed, tr.origin);
    if (added.length > 0) observer.onAdded(added, tr.origin);
  };
  segments.observeDeep(handler);
  return () => segments.unobserveDeep(handler);
}

/** The event JSON an item of a segment holds (deleted items too, until their transaction ends). */
export function collectStrings(item: Y.Item, into: string[]): void {
  for (const value of item.content.getContent()) {
    if (typeof value === 'string') into.push(value);
  }
}
