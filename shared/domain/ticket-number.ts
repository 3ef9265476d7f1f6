import { fnv1a32 } from '../fnv1a';

/**
 * Ticket numbers staff can read and say aloud ("CRD-017"), that terminals working offline
 * do not share and that never change after sync:
 *   - the writer label is a short prefix hashed from the writer id, so two terminals do not
 *     produce the same number even if both open their 17th ticket offline (unless their
 *     hashes coincide: TicketCommands.label lengthens a label once it has seen that);
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
 * `length` 1 gives 22 labels, 3 gives 10,648. Hash labels can coincide.
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
