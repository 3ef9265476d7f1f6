import { z } from 'zod';

/**
 * Sales tax included in prices (VAT, GST): a menu price is what the guest pays, and the
 * receipt and the takings say how much of it is tax, rate by rate. Rates are integer basis
 * points (2000 = 20 %, 550 = 5.5 %) so every replica computes the same cents.
 */
export const TaxBasisPoints = z.number().int().min(0).max(10_000);

/** What an amount taxed at one rate comes to: `grossCents` with the tax in it, and the rest. */
export interface TaxLine {
  /** The rate; null for lines whose item has no rate set (they are counted, not taxed). */
  basisPoints: number | null;
  grossCents: number;
  taxCents: number;
  netCents: number;
}

/** The tax included in a tax-inclusive amount: gross × rate / (1 + rate), to the nearest cent (halves up). */
export function taxIncludedIn(grossCents: number, basisPoints: number): number {
  // Integers throughout (2 × 10⁸ × 10⁴ stays far below 2⁵³): no float rounding to disagree on.
  const denominator = 10_000 + basisPoints;
  return Math.floor((2 * grossCents * basisPoints + denominator) / (2 * denominator));
}

/**
 * Splits `cents` over `weights` in proportion, to the cent, the parts summing to `cents`
 * exactly: each part rounded down, the cents left over going to the largest remainders
 * (ties to the earlier weight). All weights zero: all of it goes to the last.
 */
export function allocateCents(cents: number, weights: readonly number[]): number[] {
  if (weights.length === 0) return [];
  const total = weights.reduce((a, w) => a + w, 0);
  if (total === 0) return weights.map((_, i) => (i === weights.length - 1 ? cents : 0));
  // BigInt: cents × weight can pass 2⁵³ for large tickets.
  const parts = weights.map((w) => {
    const scaled = BigInt(cents) * BigInt(w);
    return { share: Number(scaled / BigInt(total)), remainder: Number(scaled % BigInt(total)) };
  });
  let left = cents - parts.reduce((a, p) => a + p.share, 0);
  const byRemainder = parts.map((p, i) => i).sort((a, b) => parts[b]!.remainder - parts[a]!.remainder || a - b);
  for (const i of byRemainder) {
    if (left === 0) break;
    parts[i]!.share++;
    left--;
  }
  return parts.map((p) => p.share);
}

/**
 * The tax in `amountCents` charged for goods at several rates (`grossByRate`: what each rate's
 * goods came to before a discount): the amount is shared out over the rates in proportion
 * (a discount comes off every rate alike), then each share's tax is taken out. One line per
 * rate, lowest first, no rate last; the lines' gross sums to the amount.
 */
export function taxesOn(amountCents: number, grossByRate: ReadonlyMap<number | null, number>): TaxLine[] {
  const rates = [...grossByRate.keys()].sort(byRate);
  if (rates.length === 0) rates.push(null);
  const shares = allocateCents(amountCents, rates.map((r) => grossByRate.get(r) ?? 0));
  return rates.map((basisPoints, i) => {
    const grossCents = shares[i]!;
    const taxCents = basisPoints === null ? 0 : taxIncludedIn(grossCents, basisPoints);
    return { basisPoints, grossCents, taxCents, netCents: grossCents - taxCents };
  });
}

/** Adds `more` into `into`, rate by rate (a day's tickets into its takings). */
export function addTaxLines(into: Map<number | null, TaxLine>, more: readonly TaxLine[]): void {
  for (const line of more) {
    const sum = into.get(line.basisPoints) ?? { basisPoints: line.basisPoints, grossCents: 0, taxCents: 0, netCents: 0 };
    sum.grossCents += line.grossCents;
    sum.taxCents += line.taxCents;
    sum.netCents += line.netCents;
    into.set(line.basisPoints, sum);
  }
}

/** Rate lines in report order: lowest rate first, no rate last. */
export function sortedTaxLines(lines: Iterable<TaxLine>): TaxLine[] {
  return [...lines].sort((a, b) => byRate(a.basisPoints, b.basisPoints));
}

function byRate(a: number | null, b: number | null): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  return a - b;
}
