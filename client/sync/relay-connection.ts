import type * as Y from 'yjs';
import { WebsocketProvider } from 'y-websocket';
import { CloseReason, closeReasonOf, isRetriableCloseCode, type CloseReasonName } from '../../shared/protocol/close-reasons';
import { relaySubprotocols } from '../../shared/protocol/relay-auth';
import { Backoff, RELAY_BACKOFF } from './backoff';
import type { RelayState } from './sync-status';
import type { Timers } from './timers';
import { PROTOCOL_QUERY } from '../../shared/protocol/protocol-version';

/**
 * The live connection to the location's relay: a y-websocket provider whose reconnects
 * we schedule ourselves, with full jitter, so 50 terminals coming back at once do not
 * arrive together (y-websocket's own delay is the same for everyone).
 *
 *   paused ──start()──► connecting ──open──► syncing ──first sync──► connected
 *     ▲                    ▲   │                │ closed by network or server
 *     │ pause()            │   └─────fail───────┤
 *     │                    └── backoff timer ◄──┘   (retriable close; cut short by serverAnswered)
 *     └─────────────────────────────────────────── terminal close (e.g. tokenExpired)
 *
 * The backoff resets only for a connection that stayed open STABLE_MS: a server that
 * accepts and at once closes keeps being backed off (a loop that took servers down). Nor for
 * one `superseded` by a newer connection of the same device (see onClose).
 */
export const STABLE_MS = 10_000;
/**
 * A socket still connecting after this long is given up (and backed off): an opening handshake
 * lost on a path that black-holed for a moment leaves it connecting for as long as the browser
 * waits (minutes in Chromium; forever in Node's ws), and nothing else would close it. Doubled
 * after each attempt given up, up to MAX_CONNECT_TIMEOUT_MS (a link whose handshake takes
 * longer still connects), and back once a socket opens.
 */
export const CONNECT_TIMEOUT_MS = 15_000;
export const MAX_CONNECT_TIMEOUT_MS = 120_000;
/** "Sync now" gives up a socket connecting for longer than this at once, rather than at the timeout (not sooner: a slow link's handshake is cut). */
export const STALE_CONNECT_MS = 7_500;

export interface RelayOptions {
  /** ws(s)://host/sync — the room (location) is appended. */
  url: string;
  room: string;
  doc: Y.Doc;
  token: string;
  timers: Timers;
  WebSocketImpl?: typeof WebSocket;
  onChange: () => void;
  /** The relay is back and in sync: the server is reachable. */
  onSynced?: () => void;
  /** A connect failed or the socket closed (retriable): the server, or only the relay's path to it, may be unreachable. */
  onFailed?: () => void;
}

export class RelayConnection {
  readonly provider: WebsocketProvider;
  private wanted = false;
  private readonly backoff: Backoff;
  private timer: unknown = null;
  private connectTimer: unknown = null;
  private connectingSince: number | null = null;
  private connectTimeoutMs = CONNECT_TIMEOUT_MS;
  private openedAt: number | null = null;
  /** When the next reconnect is scheduled, if one is. */
  nextAttemptAt: number | null = null;
  /** Set when the server refused us for good (until `renewToken` or `start`). */
  refusedFor: CloseReasonName | 'unknown' | null = null;

  constructor(private readonly options: RelayOptions) {
    this.backoff = new Backoff(RELAY_BACKOFF, options.timers.random);
    this.provider = new WebsocketProvider(options.url, options.room, options.doc, {
      connect: false,
      disableBc: true, // tabs sync through our own TabChannel, not y-websocket's
      // The token rides in a subprotocol, not the URL (shared/protocol/relay-auth.ts).
      protocols: relaySubprotocols(options.token),
      // The protocol version does (`v`): a server that no longer speaks it refuses the upgrade.
      params: { ...PROTOCOL_QUERY },
      ...(options.WebSocketImpl ? { WebSocketPolyfill: options.WebSocketImpl } : {}),
    });
    this.provider.on('status', ({ status }) => {
      if (status === 'connected') {
        this.openedAt = options.timers.now();
        this.connectTimeoutMs = CONNECT_TIMEOUT_MS;
        this.clearConnectTimer();
        this.reannouncePresence();
      }
      options.onChange();
    });
    this.provider.on('sync', (synced: boolean) => {
      if (synced) options.onSynced?.();
      options.onChange();
    });
    this.provider.on('connection-close', (event) => this.onClose(event));
  }

  get state(): RelayState {
    if (this.provider.wsconnected) return this.provider.synced ? 'connected' : 'syncing';
    return this.wanted && this.refusedFor === null ? 'connecting' : 'disconnected';
  }

  get attempt(): number {
    return this.backoff.attempt;
  }

  start(): void {
    this.wanted = true;
    this.refusedFor = null;
    this.clearTimer();
    this.connect();
    this.options.onChange();
  }

