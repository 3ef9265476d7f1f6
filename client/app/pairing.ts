import { withProtocolVersion } from '../../shared/protocol/protocol-version';
import { TerminalId, isWriterOf } from '../../shared/events/envelope';
import { appEndpoints } from '../sync/endpoints';
import { keepOnDevice } from '../store/device-storage';

/**
 * The pairing of this device: which location it works for, as which terminal, with which
 * token. Set by opening the pairing link the server prints
 * (`/#/pair?token=…&location=…&terminal=…`) and kept in localStorage.
 *
 * The token's claims are read, not verified: the server verifies every request and every
 * relay connection. The role only decides which buttons the app offers.
 */
export type Role = 'terminal' | 'manager' | 'admin';

export interface Pairing {
  token: string;
  location: string;
  terminal: string;
  /**
   * The writer id this device's events carry (origin.terminal; tabs add `.k`): the terminal
   * id, unless the location already holds events of that terminal (a replaced or wiped device
   * paired again): then a fresh one, see chooseWriter.
   */
  writer: string;
  role: Role;
  /** Token expiry, ms since the epoch (null when the token carries none). */
  expiresAt: number | null;
  pairedAt: number;
}

export interface TokenClaimsRead {
  location: string | null;
  role: Role;
  terminal: string | null;
  expiresAt: number | null;
  /** When the token was issued, ms since the epoch (null when it does not say). */
  issuedAt: number | null;
}

const STORAGE_KEY = 'rms:pairing';
const ROLES: readonly Role[] = ['terminal', 'manager', 'admin'];

export class PairingError extends Error {
  override readonly name = 'PairingError';
}

/** Reads a JWT's payload without verifying it. Throws PairingError when it is not a JWT. */
export function readTokenClaims(token: string): TokenClaimsRead {
  const part = token.split('.')[1];
  if (!part) throw new PairingError('the token is not a JWT');
  let raw: unknown;
  try {
    const b64 = part.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(part.length / 4) * 4, '=');
    raw = JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))));
  } catch {
    throw new PairingError('the token payload is not readable');
  }
  if (typeof raw !== 'object' || raw === null) throw new PairingError('the token payload is not an object');
  const claims = raw as Record<string, unknown>;
  const role = ROLES.find((r) => r === claims.role);
  if (!role) throw new PairingError(`the token has no known role (${String(claims.role)})`);
  return {
    location: typeof claims.location === 'string' ? claims.location : null,
    role,
    terminal: typeof claims.terminal === 'string' ? claims.terminal : null,
    expiresAt: typeof claims.exp === 'number' ? claims.exp * 1000 : null,
    issuedAt: typeof claims.iat === 'number' ? claims.iat * 1000 : null,
  };
}

/**
 * Builds a pairing from the query of a pairing link. The link's location and terminal must
 * agree with the token's claims when the token names them.
 */
export function pairingFromQuery(query: URLSearchParams, now = Date.now()): Pairing {
  const token = query.get('token')?.trim();
  if (!token) throw new PairingError('the pairing link has no token');
  const claims = readTokenClaims(token);
  const location = query.get('location')?.trim() || claims.location;
  if (!location) throw new PairingError('the pairing link names no location');
  if (claims.location !== null && claims.location !== location) {
    throw new PairingError(`the token is for location "${claims.location}", the link says "${location}"`);
  }
  const terminal = query.get('terminal')?.trim() || claims.terminal;
  if (!terminal) throw new PairingError('the pairing link names no terminal');
  if (!TerminalId.safeParse(terminal).success) throw new PairingError(`"${terminal}" is not a valid terminal id`);
  if (claims.terminal !== null && claims.terminal !== terminal) {
    throw new PairingError(`the token is for terminal "${claims.terminal}", the link says "${terminal}"`);
  }
  return { token, location, terminal, writer: terminal, role: claims.role, expiresAt: claims.expiresAt, pairedAt: now };
}

/**
 * The writer id for a device being paired. A new device paired as a terminal that already
 * wrote events (the old till broke, or its storage was wiped) must not write as that terminal
 * again: it would start its origin.n at 1 (the server refuses every event whose number is
 * taken) and create segments under keys the room already holds (one array would replace the
 * other in every doc). So:
 *  - the same device paired again as the same terminal keeps its writer (its log and counters
 *    are intact);
 *  - otherwise the terminal id itself if the server holds no event of it (nor of its tabs),
 *    whether or not its first ones are there (a till whose n = 1 is missing has no watermark);
 *  - otherwise, or when the server cannot be asked (offline), `${terminal}.r${random}`: a new
 *    writer of the same terminal (its uploads still count as the terminal's own).
 */
export async function chooseWriter(
  pairing: Pairing,
  previous: Pairing | null,
  serverWriters: () => Promise<readonly string[]>,
  random: () => number = Math.random,
): Promise<string> {
  if (previous !== null && previous.location === pairing.location && previous.terminal === pairing.terminal) return previous.writer;
  const fresh = `${pairing.terminal}.r${Math.floor(random() * 36 ** 4).toString(36).padStart(4, '0')}`;
  let writers: readonly string[];
  try {
    writers = await serverWriters();
  } catch {
    return fresh;
  }
  const used = writers.some((w) => isWriterOf(w, pairing.terminal));
  return used ? fresh : pairing.terminal;
}

