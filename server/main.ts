import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { pathToFileURL } from 'node:url';
import { CloseReason } from '../shared/protocol/close-reasons';
import { Revocations, withRevocations } from './auth/revocations';
import { createTokenIssuer, type MintInput, type TokenIssuer } from './auth/tokens';
import { loadOrCreateSecret } from './auth/secret';
import { DEFAULT_DATA_DIR, DEFAULT_PORT, loadConfig, type ServerConfig } from './config';
import { DEMO_LOCATION, settleDemoLocation } from './demo/demo-seed';
import { createApp } from './http/app';
import { registerEventsRoutes } from './http/events-routes';
import { registerOpsRoutes } from './http/ops-routes';
import { checkDataDirNotServed, registerStaticFiles } from './http/static-files';
import { registerTokensRoutes } from './http/tokens-routes';
import { registerAggregatesRoutes } from './http/aggregates-routes';
import { registerReportsRoutes } from './http/reports-routes';
import { IngestService } from './ingest/ingest-service';
import { relayIngestHook, type RelayIngest } from './ingest/relay-ingest-hook';
import { roomBridgeHook } from './ingest/room-bridge';
import { countIngested, createMetrics } from './metrics';
import { pairingLink } from '../shared/protocol/pairing-link';
import { isSecureContextUrl, networkUrls, shellWord, urlHost } from './pairing';
import { createEventIndex } from './relay/event-index-hook';
import { roomGuardHook } from './relay/room-guard-hook';
import { persistenceHook } from './relay/persistence-hook';
import { Relay } from './relay/relay';
import { startCheckpointer } from './store/checkpointer';
import { holdsAnyData, openDatabase } from './store/database';
import { SqliteCanonicalLog } from './store/sqlite-canonical-log';
import { aggregatesMayLeave } from './store/folded-views';
import { SqliteRevocationStore } from './store/revocation-store';
import { SqliteRoomStore } from './store/room-store';
import { StoreHealth } from './store/store-health';
import { startUpdateMerger } from './store/update-merger';

/** How long a graceful shutdown waits for requests still arriving before it cuts their sockets. */
export const ARRIVING_REQUESTS_GRACE_MS = 3_000;

/** A running server. `close()` is the graceful shutdown (also run on SIGTERM / SIGINT). */
export interface RunningServer {
  url: string;
  port: number;
  /** Mints a token with this server's secret (tests, pairing). */
  mintToken(input: MintInput): Promise<string>;
  tokens: TokenIssuer;
  /** The demo location, when this data directory has one (seeded at this start or an earlier one). */
  demoLocation: string | null;
  /** Whether this start created the demo location: only then are its pairing links printed. */
  demoCreated: boolean;
  /** Whether the database held no event and no room when this start was done: a new restaurant's first step is still to come. */
  empty: boolean;
  close(): Promise<void>;
}

/** What a test or an embedder swaps in: the clock, and where the JSON log lines go (stdout otherwise). */
export interface ServerRuntime {
  now?: () => number;
  logStream?: { write(line: string): void };
}

/**
 * Wiring only: opens the data directory, builds store → ingest → relay → HTTP, listens.
 * Hook order matters and is spelled out here: persistence before the event index before
 * the room guard before relay ingest before metrics (relay); the room bridge after the store commit (ingest).
 */
