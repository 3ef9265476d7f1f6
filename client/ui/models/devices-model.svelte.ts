import type { DeviceAdmin, NewPairing } from '../../app/device-admin';
import type { RevokeTokenResponse } from '../../../shared/protocol/rest-tokens';
import { NewDeviceTerminalId } from '../../../shared/protocol/token-claims';
import { SERVER_WRITER, isWriterOf } from '../../../shared/events/envelope';
import { clockTime, message } from '../format';

/** What a new device's name may be (NewDeviceTerminalId), said once: the schema's own messages name ids and writers. */
export const DEVICE_NAME_RULE = 'A device name uses letters a–z, digits, _ - and : (no spaces, dots or accents)';

/**
 * Why `name` cannot be a new device's name, checked before asking the server (POST /api/tokens
 * parses it with the same schema), or null. Not the name of the device asking: tokens are revoked
 * by name, so cutting the new device off would cut this one off too, and the server refuses a
 * device revoking its own name.
 */
export function newDeviceNameProblem(name: string, ownTerminal: string): string | null {
  if (isWriterOf(name, ownTerminal)) return `${ownTerminal} is this tablet's own name: choose another (a device is cut off by its name, and this tablet would be cut off with it)`;
  if (NewDeviceTerminalId.safeParse(name).success) return null;
  return name === SERVER_WRITER ? `"${SERVER_WRITER}" is the server's own name: choose another` : DEVICE_NAME_RULE;
}

/**
 * What a revocation did, said plainly: a name no device synced under (a typo, a wrong case) cuts
 * nothing off that syncs, a device the server suggests keeps syncing until revoked by its own
 * name, and an admin's device a manager named stays connected.
 */
export function revokedSummary(revoked: RevokeTokenResponse): string {
  const { terminal, closed, kept, didYouMean } = revoked;
  const unknown = revoked.synced
    ? ''
    : `No device named ${terminal} has synced here${didYouMean === null ? '' : ` (did you mean ${didYouMean}? It is not cut off: revoke it by that name)`}. `;
  const connections = (count: number) => `${count} live connection${count === 1 ? '' : 's'}`;
  const closedSaid = closed === 0 ? (kept === 0 ? 'no live connection was open, so none was closed' : 'none closed') : `${connections(closed)} closed`;
  const keptSaid = kept === 0 ? '' : `; ${connections(kept)} of an admin's device stay${kept === 1 ? 's' : ''} open: only an admin can cut it off`;
  return `${unknown}${terminal} cut off at ${clockTime(revoked.revokedAt)}; ${closedSaid}${keptSaid}.`;
}

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

  constructor(
    private readonly admin: DeviceAdmin,
    /** This tablet's device name (its token's terminal). */
    private readonly ownTerminal: string,
  ) {}

  async makePairingLink(): Promise<void> {
    await this.run(async () => {
      this.pairing = null;
      const name = this.newTerminal.trim();
      this.pairingError = newDeviceNameProblem(name, this.ownTerminal);
      if (this.pairingError !== null) return;
      try {
        this.pairing = await this.admin.pairingLinkFor(name);
      } catch (err) {
        this.pairingError = message(err);
      }
    });
  }

  /** Asks once more; not for this tablet's own name or one of its writers (the server refuses it: a device cannot revoke itself). */
  askRevoke(): void {
    this.revoked = null;
    const name = this.revokeTerminal.trim();
    this.revokeError = isWriterOf(name, this.ownTerminal) ? `${this.ownTerminal} is this tablet's own name: a device cannot cut itself off` : null;
    this.confirming = name.length > 0 && this.revokeError === null;
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
