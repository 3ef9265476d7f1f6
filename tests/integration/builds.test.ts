import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { ROOT, buildIfStale } from '../../scripts/builds.mjs';

/** scripts/builds.mjs decides when `npm start` (and the browser tests) rebuild; a real, small vite build. */
const outDir = 'tests/.tmp/builds-test';
afterAll(() => rmSync(join(ROOT, outDir), { recursive: true, force: true }));

describe('builds made when stale', () => {
  it('[SRV13] builds once, reuses the build while sources and settings are unchanged, rebuilds when the build-time settings change', () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      const build = (settings: Record<string, string>) =>
        buildIfStale({ what: 'a test bundle', outDir, sources: ['bench/sync-bare-relay.ts'], args: ['--ssr', 'bench/sync-bare-relay.ts', '--outDir', outDir], settings });
      build({ VITE_API_BASE: 'https://a.example' });
      build({ VITE_API_BASE: 'https://a.example' });
      build({ VITE_API_BASE: 'https://b.example' });
      const builds = log.mock.calls.filter(([line]) => String(line).startsWith('Building a test bundle'));
      expect(builds).toHaveLength(2);
    } finally {
      log.mockRestore();
    }
  });
});
