import { z } from 'zod';
import { SERVER_WRITER, TerminalId, isWriterOf } from '../events/envelope';
import { assertNever } from '../assert-never';

/**
 * Claims of the signed (HS256) tokens the server issues. One token is scoped to exactly one
 * location; nothing a token opens lies outside it.
 *
 *  terminal — a till or kitchen screen: sync its location's room, upload and read events.
 *  manager  — as terminal, plus mint terminal tokens for its location (pairing new devices).
 *  admin    — as manager, plus mint tokens of any role and read operator endpoints.
 */
export const Role = z.enum(['terminal', 'manager', 'admin']);
export type Role = z.infer<typeof Role>;

export const LocationId = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9._-]+$/, 'location ids use letters, digits and . _ -');
export type LocationId = z.infer<typeof LocationId>;

/** A device's terminal id: any TerminalId but the server's own writer id (its segments and origin are the server's). */
export const DeviceTerminalId = TerminalId.refine((t) => !isWriterOf(t, SERVER_WRITER), {
  message: `"${SERVER_WRITER}" is the server's own writer id, not a terminal`,
});

/**
 * The id a new device is given (minted): no dot, which separates a device's writer ids from
 * its id (`till-2.2` a second tab, `till-2.r…` a re-paired device): a device `bar.1` would be
 * taken for a writer of `bar`, and revoking it would cut `bar` off too.
 */
export const NewDeviceTerminalId = DeviceTerminalId.refine((t) => !t.includes('.'), {
  message: 'a device id has no dot (a dot separates its writer ids: till-2.2, till-2.r…)',
});

export const TokenClaims = z.object({
  location: LocationId,
  role: Role,
  /** The device the token was issued to; terminals must have one. */
  terminal: DeviceTerminalId.optional(),
  /** Expiry, seconds since the epoch (JWT `exp`). */
  exp: z.number().int().positive(),
  /** Issued at, seconds since the epoch (JWT `iat`): with exp, the lifetime a renewal keeps. */
  iat: z.number().int().positive().optional(),
}).refine((c) => c.role !== 'terminal' || c.terminal !== undefined, {
  message: 'a terminal token names its terminal',
  path: ['terminal'],
});
export type TokenClaims = z.infer<typeof TokenClaims>;

/** Which roles may mint tokens of which role. */
export function canMint(minter: Role, minted: Role): boolean {
  switch (minter) {
    case 'admin':
      return true;
    case 'manager':
      return minted === 'terminal';
    case 'terminal':
      return false;
    default:
      return assertNever(minter, 'role');
  }
}

/**
 * Which roles' tokens a revocation by `revoker` cuts off: a manager cuts off terminals and
 * managers (a stolen tablet at night, no admin at hand), never an admin's device, so a manager
 * cannot lock the owner out; an admin cuts off any.
 */
export function canRevoke(revoker: Role, revoked: Role): boolean {
  switch (revoker) {
    case 'admin':
      return true;
    case 'manager':
      return revoked !== 'admin';
    case 'terminal':
      return false;
    default:
      return assertNever(revoker, 'role');
  }
}
