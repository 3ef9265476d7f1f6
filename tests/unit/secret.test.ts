import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SECRET_FILE, loadExistingSecret, loadOrCreateSecret } from '../../server/auth/secret';

const STORED = 'a-stored-secret-of-enough-length';
const FROM_ENV = 'an-env-secret-of-enough-length';

let root: string;
let dataDir: string;
let file: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'rms-secret-'));
  dataDir = join(root, 'data');
  file = join(dataDir, SECRET_FILE);
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** Puts a secret file in the data directory, as an earlier run (or a person) would have. */
function store(text: string): void {
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(file, text);
}

describe('loadOrCreateSecret (server start)', () => {
  it('generates a long secret once, stores it (mode 600) and reuses it', () => {
    const first = loadOrCreateSecret(dataDir, undefined);
    expect(first.length).toBeGreaterThanOrEqual(32);
    expect(readFileSync(file, 'utf8').trim()).toBe(first);
    if (process.platform !== 'win32') expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(loadOrCreateSecret(dataDir, undefined)).toBe(first);
  });

  it('prefers RMS_SECRET and creates no file', () => {
    expect(loadOrCreateSecret(dataDir, FROM_ENV)).toBe(FROM_ENV);
    expect(existsSync(file)).toBe(false);
  });

  it('uses a stored secret of 16+ characters, trimmed', () => {
    store(`${STORED}\n`);
    expect(loadOrCreateSecret(dataDir, undefined)).toBe(STORED);
  });

  it.each([
    ['a too short', 'short-secret\n'],
    ['an empty', ''],
    ['a whitespace-only', '   \n'],
  ])('refuses %s stored secret, naming the file, and leaves it untouched', (_what, text) => {
    store(text);
    expect(() => loadOrCreateSecret(dataDir, undefined)).toThrow(file);
    expect(() => loadOrCreateSecret(dataDir, undefined)).toThrow(/at least 16.*Delete the file.*RMS_SECRET/s);
    expect(readFileSync(file, 'utf8')).toBe(text);
  });
});

describe('loadExistingSecret (npm run token)', () => {
  it('returns the stored secret', () => {
    store(`${STORED}\n`);
    expect(loadExistingSecret(dataDir, undefined)).toBe(STORED);
  });

  it('prefers RMS_SECRET', () => {
    expect(loadExistingSecret(dataDir, FROM_ENV)).toBe(FROM_ENV);
  });

  it('never creates a secret: fails saying where it looked and what to do', () => {
    let message = '';
    try {
      loadExistingSecret(dataDir, undefined);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain(`no token secret found in ${file}`);
    expect(message).toContain('npm start');
    expect(message).toContain('DATA_DIR');
    expect(message).toContain('RMS_SECRET');
    expect(existsSync(dataDir)).toBe(false);
  });

  it('refuses a too-short stored secret as the server does', () => {
    store('short');
    expect(() => loadExistingSecret(dataDir, undefined)).toThrow(/at least 16/);
    expect(readFileSync(file, 'utf8')).toBe('short');
  });
});
