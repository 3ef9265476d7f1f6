import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { isWriterOf } from '../../shared/events/envelope';
import { CloseReason, type CloseReasonInfo } from '../../shared/protocol/close-reasons';
import { checkProtocolVersion, parseProtocolVersion } from '../../shared/protocol/protocol-version';
import { RELAY_SUBPROTOCOL, tokenFromSubprotocols } from '../../shared/protocol/relay-auth';
import { LocationId, type TokenClaims } from '../../shared/protocol/token-claims';
import type { TokenIssuer, VerifyFailure } from '../auth/tokens';
import type { RelayLimits } from '../config';
import type { StoreHealth } from '../store/store-health';
import { RelayConnection, type RelayConnectionLog } from './connection';
import type { RelayHook } from './hooks';
import { RoomRegistry } from './room-registry';

export const SYNC_PATH_PREFIX = '/sync/';

/** Bytes a message may exceed RELAY_MAX_MESSAGE_BYTES by and still be refused by our check, with its typed code. */
const MAX_PAYLOAD_SLACK = 1024;

export interface RelayOptions {
  tokens: TokenIssuer;
  /** Whether a token `tokens` verified was revoked since (see closeRevoked); none when absent. */
  isRevoked?(claims: TokenClaims): boolean;
  limits: RelayLimits;
  hooks: readonly RelayHook[];
  /** Told of the rooms' commits and flushes (/healthz, metrics). */
  storeHealth: StoreHealth;
  log: RelayConnectionLog & { error(obj: object, msg: string): void };
  /** Hears of every close the server initiates (metrics). */
  onClosed?(reason: CloseReasonInfo): void;
}

/**
 * The y-websocket relay: authenticates at the HTTP upgrade (refusing with 401/403 before any
 * document byte), then hands the socket to a RelayConnection in its location's room.
 */
export class Relay {
  readonly rooms: RoomRegistry;
  private readonly wss: WebSocketServer;
  private accepting = true;

