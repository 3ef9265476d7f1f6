import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, compilers, stripTypes } from '../helpers/svelte-compiled';

/** The CSS the Svelte compiler makes of a screen, rule by rule: selector (scoping class taken off) → declarations. */
async function rulesOf(screen: string): Promise<Map<string, string>> {
  const { ts, svelte } = await compilers();
  const source = join(ROOT, 'client', 'ui', 'screens', `${screen}.svelte`);
  const stripped = await svelte.preprocess(readFileSync(source, 'utf8'), { script: ({ content, attributes }) => (attributes.lang === 'ts' ? { code: stripTypes(ts, content) } : undefined) }, { filename: source });
  const css = svelte.compile(stripped.code, { generate: 'client', filename: source, css: 'external' }).css?.code ?? '';
  const rules = new Map<string, string>();
  for (const [, selector, body] of css.replace(/\/\*[\s\S]*?\*\//g, '').matchAll(/([^{}]+)\{([^{}]*)\}/g)) {
    for (const one of selector!.split(',')) rules.set(one.replace(/\.svelte-[a-z0-9]+/g, '').trim(), body!);
  }
  return rules;
}

describe('[APP7] Kitchen screen styles', () => {
  it('[APP7] a ticket note, a recalled ticket\'s note and a line note typed without spaces break inside their card (overflow-wrap: anywhere)', async () => {
    const rules = await rulesOf('KitchenScreen');
    for (const selector of ['.note', 'em']) expect(rules.get(selector), selector).toMatch(/overflow-wrap:\s*anywhere/);
  });
});
