import type { FastifyInstance } from 'fastify';
import {
  GetEventsQuery,
  MAX_BATCH_BYTES,
  MAX_BATCH_EVENTS,
  PostEventsRequest,
  type GetEventsResponse,
  type PostEventsResponse,
  type WatermarksResponse,
} from '../../shared/protocol/rest-events';
import type { IngestService } from '../ingest/ingest-service';
import { countIngested, type ServerMetrics } from '../metrics';
import type { CanonicalLog } from '../store/canonical-log';
import type { StoreHealth } from '../store/store-health';
import { ANY_ROLE, claimsOf } from './auth';
import { HttpError, parseInput } from './http-error';
import { useJsonParser } from './json-body';

export interface EventsRoutesDeps {
  store: CanonicalLog;
  ingest: IngestService;
  metrics: ServerMetrics;
  storeHealth: StoreHealth;
  now: () => number;
  /** Tracks in-flight batches so shutdown can wait for them. */
  inFlight: Set<Promise<unknown>>;
}

const DEFAULT_PAGE = 500;

export function registerEventsRoutes(app: FastifyInstance, deps: EventsRoutesDeps): void {
  // Encapsulated: this JSON parser serves POST /api/events only.
  void app.register(async (batches) => registerPostEvents(batches, deps));

  app.get('/api/events', { config: { roles: ANY_ROLE } }, async (request) => {
    const claims = claimsOf(request);
    const query = parseInput(GetEventsQuery, request.query, 'query');
    const after = query.after === undefined || query.after === '' ? 0 : Number(query.after);
    const page = await deps.store.readAfter(claims.location, after, query.limit ?? DEFAULT_PAGE);
    // A cursor this log never gave: the database was replaced or restored from a backup since.
    // Answered as an empty page, its reader would skip every event stored next, up to that cursor.
    if (after > page.lastCursor) {
      throw new HttpError(409, 'cursorAhead', `cursor ${after} is beyond this log's end (${page.lastCursor}): the database was replaced or restored; page again from the start, keeping what you hold by event id`, { field: 'after' });
    }
    const last = page.events.at(-1);
    const response: GetEventsResponse = {
      events: page.events.map((e) => JSON.parse(e.json) as unknown),
      next: String(last?.cursor ?? after),
      hasMore: page.hasMore,
      serverTime: deps.now(),
    };
    return response;
  });

  app.get('/api/watermarks', { config: { roles: ANY_ROLE } }, async (request) => {
    const claims = claimsOf(request);
    const { marks, above } = await deps.store.acknowledgements(claims.location);
    const response: WatermarksResponse = {
      watermarks: marks,
      storedAbove: above,
      writers: await deps.store.writers(claims.location),
      serverTime: deps.now(),
    };
    return response;
  });
}

/**
 * A batch is parsed keeping "__proto__" and "constructor" members as the plain own keys
 * JSON.parse makes them (Fastify's default refuses the whole body): one such event, which
 * honest terminals re-upload for its writer, would stop a location's uploads for good. The
 * event check (checkIncomingEventJson) rejects that event alone.
 */
function registerPostEvents(app: FastifyInstance, deps: EventsRoutesDeps): void {
  useJsonParser(app, app.getDefaultJsonParser('ignore', 'ignore'));
  app.post('/api/events', { bodyLimit: MAX_BATCH_BYTES, config: { roles: ANY_ROLE } }, async (request) => {
    const claims = claimsOf(request);
    const body = request.body;
    if (body !== null && typeof body === 'object' && Array.isArray((body as { events?: unknown }).events)) {
      const count = (body as { events: unknown[] }).events.length;
      if (count > MAX_BATCH_EVENTS) {
        throw new HttpError(413, 'payloadTooLarge', `batch has ${count} events; at most ${MAX_BATCH_EVENTS}`, {
          field: 'events',
        });
      }
    }
    const parsed = PostEventsRequest.safeParse(body);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => ({ path: i.path.map(String).join('.') || 'body', message: i.message }));
      throw new HttpError(400, 'invalidBatch', `body must be { events: [...] }: ${issues[0]?.path}: ${issues[0]?.message}`, {
        field: issues[0]?.path,
        issues,
      });
    }
    const stop = deps.metrics.batchSeconds.startTimer();
    const work = deps.ingest.ingest(claims.location, parsed.data.events, { terminal: claims.terminal ?? null, role: claims.role });
    deps.inFlight.add(work);
    try {
      const result = await work.catch((err: unknown) => {
        // Only the store throws here (disk full, database locked): a 500, the batch sent again later.
        deps.storeHealth.failed('events', err);
        // Logged here, with whose batch it was (the error handler would log it again without); the error itself, for its stack.
        request.log.error({ location: claims.location, terminal: claims.terminal ?? null, events: parsed.data.events.length, err }, 'event batch not stored');
        throw new HttpError(500, 'internalError', 'internal error');
      });
      if (result.accepted > 0) deps.storeHealth.succeeded('events');
      countIngested(deps.metrics.eventsIngested, result);
      if (result.rejected > 0) {
        request.log.info(
          { location: claims.location, rejected: result.results.filter((r) => r.status === 'rejected') },
          'events rejected',
        );
      }
      const response: PostEventsResponse = {
        results: result.results,
        watermarks: result.watermarks,
        storedAbove: result.storedAbove,
        serverTime: deps.now(),
      };
      return response;
    } finally {
      deps.inFlight.delete(work);
      stop();
    }
  });
}
