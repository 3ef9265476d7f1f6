import { met, ratio, type BenchRow } from './report';

/**
 * An SVG chart of every ratio that has a target: one bar per row on a log₂ axis around
 * 1× (ours = anchor), with the target as a tick; green when met, red when not.
 * "Higher is better" rows (target ≥) and "lower is better" rows (target ≤) share the axis,
 * so each row says which way it should go.
 */
const WIDTH = 900;
const LABEL = 430;
const ROW = 22;
const MIN_LOG = -5; // 1/32×
const MAX_LOG = 5; // 32×

export function ratioChart(rows: readonly BenchRow[]): string {
  const charted = rows.filter((r) => r.target?.on === 'ratio' && ratio(r) !== null);
  const height = 40 + charted.length * ROW;
  const x = (value: number): number => {
    const l = Math.max(MIN_LOG, Math.min(MAX_LOG, Math.log2(Math.max(value, 1e-9))));
    return LABEL + ((l - MIN_LOG) / (MAX_LOG - MIN_LOG)) * (WIDTH - LABEL - 20);
  };
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
  ];
  for (const tick of [1 / 16, 1 / 4, 1, 4, 16]) {
    parts.push(`<line x1="${x(tick)}" y1="20" x2="${x(tick)}" y2="${height - 10}" stroke="${tick === 1 ? '#333' : '#ddd'}"/>`);
    parts.push(`<text x="${x(tick)}" y="14" text-anchor="middle">${tick >= 1 ? tick : `1/${1 / tick}`}×</text>`);
  }
  charted.forEach((r, i) => {
    const y = 28 + i * ROW;
    const value = ratio(r)!;
    const ok = met(r);
    const label = `${r.suite}: ${r.metric}`.slice(0, 70);
    parts.push(`<text x="${LABEL - 6}" y="${y + 11}" text-anchor="end">${escape(`${label} (${r.target!.op} ${r.target!.value})`)}</text>`);
    const [a, b] = [x(1), x(value)].sort((p, q) => p - q);
    parts.push(`<rect x="${a}" y="${y + 2}" width="${Math.max(1, b! - a!)}" height="${ROW - 8}" fill="${ok ? '#2e7d32' : '#c62828'}"/>`);
    parts.push(`<line x1="${x(r.target!.value)}" y1="${y}" x2="${x(r.target!.value)}" y2="${y + ROW - 4}" stroke="#000" stroke-width="2"/>`);
    parts.push(`<text x="${Math.min(WIDTH - 40, b! + 4)}" y="${y + 11}">${value.toFixed(2)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

function escape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
