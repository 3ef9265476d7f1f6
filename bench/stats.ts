/** Small statistics helpers for benchmarks: percentiles and medians of repeated runs. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export function summarize(samples: readonly number[]): { p50: number; p99: number; mean: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const mean = sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), mean };
}

/** Runs `fn` `runs` times and returns the median and the spread (min..max). */
export async function repeat(runs: number, fn: () => Promise<number> | number): Promise<{ median: number; min: number; max: number }> {
  const values: number[] = [];
  for (let i = 0; i < runs; i++) values.push(await fn());
  values.sort((a, b) => a - b);
  return { median: percentile(values, 50), min: values[0]!, max: values[values.length - 1]! };
}

export function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}
