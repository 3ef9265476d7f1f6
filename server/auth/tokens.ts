import { SignJWT, errors, jwtVerify } from 'jose';
import { TokenClaims, type Role } from '../../shared/protocol/token-claims';

/**
 * Minting and verifying the signed tokens every connection and request carries.
 * Verification is a total function returning a typed failure, so callers map each
 * failure to its HTTP status or close code without catching.
 */
export interface TokenIssuer {
  mint(input: MintInput): Promise<string>;
  verify(token: string | undefined | null): Promise<VerifyResult>;
}

export interface MintInput {
  location: string;
  role: Role;
  /**
   * The device or integration the token is for, whatever its role: revocation cuts off a
   * terminal's tokens (revocations.ts), so a token naming none could never be revoked.
   */
  terminal: string;
  /** Lifetime in seconds. */
  ttlSeconds: number;
}

/** `revoked`: valid, but its device was cut off since (answered by withRevocations, revocations.ts). */
export type VerifyFailure = 'missing' | 'malformed' | 'badSignature' | 'expired' | 'badClaims' | 'revoked';
export type VerifyResult = { ok: true; claims: TokenClaims } | { ok: false; failure: VerifyFailure };

const ALG = 'HS256';

/** Distinct valid tokens remembered (a location has a few dozen terminals; bounded anyway). */
const VERIFIED_CACHE_SIZE = 1024;

export function createTokenIssuer(secret: string, now: () => number = Date.now): TokenIssuer {
  const key = new TextEncoder().encode(secret);
  /**
   * Tokens already verified, by their exact text. A till posts every batch with the same
   * token, and the HMAC check (webcrypto, async) was ~6 % of ingest CPU. A token's text
   * fixes its signature and claims, so the only thing that can change between two uses is
   * time: expiry is checked again on every hit, exactly as jose checks it (expired when
   * exp <= now in whole seconds). Failures are never cached.
   */
  const verified = new Map<string, TokenClaims>();
  return {
    async mint(input) {
      const nowSec = Math.floor(now() / 1000);
      const claims = TokenClaims.parse({
        location: input.location,
        role: input.role,
        terminal: input.terminal,
        exp: nowSec + input.ttlSeconds,
      });
      const body: Record<string, unknown> = { location: claims.location, role: claims.role };
      if (claims.terminal !== undefined) body.terminal = claims.terminal;
      return new SignJWT(body)
        .setProtectedHeader({ alg: ALG, typ: 'JWT' })
        .setIssuedAt(nowSec)
        .setExpirationTime(claims.exp)
        .sign(key);
    },
    async verify(token) {
      if (token === undefined || token === null || token === '') return { ok: false, failure: 'missing' };
      const known = verified.get(token);
      if (known !== undefined) {
        if (known.exp > Math.floor(now() / 1000)) return { ok: true, claims: known };
        verified.delete(token);
        return { ok: false, failure: 'expired' };
      }
      try {
        const { payload } = await jwtVerify(token, key, {
          algorithms: [ALG],
          currentDate: new Date(now()),
          // exp is required: a token that never expires is refused as bad claims below.
        });
        const parsed = TokenClaims.safeParse(payload);
        if (!parsed.success) return { ok: false, failure: 'badClaims' };
        // Time-bound only by exp (ours never carry nbf; one that does is verified every time).
        if (payload.nbf === undefined) {
          if (verified.size >= VERIFIED_CACHE_SIZE) verified.delete(verified.keys().next().value!);
          verified.set(token, parsed.data);
        }
        return { ok: true, claims: parsed.data };
      } catch (err) {
        return { ok: false, failure: classify(err) };
      }
    },
  };
}

function classify(err: unknown): VerifyFailure {
  if (err instanceof errors.JWTExpired) return 'expired';
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'badSignature';
  if (err instanceof errors.JWTClaimValidationFailed) return 'badClaims';
  return 'malformed';
}

/** Parses a lifetime like `30d`, `12h`, `15m`, `45s` or plain seconds. */
export function parseTtl(text: string): number {
  const m = /^(\d+)\s*([smhd]?)$/.exec(text.trim());
  if (m === null) throw new Error(`bad ttl "${text}": use e.g. 30d, 12h, 15m, 45s`);
  const n = Number(m[1]);
  const unit = m[2] === '' ? 's' : m[2];
  const factor = unit === 'd' ? 86400 : unit === 'h' ? 3600 : unit === 'm' ? 60 : 1;
  return n * factor;
}
