import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, compiledDir, compiledPath, compilers, pointImports, stripTypes, writeCompiled } from '../helpers/svelte-compiled';

type TicketListModule = { openedSince(openedAt: number | null, now: number): string | null };

/**
 * TicketList's module script (`<script module>`), compiled alone: the component's instance
 * script imports a runes module (Now) the components helper does not compile.
 */
async function ticketListModule(): Promise<TicketListModule> {
  const components = join(ROOT, 'client', 'ui', 'components');
  const source = join(components, 'TicketList.svelte');
  const script = /<script module lang="ts">([\s\S]*?)<\/script>/.exec(readFileSync(source, 'utf8'))![1]!;
  const code = await pointImports(stripTypes((await compilers()).ts, script), source, () => Promise.reject(new Error('no component in the module script')));
  const out = compiledPath(compiledDir('ui-component-modules', components), source);
  return (await import(/* @vite-ignore */ writeCompiled(out, code))) as TicketListModule;
}

describe('tickets list (TicketList)', () => {
  it('[APP48] a ticket left open from an earlier business day (they turn at 04:00) says since when: "since yesterday", "since Wed 25"; tonight\'s say nothing', async () => {
    const { openedSince } = await ticketListModule();
    const at = (day: number, hour: number, minute = 0) => new Date(2026, 10, day, hour, minute).getTime();
    // Friday 27 November 2026, 01:30: still Thursday's business day.
    const now = at(27, 1, 30);
    expect([at(26, 18), at(26, 4), at(27, 1)].map((t) => openedSince(t, now))).toEqual([null, null, null]);
    expect(openedSince(null, now)).toBeNull();
    expect([at(26, 3, 59), at(25, 12)].map((t) => openedSince(t, now))).toEqual(['since yesterday', 'since yesterday']);
    // Opened at 02:00 on Thursday: Wednesday's business day.
    expect([at(25, 3), at(26, 2)].map((t) => openedSince(t, at(27, 20)))).toEqual(['since Tue 24', 'since Wed 25']);
  });
});
