import { describe, expect, it } from 'vitest';
import { PairingError, pairingFromQuery } from '../../client/app/pairing';

/** An unsigned token with these claims (the device only reads them; the server verifies). */
function tokenWith(claims: object): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'HS256', typ: 'JWT' })}.${part(claims)}.sig`;
}

describe('pairing from a link', () => {
  const token = tokenWith({ location: 'demo', role: 'terminal', terminal: 'till-1', exp: 2_000_000_000 });

  it('takes location and terminal from the link when they agree with the token', () => {
    const p = pairingFromQuery(new URLSearchParams({ token, location: 'demo', terminal: 'till-1' }), 1000);
    expect(p).toMatchObject({ location: 'demo', terminal: 'till-1', role: 'terminal', pairedAt: 1000 });
  });

  it('refuses a link whose location or terminal differs from the token', () => {
    expect(() => pairingFromQuery(new URLSearchParams({ token, location: 'other', terminal: 'till-1' }))).toThrow(PairingError);
    expect(() => pairingFromQuery(new URLSearchParams({ token, location: 'demo', terminal: 'till-9' }))).toThrow(
      'the token is for terminal "till-1", the link says "till-9"',
    );
  });
});
