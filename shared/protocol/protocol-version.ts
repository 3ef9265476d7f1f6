/**
 * The wire protocol version spoken between terminals and the server (ws relay and REST).
 * A peer sends it as the `v` query parameter (ws) or the `X-RMS-Protocol` header (REST);
 * a mismatched peer is refused with a typed reason (`clientTooOld` / `serverTooOld`).
 * A peer that sends no version is treated as current (plain y-websocket clients).
 *
 * History:
 *  1 — first version: y-websocket sync/awareness on /sync/:location, segmented event log
 *      (shared/log/log-doc.ts), REST batch upload with per-origin watermarks.
 */
export const PROTOCOL_VERSION = 1;

/** Oldest client version this server still accepts. */
export const MIN_CLIENT_PROTOCOL_VERSION = 1;

export const PROTOCOL_HEADER = 'x-rms-protocol';

export type ProtocolCheck = { ok: true } | { ok: false; reason: 'clientTooOld' | 'serverTooOld' };

/** Compares a peer's announced version with ours; `undefined` means "did not say" and passes. */
export function checkProtocolVersion(peer: number | undefined): ProtocolCheck {
  if (peer === undefined) return { ok: true };
  if (peer < MIN_CLIENT_PROTOCOL_VERSION) return { ok: false, reason: 'clientTooOld' };
  if (peer > PROTOCOL_VERSION) return { ok: false, reason: 'serverTooOld' };
  return { ok: true };
}