/**
 * A link for the terminal this device is paired as whose token is no newer than the device's
 * own (a bookmark, a kiosk's start page, the link in a chat): the device keeps its own token,
 * which it renews itself, rather than go back to an older or expired one. Newer by when it was
 * issued: a link made after a revocation, or for another role, may expire before a long-lived
 * token renewed earlier, and must still be taken. (By expiry for tokens that do not say.)
 */
export function isStaleLinkFor(stored: Pairing, link: Pairing): boolean {
  if (stored.location !== link.location || stored.terminal !== link.terminal) return false;
  const issued = (p: Pairing): number | null => readTokenClaims(p.token).issuedAt;
  const [storedAt, linkAt] = [issued(stored), issued(link)];
  if (storedAt !== null && linkAt !== null) return storedAt >= linkAt;
  return (stored.expiresAt ?? Infinity) >= (link.expiresAt ?? Infinity);
}

/** Every writer the location holds an event of, asked of the server with the new token. */
export async function fetchServerWriters(token: string, timeoutMs = 3_000): Promise<readonly string[]> {
  const res = await fetch(`${appEndpoints().apiBase}/api/watermarks`, { headers: withProtocolVersion({ authorization: `Bearer ${token}` }), signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  const body = (await res.json()) as { writers?: unknown };
  if (!Array.isArray(body.writers) || !body.writers.every((w) => typeof w === 'string')) throw new Error('no writers in the answer');
  return body.writers as string[];
}

/** The stored pairing: localStorage, else the durable IndexedDB copy (after a crash). */
export async function loadPairing(): Promise<Pairing | null> {
  const fromLocal = parseStored(localStorage.getItem(STORAGE_KEY));
  if (fromLocal) return fromLocal;
  const fromIdb = parseStored(await idbGet().catch(() => null));
  // Copied back for the next start; a full device starts from the IndexedDB copy again.
  if (fromIdb) keepOnDevice(localStorage, STORAGE_KEY, JSON.stringify(fromIdb));
  return fromIdb;
}

/**
 * Keeps the pairing; resolves once the IndexedDB copy is committed. Either copy is enough for
 * the next start (a full localStorage, or no IndexedDB in private mode); with neither, it throws.
 */
export async function savePairing(pairing: Pairing): Promise<void> {
  const json = JSON.stringify(pairing);
  const keptLocally = keepOnDevice(localStorage, STORAGE_KEY, json);
  try {
    await idbPut(json);
  } catch (err) {
    if (!keptLocally) throw new Error(`this device's storage is full or blocked: the pairing cannot be kept (${err instanceof Error ? err.message : String(err)})`);
    return;
  }
  // The pairing before this one, still in a full localStorage, would be read first on the next start.
  if (!keptLocally) localStorage.removeItem(STORAGE_KEY);
}

export async function forgetPairing(): Promise<void> {
  localStorage.removeItem(STORAGE_KEY);
  await idbPut(null).catch(() => {});
}

function parseStored(json: string | null): Pairing | null {
  if (!json) return null;
  try {
    const p = JSON.parse(json) as Partial<Pairing>;
    if (typeof p.token !== 'string' || typeof p.location !== 'string' || typeof p.terminal !== 'string') return null;
    const claims = readTokenClaims(p.token);
    return {
      token: p.token,
      location: p.location,
      terminal: p.terminal,
      // Pairings kept before writers were chosen wrote as the terminal id.
      writer: typeof p.writer === 'string' && p.writer.length > 0 ? p.writer : p.terminal,
      role: claims.role,
      expiresAt: claims.expiresAt,
      pairedAt: typeof p.pairedAt === 'number' ? p.pairedAt : 0,
    };
  } catch {
    return null;
  }
}

const DB_NAME = 'rms-device';
const DB_STORE = 'device';

function openDeviceDb(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(DB_STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function idbGet(): Promise<string | null> {
  const db = await openDeviceDb();
  try {
    return await new Promise((resolve, reject) => {
      const req = db.transaction(DB_STORE, 'readonly').objectStore(DB_STORE).get(STORAGE_KEY);
      req.onsuccess = () => resolve(typeof req.result === 'string' ? req.result : null);
      req.onerror = () => reject(req.error);
    });
  } finally {
    db.close();
  }
}

async function idbPut(json: string | null): Promise<void> {
  const db = await openDeviceDb();
  try {
    await new Promise<void>((resolve, reject) => {
      const tx = db.transaction(DB_STORE, 'readwrite', { durability: 'strict' });
      if (json === null) tx.objectStore(DB_STORE).delete(STORAGE_KEY);
      else tx.objectStore(DB_STORE).put(json, STORAGE_KEY);
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
  } finally {
    db.close();
  }
}

export function isManager(role: Role): boolean {
  return role === 'manager' || role === 'admin';
}