  constructor(private readonly options: RelayOptions) {
    this.rooms = new RoomRegistry({
      hooks: options.hooks,
      commitWatch: { storeHealth: options.storeHealth, log: options.log },
      idleMs: options.limits.roomIdleMs,
      flushEveryMs: options.limits.compactEveryMs,
      onFlushError: (room, err) => {
        options.storeHealth.failed('room_flush', err);
        // As a failed commit (room.ts): what the room holds unstored is lost at its unload.
        options.log.error({ location: room.name, err: String(err) }, 'room flush failed');
      },
    });
    // maxPayload is the hard backstop: ws buffers a whole message before handing it over,
    // so it bounds what one socket holds of one. A message up to MAX_PAYLOAD_SLACK above our
    // limit still reaches our own check, which closes with the typed 4413; past that ws cuts
    // it unread with 1009 (clients read it as the same, close-reasons.ts).
    // A client that offers subprotocols (the staff app, see relay-auth.ts) gets `rms.sync`
    // selected, never the one carrying its token; one offering others is refused by its browser.
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: options.limits.maxMessageBytes + MAX_PAYLOAD_SLACK,
      handleProtocols: (offered) => (offered.has(RELAY_SUBPROTOCOL) ? RELAY_SUBPROTOCOL : false),
    });
  }

  /** Routes upgrades of `server` under /sync/ to the relay; other paths get 404. */
  attach(server: Server): void {
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      void this.onUpgrade(req, socket, head);
    });
  }

  /**
   * Shutdown, step 1: refuse new upgrades and close every live connection with `reason`.
   * Rooms stay loaded so in-flight REST batches can still bridge into them.
   */
  async disconnectAll(reason: CloseReasonInfo): Promise<void> {
    this.accepting = false;
    for (const room of this.rooms.loadedRooms()) for (const conn of [...room.connections]) conn.close(reason);
    // Give close handshakes a moment, then cut what is left (bounded, never hangs shutdown).
    for (let i = 0; i < 20 && this.wss.clients.size > 0; i++) await new Promise((r) => setTimeout(r, 25));
    for (const client of this.wss.clients) client.terminate();
  }

  /**
   * Closes the live connections in `location`'s room whose token is revoked now; returns how
   * many, and how many of the device `name` names stay open (tokens of a role its revoker does
   * not cut off: an admin's, revoked by a manager).
   */
  closeRevoked(location: string, name: string): { closed: number; kept: number } {
    const connections = [...(this.rooms.peek(location)?.connections ?? [])];
    const revoked = connections.filter((conn) => this.isRevoked(conn.claims));
    for (const conn of revoked) conn.close(CloseReason.tokenRevoked);
    const kept = connections.filter((conn) => !revoked.includes(conn) && conn.claims.terminal !== undefined && isWriterOf(name, conn.claims.terminal));
    return { closed: revoked.length, kept: kept.length };
  }

  /** Shutdown, step 2: flush and unload every room. */
  async close(): Promise<void> {
    this.accepting = false;
    await this.rooms.closeAll(CloseReason.serverShuttingDown);
    for (const client of this.wss.clients) client.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  private isRevoked(claims: TokenClaims): boolean {
    return this.options.isRevoked?.(claims) ?? false;
  }

  private async onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => socket.destroy());
    const url = new URL(req.url ?? '/', 'http://relay.invalid');
    if (!url.pathname.startsWith(SYNC_PATH_PREFIX)) return refuse(socket, 404, 'notFound', 'no such endpoint');
    if (!this.accepting) return refuse(socket, 503, 'shuttingDown', 'server is shutting down');
    const location = safeDecode(url.pathname.slice(SYNC_PATH_PREFIX.length));
    if (location === null || !LocationId.safeParse(location).success) {
      return refuse(socket, 404, 'notFound', 'no such location');
    }
    const version = url.searchParams.get('v');
    const parsedVersion = version === null ? undefined : parseProtocolVersion(version);
    if (parsedVersion === null) return refuse(socket, 400, 'badRequest', `protocol version must be an integer (got ${JSON.stringify(version!.slice(0, 20))})`);
    const versionCheck = checkProtocolVersion(parsedVersion);
    if (!versionCheck.ok) return refuse(socket, 400, versionCheck.reason, `protocol version ${version} not supported`);

    const token = tokenFromSubprotocols(req.headers['sec-websocket-protocol']) ?? url.searchParams.get('token');
    const verified = await this.options.tokens.verify(token);
    if (!verified.ok) {
      this.options.log.warn({ location, failure: verified.failure }, 'relay upgrade refused');
      return refuse(socket, 401, failureCode(verified.failure), `token ${verified.failure}`);
    }
    const claims: TokenClaims = verified.claims;
    if (claims.location !== location) {
      this.options.log.warn({ location, tokenLocation: claims.location }, 'relay upgrade refused: wrong location');
      return refuse(socket, 403, 'forbidden', 'token is for another location');
    }
    if (!this.accepting) return refuse(socket, 503, 'shuttingDown', 'server is shutting down');

    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const conn = new RelayConnection(ws, claims, {
        maxMessageBytes: this.options.limits.maxMessageBytes,
        maxConnectionsPerRoom: this.options.limits.maxConnectionsPerRoom,
        maxConnectionsPerDevice: this.options.limits.maxConnectionsPerDevice,
        hooks: this.options.hooks,
        log: this.options.log,
        ...(this.options.onClosed ? { onClosed: this.options.onClosed } : {}),
        onGone: (_c, room) => {
          if (room !== null) this.rooms.release(room);
        },
      });
      this.rooms.acquire(location).then(
        (room) => {
          // Revoked since the upgrade (while its room loaded), when closeRevoked could not see it.
          if (this.isRevoked(claims)) conn.close(CloseReason.tokenRevoked);
          else conn.attach(room);
          // attach() may have refused (room full, already closed): let the room idle out.
          if (!room.connections.has(conn)) this.rooms.release(room);
        },
        (err: unknown) => {
          this.options.log.warn({ location, err: String(err) }, 'room load failed');
          conn.close(this.accepting ? CloseReason.internalError : CloseReason.serverShuttingDown);
        },
      );
    });
  }
}

function safeDecode(text: string): string | null {
  try {
    return decodeURIComponent(text);
  } catch {
    return null; // malformed %-escape
  }
}

function failureCode(failure: VerifyFailure): string {
  switch (failure) {
    case 'expired':
      return 'tokenExpired';
    case 'revoked':
      return 'tokenRevoked';
    case 'missing':
    case 'malformed':
    case 'badSignature':
    case 'badClaims':
      return 'unauthorized';
    default: {
      const never: never = failure;
      return never;
    }
  }
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  503: 'Service Unavailable',
};

/** Answers the upgrade request with a plain HTTP error (JSON body) and drops the socket. */
function refuse(socket: Duplex, status: number, error: string, message: string): void {
  if (socket.destroyed) return;
  const body = JSON.stringify({ error, message, serverTime: Date.now() });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\n` +
      'Content-Type: application/json\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Connection: close\r\n\r\n' +
      body,
  );
}
