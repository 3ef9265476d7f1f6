import 'fake-indexeddb/auto';
import { describe, expect, it, vi } from 'vitest';
import { PairingError, chooseWriter, isStaleLinkFor, loadPairing, pairingFromQuery, savePairing } from '../../client/app/pairing';
import { installLocalStorage } from '../helpers/device-storage';

/** An unsigned token with these claims (the device only reads them; the server verifies). */
function tokenWith(claims: object): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'HS256', typ: 'JWT' })}.${part(claims)}.sig`;
}

describe('pairing from a link', () => {
  const token = tokenWith({ location: 'demo', role: 'terminal', terminal: 'till-1', exp: 2_000_000_000 });

  it('[APP16] the same terminal\'s link again, with a token no newer than the device\'s own (renewed since), leaves the device\'s token; a newer one, or another terminal\'s, is used', () => {
    const link = (exp: number, terminal = 'till-1') => pairingFromQuery(new URLSearchParams({ token: tokenWith({ location: 'demo', role: 'terminal', terminal, exp }), location: 'demo', terminal }));
    const renewed = link(2_100_000_000);
    expect(isStaleLinkFor(renewed, link(2_000_000_000))).toBe(true);
    expect(isStaleLinkFor(renewed, link(2_100_000_000))).toBe(true);
    expect(isStaleLinkFor(renewed, link(2_200_000_000))).toBe(false);
    expect(isStaleLinkFor(renewed, link(2_000_000_000, 'till-2'))).toBe(false);
  });

  it('[APP16] newer is by when the token was issued: a link made after a revocation is taken though a long-lived token renewed earlier expires later', () => {
    const link = (iat: number, exp: number) => pairingFromQuery(new URLSearchParams({ token: tokenWith({ location: 'demo', role: 'terminal', terminal: 'till-1', iat, exp }), location: 'demo', terminal: 'till-1' }));
    const yearLong = link(1_800_000_000, 1_800_000_000 + 365 * 86_400);
    const madeSince = link(1_800_100_000, 1_800_100_000 + 30 * 86_400);
    expect(isStaleLinkFor(yearLong, madeSince)).toBe(false);
    expect(isStaleLinkFor(madeSince, yearLong)).toBe(true); // the kiosk's old start page
    expect(isStaleLinkFor(madeSince, link(1_800_100_000, 1_800_100_000 + 60 * 86_400))).toBe(true); // issued the same second: not newer
  });

  it('takes a terminal id the server takes (a colon in it too)', () => {
    const bar = tokenWith({ location: 'demo', role: 'terminal', terminal: 'bar:1', exp: 2_000_000_000 });
    expect(pairingFromQuery(new URLSearchParams({ token: bar, location: 'demo', terminal: 'bar:1' })).terminal).toBe('bar:1');
  });

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

describe('the writer a paired device writes as', () => {
  const token = tokenWith({ location: 'demo', role: 'terminal', terminal: 'till-1', exp: 2_000_000_000 });
  const paired = () => pairingFromQuery(new URLSearchParams({ token, location: 'demo', terminal: 'till-1' }));
  /** The writers the server holds an event of. */
  const held = (...writers: string[]) => () => Promise.resolve(writers);
  const random = () => 0.5;

  it('is the terminal id when the server holds no event of it or of its tabs (another terminal with a longer id does not count)', async () => {
    expect(await chooseWriter(paired(), null, held('till-10', 'till-2'), random)).toBe('till-1');
  });

  it('[STO16] is a fresh writer of the terminal when the server holds its events: a replaced or wiped device never reuses its numbers', async () => {
    const fresh = await chooseWriter(paired(), null, held('till-1'), random);
    expect(fresh).toMatch(/^till-1\.r[0-9a-z]{4}$/);
    expect(await chooseWriter(paired(), null, held('till-1.2'), random)).toBe(fresh);
  });

  it('[STO16] is a fresh writer when the server cannot be asked (offline pairing)', async () => {
    expect(await chooseWriter(paired(), null, () => Promise.reject(new Error('offline')), random)).toMatch(/^till-1\.r/);
  });

  it('stays what it was when the same device is paired again as the same terminal of the same location (its log and counters are intact)', async () => {
    const before = { ...paired(), writer: 'till-1.rabcd' };
    expect(await chooseWriter(paired(), before, held('till-1.rabcd'), random)).toBe('till-1.rabcd');
    const otherTerminal = { ...before, terminal: 'till-2', writer: 'till-2' };
    expect(await chooseWriter(paired(), otherTerminal, held(), random)).toBe('till-1');
    // The same terminal name in another location is another log: chosen as on a device never paired.
    const otherLocation = { ...before, location: 'bistro-b' };
    expect(await chooseWriter(paired(), otherLocation, held('till-1'), random)).toBe(await chooseWriter(paired(), null, held('till-1'), random));
  });
});


describe('the pairing kept on the device', () => {
  /** localStorage as a browser has it when it is full: reads work, every write throws. */
  const fullStorage = { getItem: () => null, setItem: () => { throw new DOMException('quota exceeded', 'QuotaExceededError'); }, removeItem: () => {} };
  const pairing = pairingFromQuery(new URLSearchParams({ token: tokenWith({ location: 'demo', role: 'terminal', terminal: 'till-1', exp: 2_000_000_000 }), location: 'demo', terminal: 'till-1' }), 1000);

  it('[APP16] a full localStorage does not fail the pairing: the IndexedDB copy is kept and the next start reads it', async () => {
    vi.stubGlobal('localStorage', fullStorage);
    try {
      await savePairing(pairing);
      expect(await loadPairing()).toEqual(pairing);
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it('[APP16] a new pairing taken while localStorage is full (the old one still in it) is the one the next start reads', async () => {
    const items = new Map<string, string>();
    const storage = {
      full: false,
      getItem: (key: string) => items.get(key) ?? null,
      setItem(key: string, value: string) {
        if (storage.full) throw new DOMException('quota exceeded', 'QuotaExceededError');
        items.set(key, value);
      },
      removeItem: (key: string) => void items.delete(key),
    };
    vi.stubGlobal('localStorage', storage);
    try {
      await savePairing(pairing);
      storage.full = true;
      const bar = pairingFromQuery(new URLSearchParams({ token: tokenWith({ location: 'bistro-b', role: 'terminal', terminal: 'bar-2', exp: 2_000_000_000 }), location: 'bistro-b', terminal: 'bar-2' }), 2000);
      await savePairing(bar);
      expect(await loadPairing()).toEqual(bar);
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it('[APP16] with neither copy kept (localStorage full, no IndexedDB) the pairing fails with a clear error instead of a device that forgets it on reload', async () => {
    vi.stubGlobal('localStorage', fullStorage);
    vi.stubGlobal('indexedDB', undefined);
    try {
      await expect(savePairing(pairing)).rejects.toThrow(/storage is full or blocked: the pairing cannot be kept/);
      await expect(loadPairing()).resolves.toBeNull(); // a start finds no pairing: not an error
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it('[APP16] the IndexedDB copy read at a start with localStorage wiped (site data partly cleared) is copied back to it', async () => {
    const storage = installLocalStorage();
    try {
      await savePairing(pairing);
      storage.saved.clear();
      expect(await loadPairing()).toEqual(pairing);
      expect(JSON.parse(storage.saved.get('rms:pairing') ?? 'null')).toEqual(pairing);
    } finally {
      storage.restore();
    }
  });

  it('a kept pairing whose writer is empty (none chosen) writes as its terminal', async () => {
    const storage = installLocalStorage();
    try {
      storage.saved.set('rms:pairing', JSON.stringify({ ...pairing, writer: '' }));
      expect((await loadPairing())?.writer).toBe('till-1');
    } finally {
      storage.restore();
    }
  });
});
