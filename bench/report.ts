import { execFileSync } from 'node:child_process';
import { writeFileSync, readFileSync, existsSync } from 'node:fs';
import { cpus } from 'node:os';

/**
 * One row of the benchmark table: our figure beside its anchor measured in the same run.
 * `better` says which direction wins, so the ratio always reads "× the anchor" and the
 * target compares it the right way.
 */
export interface BenchRow {
  suite: string;
  metric: string;
  ours: number;
  anchor: number | null;
  anchorName: string;
  unit: string;
  /** Target on ours/anchor (or on ours alone when anchor is null). */
  target: { op: '<=' | '>=' | '<'; value: number; on: 'ratio' | 'ours' } | null;
  spread?: string;
  note?: string;
}

export function ratio(row: BenchRow): number | null {
  return row.anchor === null || row.anchor === 0 ? null : row.ours / row.anchor;
}

export function met(row: BenchRow): boolean | null {
  if (!row.target) return null;
  const value = row.target.on === 'ratio' ? ratio(row) : row.ours;
  if (value === null) return null;
  switch (row.target.op) {
    case '<=':
      return value <= row.target.value;
    case '<':
      return value < row.target.value;
    case '>=':
      return value >= row.target.value;
  }
}

const fmt = (n: number | null): string =>
  n === null ? '–' : Math.abs(n) >= 100 ? n.toFixed(0) : Math.abs(n) >= 10 ? n.toFixed(1) : n.toFixed(3).replace(/\.?0+$/, '') || '0';

function targetText(row: BenchRow): string {
  if (!row.target) return '';
  return `${row.target.on === 'ratio' ? 'ratio' : 'ours'} ${row.target.op} ${row.target.value}`;
}

export function markdownTable(rows: readonly BenchRow[]): string {
  const head = '| suite | metric | ours | anchor | ratio | target | met |\n|---|---|---|---|---|---|---|';
  const lines = rows.map((r) => {
    const m = met(r);
    return `| ${r.suite} | ${r.metric} | ${fmt(r.ours)} ${r.unit}${r.spread ? ` (${r.spread})` : ''} | ${r.anchor === null ? '' : `${fmt(r.anchor)} ${r.unit} (${r.anchorName})`} | ${fmt(ratio(r))} | ${targetText(r)} | ${m === null ? '' : m ? 'met' : '**not met**'} |`;
  });
  return [head, ...lines].join('\n');
}

export function machineLine(): string {
  let chromium = 'not installed';
  if (existsSync('/usr/bin/chromium')) {
    try {
      chromium = execFileSync('/usr/bin/chromium', ['--version'], { encoding: 'utf8' }).trim();
    } catch {
      chromium = 'unknown';
    }
  }
  return `nproc ${cpus().length}, node ${process.version}, ${chromium}, ${new Date().toISOString().slice(0, 10)}`;
}

/** Replaces the section between the suite's markers in docs/benchmarks.md (creating it if needed). */
export function writeSection(path: string, suite: string, body: string): void {
  const begin = `<!-- bench:${suite}:begin -->`;
  const end = `<!-- bench:${suite}:end -->`;
  const doc = existsSync(path) ? readFileSync(path, 'utf8') : '# Benchmarks\n\nProduced by `npm run bench`; every figure below is printed by it.\n';
  const block = `${begin}\n${body}\n${end}`;
  const i = doc.indexOf(begin);
  const j = doc.indexOf(end);
  writeFileSync(path, i >= 0 && j > i ? doc.slice(0, i) + block + doc.slice(j + end.length) : `${doc.trimEnd()}\n\n${block}\n`);
}
