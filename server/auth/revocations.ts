import { isWriterOf } from '../../shared/events/envelope';
import { canRevoke, type Role, type TokenClaims } from '../../shared/protocol/token-claims';
import type { Revocation, SqliteRevocationStore } from '../store/revocation-store';
import type { TokenIssuer } from './tokens';

/**
 * Devices a manager or an admin cut off: per (location, name, role of the revoker), the moment
 * before which that terminal's tokens no longer count. Tokens are renewed forever (POST
 * /api/tokens/renew), so a stolen device's token would never die by expiry alone. The name may
 * be one of a terminal's writer ids, as the console lists them (`till-2.2` for a second tab,
 * `till-2.r0ab3` for a re-paired device): tokens name the terminal (`till-2`), so revoking a
 * writer revokes its terminal. A revocation cuts off only the tokens of roles its revoker may
 * cut off (`canRevoke`: a manager's never an admin's), which is why the revoker's role is kept.
 * Held in memory, since every verify asks, and written through to SQLite so a revocation
 * survives restarts.
 */
export class Revocations {
  /** By location: its revocations, one per (name, revokedBy), the latest. */
  private readonly byLocation = new Map<string, Revocation[]>();

  constructor(private readonly store: SqliteRevocationStore) {
    for (const r of store.all()) this.revocationsOf(r.location).push(r);
  }

  /** Revokes the tokens of `location` issued up to `at` (ms) of `name`'s terminal that a `revokedBy` may cut off; returns the revocation time kept. */
  revoke(location: string, name: string, revokedBy: Role, at: number): number {
    const revocations = this.revocationsOf(location);
    const previous = revocations.find((r) => r.terminal === name && r.revokedBy === revokedBy);
    // Never earlier than a previous revocation (the clock may step back).
    const revocation: Revocation = { location, terminal: name, revokedBy, revokedAt: Math.max(at, previous?.revokedAt ?? 0) };
    this.store.record(revocation);
    if (previous === undefined) revocations.push(revocation);
    else previous.revokedAt = revocation.revokedAt;
    return revocation.revokedAt;
  }

  /**
   * Whether a token was issued at or before a revocation of its terminal or of one of its
   * writers that cuts off its role. `iat` is in whole seconds, so a token minted in the
   * revocation's own second counts as revoked (a stolen one might be); a token without `iat`
   * (legacy) too.
   */
  isRevoked(claims: TokenClaims): boolean {
    if (claims.terminal === undefined) return false;
    const latest = this.latestOf(claims.location, claims.terminal, claims.role);
    if (latest === undefined) return false;
    return claims.iat === undefined || claims.iat <= Math.floor(latest / 1000);
  }

  /** When (ms) a `role` token minted for `terminal` stops counting as revoked: the second after its latest revocation; 0 if never revoked. */
  mintableFrom(location: string, terminal: string, role: Role): number {
    const latest = this.latestOf(location, terminal, role);
    return latest === undefined ? 0 : (Math.floor(latest / 1000) + 1) * 1000;
  }

  private latestOf(location: string, terminal: string, role: Role): number | undefined {
    let latest: number | undefined;
    // A location cuts off few devices: a scan of its revocations is enough.
    for (const r of this.byLocation.get(location) ?? []) {
      if (isWriterOf(r.terminal, terminal) && canRevoke(r.revokedBy, role)) latest = Math.max(r.revokedAt, latest ?? 0);
    }
    return latest;
  }

  private revocationsOf(location: string): Revocation[] {
    let revocations = this.byLocation.get(location);
    if (revocations === undefined) this.byLocation.set(location, (revocations = []));
    return revocations;
  }
}

/**
 * `tokens`, whose verify also refuses revoked tokens: on every call, cached tokens included.
 * A token minted in the second of a revocation of its device would count as revoked (`iat` is
 * in whole seconds): minting waits for the next second, so a manager who cuts off a lost till
 * and at once pairs a new one under its name gets a link that works.
 */
export function withRevocations(tokens: TokenIssuer, revocations: Revocations, now: () => number = Date.now): TokenIssuer {
  return {
    async mint(input) {
      // Asked again after each wait: a timer may fire a millisecond before `now()` reaches the
      // second (Node's timer clock is not Date.now()), and a revocation may come meanwhile.
      const untilMintable = (): number => revocations.mintableFrom(input.location, input.terminal, input.role) - now();
      for (let wait = untilMintable(); wait > 0; wait = untilMintable()) {
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
      return tokens.mint(input);
    },
    async verify(token) {
      const verified = await tokens.verify(token);
      if (verified.ok && revocations.isRevoked(verified.claims)) return { ok: false, failure: 'revoked' };
      return verified;
    },
  };
}
