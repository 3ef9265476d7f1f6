import { withProtocolVersion } from '../../shared/protocol/protocol-version';
import { MintTokenResponse } from '../../shared/protocol/rest-tokens';
import type { Timers } from '../sync/timers';
import { readTokenClaims } from './pairing';

/**
 * Keeps the device's token fresh: once half its lifetime has passed, asks the server for a
 * new one of the same location, role, terminal and lifetime (POST /api/tokens/renew) and
 * hands it over (stored with the pairing, given to sync, which reconnects with it). Without
 * this every till paired the same day stopped syncing the day their tokens expired, until a
 * manager paired each one again. A token that expired anyway is left to a new pairing link
 * (the status bar says so): the server renews only valid tokens.
 */
export const RENEW_AFTER_FRACTION = 0.5;
/** Looked at again at least this often: a device asleep at the due time renews soon after waking. */
export const CHECK_EVERY_MS = 60 * 60_000;
/** After an attempt that got no answer (offline, server down), and after a renewal (never a loop). */
export const RETRY_MS = 60_000;
const REQUEST_TIMEOUT_MS = 10_000;

export interface TokenRenewalOptions {
  token: string;
  apiBase: string;
  timers: Timers;
  fetch?: typeof fetch;
  /** `online` asks again at once (a renewal missed while offline). */
  browser?: Pick<EventTarget, 'addEventListener' | 'removeEventListener'>;
  /** The new token; the next check is armed once this settles. */
  onRenewed(token: string): Promise<void> | void;
  /**
   * The time on the server's clock (this device's corrected by the offset sync measured):
   * a token's iat and exp are the server's. Default: the device's own clock (timers.now).
   */
  serverNow?: () => number;
}

export class TokenRenewal {
  private token: string;
  private timer: unknown = null;
  private checking: Promise<void> | null = null;
  private stopped = false;
  private readonly onOnline = (): void => void this.check();

  constructor(private readonly options: TokenRenewalOptions) {
    this.token = options.token;
  }

  start(): void {
    this.options.browser?.addEventListener('online', this.onOnline);
    void this.check();
  }

  stop(): void {
    this.stopped = true;
    this.options.browser?.removeEventListener('online', this.onOnline);
    this.options.timers.clearTimeout(this.timer);
  }

  /** Renews the token if it is due; arms the next check. */
  check(): Promise<void> {
    this.checking ??= this.checkNow().finally(() => (this.checking = null));
    return this.checking;
  }

  private async checkNow(): Promise<void> {
    if (this.stopped) return;
    this.options.timers.clearTimeout(this.timer);
    this.timer = null;
    const { issuedAt, expiresAt } = readTokenClaims(this.token);
    const now = (this.options.serverNow ?? this.options.timers.now)();
    if (expiresAt === null) return;
    // Expired, or so it looks on a clock not corrected yet (at start, a device days ahead):
    // looked at again, never asked (the server renews only valid tokens).
    if (now >= expiresAt) return this.arm(CHECK_EVERY_MS);
    const due = issuedAt === null ? now : issuedAt + (expiresAt - issuedAt) * RENEW_AFTER_FRACTION;
    if (now < due) return this.arm(Math.min(due - now, CHECK_EVERY_MS));
    const renewed = await this.renew();
    if (this.stopped) return;
    // Final: nothing more is asked, at the next look or when the network comes back.
    if (renewed === 'refused') return this.stop();
    if (renewed === null) return this.arm(RETRY_MS);
    this.token = renewed;
    try {
      await this.options.onRenewed(renewed);
    } catch {
      // Not stored (storage full): this page goes on with the new token; a reload renews again.
    }
    // Not at once: a clock still far off would make every new token look due.
    this.arm(RETRY_MS);
  }

  /** The new token, null when no answer came, or 'refused' (the token is no longer valid). */
  private async renew(): Promise<string | 'refused' | null> {
    const fetchImpl = this.options.fetch ?? fetch;
    try {
      const res = await fetchImpl(`${this.options.apiBase}/api/tokens/renew`, {
        method: 'POST',
        headers: withProtocolVersion({ authorization: `Bearer ${this.token}` }),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      if (res.status === 401 || res.status === 403) return 'refused';
      if (!res.ok) return null;
      const parsed = MintTokenResponse.safeParse(await res.json());
      return parsed.success ? parsed.data.token : null;
    } catch {
      return null;
    }
  }

  private arm(ms: number): void {
    if (this.stopped) return;
    this.timer = this.options.timers.setTimeout(() => void this.check(), ms);
  }
}
