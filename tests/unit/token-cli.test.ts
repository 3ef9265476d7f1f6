import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { createTokenIssuer } from '../../server/auth/tokens';
import { ArgumentError, USAGE, formatMinted, mintCliToken, parseTokenArgs, type TokenOptions } from '../../server/cli/token';
import { MAX_TOKEN_TTL_SECONDS } from '../../shared/protocol/rest-tokens';
import { loadOrCreateSecret } from '../../server/auth/secret';
import { IngestService } from '../../server/ingest/ingest-service';
import { openDatabase } from '../../server/store/database';
import { SqliteCanonicalLog } from '../../server/store/sqlite-canonical-log';
import { ticketOpenedEvent } from '../helpers/server-clients';

const SECRET = 'a-test-secret-of-enough-length';
const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The one-line message parseTokenArgs throws for argv (fails the test if it does not throw). */
function argumentError(argv: string[]): ArgumentError {
  try {
    parseTokenArgs(argv);
  } catch (err) {
    expect(err).toBeInstanceOf(ArgumentError);
    expect((err as Error).message).not.toContain('\n');
    return err as ArgumentError;
  }
  throw new Error(`expected ${argv.join(' ')} to be rejected`);
}

function mintOptions(argv: string[]): TokenOptions {
  const command = parseTokenArgs(argv);
  if (command.kind !== 'mint') throw new Error('expected a mint command');
  return command.options;
}

describe('parseTokenArgs', () => {
  it('reads the flags, with role terminal and ttl 30d by default', () => {
    expect(mintOptions(['--location', 'demo', '--terminal', 'till-2'])).toEqual({
      location: 'demo',
      role: 'terminal',
      terminal: 'till-2',
      ttlSeconds: 30 * 86400,
      json: false,
    });
    expect(mintOptions(['--location=demo', '--role', 'admin', '--terminal', 'back-office', '--ttl', '12h', '--json'])).toMatchObject({
      role: 'admin',
      terminal: 'back-office',
      ttlSeconds: 12 * 3600,
      json: true,
    });
  });

  it.each([['--help'], ['-h'], ['--location', 'demo', '--help']])('%s asks for the usage', (...argv) => {
    expect(parseTokenArgs(argv)).toEqual({ kind: 'help' });
  });

  it('names the flag in every argument error', () => {
    expect(argumentError([]).message).toBe('--location is required');
    expect(argumentError(['--location']).message).toBe('--location needs a value');
    expect(argumentError(['--location', 'a/b', '--role', 'admin']).message).toBe(
      '--location: location ids use letters, digits and . _ -',
    );
    expect(argumentError(['--location', 'demo', '--role', 'waiter']).message).toBe(
      '--role must be one of terminal, manager, admin (got "waiter")',
    );
    // Every role: the name is how a leaked token is revoked.
    for (const role of ['terminal', 'manager', 'admin']) {
      expect(argumentError(['--location', 'demo', '--role', role]).message).toBe('--terminal is required: the device or integration the token is for (the name it is revoked by)');
    }
    expect(argumentError(['--location', 'demo', '--terminal', 'till 2']).message).toMatch(/^--terminal: /);
    expect(argumentError(['--location', 'demo', '--role', 'admin', '--json=yes']).message).toBe('--json takes no value');
    expect(argumentError(['--location', 'demo', '--role', 'admin', '--terminal', 'office', '--ttl', 'soon']).message).toMatch(/^--ttl must look like 30d/);
  });

  it('shows the usage only for unknown options and stray arguments', () => {
    const unknown = argumentError(['--bogus']);
    expect(unknown.message).toBe('unknown option --bogus');
    expect(unknown.showUsage).toBe(true);
    expect(argumentError(['demo']).showUsage).toBe(true);
    expect(argumentError([]).showUsage).toBe(false);
  });

  it('rejects a ttl of 0 and one beyond the API cap of one year', () => {
    const admin = ['--location', 'demo', '--role', 'admin', '--terminal', 'office'];
    expect(argumentError([...admin, '--ttl', '0']).message).toBe('--ttl must be more than 0 seconds (got "0")');
    expect(argumentError([...admin, '--ttl', '0d']).message).toMatch(/^--ttl must be more than 0/);
    expect(argumentError([...admin, '--ttl', '100000d']).message).toBe('--ttl must be at most 365d, as the server allows (got "100000d")');
    expect(argumentError([...admin, '--ttl', String(MAX_TOKEN_TTL_SECONDS + 1)]).message).toMatch(/^--ttl must be at most 365d/);
    expect(mintOptions([...admin, '--ttl', '365d']).ttlSeconds).toBe(MAX_TOKEN_TTL_SECONDS);
    expect(mintOptions([...admin, '--ttl', '1']).ttlSeconds).toBe(1);
  });

  it('a negative ttl is refused as one, not as a missing value (parseArgs reads "-5" as a flag)', () => {
    const admin = ['--location', 'demo', '--role', 'admin', '--terminal', 'office'];
    expect(argumentError([...admin, '--ttl', '-5']).message).toBe('--ttl must be a positive lifetime such as 30d, 12h or 3600 (got "-5")');
    expect(argumentError([...admin, '--ttl=-5']).message).toMatch(/^--ttl must/);
    expect(argumentError(['--location', '-x']).message).toBe('--location needs a value, not "-x"');
    expect(argumentError([...admin, '--ttl']).message).toBe('--ttl needs a value');
  });
});

