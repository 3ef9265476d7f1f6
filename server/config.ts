import { z } from 'zod';
import { MIN_SECRET_LENGTH } from './auth/secret';

/**
 * Server configuration, read once from the environment. Every knob has a default that
 * runs a single-location demo out of the box; docs/server.md lists them.
 */
export interface ServerConfig {
  port: number;
  host: string;
  dataDir: string;
  /** HS256 secret; when absent one is generated once and kept in dataDir. */
  secret: string | undefined;
  /** Browser origins allowed to call the API cross-origin; same-origin always works. */
  corsOrigins: string[];
  /** Directory of the built staff app; served when it exists. */
  staticDir: string;
  /** Base URL printed in pairing links (defaults to http(s)://localhost:port). */
  publicUrl: string | undefined;
  /**
   * PEM files to serve HTTPS and WSS on the same port. Browsers give the staff app its
   * offline shell (service worker), writer slots per tab (Web Locks) and persistent storage
   * only in a secure context: https, or http on localhost.
   */
  tls: { certFile: string; keyFile: string } | null;
  seedDemo: boolean;
  logLevel: string;
  relay: RelayLimits;
  /**
   * Store the events terminals bring over the relay in the canonical log, as if posted
   * (server/ingest/relay-ingest-hook.ts). Off: only POST /api/events stores events.
   */
  relayIngest: boolean;
}

export interface RelayLimits {
  maxMessageBytes: number;
  maxConnectionsPerRoom: number;
  /** Connections one device (its token's terminal) may hold in its room; a newer one closes its oldest. */
  maxConnectionsPerDevice: number;
  /** How long a room with no connections stays in memory before it is flushed and unloaded. */
  roomIdleMs: number;
  /** Merge a room's appended single updates into one chunk row once this many are stored and its writes pause (at once past 4× this many)... */
  compactEveryUpdates: number;
  /** ...and at least this often (server/relay/persistence-hook.ts; after 32 chunks the pieces are rebuilt into one state). */
  compactEveryMs: number;
}

/** Where the database and the token secret live unless DATA_DIR says otherwise. */
export const DEFAULT_DATA_DIR = './data';
export const DEFAULT_PORT = 8787;

/** An on/off variable: `1`/`true` or `0`/`false`. */
const Flag = z.enum(['0', '1', 'true', 'false']).transform((v) => v === '1' || v === 'true');

/**
 * The largest RELAY_MAX_MESSAGE_BYTES: the relay buffers a whole message per socket before it
 * reads it, so a limit in gigabytes lets a few sockets take the server's memory.
 */
const MAX_RELAY_MESSAGE_BYTES = 64 * 1024 * 1024;

/** A delay for setTimeout/setInterval: Node runs one above 2^31 - 1 ms after 1 ms instead (a room unloaded at once, a flush every millisecond). */
const TimerMs = z.coerce.number().int().max(2 ** 31 - 1, 'at most 2147483647 (about 24.8 days)');

/**
 * CORS_ORIGINS: a comma list of origins, each written as a browser sends its Origin header
 * (`new URL(entry).origin`: lower-case scheme and host, no default port, no trailing slash),
 * since CORS compares exact strings. An entry that is no http(s) origin or has a path could
 * never match one: refused at startup, naming it.
 */
const CorsOrigins = z.string().transform((list, ctx) => {
  const origins: string[] = [];
  for (const entry of list.split(',').map((s) => s.trim()).filter((s) => s.length > 0)) {
    const problem = originProblem(entry);
    if (problem === null) origins.push(new URL(entry).origin);
    else ctx.issues.push({ code: 'custom', input: entry, message: `"${entry}" ${problem}; write scheme://host[:port], e.g. https://till.example.com` });
  }
  return origins;
});

function originProblem(entry: string): string | null {
  let url: URL;
  try {
    url = new URL(entry);
  } catch {
    return 'is not a URL';
  }
  if (!isHttpUrl(url)) return 'is not an http(s) origin';
  if (url.username !== '' || url.password !== '') return 'has credentials';
  if (url.pathname !== '/' || url.search !== '' || url.hash !== '') return 'has a path';
  return null;
}

/** A browser's page address: an http(s) URL (`new URL('pos.lan:8787')` parses, as scheme `pos.lan:`, and opens nowhere). */
function isHttpUrl(url: URL): boolean {
  return (url.protocol === 'http:' || url.protocol === 'https:') && url.host !== '';
}

/** PUBLIC_URL: the address devices open, printed at the front of every pairing link. */
const PublicUrl = z.string().refine((value) => {
  try {
    return isHttpUrl(new URL(value));
  } catch {
    return false;
  }
}, 'an http(s) URL, e.g. https://pos.bistro.lan:8787');

