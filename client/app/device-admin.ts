import { pairingLink } from '../../shared/protocol/pairing-link';
import { MintTokenResponse, RevokeTokenResponse } from '../../shared/protocol/rest-tokens';

/**
 * What a manager does about the location's devices from the console, with the manager's
 * own token: a pairing link for a new terminal (POST /api/tokens) and cutting a lost or
 * stolen one off (POST /api/tokens/revoke). The server decides who may do what.
 */
export interface DeviceAdminOptions {
  apiBase: string;
  /** Where a paired device opens the app (this app's own address). */
  appUrl: string;
  /** The manager's token now (it is renewed). */
  token: () => string;
  fetch?: typeof fetch;
}

export interface NewPairing {
  terminal: string;
  link: string;
  /** Token expiry, ms since the epoch. */
  expiresAt: number;
}

export class DeviceAdmin {
  constructor(private readonly options: DeviceAdminOptions) {}

  async pairingLinkFor(terminal: string): Promise<NewPairing> {
    const answer = MintTokenResponse.parse(await this.post('/api/tokens', { role: 'terminal', terminal }));
    return { terminal, link: pairingLink(this.options.appUrl, answer.token, answer.location, terminal), expiresAt: answer.exp * 1000 };
  }

  async revoke(terminal: string): Promise<RevokeTokenResponse> {
    return RevokeTokenResponse.parse(await this.post('/api/tokens/revoke', { terminal }));
  }

  /** The answer's body; an error with the server's message (naming the field) otherwise. */
  private async post(path: string, body: object): Promise<unknown> {
    const fetchImpl = this.options.fetch ?? fetch;
    const res = await fetchImpl(`${this.options.apiBase}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${this.options.token()}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    const answer = (await res.json().catch(() => null)) as { message?: unknown } | null;
    if (!res.ok) throw new Error(typeof answer?.message === 'string' ? answer.message : `HTTP ${res.status}`);
    return answer;
  }
}
