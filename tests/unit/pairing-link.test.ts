import { describe, expect, it } from 'vitest';
import { pairingLink } from '../../server/pairing';

describe('pairing link', () => {
  it('puts token, location and terminal in the hash route, with or without a trailing slash on the base', () => {
    const expected = 'https://pos.example/#/pair?token=t.k.n&location=demo&terminal=till-2';
    expect(pairingLink('https://pos.example', 't.k.n', 'demo', 'till-2')).toBe(expected);
    expect(pairingLink('https://pos.example/', 't.k.n', 'demo', 'till-2')).toBe(expected);
  });
});
