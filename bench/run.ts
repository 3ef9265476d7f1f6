import { writeFileSync } from 'node:fs';
import { ratioChart } from './chart';
import { foundationBench } from './foundation';
import { serverIngestBench } from './server-ingest';
import { serverRelayBench } from './server-relay';
import { machineLine, markdownTable, met, writeSection, type BenchRow } from './report';

/**
 * `npm run bench [-- --quick] [-- --only=suite]`: runs the benchmark suites and prints one
 * table (metric, ours, anchor, ratio, target, met). A full run (no --quick) writes each
 * suite's section of docs/benchmarks.md; a full run of every suite also writes the summary
 * table and the chart of ratios (docs/benchmarks-ratios.svg).
 */
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const only = args.find((a) => a.startsWith('--only='))?.slice('--only='.length);
const DOC = 'docs/benchmarks.md';

const suites: Record<string, () => Promise<BenchRow[]>> = {
  foundation: () => foundationBench({ quick }),
  'server-ingest': () => serverIngestBench({ quick }),
  'server-relay': () => serverRelayBench({ quick }),
  compaction: async () => (await import('./compaction')).compactionBench({ quick }),
  sync: async () => (await import('./sync-suite')).syncBench({ quick }),
  browser: async () => (await import('./browser-suite')).browserBench({ quick }),
};

if (only !== undefined && !(only in suites)) {
  console.error(`bench: no suite "${only}"; suites: ${Object.keys(suites).join(', ')}`);
  process.exit(1);
}

const all: BenchRow[] = [];
const started = performance.now();
for (const [name, run] of Object.entries(suites)) {
  if (only && only !== name) continue;
  const suiteStarted = performance.now();
  const rows = await run();
  all.push(...rows);
  const seconds = ((performance.now() - suiteStarted) / 1000).toFixed(0);
  const table = markdownTable(rows);
  console.log(`\n## ${name} (${seconds} s${quick ? ', quick' : ''})\n${table}`);
  if (quick) continue;
  const notMet = rows.filter((r) => met(r) === false).length;
  const notes = rows.filter((r) => r.note).map((r) => `- ${r.metric}: ${r.note}`).join('\n');
  writeSection(DOC, name, `## ${name}\n\n${machineLine()}; ${seconds} s.\n\n${table}\n${notes ? `\n${notes}\n` : ''}\n${notMet} target(s) not met.`);
}

const minutes = ((performance.now() - started) / 60_000).toFixed(1);
const summary = markdownTable(all);
console.log(`\n# All suites (${minutes} min${quick ? ', quick' : ''})\n${summary}`);
if (!quick && !only) {
  writeFileSync('docs/benchmarks-ratios.svg', ratioChart(all));
  const notMet = all.filter((r) => met(r) === false).length;
  writeSection(
    DOC,
    'summary',
    `## Summary\n\n${machineLine()}; all suites in ${minutes} min.\n\n![Ratios to anchors](benchmarks-ratios.svg)\n\n${summary}\n\n${notMet} of ${all.filter((r) => met(r) !== null).length} targets not met; each suite's section below says why.`,
  );
}
