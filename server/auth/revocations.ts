import type { TokenClaims } from '../../shared/protocol/token-claims';
import type { SqliteRevocationStore } from '../store/revocation-store';
import type { TokenIssuer } from './tokens';

/**
 * Devices a manager cut off: per (location, terminal), the moment before which that terminal's
 * tokens no longer count. Tokens are renewed forever (POST /api/tokens/renew), so a stolen
 * device's token would never die by expiry alone. Held in memory, since every verify asks,
 * and written through to SQLite so a revocation survives restarts.
 */
export class Revocations {
  /** ms since the epoch, by revocationKey. */
  private readonly revokedAt = new Map<string, number>();

  constructor(private readonly store: SqliteRevocationStore) {
    for (const r of store.all()) this.revokedAt.set(revocationKey(r.location, r.terminal), r.revokedAt);
  }

  /** Revokes `terminal`'s tokens of `location` issued up to `at` (ms); returns the revocation time kept. */
  revoke(location: string, terminal: string, at: number): number {
    const key = revocationKey(location, terminal);
    // Never earlier than a previous revocation (the clock may step back).
    const revokedAt = Math.max(at, this.revokedAt.get(key) ?? 0);
    this.store.record({ location, terminal, revokedAt });
    this.revokedAt.set(key, revokedAt);
    return revokedAt;
  }

  /**
   * Whether a token was issued at or before its terminal's revocation. `iat` is in whole
   * seconds, so a token minted in the revocation's own second counts as revoked (a stolen
   * one might be); a token without `iat` (legacy) too.
   */
  isRevoked(claims: TokenClaims): boolean {
    if (claims.terminal === undefined) return false;
    const at = this.revokedAt.get(revocationKey(claims.location, claims.terminal));
    if (at === undefined) return false;
    return claims.iat === undefined || claims.iat <= Math.floor(at / 1000);
  }
}

/** `tokens`, whose verify also refuses revoked tokens: on every call, cached tokens included. */
export function withRevocations(tokens: TokenIssuer, revocations: Revocations): TokenIssuer {
  return {
    mint: (input) => tokens.mint(input),
    async verify(token) {
      const verified = await tokens.verify(token);
      if (verified.ok && revocations.isRevoked(verified.claims)) return { ok: false, failure: 'revoked' };
      return verified;
    },
  };
}

/** Location ids hold no newline (LocationId), so this key is unambiguous. */
function revocationKey(location: string, terminal: string): string {
  return `${location}\n${terminal}`;
}
