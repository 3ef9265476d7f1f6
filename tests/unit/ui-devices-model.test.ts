import { describe, expect, it, vi } from 'vitest';
import type { DeviceAdmin } from '../../client/app/device-admin';
import { model } from '../helpers/ui-models';
import { RevokeTokenResponse } from '../../shared/protocol/rest-tokens';

type DevicesMod = typeof import('../../client/ui/models/devices-model.svelte');
const { DevicesModel, DEVICE_NAME_RULE, revokedSummary } = await model<DevicesMod>('devices-model');

/** The panel of the manager tablet `manager-1`, over an admin that records what reaches the server. */
function panel() {
  const admin = {
    pairingLinkFor: vi.fn(async (terminal: string) => ({ terminal, link: `https://rms.test/#/pair?terminal=${terminal}`, expiresAt: 0 })),
    revoke: vi.fn(async (terminal: string) => ({ location: 'bistro', terminal, revokedAt: 0, closed: 0, synced: true, didYouMean: null, serverTime: 0 })),
  };
  return { admin, devices: new DevicesModel(admin as unknown as DeviceAdmin, 'manager-1') };
}

describe('Devices panel (DevicesModel)', () => {
  it('[APP18] a device name the server would refuse gets one clear rule before any request, with or without a dot', async () => {
    const { admin, devices } = panel();
    for (const name of ['Till 1', 'Küche', 'till.2', 'bar!']) {
      devices.newTerminal = name;
      await devices.makePairingLink();
      expect(devices.pairingError).toBe(DEVICE_NAME_RULE);
      expect(devices.pairing).toBeNull();
    }
    devices.newTerminal = 'server';
    await devices.makePairingLink();
    expect(devices.pairingError).toMatch(/server's own name/);
    expect(admin.pairingLinkFor).not.toHaveBeenCalled();

    devices.newTerminal = ' till-2 ';
    await devices.makePairingLink();
    expect(devices.pairingError).toBeNull();
    expect(admin.pairingLinkFor).toHaveBeenCalledWith('till-2');
    expect(devices.pairing?.terminal).toBe('till-2');
  });

  it('[APP18] this tablet\'s own name is refused for a new device (revoking it would cut both off) and for revoking (a device cannot cut itself off)', async () => {
    const { admin, devices } = panel();
    devices.newTerminal = 'manager-1';
    await devices.makePairingLink();
    expect(devices.pairingError).toMatch(/manager-1 is this tablet's own name: choose another/);
    expect(admin.pairingLinkFor).not.toHaveBeenCalled();

    devices.revokeTerminal = 'manager-1.2';
    devices.askRevoke();
    expect(devices.confirming).toBe(false);
    expect(devices.revokeError).toMatch(/manager-1 is this tablet's own name: a device cannot cut itself off/);
    devices.revokeTerminal = 'till-9';
    devices.askRevoke();
    expect(devices.confirming).toBe(true);
    expect(devices.revokeError).toBeNull();
    await devices.confirmRevoke();
    expect(admin.revoke).toHaveBeenCalledWith('till-9');
  });

  it('[APP18] a revoked name no device synced under is said plainly, with the device meant, and so is a revocation that closed no connection', () => {
    const at = new Date(2026, 10, 27, 15, 36, 51).getTime();
    const answer = { location: 'bistro', terminal: 'till-3', revokedAt: at, closed: 0, kept: 0, serverTime: at };
    expect(revokedSummary({ ...answer, synced: false, didYouMean: 'Till-3' })).toBe(
      'No device named till-3 has synced here (did you mean Till-3? It is not cut off: revoke it by that name). till-3 cut off at 15:36:51; no live connection was open, so none was closed.',
    );
    expect(revokedSummary({ ...answer, terminal: 'lost-tab', synced: false, didYouMean: null })).toBe('No device named lost-tab has synced here. lost-tab cut off at 15:36:51; no live connection was open, so none was closed.');
    expect(revokedSummary({ ...answer, synced: true, didYouMean: null, closed: 2 })).toBe('till-3 cut off at 15:36:51; 2 live connections closed.');
    // A server from before the check answers without it: nothing is claimed about the name.
    expect(revokedSummary(RevokeTokenResponse.parse({ ...answer, closed: 1, kept: undefined }))).toBe('till-3 cut off at 15:36:51; 1 live connection closed.');
  });

  it('[APP18] an admin\'s device a manager named stays connected, and the result says so', () => {
    const at = new Date(2026, 10, 27, 15, 36, 51).getTime();
    const answer = { location: 'bistro', terminal: 'office', revokedAt: at, serverTime: at, synced: true, didYouMean: null };
    expect(revokedSummary({ ...answer, closed: 0, kept: 1 })).toBe("office cut off at 15:36:51; none closed; 1 live connection of an admin's device stays open: only an admin can cut it off.");
    expect(revokedSummary({ ...answer, closed: 2, kept: 2 })).toBe("office cut off at 15:36:51; 2 live connections closed; 2 live connections of an admin's device stay open: only an admin can cut it off.");
  });
});
