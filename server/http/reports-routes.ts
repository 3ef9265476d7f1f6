import type { FastifyInstance } from 'fastify';
import { TICKET_AGGREGATE } from '../../shared/domain/ticket-events';
import { TakingsQuery, type TakingsResponse } from '../../shared/protocol/rest-reports';
import { dayTakings } from '../../shared/reports/day-takings';
import type { TokenIssuer } from '../auth/tokens';
import type { ProjectionCache } from '../ingest/projection-cache';
import { authenticate } from './auth';
import { parseInput } from './http-error';

export interface ReportsRoutesDeps {
  tokens: TokenIssuer;
  projections: ProjectionCache;
  now: () => number;
}

/**
 * GET /api/reports/takings?from=<ms>&to=<ms> — the takings of the caller's location over
 * [from, to) (managers and admins: a till has no business reading the cash-up), from the
 * server's projection of the whole canonical log: the same report the managers' tablets
 * build from their local log, so the two compare figure by figure.
 */
export function registerReportsRoutes(app: FastifyInstance, deps: ReportsRoutesDeps): void {
  app.get('/api/reports/takings', async (request): Promise<TakingsResponse> => {
    const claims = await authenticate(deps.tokens, request, ['manager', 'admin']);
    const window = parseInput(TakingsQuery, request.query, 'query');
    const projection = await deps.projections.get(claims.location);
    return { takings: dayTakings(projection.all(TICKET_AGGREGATE), window), serverTime: deps.now() };
  });
}
