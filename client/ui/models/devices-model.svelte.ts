import type { DeviceAdmin, NewPairing } from '../../app/device-admin';
import type { RevokeTokenResponse } from '../../../shared/protocol/rest-tokens';
import { message } from '../format';

/** The console's Devices panel (managers): pair a new terminal, cut a lost one off. */
export class DevicesModel {
  newTerminal = $state('');
  pairing = $state<NewPairing | null>(null);
  pairingError = $state<string | null>(null);
  revokeTerminal = $state('');
  /** Revoking asks once more: the device stops syncing until it is paired again. */
  confirming = $state(false);
  revoked = $state<RevokeTokenResponse | null>(null);
  revokeError = $state<string | null>(null);
  busy = $state(false);

  constructor(private readonly admin: DeviceAdmin) {}

  async makePairingLink(): Promise<void> {
    await this.run(async () => {
      this.pairing = null;
      this.pairingError = null;
      try {
        this.pairing = await this.admin.pairingLinkFor(this.newTerminal.trim());
      } catch (err) {
        this.pairingError = message(err);
      }
    });
  }

  askRevoke(): void {
    this.revoked = null;
    this.revokeError = null;
    this.confirming = this.revokeTerminal.trim().length > 0;
  }

  cancelRevoke(): void {
    this.confirming = false;
  }

  async confirmRevoke(): Promise<void> {
    await this.run(async () => {
      this.confirming = false;
      try {
        this.revoked = await this.admin.revoke(this.revokeTerminal.trim());
      } catch (err) {
        this.revokeError = message(err);
      }
    });
  }

  private async run(work: () => Promise<void>): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      await work();
    } finally {
      this.busy = false;
    }
  }
}
