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

/**
 * `headers` with this build's protocol version: every request of the app says it, so a server
 * that no longer speaks it refuses the request (clientTooOld) instead of misreading it.
 */
export function withProtocolVersion(headers: Record<string, string>): Record<string, string> {
  return { ...headers, [PROTOCOL_HEADER]: String(PROTOCOL_VERSION) };
}

/** The relay's query parameters saying this build's protocol version (the `v` of the URL). */
export const PROTOCOL_QUERY: Readonly<Record<string, string>> = { v: String(PROTOCOL_VERSION) };

/** Whether an error answer's body is a refusal of the protocol version (`{ error: 'clientTooOld' | 'serverTooOld' }`). */
export function isVersionRefusal(body: string): boolean {
  try {
    const error = (JSON.parse(body) as { error?: unknown }).error;
    return error === 'clientTooOld' || error === 'serverTooOld';
  } catch {
    return false;
  }
}

export type ProtocolCheck = { ok: true } | { ok: false; reason: 'clientTooOld' | 'serverTooOld' };

/** A version as a peer writes it (header or `v`): digits only ("1", not "1.0" or "0x1"); null for anything else. */
export function parseProtocolVersion(raw: string): number | null {
  return /^\d{1,6}$/.test(raw) ? Number(raw) : null;
}

/** Compares a peer's announced version with ours; `undefined` means "did not say" and passes. */
export function checkProtocolVersion(peer: number | undefined): ProtocolCheck {
  if (peer === undefined) return { ok: true };
  if (peer < MIN_CLIENT_PROTOCOL_VERSION) return { ok: false, reason: 'clientTooOld' };
  if (peer > PROTOCOL_VERSION) return { ok: false, reason: 'serverTooOld' };
  return { ok: true };
}
