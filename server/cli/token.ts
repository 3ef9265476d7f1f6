import { existsSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { decodeJwt } from 'jose';
import type { ZodType } from 'zod';
import { NewDeviceTerminalId } from '../../shared/protocol/token-claims';
import { MAX_TOKEN_TTL_SECONDS } from '../../shared/protocol/rest-tokens';
import { Role, LocationId } from '../../shared/protocol/token-claims';
import { loadExistingSecret } from '../auth/secret';
import { createTokenIssuer, parseTtl } from '../auth/tokens';
import { loadConfig } from '../config';
import { DB_FILE, locationsWithEvents } from '../store/database';
import { urlHost } from '../pairing';
import { pairingLink } from '../../shared/protocol/pairing-link';

/**
 * npm run token -- --location demo --role terminal --terminal till-2 [--ttl 30d] [--json]
 * Mints a token with the server's secret (RMS_SECRET, or the one stored in DATA_DIR) and
 * prints it with the pairing link to open on the device.
 */

export const USAGE = `Usage: npm run token -- --location <id> --terminal <id> [--role terminal|manager|admin] [--ttl 30d] [--json]

Mints a token signed with the server's secret and prints it with the pairing link.

Options:
  --location <id>   location the token opens (required)
  --role <role>     terminal, manager or admin (default: terminal)
  --terminal <id>   device or integration the token is issued to (required, any role:
                    POST /api/tokens/revoke cuts off a terminal's tokens by this name)
  --ttl <lifetime>  30d, 12h, 15m, 45s or plain seconds; more than 0, at most 365d (default: 30d)
  --json            print {"token","location","role","terminal","exp"} instead (exp: seconds since epoch)
  -h, --help        show this text

Environment:
  DATA_DIR     the server's data directory, holding token-secret (default: ./data)
  RMS_SECRET   the server's secret, when it runs with one instead of DATA_DIR/token-secret
  PUBLIC_URL   base URL of pairing links (default: http://HOST:PORT, localhost when HOST is 0.0.0.0 or ::, https with TLS_CERT_FILE/TLS_KEY_FILE)
  (the server's whole environment is checked, as at its start: a bad variable stops this too)
  HOST, PORT   server address used in the default pairing link base (default: 0.0.0.0, 8787)
`;

const FLAGS = {
  location: { type: 'string' },
  role: { type: 'string', default: 'terminal' },
  terminal: { type: 'string' },
  ttl: { type: 'string', default: '30d' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

export interface TokenOptions {
  location: LocationId;
  role: Role;
  terminal: string;
  ttlSeconds: number;
  json: boolean;
}

export type TokenCommand = { kind: 'help' } | { kind: 'mint'; options: TokenOptions };

/** A bad command line; `showUsage` when the user seems not to know the flags at all. */
export class ArgumentError extends Error {
  constructor(
    message: string,
    readonly showUsage = false,
  ) {
    super(message);
    this.name = 'ArgumentError';
  }
}

/** Parses the command line (without node and script); throws ArgumentError naming the flag. */
export function parseTokenArgs(argv: readonly string[]): TokenCommand {
  const values = parseFlags(argv);
  if (values.help) return { kind: 'help' };
  if (values.location === undefined) throw new ArgumentError('--location is required');
  const location = parseFlag('--location', LocationId, values.location);
  const role = parseRole(values.role);
  if (values.terminal === undefined) {
    throw new ArgumentError('--terminal is required: the device or integration the token is for (the name it is revoked by)');
  }
  const terminal = parseFlag('--terminal', NewDeviceTerminalId, values.terminal);
  return { kind: 'mint', options: { location, role, terminal, ttlSeconds: parseTtlFlag(values.ttl), json: values.json } };
}

function parseFlags(argv: readonly string[]) {
  try {
    return parseArgs({ args: [...argv], options: FLAGS, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw flagSyntaxError(err, argv);
  }
}

/** Node's parseArgs errors, reworded to one line naming the flag (its own span several lines). */
function flagSyntaxError(err: unknown, argv: readonly string[]): Error {
  const message = err instanceof Error ? err.message : String(err);
  const quoted = /'([^']*)'/.exec(message)?.[1] ?? '';
  const flag = quoted.split(' ')[0];
  const code = typeof err === 'object' && err !== null && 'code' in err ? err.code : undefined;
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return new ArgumentError(`unknown option ${flag}`, true);
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return new ArgumentError(`unexpected argument "${quoted}"`, true);
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE': {
      if (message.includes('does not take an argument')) return new ArgumentError(`${flag} takes no value`);
      // `--ttl -5`: parseArgs takes a value starting with a dash for the next flag.
      const dashed = message.includes('ambiguous') ? argv[argv.indexOf(flag ?? '') + 1] : undefined;
      if (dashed === undefined) return new ArgumentError(`${flag} needs a value`);
      if (flag === '--ttl') return new ArgumentError(`--ttl must be a positive lifetime such as 30d, 12h or 3600 (got ${JSON.stringify(dashed)})`);
      return new ArgumentError(`${flag} needs a value, not ${JSON.stringify(dashed)}`);
    }
    default:
      return err instanceof Error ? err : new Error(message);
  }
}

function parseFlag<T>(flag: string, schema: ZodType<T>, value: string): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new ArgumentError(`${flag}: ${parsed.error.issues[0]?.message ?? 'invalid value'}`);
}

