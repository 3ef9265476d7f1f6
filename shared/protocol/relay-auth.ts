/**
 * How a terminal hands its token to the relay. A browser cannot set headers on a WebSocket,
 * and a token in the URL is printed in the console's "WebSocket connection to … failed" line
 * and kept in proxies' access logs. So the staff app offers two subprotocols instead:
 * `rms.sync`, the one the server selects, and `rms.token.<token>`, which carries the token
 * (a JWT is base64url and dots, all valid subprotocol characters; the server never echoes it).
 * `?token=` stays accepted for plain y-websocket clients and tools.
 */
export const RELAY_SUBPROTOCOL = 'rms.sync';

const TOKEN_PREFIX = 'rms.token.';

/** The subprotocols a client offers to authenticate with `token`. */
export function relaySubprotocols(token: string): string[] {
  return [RELAY_SUBPROTOCOL, TOKEN_PREFIX + token];
}

/** The token in a `Sec-WebSocket-Protocol` header, or null when it carries none. */
export function tokenFromSubprotocols(header: string | undefined): string | null {
  if (header === undefined) return null;
  for (const offered of header.split(',')) {
    const protocol = offered.trim();
    if (protocol.startsWith(TOKEN_PREFIX) && protocol.length > TOKEN_PREFIX.length) return protocol.slice(TOKEN_PREFIX.length);
  }
  return null;
}