const Env = z.object({
  PORT: z.string().regex(/^\d{1,5}$/, 'a port number in digits, 0-65535').transform(Number).pipe(z.number().max(65535, 'a port number in digits, 0-65535')).default(DEFAULT_PORT),
  HOST: z.string().min(1).default('0.0.0.0'),
  DATA_DIR: z.string().min(1).default(DEFAULT_DATA_DIR),
  RMS_SECRET: z.string().min(MIN_SECRET_LENGTH, `RMS_SECRET must be at least ${MIN_SECRET_LENGTH} characters`).optional(),
  CORS_ORIGINS: CorsOrigins.default([]),
  STATIC_DIR: z.string().min(1).default('./dist'),
  PUBLIC_URL: PublicUrl.optional(),
  TLS_CERT_FILE: z.string().min(1).optional(),
  TLS_KEY_FILE: z.string().min(1).optional(),
  SEED_DEMO: Flag.default(true),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  RELAY_MAX_MESSAGE_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .max(MAX_RELAY_MESSAGE_BYTES, `at most ${MAX_RELAY_MESSAGE_BYTES} (64 MiB): the relay holds a whole message per socket in memory`)
    .default(32 * 1024 * 1024),
  RELAY_MAX_CONNECTIONS_PER_ROOM: z.coerce.number().int().positive().default(200),
  RELAY_MAX_CONNECTIONS_PER_DEVICE: z.coerce.number().int().positive().default(16),
  RELAY_ROOM_IDLE_MS: TimerMs.min(0).default(30_000),
  RELAY_COMPACT_EVERY_UPDATES: z.coerce.number().int().positive().default(500),
  RELAY_COMPACT_EVERY_MS: TimerMs.min(1).default(60_000),
  RELAY_INGEST: Flag.default(true),
}).superRefine((e, ctx) => {
  if ((e.TLS_CERT_FILE === undefined) === (e.TLS_KEY_FILE === undefined)) return;
  const missing = e.TLS_CERT_FILE === undefined ? 'TLS_CERT_FILE' : 'TLS_KEY_FILE';
  ctx.addIssue({ code: 'custom', path: [missing], message: 'TLS_CERT_FILE and TLS_KEY_FILE go together: set both for HTTPS, or neither' });
});

/**
 * Parses the environment; throws one readable error listing every bad variable. Values are
 * trimmed (a stray space in a unit file), and a variable set to nothing but blanks counts as
 * unset (`PORT= npm start` means the default port; RELAY_ROOM_IDLE_MS=" " is not 0 ms). The
 * secret is taken as written: trimming it would change the key every token is signed with.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const set = Object.entries(env).flatMap(([name, value]) =>
    value === undefined || value.trim() === '' ? [] : [[name, name === 'RMS_SECRET' ? value : value.trim()] as const],
  );
  const parsed = Env.safeParse(Object.fromEntries(set));
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new Error(`invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  const e = parsed.data;
  return {
    port: e.PORT,
    host: e.HOST,
    dataDir: e.DATA_DIR,
    secret: e.RMS_SECRET,
    corsOrigins: e.CORS_ORIGINS,
    staticDir: e.STATIC_DIR,
    publicUrl: e.PUBLIC_URL,
    tls: e.TLS_CERT_FILE !== undefined && e.TLS_KEY_FILE !== undefined ? { certFile: e.TLS_CERT_FILE, keyFile: e.TLS_KEY_FILE } : null,
    seedDemo: e.SEED_DEMO,
    logLevel: e.LOG_LEVEL,
    relay: {
      maxMessageBytes: e.RELAY_MAX_MESSAGE_BYTES,
      maxConnectionsPerRoom: e.RELAY_MAX_CONNECTIONS_PER_ROOM,
      maxConnectionsPerDevice: e.RELAY_MAX_CONNECTIONS_PER_DEVICE,
      roomIdleMs: e.RELAY_ROOM_IDLE_MS,
      compactEveryUpdates: e.RELAY_COMPACT_EVERY_UPDATES,
      compactEveryMs: e.RELAY_COMPACT_EVERY_MS,
    },
    relayIngest: e.RELAY_INGEST,
  };
}

/** Config for tests and embedders: the defaults with some fields overridden. */
export function configWith(overrides: Partial<Omit<ServerConfig, 'relay'>> & { relay?: Partial<RelayLimits> }): ServerConfig {
  const base = loadConfig({});
  return { ...base, ...overrides, relay: { ...base.relay, ...overrides.relay } };
}
