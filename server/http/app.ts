import cors from '@fastify/cors';
import Fastify, { LogController, type FastifyError, type FastifyInstance } from 'fastify';
import { PROTOCOL_HEADER, PROTOCOL_VERSION, checkProtocolVersion, parseProtocolVersion } from '../../shared/protocol/protocol-version';
import type { TokenIssuer } from '../auth/tokens';
import { tokenHook } from './auth';
import { HttpError, sendError } from './http-error';
import { useJsonParser } from './json-body';

/** The longest a request may take to arrive, body included: a batch on the slowest link takes seconds. */
export const REQUEST_TIMEOUT_MS = 120_000;

export interface AppOptions {
  /** PEM certificate and key: HTTPS (and WSS for the relay) on the same port. */
  https?: { cert: Buffer; key: Buffer } | null;
  logLevel: string;
  /** Where the JSON log lines go (tests read them); stdout when absent. */
  logStream?: { write(line: string): void };
  corsOrigins: readonly string[];
  /** Checks the bearer token of every route whose config names `roles`. */
  tokens: TokenIssuer;
  now: () => number;
  /** While true (a graceful shutdown runs), new requests get 503 `shuttingDown`. */
  isShuttingDown?: () => boolean;
}

/**
 * The Fastify instance with what every route shares: JSON logs, CORS limited to the
 * configured origins, the protocol-version check, the bearer-token check of the routes that
 * name `roles` (before their body is read, and again once it arrived), `X-Server-Time` on every
 * response and one error format (ErrorResponse) for every failure, including Fastify's own
 * (bad JSON, 413).
 */
export async function createApp(options: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    ...(options.https ? { https: options.https } : {}),
    logger: { level: options.logLevel, ...(options.logStream ? { stream: options.logStream } : {}) },
    // Fastify's two info lines per request were ~57k a day from 10 idle tills' polls: one line
    // per response instead (the onResponse hook below).
    logController: new LogController({ disableRequestLogging: true }),
    // Upgraded sockets are the relay's; HTTP keep-alive sockets must not hold shutdown.
    forceCloseConnections: 'idle',
    // A request whose body stops arriving (a till on bad Wi-Fi mid-upload, a half-open socket)
    // is answered 408 and its socket freed, not held for good (Node's default is no limit).
    requestTimeout: REQUEST_TIMEOUT_MS,
    // Our own 503 (below), in the one error format; Fastify's has no serverTime.
    return503OnClosing: false,
    // A URL Fastify cannot even route (a bad %-escape) gets the one error format too.
    frameworkErrors: (error, _request, reply) => {
      sendError(reply, new HttpError(400, 'badRequest', error.message), options.now());
    },
  });
  // Only JSON bodies: text/plain would reach the routes as a string (415 instead, as documented).
  app.removeContentTypeParser('text/plain');
  // JSON nested deeper than MAX_JSON_DEPTH never reaches JSON.parse.
  useJsonParser(app, app.getDefaultJsonParser('error', 'error'));

  app.addHook('onRequest', async () => {
    if (options.isShuttingDown?.()) throw new HttpError(503, 'shuttingDown', 'server is shutting down; retry shortly');
  });

  await app.register(cors, {
    // Same-origin requests carry no Origin header or the server's own; cross-origin only when listed.
    origin: (origin, cb) => cb(null, origin === undefined || options.corsOrigins.includes(origin)),
    allowedHeaders: ['Authorization', 'Content-Type', PROTOCOL_HEADER],
    exposedHeaders: ['X-Server-Time'],
  });

  app.addHook('onRequest', async (request) => {
    const raw = request.headers[PROTOCOL_HEADER];
    if (raw === undefined || !request.url.startsWith('/api/')) return;
    const version = typeof raw === 'string' ? parseProtocolVersion(raw) : null;
    if (version === null) {
      throw new HttpError(400, 'badRequest', `${PROTOCOL_HEADER} must be an integer (got ${JSON.stringify(raw)})`, { field: PROTOCOL_HEADER });
    }
    const check = checkProtocolVersion(version);
    if (!check.ok) {
      throw new HttpError(400, check.reason, `protocol ${String(raw)} not supported (server speaks ${PROTOCOL_VERSION})`);
    }
  });

  app.decorateRequest('tokenClaims', null);
  // Checked before the body is read, and again once it arrived (a revocation meanwhile): auth.ts.
  const checkToken = tokenHook(options.tokens);
  app.addHook('onRequest', checkToken);
  app.addHook('preHandler', checkToken);

  // Writes and failures at info; the reads every till repeats (watermarks, event pages, scrapes) at debug.
  app.addHook('onResponse', async (request, reply) => {
    const read = request.method === 'GET' || request.method === 'HEAD';
    request.log[read && reply.statusCode < 400 ? 'debug' : 'info'](
      { method: request.method, url: redactToken(request.url), status: reply.statusCode, ms: Math.round(reply.elapsedTime) },
      'request',
    );
  });

  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('X-Server-Time', String(options.now()));
    return payload;
  });

  app.setErrorHandler((error: FastifyError | HttpError, request, reply) => {
    if (error instanceof HttpError) return sendError(reply, error, options.now());
    const status = error.statusCode ?? 500;
    if (status === 413 || error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return sendError(reply, new HttpError(413, 'payloadTooLarge', 'request body too large'), options.now());
    }
    if (error.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || error instanceof SyntaxError) {
      return sendError(reply, new HttpError(400, 'badRequest', `malformed JSON: ${error.message}`, { field: 'body' }), options.now());
    }
    if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      return sendError(reply, new HttpError(415 as number, 'badRequest', 'send application/json'), options.now());
    }
    if (status >= 400 && status < 500) {
      return sendError(reply, new HttpError(status, 'badRequest', error.message), options.now());
    }
    request.log.error({ err: error }, 'request failed');
    return sendError(reply, new HttpError(500, 'internalError', 'internal error'), options.now());
  });

  app.setNotFoundHandler((request, reply) =>
    sendError(reply, new HttpError(404, 'notFound', `no route ${request.method} ${request.url.split('?')[0]}`), options.now()),
  );

  return app;
}

/** A token put in a query string must not end up in the logs with the URL. */
function redactToken(url: string): string {
  return url.replace(/([?&]token=)[^&]*/g, '$1[redacted]');
}
