import { z } from 'zod';

/**
 * Sales tax included in prices (VAT, GST): a menu price is what the guest pays, and the
 * receipt and the takings say how much of it is tax, rate by rate. Rates are integer basis
 * points (2000 = 20 %, 550 = 5.5 %) so every replica computes the same cents.
 */
export const TaxBasisPoints = z.number().int().min(0).max(10_000);

const Cents = z.number().int();

/**
 * What an amount taxed at one rate comes to: `grossCents` with the tax in it, and the rest.
 * `basisPoints` is null for lines whose item has no rate set (they are counted, not taxed).
 * A schema, as the takings report carries these over REST.
 */
export const TaxLine = z.object({ basisPoints: TaxBasisPoints.nullable(), grossCents: Cents, taxCents: Cents, netCents: Cents });
export type TaxLine = z.infer<typeof TaxLine>;

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
  const byRemainder = parts.map((_, i) => i).sort((a, b) => parts[b]!.remainder - parts[a]!.remainder || a - b);
  for (const i of byRemainder) {
    if (left === 0) break;
    parts[i]!.share++;
    left--;
  }
  return parts.map((p) => p.share);
}

/**
 * The tax in what was charged at each rate (`grossByRate`, tax included): one line per rate,
 * lowest first, no rate last; nothing charged is one line of zeros at no rate.
 */
export function taxesByRate(grossByRate: ReadonlyMap<number | null, number>): TaxLine[] {
  const rates = [...grossByRate.keys()].sort(compareRates);
  if (rates.length === 0) rates.push(null);
  return rates.map((basisPoints) => {
    const grossCents = grossByRate.get(basisPoints) ?? 0;
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
  return [...lines].sort((a, b) => compareRates(a.basisPoints, b.basisPoints));
}

/** Rates in report order: lowest first, no rate last. */
export function compareRates(a: number | null, b: number | null): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  return a - b;
}
