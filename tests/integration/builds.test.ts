import { mkdirSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { ROOT, buildIfStale, viteSettings } from '../../scripts/builds.mjs';

/** scripts/builds.mjs decides when `npm start` (and the browser tests) rebuild; a real, small vite build. */
const tmp = 'tests/.tmp/builds-test';
afterAll(() => rmSync(join(ROOT, tmp), { recursive: true, force: true }));

/** Builds the small test bundle into `outDir` unless it is up to date; whether it built. */
function built(outDir: string, sources: string[], settings: Record<string, string> = {}): boolean {
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  try {
    buildIfStale({ what: 'a test bundle', outDir, sources, args: ['--ssr', 'bench/sync-bare-relay.ts', '--outDir', outDir], settings });
    return log.mock.calls.some(([line]) => String(line).startsWith('Building a test bundle'));
  } finally {
    log.mockRestore();
  }
}

/** Writes `text` into `path` (under the root) with a modification time long before any build: a file moved in from elsewhere. */
function writeOldFile(path: string, text: string) {
  writeFileSync(join(ROOT, path), text);
  const lastYear = new Date(Date.now() - 365 * 24 * 3600 * 1000);
  utimesSync(join(ROOT, path), lastYear, lastYear);
}

describe('builds made when stale', () => {
  it('[SRV13] builds once, reuses the build while sources and settings are unchanged, rebuilds when the build-time settings change', () => {
    const outDir = `${tmp}/settings`;
    const sources = ['bench/sync-bare-relay.ts'];
    expect(built(outDir, sources, { VITE_API_BASE: 'https://a.example' })).toBe(true);
    expect(built(outDir, sources, { VITE_API_BASE: 'https://a.example' })).toBe(false);
    expect(built(outDir, sources, { VITE_API_BASE: 'https://b.example' })).toBe(true);
  });

  it('[SRV13] rebuilds when a source file is deleted or replaced by an older one (mv keeps its mtime)', () => {
    const outDir = `${tmp}/sources`;
    const src = `${tmp}/src`;
    mkdirSync(join(ROOT, src), { recursive: true });
    writeFileSync(join(ROOT, src, 'a.ts'), 'export const a = 1;\n');
    writeFileSync(join(ROOT, src, 'b.ts'), 'export const b = 1;\n');
    const sources = ['bench/sync-bare-relay.ts', src];
    expect(built(outDir, sources)).toBe(true);
    expect(built(outDir, sources)).toBe(false);

    rmSync(join(ROOT, src, 'b.ts'));
    expect(built(outDir, sources)).toBe(true);

    writeOldFile(`${src}/a.ts.moved`, 'export const a = 2;\n');
    renameSync(join(ROOT, src, 'a.ts.moved'), join(ROOT, src, 'a.ts'));
    expect(built(outDir, sources)).toBe(true);
    expect(built(outDir, sources)).toBe(false);
  });

  it('[SRV13] the staff app\'s VITE_ settings include the env files vite reads: rebuilds when .env is replaced by an older one or deleted', () => {
    const outDir = `${tmp}/env`;
    const envDir = `${tmp}/envdir`;
    mkdirSync(join(ROOT, envDir), { recursive: true });
    writeFileSync(join(ROOT, envDir, '.env'), 'VITE_SYNC_ENDPOINT=wss://new.example/sync\n');
    const env = { PATH: process.env.PATH };
    const build = () => built(outDir, ['bench/sync-bare-relay.ts'], viteSettings(env, join(ROOT, envDir)));
    expect(viteSettings(env, join(ROOT, envDir))).toMatchObject({ VITE_SYNC_ENDPOINT: 'wss://new.example/sync' });
    expect(build()).toBe(true);
    expect(build()).toBe(false);

    writeOldFile(`${envDir}/.env.old`, 'VITE_SYNC_ENDPOINT=wss://old.example/sync\n');
    renameSync(join(ROOT, envDir, '.env.old'), join(ROOT, envDir, '.env'));
    expect(build()).toBe(true);
    expect(build()).toBe(false);

    rmSync(join(ROOT, envDir, '.env'));
    expect(build()).toBe(true);
    expect(build()).toBe(false);

    // The environment wins over the files, as in vite; empty counts as unset.
    writeFileSync(join(ROOT, envDir, '.env.production'), 'VITE_API_BASE=https://file.example\n');
    expect(viteSettings({ VITE_API_BASE: 'https://env.example' }, join(ROOT, envDir))).toMatchObject({ VITE_API_BASE: 'https://env.example' });
    expect(viteSettings({ VITE_API_BASE: '' }, join(ROOT, envDir))).not.toHaveProperty('VITE_API_BASE');
  });
});
