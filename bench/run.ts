import { foundationBench } from './foundation';
import { serverIngestBench } from './server-ingest';
import { serverRelayBench } from './server-relay';
import { machineLine, markdownTable, met, writeSection, type BenchRow } from './report';

/**
 * `npm run bench [-- --quick] [-- --only=suite]`: runs the benchmark suites, prints one
 * table (metric, ours, anchor, ratio, target, met) and writes docs/benchmarks.md.
 */
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const only = args.find((a) => a.startsWith('--only='))?.slice('--only='.length);

const suites: Record<string, () => Promise<BenchRow[]>> = {
  foundation: () => foundationBench({ quick }),
  'server-ingest': () => serverIngestBench({ quick }),
  'server-relay': () => serverRelayBench({ quick }),
  sync: async () => (await import('./sync-suite')).syncBench({ quick }),
  browser: async () => (await import('./browser-suite')).browserBench({ quick }),
};

for (const [name, run] of Object.entries(suites)) {
  if (only && only !== name) continue;
  const started = performance.now();
  const rows = await run();
  const seconds = ((performance.now() - started) / 1000).toFixed(0);
  const table = markdownTable(rows);
  console.log(`\n## ${name} (${seconds} s${quick ? ', quick' : ''})\n${table}`);
  const notMet = rows.filter((r) => met(r) === false).length;
  const notes = rows.filter((r) => r.note).map((r) => `- ${r.metric}: ${r.note}`).join('\n');
  if (!quick) {
    writeSection('docs/benchmarks.md', name, `## ${name}\n\n${machineLine()}; ${seconds} s.\n\n${table}\n${notes ? `\n${notes}\n` : ''}\n${notMet} target(s) not met.`);
  }
}
