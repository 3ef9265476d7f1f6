import type { FastifyInstance } from 'fastify';
import type { AggregateResponse } from '../../shared/protocol/rest-aggregates';
import type { CanonicalLog } from '../store/canonical-log';
import { foldAggregate } from '../store/folded-views';
import { ANY_ROLE, claimsOf } from './auth';
import { HttpError } from './http-error';

export interface AggregatesRoutesDeps {
  store: CanonicalLog;
  now: () => number;
}

/** GET /api/aggregates/:type/:id — one aggregate of the caller's location, folded from its own events. */
export function registerAggregatesRoutes(app: FastifyInstance, deps: AggregatesRoutesDeps): void {
  app.get<{ Params: { type: string; id: string } }>('/api/aggregates/:type/:id', { config: { roles: ANY_ROLE } }, async (request) => {
    const claims = claimsOf(request);
    const { type, id } = request.params;
    const projection = await foldAggregate(deps.store, claims.location, id);
    const view = projection.get(id);
    if (view === undefined || view.aggregateType !== type) {
      throw new HttpError(404, 'notFound', `no ${type} ${id} in location ${claims.location}`);
    }
    const response: AggregateResponse = {
      aggregate: { id, type },
      state: { ...view, history: projection.historyOf(id) },
      events: [...projection.eventsOf(id)],
      serverTime: deps.now(),
    };
    return response;
  });
}
