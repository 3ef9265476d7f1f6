import { describe, expect, it } from 'vitest';
import { isSecureContextUrl, networkUrls } from '../../server/pairing';
import { pairingLink } from '../../shared/protocol/pairing-link';

describe('pairing link', () => {
  it('puts token, location and terminal in the hash route, with or without a trailing slash on the base', () => {
    const expected = 'https://pos.example/#/pair?token=t.k.n&location=demo&terminal=till-2';
    expect(pairingLink('https://pos.example', 't.k.n', 'demo', 'till-2')).toBe(expected);
    expect(pairingLink('https://pos.example/', 't.k.n', 'demo', 'till-2')).toBe(expected);
  });

  it('lists the addresses other devices open when the server listens on every interface', () => {
    const interfaces = {
      lo: [{ address: '127.0.0.1', family: 'IPv4', internal: true } as never],
      eth0: [{ address: '192.168.1.10', family: 'IPv4', internal: false } as never, { address: 'fe80::1', family: 'IPv6', internal: false } as never],
      wlan0: [{ address: '10.0.0.7', family: 'IPv4', internal: false } as never],
    };
    expect(networkUrls('0.0.0.0', 8787, 'http', interfaces)).toEqual(['http://192.168.1.10:8787', 'http://10.0.0.7:8787']);
    expect(networkUrls('::', 443, 'https', interfaces)).toEqual(['https://192.168.1.10:443', 'https://10.0.0.7:443']);
    expect(networkUrls('127.0.0.1', 8787, 'http', interfaces)).toEqual([]);
  });

  it('knows the origins browsers treat as insecure (named in the startup note)', () => {
    expect(isSecureContextUrl('https://pos.example:8787')).toBe(true);
    expect(isSecureContextUrl('http://localhost:8787')).toBe(true);
    expect(isSecureContextUrl('http://127.0.0.1:8787')).toBe(true);
    expect(isSecureContextUrl('http://192.168.1.10:8787')).toBe(false);
  });
});
