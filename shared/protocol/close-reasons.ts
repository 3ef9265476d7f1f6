/**
 * WebSocket close codes the relay uses. They follow y-websocket's convention (RFC 6455
 * private range 4000–4999): 4400–4499 are terminal — reconnecting with the same credentials
 * cannot help, y-websocket stops and emits `closed` — and 4500–4599 are retriable: the
 * client backs off and reconnects by itself.
 *
 * `tokenExpired` is terminal on purpose: the client must fetch a new token, put it in the
 * provider's `params`, and call `connect()`; its doc keeps every local change meanwhile.
 * `tokenRevoked` is terminal too: a manager cut the device off, and only a new pairing link
 * (a token minted after the revocation) lets it in again.
 */
export const TerminalCloseReason = {
  protocolMismatch: { code: 4400, reason: 'protocolMismatch' },
  tokenExpired: { code: 4401, reason: 'tokenExpired' },
  tokenRevoked: { code: 4410, reason: 'tokenRevoked' },
  forbidden: { code: 4403, reason: 'forbidden' },
  messageTooLarge: { code: 4413, reason: 'messageTooLarge' },
  malformedMessage: { code: 4422, reason: 'malformedMessage' },
} as const;

export const RetriableCloseReason = {
  internalError: { code: 4500, reason: 'internalError' },
  serverShuttingDown: { code: 4503, reason: 'serverShuttingDown' },
  /**
   * The device (its token's terminal) opened more connections to the room than the relay
   * allows one device: this was its oldest, closed so the newest (a reloaded till, a reopened
   * tab) gets in. Backed off like any retriable close, without the reset a long-open socket
   * earns (client/sync/relay-connection.ts), so more tabs than the cap take turns ever slower.
   */
  superseded: { code: 4509, reason: 'superseded' },
  roomFull: { code: 4529, reason: 'roomFull' },
} as const;

export const CloseReason = { ...TerminalCloseReason, ...RetriableCloseReason } as const;

export type CloseReasonName = keyof typeof CloseReason;
export type CloseReasonInfo = (typeof CloseReason)[CloseReasonName];

/**
 * RFC 6455's "message too big". The relay's socket layer sends it for a frame past its hard
 * cap (1 KiB above the relay's limit), which it refuses before reading it, so before the relay
 * can answer messageTooLarge itself: it means the same, and is as terminal.
 */
export const MESSAGE_TOO_BIG = 1009;

/** Whether a client should reconnect by itself after this close code (mirrors y-websocket). */
export function isRetriableCloseCode(code: number): boolean {
  return code !== MESSAGE_TOO_BIG && !(code >= 4400 && code < 4500);
}

/** The reason name of one of our close codes, or null for a code we did not send. */
export function closeReasonOf(code: number): CloseReasonName | null {
  if (code === MESSAGE_TOO_BIG) return 'messageTooLarge';
  for (const [name, info] of Object.entries(CloseReason)) {
    if (info.code === code) return name as CloseReasonName;
  }
  return null;
}