function parseRole(value: string): Role {
  const parsed = Role.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new ArgumentError(`--role must be one of ${Role.options.join(', ')} (got ${JSON.stringify(value)})`);
}

/** Bounded like POST /api/tokens: an expired token or one outliving the server is useless. */
function parseTtlFlag(value: string): number {
  let seconds: number;
  try {
    seconds = parseTtl(value);
  } catch {
    throw new ArgumentError(`--ttl must look like 30d, 12h, 15m, 45s or plain seconds (got ${JSON.stringify(value)})`);
  }
  if (seconds <= 0) throw new ArgumentError(`--ttl must be more than 0 seconds (got ${JSON.stringify(value)})`);
  if (seconds > MAX_TOKEN_TTL_SECONDS) {
    const maxDays = MAX_TOKEN_TTL_SECONDS / 86400;
    throw new ArgumentError(`--ttl must be at most ${maxDays}d, as the server allows (got ${JSON.stringify(value)})`);
  }
  return seconds;
}

export interface MintedToken {
  token: string;
  location: LocationId;
  role: Role;
  terminal: string;
  /** Expiry, seconds since the epoch: the token's own `exp` claim. */
  exp: number;
}

export async function mintCliToken(options: TokenOptions, secret: string, now: () => number = Date.now): Promise<MintedToken> {
  const issuer = createTokenIssuer(secret, now);
  const { location, role, terminal, ttlSeconds } = options;
  const token = await issuer.mint({ location, role, terminal, ttlSeconds });
  // Read back from the token so the printed expiry is exactly the one the server checks.
  const exp = decodeJwt(token).exp;
  if (exp === undefined) throw new Error('minted token has no exp claim');
  return { token, location, role, terminal, exp };
}

/** JSON (one line) or the token followed by its pairing link. */
export function formatMinted(minted: MintedToken, json: boolean, baseUrl: string): string {
  const { token, location, role, terminal, exp } = minted;
  if (json) return JSON.stringify({ token, location, role, terminal, exp }) + '\n';
  return `${token}\n\nPairing link:\n${pairingLink(baseUrl, token, location, terminal)}\n`;
}

async function main(argv: readonly string[]): Promise<void> {
  const command = parseTokenArgs(argv);
  if (command.kind === 'help') {
    process.stdout.write(USAGE);
    return;
  }
  const config = loadConfig();
  const minted = await mintCliToken(command.options, loadExistingSecret(config.dataDir, config.secret));
  // As the server prints its own links (server/main.ts): https when it serves TLS, HOST's address unless it binds every interface.
  const baseUrl = config.publicUrl ?? `${config.tls ? 'https' : 'http'}://${urlHost(config.host)}:${config.port}`;
  process.stdout.write(formatMinted(minted, command.options.json, baseUrl));
  const note = unknownLocationNote(config.dataDir, command.options.location);
  if (note !== null) process.stderr.write(`token: note: ${note}\n`);
}

/**
 * Said when the server's database holds events of other locations and none of `location`: a
 * location is made by its first event, so a misspelt id pairs a till to an empty restaurant of
 * its own ("No menu yet"). Null when it holds none at all (a new server) or cannot be read.
 */
export function unknownLocationNote(dataDir: string, location: string): string | null {
  const file = join(dataDir, DB_FILE);
  if (!existsSync(file)) return null;
  let db: Database.Database | null = null;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    const held = locationsWithEvents(db);
    if (held.length === 0 || held.includes(location)) return null;
    return `this server holds no events of ${location} yet, only of ${held.join(', ')}: check the spelling (a new location starts with its first event)`;
  } catch {
    return null;
  } finally {
    db?.close();
  }
}

/** True when this file is the program being run, not a module imported by tests. */
function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(script)).href;
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`token: ${err instanceof Error ? err.message : String(err)}\n`);
    if (err instanceof ArgumentError && err.showUsage) process.stderr.write(`\n${USAGE}`);
    process.exit(1);
  });
}
