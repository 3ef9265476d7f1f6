import { TerminalId } from '../events/envelope';
import { MAX_RANGES_ABOVE, type StoredAbove, type Watermarks } from '../protocol/rest-events';

/**
 * What the server acknowledges: per writer, every origin.n up to its watermark (the highest
 * contiguous n it stores), and the ranges it stores above it. Above an n the server never
 * stores (an event it refused for good, an n reserved and never written) the watermark stops
 * for good; the ranges acknowledge what the writer wrote after it (OUT8). The watermark never
 * skips an n the server lacks: a late event there would count as acknowledged and leave
 * devices unsent.
 */
export interface Acknowledgements {
  readonly marks: Readonly<Watermarks>;
  readonly above: Readonly<StoredAbove>;
}

/** Whether the server stores the writer's event n. */
export function acknowledges(acks: Acknowledgements, terminal: string, n: number): boolean {
  if (n <= (acks.marks[terminal] ?? 0)) return true;
  const ranges = Object.hasOwn(acks.above, terminal) ? acks.above[terminal] : undefined;
  if (ranges === undefined) return false;
  for (const [from, to] of ranges) if (n >= from && n <= to) return true;
  return false;
}

/**
 * Adds n to ranges sorted, disjoint and not adjacent (kept so: neighbours merge). O(log
 * ranges); n already in a range changes nothing. Appending in ascending order costs O(1).
 */
export function addToRanges(ranges: [number, number][], n: number): void {
  const last = ranges.at(-1);
  if (last === undefined || n > last[1] + 1) {
    ranges.push([n, n]);
    return;
  }
  // The first range ending at or after n - 1: n joins it, or goes just before it.
  let lo = 0;
  let hi = ranges.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ranges[mid]![1] < n - 1) lo = mid + 1;
    else hi = mid;
  }
  const at = ranges[lo]!;
  if (n >= at[0] && n <= at[1]) return;
  if (n === at[1] + 1) {
    at[1] = n;
    const next = ranges[lo + 1];
    if (next !== undefined && next[0] === n + 1) {
      at[1] = next[1];
      ranges.splice(lo + 1, 1);
    }
    return;
  }
  if (n === at[0] - 1) at[0] = n;
  else ranges.splice(lo, 0, [n, n]);
}

/** Drops from sorted ranges every n up to `mark` (the watermark rose through them). */
export function dropThrough(ranges: [number, number][], mark: number): void {
  let gone = 0;
  while (gone < ranges.length && ranges[gone]![1] <= mark) gone++;
  if (gone > 0) ranges.splice(0, gone);
  const first = ranges[0];
  if (first !== undefined && first[0] <= mark) first[0] = mark + 1;
}

/** The lowest MAX_RANGES_ABOVE of sorted ranges, copied: what an answer carries. */
export function lowestRanges(ranges: readonly (readonly [number, number])[]): [number, number][] {
  return ranges.slice(0, MAX_RANGES_ABOVE).map(([from, to]) => [from, to]);
}

/** Ranges as the room doc holds them: [from, to, from, to…]. */
export function flatRanges(ranges: readonly (readonly [number, number])[]): number[] {
  return ranges.flat();
}

/**
 * A room doc's value back into ranges; anything else than an even array of at most
 * MAX_RANGES_ABOVE positive integer pairs from ≤ to (a faulty or hostile replica's) is
 * undefined: no range.
 */
export function rangesFromFlat(value: unknown): [number, number][] | undefined {
  if (!Array.isArray(value) || value.length % 2 !== 0 || value.length > 2 * MAX_RANGES_ABOVE) return undefined;
  const ranges: [number, number][] = [];
  for (let i = 0; i < value.length; i += 2) {
    const from: unknown = value[i];
    const to: unknown = value[i + 1];
    if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || (from as number) < 1 || (from as number) > (to as number)) return undefined;
    ranges.push([from as number, to as number]);
  }
  return ranges;
}

/**
 * The room doc's `ackRanges` entries as StoredAbove; malformed keys and values are left out.
 * Built as own properties (fromEntries), as every StoredAbove here: a writer id may be `__proto__`.
 */
export function storedAboveOf(entries: Iterable<[string, unknown]>): StoredAbove {
  const above: [string, [number, number][]][] = [];
  for (const [terminal, value] of entries) {
    if (!TerminalId.safeParse(terminal).success) continue;
    const ranges = rangesFromFlat(value);
    if (ranges !== undefined && ranges.length > 0) above.push([terminal, ranges]);
  }
  return Object.fromEntries(above);
}

/**
 * Both sources' ranges, writer by writer (each is the server's word: a union is still true).
 * For lookups only (acknowledges): a writer's ranges come out unsorted and may overlap.
 */
export function unionAbove(a: Readonly<StoredAbove>, b: Readonly<StoredAbove>): StoredAbove {
  const union = new Map(Object.entries(a));
  for (const [terminal, ranges] of Object.entries(b)) union.set(terminal, [...(union.get(terminal) ?? []), ...ranges]);
  return Object.fromEntries(union);
}
