import type { FastifyRequest } from 'fastify';
import type { Role, TokenClaims } from '../../shared/protocol/token-claims';
import type { TokenIssuer } from '../auth/tokens';
import { HttpError } from './http-error';

/**
 * Bearer-token authentication for the REST API: the same tokens as the relay. The location
 * of every request is the token's; a `location` query naming another one is forbidden, so a
 * token for A can never read or write B.
 */
export async function authenticate(
  tokens: TokenIssuer,
  request: FastifyRequest,
  allowed: readonly Role[] = ['terminal', 'manager', 'admin'],
): Promise<TokenClaims> {
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
      default: {
        const never: never = verified.failure;
        throw new Error(`unexpected failure ${String(never)}`);
      }
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
