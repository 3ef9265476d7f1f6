import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Component } from 'svelte';
import { ROOT, compiledDir, compiledPath, compilers, pointImports, stripTypes, writeCompiled } from './svelte-compiled';

/*
 * The staff app's components (client/ui/components/*.svelte), compiled for server rendering
 * (TypeScript stripped, then `compile` with generate 'server') into tests/.tmp/ui-components/,
 * as tests/helpers/ui-models.ts does for the models: a test renders the real markup (render
 * from svelte/server) and reads it.
 */
const COMPONENTS = join(ROOT, 'client', 'ui', 'components');
const OUT = compiledDir('ui-components', COMPONENTS);

async function compileComponent(source: string): Promise<string> {
  const out = compiledPath(OUT, source);
  if (existsSync(out)) return out;
  const { ts, svelte } = await compilers();
  const stripped = await svelte.preprocess(readFileSync(source, 'utf8'), { script: ({ content, attributes }) => (attributes.lang === 'ts' ? { code: stripTypes(ts, content) } : undefined) }, { filename: source });
  const code = svelte.compile(stripped.code, { generate: 'server', dev: false, filename: source, css: 'injected' }).js.code;
  return writeCompiled(out, await pointImports(code, source, compileComponent));
}

/** The component client/ui/components/<name>.svelte, compiled for the server and imported. */
export async function component<Props extends Record<string, unknown>>(name: string): Promise<Component<Props>> {
  return ((await import(/* @vite-ignore */ await compileComponent(join(COMPONENTS, `${name}.svelte`)))) as { default: Component<Props> }).default;
}

/** Server-rendered markup as the text it reads: a line per row, heading or paragraph, cells joined by spaces. */
export function textOf(html: string): string {
  return html
    .replace(/<style[\s\S]*?<\/style>/g, '')
    .replace(/<!--[\s\S]*?-->/g, '')
    .replace(/<\/(tr|h2|p|span|header|button|li)>/g, '\n')
    .replace(/<\/t[dh]>/g, ' ')
    .replace(/<[^>]+>/g, '')
    .replaceAll('&amp;', '&')
    .split('\n')
    .map((l) => l.replace(/\s+/g, ' ').trim())
    .filter(Boolean)
    .join('\n');
}
