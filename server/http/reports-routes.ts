import type { FastifyInstance } from 'fastify';
import { TakingsQuery, type TakingsResponse } from '../../shared/protocol/rest-reports';
import { dayTakings } from '../../shared/reports/day-takings';
import type { CanonicalLog } from '../store/canonical-log';
import { foldTakingsTickets } from '../store/folded-views';
import { MANAGER_ROLES, claimsOf } from './auth';
import { parseInput } from './http-error';

export interface ReportsRoutesDeps {
  store: CanonicalLog;
  now: () => number;
}

/**
 * GET /api/reports/takings?from=<ms>&to=<ms> — the takings of the caller's location over
 * [from, to) (managers and admins: a till has no business reading the cash-up), from the
 * canonical log's tickets the window needs, folded by the shared projection: the same report
 * the managers' tablets build from their local log, so the two compare figure by figure.
 */
export function registerReportsRoutes(app: FastifyInstance, deps: ReportsRoutesDeps): void {
  app.get('/api/reports/takings', { config: { roles: MANAGER_ROLES } }, async (request): Promise<TakingsResponse> => {
    const claims = claimsOf(request);
    const window = parseInput(TakingsQuery, request.query, 'query');
    const tickets = await foldTakingsTickets(deps.store, claims.location, window);
    return { takings: dayTakings(tickets, window), serverTime: deps.now() };
  });
}
