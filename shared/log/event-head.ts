import { MAX_EVENT_BYTES } from '../events/envelope';
import { MAX_JSON_DEPTH, nestsDeeperThan } from '../json-depth';

/**
 * The id and origin of an event held in a room, read from its JSON without parsing the
 * whole event when it can be (room load indexes every event: 100k JSON.parse calls
 * cost about as much as applying the state itself).
 *
 * Fast path: the layout terminals and the bridge write (`JSON.stringify` of an envelope,
 * which starts `{"id":"…"` and has `,"origin":{"terminal":"…","n":…` before the payload).
 * The fast path only accepts what it can read unambiguously — no backslash inside the
 * strings it slices, digits for n — and falls back to JSON.parse for anything else
 * (canonical key order, escapes, foreign writers). A `"` inside a JSON string is always
 * escaped, so `"origin":{"terminal":"` can only match JSON structure; in both layouts the
 * envelope's origin comes before the payload, and a match after the payload key is parsed.
 */
export interface EventHead {
  id: string;
  /** origin.terminal / origin.n; null when the entry has no usable origin. */
  terminal: string | null;
  n: number;
}

const ID_PREFIX = '{"id":"';
const ORIGIN_MARK = ',"origin":{"terminal":"';
const N_MARK = '","n":';
/** A mark found after this key may be the payload's own, not the envelope's. */
const PAYLOAD_KEY = '"payload":';

/**
 * Whether the fast path may read `json` at all: a whole object (not cut off) with no second
 * `"id"` member. A duplicate key is read first here and last by JSON.parse: such an entry
 * (only a faulty or hostile writer makes one) is parsed, so both always agree.
 */
function plainlyWhole(json: string): boolean {
  return json.charCodeAt(json.length - 1) === 125 && json.indexOf(',"id":') < 0;
}

/**
 * Longest entry read as an event (UTF-16 units). The terminals and the bridge write an event
 * as JSON of at most MAX_EVENT_BYTES; the margin is for another writer's escapes and spaces.
 * Anything longer holds no event and is never parsed: one frame may carry 32 MB of deeply
 * nested JSON, whose parse blocks the event loop for seconds, again at each load of its room.
 */
export const MAX_ENTRY_LENGTH = 4 * MAX_EVENT_BYTES;

/** Whether `json` may hold an event at all: a string no longer than MAX_ENTRY_LENGTH. */
function readable(json: unknown): json is string {
  return typeof json === 'string' && json.length <= MAX_ENTRY_LENGTH;
}

/**
 * What a log entry's JSON parses to; undefined when it is not JSON, or too long or too deeply
 * nested to be an event (then not parsed). A payload nested thousands deep parses, but the
 * JSON.stringify of an upload batch holding it threw, and every upload of the till with it.
 */
export function parseEntry(json: string): unknown {
  if (!readable(json) || nestsDeeperThan(json, MAX_JSON_DEPTH)) return undefined;
  try {
    return JSON.parse(json) as unknown;
  } catch {
    return undefined;
  }
}

/** Null for anything that holds no event, a non-string or oversized entry included (see log-doc.ts). */
export function eventHeadOf(json: unknown): EventHead | null {
  if (!readable(json)) return null;
  return fastHead(json) ?? parsedHead(json);
}

/** Only the id (the event index needs nothing else). */
export function eventIdOf(json: unknown): string | null {
  if (!readable(json)) return null;
  if (json.startsWith(ID_PREFIX) && plainlyWhole(json)) {
    const end = json.indexOf('"', ID_PREFIX.length);
    const id = json.slice(ID_PREFIX.length, Math.max(ID_PREFIX.length, end));
    if (end > ID_PREFIX.length && !id.includes('\\')) return id;
  }
  return parsedHead(json)?.id ?? null;
}

const AGGREGATE_MARK = '"aggregate":{"id":"';

/**
 * The aggregate id of an event's JSON (null if it holds none). Fast path: both layouts
 * write `"aggregate":{"id":"…"` (id sorts before type) before the payload; a match after
 * the payload key may be the payload's own, so that is parsed.
 */
export function aggregateIdOf(json: string): string | null {
  if (!readable(json)) return null;
  const at = json.indexOf(AGGREGATE_MARK);
  if (at >= 0 && at < json.indexOf(PAYLOAD_KEY) && plainlyWhole(json) && json.lastIndexOf('"aggregate":') === at) {
    const start = at + AGGREGATE_MARK.length;
    const end = json.indexOf('"', start);
    const id = json.slice(start, Math.max(start, end));
    if (end > start && !id.includes('\\')) return id;
  }
  const parsed = parseEntry(json) as { aggregate?: { id?: unknown } } | null | undefined;
  const id = parsed?.aggregate?.id;
  return typeof id === 'string' ? id : null;
}

function fastHead(json: string): EventHead | null {
  if (!json.startsWith(ID_PREFIX) || !plainlyWhole(json)) return null;
  const idEnd = json.indexOf('"', ID_PREFIX.length);
  if (idEnd <= ID_PREFIX.length) return null;
  const id = json.slice(ID_PREFIX.length, idEnd);
  if (id.includes('\\')) return null;
  const at = json.indexOf(ORIGIN_MARK, idEnd);
  // After the payload key, the match may be the payload's own (a foreign key order), and a
  // second origin may be the envelope's own (read last by JSON.parse): parse.
  if (at < 0 || at > json.indexOf(PAYLOAD_KEY) || json.lastIndexOf(',"origin":') !== at) return null;
  const tStart = at + ORIGIN_MARK.length;
  const tEnd = json.indexOf('"', tStart);
  if (tEnd <= tStart || !json.startsWith(N_MARK, tEnd)) return null;
  const terminal = json.slice(tStart, tEnd);
  if (terminal.includes('\\')) return null;
  let i = tEnd + N_MARK.length;
  let n = 0;
  const first = i;
  for (; i < json.length; i++) {
    const c = json.charCodeAt(i);
    if (c < 48 || c > 57) break;
    n = n * 10 + (c - 48);
  }
  const next = json.charCodeAt(i);
  // 44 ',' 125 '}'; at most 15 digits keeps n an exact integer.
  if (i === first || i - first > 15 || n === 0 || (next !== 44 && next !== 125)) return null;
  return { id, terminal, n };
}

function parsedHead(json: string): EventHead | null {
  const parsed = parseEntry(json);
  // Undefined, or no object: a malformed entry written by a faulty client holds no event.
  if (parsed === null || typeof parsed !== 'object') return null;
  const { id, origin } = parsed as { id?: unknown; origin?: unknown };
  if (typeof id !== 'string') return null;
  if (origin !== null && typeof origin === 'object') {
    const { terminal, n } = origin as { terminal?: unknown; n?: unknown };
    if (typeof terminal === 'string' && typeof n === 'number' && Number.isSafeInteger(n) && n > 0) return { id, terminal, n };
  }
  return { id, terminal: null, n: 0 };
}