  /** Staff asked to sync now: skip a pending backoff wait and connect at once. */
  reconnectNow(): void {
    if (this.provider.wsconnected) return;
    this.backoff.reset();
    if (this.provider.wsconnecting) {
      // Connecting for a while: its handshake may be lost on the way. Given up now, its close
      // schedules the next try (short: the backoff was just reset).
      if (this.connectingSince !== null && this.options.timers.now() - this.connectingSince >= STALE_CONNECT_MS) this.giveUpConnecting();
      return;
    }
    this.start();
  }

  /**
   * The server answered on the other channel (an upload was stored): a pending backoff wait
   * is cut short, not waited out. The failure count stays, so a relay that still fails
   * waits longer next time.
   */
  serverAnswered(): void {
    if (this.timer !== null && this.wanted) this.start();
  }

  /** Offline: drop the socket and stop trying until `start`. */
  pause(): void {
    this.wanted = false;
    this.clearTimer();
    this.clearConnectTimer();
    this.provider.disconnect();
    this.options.onChange();
  }

  /**
   * Reconnects with a new token (also after a refusal); the doc keeps every local change
   * meanwhile. Paused, it only keeps the token: start() connects with it once back online.
   */
  renewToken(token: string): void {
    this.provider.protocols = relaySubprotocols(token);
    if (!this.wanted) return;
    // Not wanted while it closes: disconnect() emits connection-close at once, and a renewal is no failure.
    this.wanted = false;
    this.provider.disconnect();
    this.start();
  }

  destroy(): void {
    this.wanted = false;
    this.clearTimer();
    this.clearConnectTimer();
    this.provider.destroy();
  }

  /**
   * Sends this device's presence again with a newer clock on each (re)connect. The relay removed
   * it when the last socket went, keeping its clock, and accepts only a newer one (SRV34); the
   * provider keeps its client id and clock and would send the same clock again: the other
   * terminals would not see this one until its presence renewal, up to 15 s later (APP23).
   */
  private reannouncePresence(): void {
    const awareness = this.provider.awareness;
    const own = awareness.getLocalState();
    if (own !== null) awareness.setLocalState(own);
  }

  /** provider.connect(), timed: a socket still connecting after CONNECT_TIMEOUT_MS is given up. */
  private connect(): void {
    this.provider.connect();
    if (!this.provider.wsconnecting) return;
    this.clearConnectTimer();
    this.connectingSince = this.options.timers.now();
    this.connectTimer = this.options.timers.setTimeout(() => {
      this.connectTimer = null;
      if (!this.wanted || !this.provider.wsconnecting) return;
      this.connectTimeoutMs = Math.min(2 * this.connectTimeoutMs, MAX_CONNECT_TIMEOUT_MS);
      this.giveUpConnecting();
    }, this.connectTimeoutMs);
  }

  /** Closing a connecting socket ends in its close event (onClose: the backoff), as a failed connect does. */
  private giveUpConnecting(): void {
    this.clearConnectTimer();
    this.provider.ws?.close();
  }

  private clearConnectTimer(): void {
    if (this.connectTimer !== null) this.options.timers.clearTimeout(this.connectTimer);
    this.connectTimer = null;
    this.connectingSince = null;
  }

  private onClose(event: CloseEvent | null): void {
    this.clearConnectTimer();
    const stable = this.openedAt !== null && this.options.timers.now() - this.openedAt >= STABLE_MS;
    this.openedAt = null;
    if (!this.wanted) return;
    // Take over from y-websocket: with shouldConnect false, the reconnect it schedules right
    // after this event is a no-op. (Not disconnect(): the socket is still attached while
    // this event runs, and disconnect() would close it again and re-emit this event.)
    this.provider.shouldConnect = false;
    if (event && !isRetriableCloseCode(event.code)) {
      this.refusedFor = closeReasonOf(event.code) ?? 'unknown';
      this.options.onChange();
      return;
    }
    // Superseded: another connection of this device took its place (more tabs than the relay
    // allows one device). However long it was open, coming back closes another tab's: no reset,
    // or the tabs would take turns every half second.
    if (stable && event?.code !== CloseReason.superseded.code) this.backoff.reset();
    this.clearTimer();
    this.options.onFailed?.();
    const delay = this.backoff.fail();
    this.nextAttemptAt = this.options.timers.now() + delay;
    this.timer = this.options.timers.setTimeout(() => {
      this.timer = null;
      this.nextAttemptAt = null;
      if (this.wanted) this.connect();
    }, delay);
    this.options.onChange();
  }

  private clearTimer(): void {
    if (this.timer !== null) this.options.timers.clearTimeout(this.timer);
    this.timer = null;
    this.nextAttemptAt = null;
  }
}
