import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const SECRET_FILE = 'token-secret';

/** For RMS_SECRET (server/config.ts) and the stored secret alike: shorter HS256 keys are too easy to guess. */
export const MIN_SECRET_LENGTH = 16;

/** Where the generated secret of a data directory is kept. */
export function secretFilePath(dataDir: string): string {
  return join(dataDir, SECRET_FILE);
}

/**
 * The HS256 signing secret: RMS_SECRET when given, otherwise generated on first start and
 * kept in the data directory, so tokens survive restarts without any setup.
 * Throws when the stored secret is too short (see readStoredSecret).
 */
export function loadOrCreateSecret(dataDir: string, fromEnv: string | undefined): string {
  if (fromEnv !== undefined) return fromEnv;
  mkdirSync(dataDir, { recursive: true });
  const file = secretFilePath(dataDir);
  const stored = readStoredSecret(file);
  if (stored !== undefined) return stored;
  const secret = randomBytes(32).toString('base64url');
  try {
    // 'wx' fails if another process created it meanwhile; then its secret wins.
    writeFileSync(file, secret + '\n', { mode: 0o600, flag: 'wx' });
    return secret;
  } catch (err) {
    if (errorCode(err) !== 'EEXIST') throw err;
    const winner = readStoredSecret(file);
    if (winner === undefined) throw err;
    return winner;
  }
}

/**
 * The secret the server signs with, without ever creating one: for tools (npm run token) that
 * must use the running server's secret. A fresh secret here would mint tokens the server rejects.
 */
export function loadExistingSecret(dataDir: string, fromEnv: string | undefined): string {
  if (fromEnv !== undefined) return fromEnv;
  const file = secretFilePath(dataDir);
  const stored = readStoredSecret(file);
  if (stored === undefined) {
    throw new Error(
      `no token secret found in ${resolve(file)}. The server creates it on first start (npm start); ` +
        `set DATA_DIR to the server's data directory, or RMS_SECRET to the server's secret.`,
    );
  }
  return stored;
}

/**
 * The stored secret, or undefined when there is no file. A too-short (or empty) secret is an
 * error, never silently used nor replaced: tokens already handed out were signed with it.
 */
function readStoredSecret(file: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return undefined;
    throw err;
  }
  const secret = text.trim();
  if (secret.length < MIN_SECRET_LENGTH) {
    throw new Error(
      `the token secret in ${resolve(file)} is ${secret.length} characters long; it must be at least ` +
        `${MIN_SECRET_LENGTH}. Delete the file (a new secret is then generated on start; tokens signed ` +
        `with the old one stop working) or set RMS_SECRET.`,
    );
  }
  return secret;
}

function errorCode(err: unknown): unknown {
  return typeof err === 'object' && err !== null && 'code' in err ? err.code : undefined;
}