export async function startServer(config: ServerConfig, runtime: ServerRuntime = {}): Promise<RunningServer> {
  // The server's time (tokens, X-Server-Time, the room guard's judgement): tests move it days ahead.
  const now = runtime.now ?? ((): number => Date.now());
  // Before the data directory is created or opened: refused, nothing is left open.
  checkDataDirNotServed(config.staticDir, config.dataDir);
  const https = config.tls === null ? null : { cert: readPem('TLS_CERT_FILE', config.tls.certFile), key: readPem('TLS_KEY_FILE', config.tls.keyFile) };
  const secret = loadOrCreateSecret(config.dataDir, config.secret);
  const db = openDatabase(config.dataDir);
  // Every check of a token (REST, relay upgrade, renewal) also refuses revoked devices.
  const revocations = new Revocations(new SqliteRevocationStore(db));
  const tokens = withRevocations(createTokenIssuer(secret, now), revocations, now);
  // WAL checkpoints in a worker thread, not inside a commit on the event loop.
  const checkpointer = startCheckpointer(db, config.dataDir);
  const store = new SqliteCanonicalLog(db);
  const roomStore = new SqliteRoomStore(db);
  const metrics = createMetrics();
  // Told by every site that writes the store: /healthz says when nothing sent can be stored.
  const storeHealth = new StoreHealth(now, (op) => metrics.storeErrors.inc({ op }));
  let shuttingDown = false;
  const app = await createApp({
    https,
    logLevel: config.logLevel,
    ...(runtime.logStream ? { logStream: runtime.logStream } : {}),
    corsOrigins: config.corsOrigins,
    tokens,
    now,
    isShuttingDown: () => shuttingDown,
  });
  const log = app.log;

  const eventIndex = createEventIndex({ acknowledged: (location) => store.watermarks(location) });
  // The ingest service bridges into the relay's rooms and the relay ingests into it: the
  // relay's hook calls it only once rooms serve connections, after it exists.
  const relayIngest: RelayIngest | null = config.relayIngest
    ? relayIngestHook(
        { ingestEach: (location, batches) => ingest.ingestEach(location, batches) },
        {
          log,
          acknowledgements: (location) => store.acknowledgements(location),
          held: (room) => eventIndex.highest(room),
          onIngested: (location, result, caughtUp) => {
            if (result.accepted > 0) storeHealth.succeeded('relay_ingest');
            // Catch-up's duplicates are events stored already (counted as they came in), not relay ingest.
            countIngested(metrics.relayEventsIngested, caughtUp ? { ...result, duplicates: 0 } : result);
            if (result.rejected > 0) log.info({ location, caughtUp, rejected: result.results.filter((r) => r.status === 'rejected') }, 'relayed events rejected');
          },
          onFailed: (_location, err) => storeHealth.failed('relay_ingest', err),
        },
      )
    : null;
  // Merges of stored room updates in a worker thread, not between relayed frames.
  const merger = startUpdateMerger();
  const persistence = persistenceHook(roomStore, merger, {
    mergeEvery: config.relay.compactEveryUpdates,
    onMergeError: (err, room) => log.warn({ err, location: room }, 'room update merge failed (the updates stay stored unmerged)'),
  });
  const relay = new Relay({
    tokens,
    isRevoked: (claims) => revocations.isRevoked(claims),
    limits: config.relay,
    hooks: [
      persistence,
      eventIndex.hook,
      roomGuardHook({
        acknowledged: (location) => store.acknowledgements(location),
        relayed: (room) => eventIndex.relayed(room),
        holds: (room, id) => eventIndex.holds(room, id),
        stored: (location, terminal, after, upTo) => store.readWriter(location, terminal, after, upTo),
        mayLeave: (location, compactedAt) => aggregatesMayLeave(store, location, compactedAt, now()),
        warn: (obj, msg) => log.warn(obj, msg),
        onError: (err) => log.error({ err: String(err) }, 'room guard failed to undo a change'),
      }),
      ...(relayIngest ? [relayIngest.hook] : []),
      metrics.relayHook,
    ],
    storeHealth,
    log,
    onClosed: ({ code, reason }) => metrics.relayCloses.inc({ code: String(code), reason }),
  });
  const ingest = new IngestService(store, [roomBridgeHook(relay.rooms, eventIndex, log)], log, now);

  const inFlight = new Set<Promise<unknown>>();
  registerOpsRoutes(app, { db, metrics, store, storeHealth, rooms: relay.rooms, now });
  registerEventsRoutes(app, { store, ingest, metrics, storeHealth, now, inFlight });
  registerAggregatesRoutes(app, { store, now });
  registerReportsRoutes(app, { store, now });
  registerTokensRoutes(app, { tokens, revocations, closeRevoked: (location, name) => relay.closeRevoked(location, name), writers: (location) => store.writers(location), now });
  const servesApp = await registerStaticFiles(app, config.staticDir);
  relay.attach(app.server);

  const { demoLocation, demoCreated } = await settleDemoLocation({
    db,
    store,
    seedDemo: config.seedDemo,
    ingest: (location, events) => ingest.ingest(location, events),
    now,
    log,
  });
  // Before any device can write: whether this restaurant has yet to take its first step.
  const empty = !holdsAnyData(db);

  await app.listen({ port: config.port, host: config.host });
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;
  const url = `${https ? 'https' : 'http'}://${urlHost(config.host)}:${port}`;
  log.info({ port, url, dataDir: config.dataDir, servesApp }, 'server listening');

  let closing: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      shuttingDown = true;
      log.info('shutting down');
      // 1. no new sockets; live ones get a retriable close code so clients reconnect later
      await relay.disconnectAll(CloseReason.serverShuttingDown);
      // 2. stop listening and let in-flight requests (batches and their bridging) finish
      await Promise.allSettled([...inFlight]);
      // A request still arriving is not idle, so app.close() would wait for it for good (a till
      // mid-upload on a dead link): after a grace its socket is cut. Its body was never read
      // whole, so nothing of it was stored, and the till sends the batch again.
      const cut = setTimeout(() => app.server.closeAllConnections(), ARRIVING_REQUESTS_GRACE_MS);
      await app.close();
      clearTimeout(cut);
      // One that began arriving as the server closed was not in progress yet: cut it now.
      app.server.closeAllConnections();
      // what the relay brought is stored before the rooms are (the back office reads the log while we are down)
      await relayIngest?.close();
      await ingest.flush();
      // 3. flush every room's state and let its merges finish, then the database
      await relay.close();
      // (bounded: a merge only saves space, so a stuck one is abandoned and its rows stay as stored)
      await Promise.race([persistence.settled(), new Promise((resolve) => setTimeout(resolve, 10_000).unref())]);
      await merger.close();
      await checkpointer.close();
      db.close();
      log.info('shut down');
    })();
    return closing;
  };

  return {
    url,
    port,
    tokens,
    demoLocation,
    demoCreated,
    empty,
    mintToken: (input) => tokens.mint(input),
    close,
  };
}

