import { z } from 'zod';

/**
 * Building blocks shared by the domain schemas. Money is always integer cents: floats
 * cannot represent 0.10 exactly and sums of them drift, so a total would differ between
 * terminals that added the same lines in another order.
 */
export const Cents = z.number().int().nonnegative().max(100_000_000);
export const PositiveCents = z.number().int().positive().max(100_000_000);

/** Ids chosen by the writer (UUIDs in practice); bounded so a view stays small. */
export const EntityId = z.string().min(1).max(128);

export const Quantity = z.number().int().positive().max(999);

export const ShortText = z.string().min(1).max(120);

/** Whether a name has something to read: one of spaces only is an empty button on every till. */
export const notBlank = (s: string): boolean => s.trim() !== '';

/** What staff find a thing by (an item, its category or station, the restaurant): never blank. */
export const DisplayName = ShortText.refine(notBlank, 'must not be blank');
export const Note = z.string().max(500);

/** Cents as staff read money: 2650 → "26.50", −150 → "−1.50" (exact, no floating point). */
export function formatCents(cents: number): string {
  const sign = cents < 0 ? '−' : '';
  const abs = Math.abs(cents);
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}
