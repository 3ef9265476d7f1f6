import { pairingLink } from '../../shared/protocol/pairing-link';
import { MintTokenResponse, RevokeTokenResponse } from '../../shared/protocol/rest-tokens';
import type { ManagerApi } from './manager-api';

export interface NewPairing {
  terminal: string;
  link: string;
  /** Token expiry, ms since the epoch. */
  expiresAt: number;
}

/**
 * What a manager does about the location's devices from the console: a pairing link for a
 * new terminal (POST /api/tokens) and cutting a lost or stolen one off (POST /api/tokens/revoke).
 */
export class DeviceAdmin {
  constructor(
    private readonly api: ManagerApi,
    /** Where a paired device opens the app (this app's own address). */
    private readonly appUrl: string,
  ) {}

  async pairingLinkFor(terminal: string): Promise<NewPairing> {
    const answer = MintTokenResponse.parse(await this.api.post('/api/tokens', { role: 'terminal', terminal }));
    return { terminal, link: pairingLink(this.appUrl, answer.token, answer.location, terminal), expiresAt: answer.exp * 1000 };
  }

  async revoke(terminal: string): Promise<RevokeTokenResponse> {
    return RevokeTokenResponse.parse(await this.api.post('/api/tokens/revoke', { terminal }));
  }
}
