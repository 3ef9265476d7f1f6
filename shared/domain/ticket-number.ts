import { fnv1a32 } from '../fnv1a';

/**
 * Ticket numbers staff can read and say aloud ("A-017"), that never collide between
 * terminals working offline and never change after sync:
 *   - the writer label is a short per-terminal prefix, so two terminals never produce
 *     the same number even if both open their 17th ticket offline;
 *   - k is the writer's own count of tickets opened, kept by that terminal;
 *   - the number is written into `ticket.opened`, so sync never renumbers anything.
 * The ticket's identity is its aggregate id; the number is for people.
 */
export const TICKET_NUMBER_PATTERN = /^[A-Z0-9]{1,4}-\d{3,6}$/;

/** Letters that are hard to confuse when read aloud or handwritten (no I, O, Q, U). */
const LABEL_ALPHABET = 'ABCDEFGHJKLMNPRSTVWXYZ';

export function formatTicketNumber(writerLabel: string, k: number): string {
  if (!/^[A-Z0-9]{1,4}$/.test(writerLabel)) throw new RangeError(`bad writer label: ${writerLabel}`);
  if (!Number.isInteger(k) || k < 1 || k > 999_999) throw new RangeError(`bad ticket ordinal: ${k}`);
  return `${writerLabel}-${String(k).padStart(3, '0')}`;
}

export function parseTicketNumber(n: string): { writerLabel: string; k: number } | undefined {
  if (!TICKET_NUMBER_PATTERN.test(n)) return undefined;
  const dash = n.indexOf('-');
  return { writerLabel: n.slice(0, dash), k: Number(n.slice(dash + 1)) };
}

/**
 * A short label derived deterministically from a terminal id (FNV-1a → letters).
 * `length` 1 gives 22 labels, 2 gives 484. Hash labels can coincide, so when the set of
 * terminals of a location is known (enrolment), use `assignWriterLabels` instead, which
 * lengthens labels until they are unique.
 */
export function writerLabelFor(terminalId: string, length: number): string {
  let h = fnv1a32(terminalId);
  let out = '';
  for (let i = 0; i < length; i++) {
    out += LABEL_ALPHABET[h % LABEL_ALPHABET.length];
    // Re-mix before the next letter so letters are independent of each other.
    h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) >>> 0;
  }
  return out;
}

/**
 * Unique labels for a known set of terminals: the shortest length (1..4) at which
 * every hash label differs. Same set in → same labels out, whatever the order.
 */
export function assignWriterLabels(terminalIds: Iterable<string>): Map<string, string> {
  const ids = [...new Set(terminalIds)].sort();
  for (let length = 1; length <= 4; length++) {
    const labels = ids.map((id) => writerLabelFor(id, length));
    if (new Set(labels).size === labels.length) return new Map(ids.map((id, i) => [id, labels[i]!]));
  }
  // Still colliding at 4 letters (over 200k terminals, or a pathological hash): fall back to
  // the sorted index, which is unique but shifts when terminals are added.
  return new Map(ids.map((id, i) => [id, i.toString(36).toUpperCase().padStart(4, '0')]));
}

/**
 * The next ordinal for a writer from the numbers it has already used. The terminal must
 * persist its high-water mark too: compaction removes old closed tickets, and numbers
 * must not be reused after that.
 */
export function nextTicketOrdinal(writerLabel: string, usedNumbers: Iterable<string>, highWater = 0): number {
  let max = highWater;
  for (const n of usedNumbers) {
    const p = parseTicketNumber(n);
    if (p && p.writerLabel === writerLabel && p.k > max) max = p.k;
  }
  return max + 1;
}
