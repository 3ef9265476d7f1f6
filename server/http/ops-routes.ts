import type { FastifyInstance } from 'fastify';
import type { ServerMetrics } from '../metrics';
import type { Db } from '../store/database';

export interface OpsRoutesDeps {
  db: Db;
  metrics: ServerMetrics;
  now: () => number;
  isShuttingDown: () => boolean;
}

/** /healthz (liveness + a database round trip) and Prometheus /metrics. */
export function registerOpsRoutes(app: FastifyInstance, deps: OpsRoutesDeps): void {
  app.get('/healthz', async (_request, reply) => {
    if (deps.isShuttingDown()) return reply.code(503).send({ status: 'shutting-down', serverTime: deps.now() });
    deps.db.prepare('SELECT 1').get();
    return { status: 'ok', serverTime: deps.now() };
  });

  app.get('/metrics', async (_request, reply) => {
    reply.type(deps.metrics.registry.contentType);
    return deps.metrics.registry.metrics();
  });
}
