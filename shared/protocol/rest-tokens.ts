import { z } from 'zod';
import { DeviceTerminalId, NewDeviceTerminalId, Role } from './token-claims';

/** Longest token lifetime the server mints (seconds): one year. */
export const MAX_TOKEN_TTL_SECONDS = 365 * 24 * 3600;

/** POST /api/tokens: mint a token for the caller's own location (pairing a device). */
export const MintTokenRequest = z.object({
  role: Role,
  terminal: NewDeviceTerminalId.optional(),
  ttlSeconds: z.number().int().min(1).max(MAX_TOKEN_TTL_SECONDS).optional(),
});
export type MintTokenRequest = z.infer<typeof MintTokenRequest>;

export const MintTokenResponse = z.object({
  token: z.string(),
  location: z.string(),
  role: Role,
  terminal: z.string(),
  exp: z.number(),
  serverTime: z.number(),
});
export type MintTokenResponse = z.infer<typeof MintTokenResponse>;

/** POST /api/tokens/revoke: cut off a device of the caller's own location. */
export const RevokeTokenRequest = z.object({
  terminal: DeviceTerminalId,
});
export type RevokeTokenRequest = z.infer<typeof RevokeTokenRequest>;

export const RevokeTokenResponse = z.object({
  location: z.string(),
  terminal: z.string(),
  /** ms since the epoch: the terminal's tokens issued at or before this second no longer count. */
  revokedAt: z.number(),
  /** Live relay connections of the terminal closed with `tokenRevoked`. */
  closed: z.number(),
  /**
   * Live relay connections of the terminal left open: tokens of a role the caller does not cut
   * off (an admin's device, revoked by a manager). A server from before says nothing: 0.
   */
  kept: z.number().default(0),
  /**
   * Whether a writer of that name holds events in the location, or a device of it was connected:
   * false for a mistyped name (or a device paired but never used). A server from before says
   * nothing: read as synced, no suggestion.
   */
  synced: z.boolean().default(true),
  /** When not synced: a device that has, whose name differs only in case or in - _ : ("Till-3" for "till3"); else null. */
  didYouMean: z.string().nullable().default(null),
  serverTime: z.number(),
});
export type RevokeTokenResponse = z.infer<typeof RevokeTokenResponse>;
