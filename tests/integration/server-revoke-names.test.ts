import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import type { Revocations } from '../../server/auth/revocations';
import { createApp } from '../../server/http/app';
import { knownName, registerTokensRoutes } from '../../server/http/tokens-routes';
import { RevokeTokenResponse } from '../../shared/protocol/rest-tokens';
import { mint, tokens } from '../helpers/server-clients';

/**
 * [SRV24] Revoking a name no device synced under is done (a lost device paired but unused), and
 * the answer says so, with the device that may have been meant: a mistyped or wrong-case name
 * ("till-3" for "Till-3") otherwise reads as if the real device were cut off.
 */
const WRITERS = ['Till-3', 'Till-3.2', 'bar:1.r0ab3', 'server'];
let app: FastifyInstance;
beforeAll(async () => {
  app = await createApp({ logLevel: 'silent', corsOrigins: [], tokens, now: Date.now });
  const revocations = { revoke: (_location: string, _name: string, _by: string, at: number) => at } as unknown as Revocations;
  registerTokensRoutes(app, { tokens, revocations, closeRevoked: () => ({ closed: 0, kept: 0 }), writers: async (location) => (location === 'bistro' ? WRITERS : []), now: Date.now });
  await app.ready();
});
afterAll(async () => {
  await app.close();
});

async function revoke(terminal: string): Promise<RevokeTokenResponse> {
  const res = await app.inject({ method: 'POST', url: '/api/tokens/revoke', headers: { authorization: `Bearer ${await mint('bistro', 'manager', 'office')}` }, payload: { terminal } });
  expect(res.statusCode).toBe(200);
  return RevokeTokenResponse.parse(res.json());
}

describe('[SRV24] revoking a name that never synced', () => {
  it('[SRV24] the answer says whether a writer of the name holds events here and, if not, the device differing only in case or separators', async () => {
    expect(await revoke('Till-3')).toMatchObject({ terminal: 'Till-3', synced: true, didYouMean: null });
    expect(await revoke('Till-3.2')).toMatchObject({ synced: true, didYouMean: null });
    expect(await revoke('bar:1')).toMatchObject({ synced: true, didYouMean: null });
    expect(await revoke('till-3')).toMatchObject({ terminal: 'till-3', synced: false, didYouMean: 'Till-3' });
    expect(await revoke('till3')).toMatchObject({ synced: false, didYouMean: 'Till-3' });
    expect(await revoke('lost-tablet')).toMatchObject({ synced: false, didYouMean: null });
  });

  it('[SRV24] a writer id of a synced device counts as its name; the server\'s own writer is never suggested', () => {
    expect(knownName('Till-3.r9', ['Till-3'])).toEqual({ synced: true, didYouMean: null });
    expect(knownName('SERVER', ['server'])).toEqual({ synced: false, didYouMean: null });
    expect(knownName('till-30', ['Till-3'])).toEqual({ synced: false, didYouMean: null });
  });
});
