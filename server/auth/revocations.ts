import { isWriterOf } from '../../shared/events/envelope';
import type { TokenClaims } from '../../shared/protocol/token-claims';
import type { SqliteRevocationStore } from '../store/revocation-store';
import type { TokenIssuer } from './tokens';

/**
 * Devices a manager cut off: per (location, name), the moment before which that terminal's
 * tokens no longer count. Tokens are renewed forever (POST /api/tokens/renew), so a stolen
 * device's token would never die by expiry alone. The name may be one of a terminal's writer
 * ids, as the console lists them (`till-2.2` for a second tab, `till-2.r0ab3` for a re-paired
 * device): tokens name the terminal (`till-2`), so revoking a writer revokes its terminal.
 * Held in memory, since every verify asks, and written through to SQLite so a revocation
 * survives restarts.
 */
export class Revocations {
  /** ms since the epoch, by location, then by the name revoked. */
  private readonly revokedAt = new Map<string, Map<string, number>>();

  constructor(private readonly store: SqliteRevocationStore) {
    for (const r of store.all()) this.namesOf(r.location).set(r.terminal, r.revokedAt);
  }

  /** Revokes the tokens of `location` issued up to `at` (ms) of `name`'s terminal; returns the revocation time kept. */
  revoke(location: string, name: string, at: number): number {
    const names = this.namesOf(location);
    // Never earlier than a previous revocation (the clock may step back).
    const revokedAt = Math.max(at, names.get(name) ?? 0);
    this.store.record({ location, terminal: name, revokedAt });
    names.set(name, revokedAt);
    return revokedAt;
  }

  /**
   * Whether a token was issued at or before a revocation of its terminal or of one of its
   * writers. `iat` is in whole seconds, so a token minted in the revocation's own second
   * counts as revoked (a stolen one might be); a token without `iat` (legacy) too.
   */
  isRevoked(claims: TokenClaims): boolean {
    if (claims.terminal === undefined) return false;
    const latest = this.latestOf(claims.location, claims.terminal);
    if (latest === undefined) return false;
    return claims.iat === undefined || claims.iat <= Math.floor(latest / 1000);
  }

  /** When (ms) a token minted for `terminal` stops counting as revoked: the second after its latest revocation; 0 if never revoked. */
  mintableFrom(location: string, terminal: string): number {
    const latest = this.latestOf(location, terminal);
    return latest === undefined ? 0 : (Math.floor(latest / 1000) + 1) * 1000;
  }

  private latestOf(location: string, terminal: string): number | undefined {
    let latest: number | undefined;
    // A location cuts off few devices: a scan of its revocations is enough.
    for (const [name, at] of this.revokedAt.get(location) ?? []) {
      if (isWriterOf(name, terminal)) latest = Math.max(at, latest ?? 0);
    }
    return latest;
  }

  private namesOf(location: string): Map<string, number> {
    let names = this.revokedAt.get(location);
    if (names === undefined) this.revokedAt.set(location, (names = new Map()));
    return names;
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
      const untilMintable = (): number => revocations.mintableFrom(input.location, input.terminal) - now();
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
