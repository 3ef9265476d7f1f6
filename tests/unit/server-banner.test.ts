import { describe, expect, it } from 'vitest';
import { isWildcardHost, shellWord, urlHost } from '../../server/pairing';

describe('server start banner', () => {
  it('[SRV13] names the listening host as a URL does: localhost for every interface or a zoned address, an IPv6 address in brackets', () => {
    expect([isWildcardHost('0.0.0.0'), isWildcardHost('::'), isWildcardHost('127.0.0.1')]).toEqual([true, true, false]);
    expect(urlHost('0.0.0.0')).toBe('localhost');
    expect(urlHost('::')).toBe('localhost');
    expect(urlHost('fe80::1%eth0')).toBe('localhost');
    expect(urlHost('::1')).toBe('[::1]');
    expect(urlHost('127.0.0.1')).toBe('127.0.0.1');
    expect(urlHost('pos.example')).toBe('pos.example');
  });

  it('[SRV13] prints a value as one shell word, quoted only when it needs to be', () => {
    expect(shellWord('/var/lib/rms')).toBe('/var/lib/rms');
    expect(shellWord('https://pos.example:8787')).toBe('https://pos.example:8787');
    expect(shellWord('/srv/rms day0')).toBe("'/srv/rms day0'");
    expect(shellWord("/srv/it's")).toBe(`'/srv/it'\\''s'`);
  });
});
