import type { FastifyInstance } from 'fastify';
import type { ServerMetrics } from '../metrics';
import type { Db } from '../store/database';

export interface OpsRoutesDeps {
  db: Db;
  metrics: ServerMetrics;
  now: () => number;
}

/** /healthz (liveness + a database round trip) and Prometheus /metrics. */
export function registerOpsRoutes(app: FastifyInstance, deps: OpsRoutesDeps): void {
  // While shutting down the app's onRequest hook answers 503 before any route.
  app.get('/healthz', async () => {
    deps.db.prepare('SELECT 1').get();
    return { status: 'ok', serverTime: deps.now() };
  });

  app.get('/metrics', async (_request, reply) => {
    reply.type(deps.metrics.registry.contentType);
    return deps.metrics.registry.metrics();
  });
}