function readPem(variable: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new Error(`${variable}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
}

/**
 * The environment's configuration; on a mistake, its message and exit 1 (the operator's to fix,
 * not a stack trace). `npm start` checks it before it builds the staff app.
 */
export function configFromEnvironment(): ServerConfig {
  try {
    return loadConfig();
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
}

/**
 * The command line: start with the environment's configuration, print the URL and how to pair,
 * shut down gracefully on SIGTERM / SIGINT. Run by `npm start` (scripts/start.mjs) and by
 * `npm run server` (this file as the entry point).
 */
export async function main(config: ServerConfig = configFromEnvironment()): Promise<void> {
  let server: RunningServer;
  try {
    server = await startServer(config);
  } catch (err) {
    // Port taken, unreadable certificate: the operator's to fix, said in one line.
    process.stderr.write(`RMS server could not start: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
  // From here on a signal is a graceful shutdown, even one sent as the banner appears.
  const stop = (signal: string): void => {
    void server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`shutdown after ${signal} failed: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  const base = config.publicUrl ?? server.url;
  // The token CLI must sign with this server's secret: it needs the same DATA_DIR or RMS_SECRET.
  // And the address its links open: PUBLIC_URL when the server is not the CLI's default (another port, HTTPS, a LAN name).
  // The secret itself is never printed: the owner puts it in.
  const secretEnv = config.secret !== undefined ? 'RMS_SECRET=<your RMS_SECRET> ' : config.dataDir !== DEFAULT_DATA_DIR ? `DATA_DIR=${shellWord(config.dataDir)} ` : '';
  const tokenEnv = secretEnv + (base === `http://localhost:${DEFAULT_PORT}` ? '' : `PUBLIC_URL=${shellWord(base)} `);
  const lines = [`RMS server ready: open ${base}`];
  if (server.demoLocation === null && server.empty) {
    // A real restaurant starts with a manager's tablet: a till's token opens no Menu screen to build the menu on.
    lines.push(
      `First step:     ${tokenEnv}npm run token -- --location <your-location> --role manager --terminal manager-1`,
      "                (<your-location>: your restaurant's id, e.g. bistro-nord) pair your manager tablet with the link it prints; from its Console (Devices) you pair the tills",
    );
  } else if (server.demoLocation === null) {
    // Trading already: a device is paired from a manager's Console, or minted under a name of its own (a shared name is revoked as one).
    lines.push(`Pair a device:  a manager's Console (Devices), or ${tokenEnv}npm run token -- --location <your-location> --role terminal --terminal <a-new-name>`);
  } else {
    // Links carry 30-day tokens (a manager's): printed once, not into every start's service log.
    if (server.demoCreated) {
      const tillToken = await server.mintToken({ location: DEMO_LOCATION, role: 'terminal', terminal: 'till-1', ttlSeconds: 30 * 86400 });
      const managerToken = await server.mintToken({ location: DEMO_LOCATION, role: 'manager', terminal: 'manager-1', ttlSeconds: 30 * 86400 });
      lines.push(
        `Pair a till:    ${pairingLink(base, tillToken, DEMO_LOCATION, 'till-1')}`,
        `Pair a manager: ${pairingLink(base, managerToken, DEMO_LOCATION, 'manager-1')}`,
      );
    } else {
      lines.push('Pair a device:  the command below prints a pairing link (--role manager for a manager): links carry tokens, so only a first start prints them');
    }
    lines.push(`Mint tokens:    ${tokenEnv}npm run token -- --location ${server.demoLocation} --role terminal --terminal till-2`);
  }
  // Pairing links say localhost unless PUBLIC_URL is set: the addresses other devices can open.
  const others = config.publicUrl === undefined ? networkUrls(config.host, server.port, config.tls ? 'https' : 'http', networkInterfaces()) : [];
  if (others.length > 0) lines.push(`Other devices:  ${others.join('  ')}  (PUBLIC_URL=<one of them>: pairing links that open there)`);
  const insecure = [base, ...others].filter((url) => !isSecureContextUrl(url)).map((url) => new URL(url).origin);
  if (insecure.length > 0) {
    lines.push(
      `Note: browsers treat ${insecure.join(', ')} as insecure: a terminal there cannot open the app while the server is unreachable (no offline shell) and its storage may be evicted.`,
      '      Serve HTTPS with TLS_CERT_FILE and TLS_KEY_FILE (docs/server.md, "HTTPS").',
    );
  }
  // Humans read these; they are single lines on stdout next to the JSON logs.
  process.stdout.write(`\n${lines.join('\n')}\n\n`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}
