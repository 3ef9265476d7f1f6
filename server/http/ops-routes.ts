import type { FastifyInstance } from 'fastify';
import type { AdminStatsResponse } from '../../shared/protocol/rest-admin';
import type { ServerMetrics } from '../metrics';
import type { RoomRegistry } from '../relay/room-registry';
import type { Db } from '../store/database';
import type { CanonicalLog } from '../store/canonical-log';
import type { StoreHealth } from '../store/store-health';
import { claimsOf } from './auth';

export interface OpsRoutesDeps {
  db: Db;
  metrics: ServerMetrics;
  store: CanonicalLog;
  storeHealth: StoreHealth;
  rooms: RoomRegistry;
  now: () => number;
}

/**
 * /healthz (liveness, a database round trip, and whether writes are stored), Prometheus
 * /metrics, and GET /api/admin/stats: an operator's look at one location (its log, its
 * watermarks, whether its room is loaded).
 */
export function registerOpsRoutes(app: FastifyInstance, deps: OpsRoutesDeps): void {
  // While shutting down the app's onRequest hook answers 503 before any route.
  app.get('/healthz', async (_request, reply) => {
    deps.db.prepare('SELECT 1').get();
    // The database answers reads on a full disk too: unhealthy while what is sent cannot be stored.
    const failing = deps.storeHealth.failing;
    if (failing !== null) return reply.code(503).send({ status: 'storageFailing', ...failing, serverTime: deps.now() });
    return { status: 'ok', serverTime: deps.now() };
  });

  app.get('/metrics', async (_request, reply) => {
    reply.type(deps.metrics.registry.contentType);
    return deps.metrics.registry.metrics();
  });

  app.get('/api/admin/stats', { config: { roles: ['admin'] } }, async (request): Promise<AdminStatsResponse> => {
    const claims = claimsOf(request);
    const room = deps.rooms.peek(claims.location);
    return {
      location: claims.location,
      events: await deps.store.countEvents(claims.location),
      watermarks: await deps.store.watermarks(claims.location),
      room: room === undefined ? null : { loaded: true, connections: room.connections.size },
      serverTime: deps.now(),
    };
  });
}
