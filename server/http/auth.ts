import type { FastifyRequest } from 'fastify';
import type { Role, TokenClaims } from '../../shared/protocol/token-claims';
import type { TokenIssuer } from '../auth/tokens';
import { HttpError } from './http-error';
import { assertNever } from '../../shared/assert-never';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call the route: when set, a bearer token of one of these roles (checked by tokenHook). */
    roles?: readonly Role[];
  }
  interface FastifyRequest {
    /** The verified token of a route with `roles`; null on public routes. */
    tokenClaims: TokenClaims | null;
  }
}

/** Every role: any valid token of the location. */
export const ANY_ROLE: readonly Role[] = ['terminal', 'manager', 'admin'];
export const MANAGER_ROLES: readonly Role[] = ['manager', 'admin'];

/**
 * The bearer-token check of every route whose config names `roles` (routes without, healthz,
 * metrics and the app's files, stay public). app.ts runs it twice: as an onRequest hook, before
 * Fastify reads and parses the body, so a request without a valid token costs no parse (a
 * deeply nested 2 MiB body without a token once held the event loop for half a second); and as
 * a preHandler hook, once the body has arrived, because a body may take up to
 * REQUEST_TIMEOUT_MS: a device revoked (or a token expired) while it held its body must not
 * renew, mint or store with it. Verified tokens are cached, so the second check costs a lookup.
 */
export function tokenHook(tokens: TokenIssuer): (request: FastifyRequest) => Promise<void> {
  return async (request) => {
    const roles = request.routeOptions.config.roles;
    if (roles !== undefined) request.tokenClaims = await authenticate(tokens, request, roles);
  };
}

/** The claims tokenHook verified for this request; only routes with `roles` have them. */
export function claimsOf(request: FastifyRequest): TokenClaims {
  if (request.tokenClaims === null) throw new Error(`route ${request.routeOptions.url ?? request.url} declares no roles`);
  return request.tokenClaims;
}

/**
 * Bearer-token authentication for the REST API: the same tokens as the relay. The location
 * of every request is the token's; a `location` query naming another one is forbidden, so a
 * token for A can never read or write B.
 */
async function authenticate(tokens: TokenIssuer, request: FastifyRequest, allowed: readonly Role[]): Promise<TokenClaims> {
  const header = request.headers.authorization;
  const match = header === undefined ? null : /^Bearer\s+(\S+)$/i.exec(header);
  const verified = await tokens.verify(match?.[1]);
  if (!verified.ok) {
    switch (verified.failure) {
      case 'missing':
        throw new HttpError(401, 'unauthorized', 'missing bearer token (Authorization: Bearer <token>)');
      case 'expired':
        throw new HttpError(401, 'tokenExpired', 'token expired; renew it and retry');
      case 'revoked':
        throw new HttpError(401, 'tokenRevoked', 'this device was cut off; pair it again with a new link');
      case 'malformed':
      case 'badSignature':
      case 'badClaims':
        throw new HttpError(401, 'unauthorized', `invalid token (${verified.failure})`);
      default:
        assertNever(verified.failure, 'token failure');
    }
  }
  const claims = verified.claims;
  const query = request.query as Record<string, unknown> | undefined;
  const asked = query?.location;
  if (asked !== undefined && asked !== claims.location) {
    throw new HttpError(403, 'forbidden', 'token is for another location', { field: 'location' });
  }
  if (!allowed.includes(claims.role)) {
    throw new HttpError(403, 'forbidden', `role ${claims.role} may not do this (needs ${allowed.join(' or ')})`);
  }
  return claims;
}
