import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/*
 * vitest here runs without the Svelte plugin, so the staff app's runes modules and components
 * are compiled by tests/helpers/ui-models.ts and ui-components.ts into tests/.tmp/<kind>/, once
 * per version of their sources, their relative imports pointing back at the sources. What the
 * two share is here.
 */
export const ROOT = resolve(import.meta.dirname, '../..');

/** Where compiled files of `sourceDir` go: one folder per version of all its files (a hash). */
export function compiledDir(kind: string, sourceDir: string): string {
  const hash = createHash('sha1');
  for (const file of readdirSync(sourceDir).sort()) hash.update(file).update(readFileSync(join(sourceDir, file)));
  return join(ROOT, 'tests', '.tmp', kind, hash.digest('hex').slice(0, 12));
}

/** Where the compiled `source` goes in `dir`. */
export function compiledPath(dir: string, source: string): string {
  return join(dir, `${relative(ROOT, source).replaceAll('/', '__')}.js`);
}

/** The compilers load only when something is compiled (a test file finding it all compiled needs neither). */
export async function compilers() {
  return { ts: (await import('typescript')).default, svelte: await import('svelte/compiler') };
}

/** TypeScript stripped, as vite-plugin-svelte does before the Svelte compiler. */
export function stripTypes(ts: typeof import('typescript'), code: string): string {
  return ts.transpileModule(code, { compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, verbatimModuleSyntax: true } }).outputText;
}

/** Points the relative imports of `code` (compiled from `source`) at files: a `.svelte` one at what `compileSvelte` made of it. */
export async function pointImports(code: string, source: string, compileSvelte: (target: string) => Promise<string>): Promise<string> {
  for (const [all, head, spec] of [...code.matchAll(/(from\s+|import\s*\(\s*)'(\.{1,2}\/[^']+)'/g)]) {
    const target = resolve(dirname(source), spec!);
    const file = target.endsWith('.svelte') ? await compileSvelte(target) : ['.ts', '/index.ts', ''].map((ext) => target + ext).find((f) => existsSync(f));
    if (!file) throw new Error(`${source}: cannot resolve ${spec}`);
    code = code.replace(all, `${head}'${pathToFileURL(file).href}'`);
  }
  return code;
}

/**
 * Test files in parallel workers may compile the same source: each writes a name of its own and
 * renames it over the shared one (atomic), so no import ever reads a half-written file.
 */
export function writeCompiled(out: string, code: string): string {
  mkdirSync(dirname(out), { recursive: true });
  const written = `${out}.${randomUUID()}.tmp`;
  writeFileSync(written, code);
  renameSync(written, out);
  return out;
}
