import type { FastifyInstance } from 'fastify';
import { decodeJwt } from 'jose';
import {
  MAX_TOKEN_TTL_SECONDS,
  MintTokenRequest,
  RevokeTokenRequest,
  type MintTokenResponse,
  type RevokeTokenResponse,
} from '../../shared/protocol/rest-tokens';
import { SERVER_WRITER, isWriterOf } from '../../shared/events/envelope';
import { canMint } from '../../shared/protocol/token-claims';
import type { Revocations } from '../auth/revocations';
import type { MintInput, TokenIssuer } from '../auth/tokens';
import { ANY_ROLE, MANAGER_ROLES, claimsOf } from './auth';
import { HttpError, parseInput } from './http-error';

const DEFAULT_TTL_SECONDS = 30 * 24 * 3600;

export interface TokensRoutesDeps {
  tokens: TokenIssuer;
  revocations: Revocations;
  /** Closes the live relay connections of `location` whose token is revoked: how many, and how many of `name`'s it kept (Relay.closeRevoked). */
  closeRevoked(location: string, name: string): { closed: number; kept: number };
  /** Every writer id holding events in `location`'s canonical log (CanonicalLog.writers). */
  writers(location: string): Promise<string[]>;
  now: () => number;
}

/**
 * POST /api/tokens — pairing: a manager mints terminal tokens for its own location, an admin
 * mints any role there. Terminals cannot mint. POST /api/tokens/renew — any valid token gets
 * a fresh one of the same location, role, terminal and lifetime, so a paired till never has
 * to be paired again only because its token aged. POST /api/tokens/revoke — a manager or admin
 * cuts off a device of its location (a stolen tablet), named by its terminal or one of its
 * writer ids: its tokens issued so far stop working, its live relay connections are closed.
 * The answer says whether that name ever synced here, and which device it may have meant if not.
 */
export function registerTokensRoutes(app: FastifyInstance, deps: TokensRoutesDeps): void {
  app.post('/api/tokens', { config: { roles: MANAGER_ROLES } }, async (request) => {
    const claims = claimsOf(request);
    const wanted = parseInput(MintTokenRequest, request.body, 'body');
    if (!canMint(claims.role, wanted.role)) {
      throw new HttpError(403, 'forbidden', `a ${claims.role} may not mint ${wanted.role} tokens`, { field: 'role' });
    }
    if (wanted.terminal === undefined) {
      throw new HttpError(400, 'badRequest', 'a token names the device or integration it is for (the name it is revoked by)', { field: 'terminal' });
    }
    // A device is cut off by its name: a new one under the caller's would go with it, and the
    // caller could not revoke it (a device cannot revoke its own name).
    if (claims.terminal !== undefined && isWriterOf(wanted.terminal, claims.terminal)) {
      throw new HttpError(400, 'badRequest', `${wanted.terminal} is this device's own name: choose another for the new device`, { field: 'terminal' });
    }
    return mint(deps, { location: claims.location, role: wanted.role, terminal: wanted.terminal, ttlSeconds: wanted.ttlSeconds ?? DEFAULT_TTL_SECONDS });
  });

  app.post('/api/tokens/renew', { config: { roles: ANY_ROLE } }, async (request) => {
    const claims = claimsOf(request);
    // Minted before every token named its device: it cannot be revoked, so it dies at its expiry.
    if (claims.terminal === undefined) {
      throw new HttpError(403, 'forbidden', 'a token naming no device is not renewed (it could not be revoked): mint one with a terminal', { field: 'terminal' });
    }
    // The lifetime it was minted with (tokens without iat: the default).
    const lifetime = claims.iat === undefined ? DEFAULT_TTL_SECONDS : claims.exp - claims.iat;
    return mint(deps, { location: claims.location, role: claims.role, terminal: claims.terminal, ttlSeconds: Math.min(Math.max(lifetime, 1), MAX_TOKEN_TTL_SECONDS) });
  });

  app.post('/api/tokens/revoke', { config: { roles: MANAGER_ROLES } }, async (request): Promise<RevokeTokenResponse> => {
    const claims = claimsOf(request);
    const { terminal } = parseInput(RevokeTokenRequest, request.body, 'body');
    // One of its own writer ids (another tab of it) would revoke its own token too.
    if (claims.terminal !== undefined && isWriterOf(terminal, claims.terminal)) {
      throw new HttpError(400, 'badRequest', 'a device cannot revoke its own token', { field: 'terminal' });
    }
    // Always the caller's own location: the body names no other.
    const revokedAt = deps.revocations.revoke(claims.location, terminal, claims.role, deps.now());
    const { closed, kept } = deps.closeRevoked(claims.location, terminal);
    // A name that never synced is still revoked (a lost device paired but unused); a typo is said.
    // A device connected live is known too, though it wrote nothing yet.
    const known = closed + kept > 0 ? { synced: true, didYouMean: null } : knownName(terminal, await deps.writers(claims.location));
    return { location: claims.location, terminal, revokedAt, closed, kept, ...known, serverTime: deps.now() };
  });
}

/** Loose form of a device name, for a suggestion: case and the separators - _ : ignored. */
const looseName = (name: string): string => name.toLocaleLowerCase().replace(/[-_:]/g, '');

/**
 * Whether `terminal` (a device name or one of its writer ids) is among the location's `writers`
 * and, if not, a device name among them differing only in case or separators.
 */
export function knownName(terminal: string, writers: readonly string[]): Pick<RevokeTokenResponse, 'synced' | 'didYouMean'> {
  if (writers.some((w) => isWriterOf(w, terminal) || isWriterOf(terminal, w))) return { synced: true, didYouMean: null };
  // Devices are named without dots (NewDeviceTerminalId): a writer's device is what precedes its first dot.
  const devices = [...new Set(writers.map((w) => w.split('.')[0]!))].filter((d) => d !== SERVER_WRITER);
  const wanted = looseName(terminal.split('.')[0]!);
  return { synced: false, didYouMean: devices.find((d) => looseName(d) === wanted) ?? null };
}

async function mint(deps: TokensRoutesDeps, input: MintInput): Promise<MintTokenResponse> {
  const token = await deps.tokens.mint(input);
  return {
    token,
    location: input.location,
    role: input.role,
    terminal: input.terminal,
    // The token's own: a clock read here may be a second later (a mint waits out a revocation's second).
    exp: decodeJwt(token).exp!,
    serverTime: deps.now(),
  };
}