describe('minting and output', () => {
  const now = () => 1_800_000_000_000;

  it('--json carries exp, the token’s own expiry claim, next to the existing keys', async () => {
    const options = mintOptions(['--location', 'demo', '--terminal', 'till-2', '--ttl', '1h', '--json']);
    const minted = await mintCliToken(options, SECRET, now);
    const printed = JSON.parse(formatMinted(minted, true, 'http://x')) as Record<string, unknown>;
    expect(printed).toEqual({ token: minted.token, location: 'demo', role: 'terminal', terminal: 'till-2', exp: 1_800_003_600 });
    const verified = await createTokenIssuer(SECRET, now).verify(minted.token);
    expect(verified).toEqual({ ok: true, claims: expect.objectContaining({ exp: printed.exp }) });
  });

  it('prints the token and its pairing link otherwise', async () => {
    const options = mintOptions(['--location', 'demo', '--role', 'manager', '--terminal', 'manager']);
    const minted = await mintCliToken(options, SECRET, now);
    const text = formatMinted(minted, false, 'http://till.example');
    expect(text.startsWith(`${minted.token}\n\nPairing link:\nhttp://till.example/#/pair?`)).toBe(true);
    expect(text).toContain('terminal=manager');
  });
});

describe('npm run token (process)', () => {
  const roots: string[] = [];
  afterEach(() => roots.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })));

  function run(argv: string[], dataDir: string, vars: NodeJS.ProcessEnv = {}) {
    const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, ...vars };
    delete env.RMS_SECRET;
    return spawnSync(process.execPath, ['--import', 'tsx', 'server/cli/token.ts', ...argv], { cwd: REPO_ROOT, env, encoding: 'utf8' });
  }

  function tempDataDir(): string {
    const root = mkdtempSync(join(tmpdir(), 'rms-token-cli-'));
    roots.push(root);
    return join(root, 'data');
  }

  it('--help prints the usage and exits 0', () => {
    const result = run(['--help'], tempDataDir());
    expect(result.status).toBe(0);
    expect(result.stdout).toBe(USAGE);
    for (const word of ['--location', '--role', '--terminal', '--ttl', '--json', 'DATA_DIR', 'RMS_SECRET', 'PUBLIC_URL', 'PORT']) {
      expect(result.stdout).toContain(word);
    }
  });

  it('an unknown option prints the error and the usage, exit 1', () => {
    const result = run(['--bogus'], tempDataDir());
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(`token: unknown option --bogus\n\n${USAGE}`);
  });

  it('a location the server holds no events of, while it holds others\', is minted with a note naming those (a misspelt id pairs a till to an empty restaurant)', async () => {
    const dataDir = tempDataDir();
    loadOrCreateSecret(dataDir, undefined);
    const db = openDatabase(dataDir);
    await new IngestService(new SqliteCanonicalLog(db), [], { error: () => {} }).ingest('bistro-nord', [ticketOpenedEvent('manager-1', 1)]);
    db.close();
    const typo = run(['--location', 'bistro-nrod', '--terminal', 'till-2'], dataDir);
    expect(typo.status).toBe(0);
    expect(typo.stdout).toContain('Pairing link:');
    expect(typo.stderr).toBe('token: note: this server holds no events of bistro-nrod yet, only of bistro-nord: check the spelling (a new location starts with its first event)\n');
    const right = run(['--location', 'bistro-nord', '--terminal', 'till-2'], dataDir);
    expect([right.status, right.stderr]).toEqual([0, '']);
  });

  it('without PUBLIC_URL the link names HOST\'s address, as the server\'s banner does; localhost when HOST is every interface', () => {
    const dataDir = tempDataDir();
    loadOrCreateSecret(dataDir, undefined);
    const link = (host: string): string => {
      const result = run(['--location', 'demo', '--terminal', 'till-2'], dataDir, { HOST: host, PORT: '9000', PUBLIC_URL: '' });
      expect(result.status, result.stderr).toBe(0);
      return /^http:\/\/[^/]+\//m.exec(result.stdout)?.[0] ?? result.stdout;
    };
    expect(link('192.168.1.50')).toBe('http://192.168.1.50:9000/');
    expect(link('0.0.0.0')).toBe('http://localhost:9000/');
  });

  it('without a secret in DATA_DIR it fails and creates none', () => {
    const dataDir = tempDataDir();
    const result = run(['--location', 'demo', '--terminal', 'till-2'], dataDir);
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(`token: no token secret found in ${join(dataDir, 'token-secret')}`);
    expect(existsSync(dataDir)).toBe(false);
  });
});
