import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/config';

const ROOT = resolve(import.meta.dirname, '../..');

/** The default docs/server.md's table gives `name` (its row: | `NAME` | `default` | …). */
function tableDefault(name: string): string | undefined {
  return new RegExp(`^\\| \`${name}\` \\| \`([^\`]+)\``, 'm').exec(readFileSync(resolve(ROOT, 'docs/server.md'), 'utf8'))?.[1];
}

/** The default README.md's list gives `name` (its entry: - `NAME` (`default`), …). */
function readmeDefault(name: string): string | undefined {
  return new RegExp(`^- .*?\`${name}\` \\(\`([^\`]+)\``, 'm').exec(readFileSync(resolve(ROOT, 'README.md'), 'utf8'))?.[1];
}

describe('server configuration from the environment', () => {
  it('uses the defaults docs/server.md and README.md give when nothing is set, and counts an empty value as unset', () => {
    const defaults = loadConfig({});
    const used: Record<string, string> = {
      PORT: String(defaults.port),
      HOST: defaults.host,
      DATA_DIR: defaults.dataDir,
      STATIC_DIR: defaults.staticDir,
      LOG_LEVEL: defaults.logLevel,
      SEED_DEMO: defaults.seedDemo ? '1' : '0',
      RELAY_INGEST: defaults.relayIngest ? '1' : '0',
      RELAY_MAX_MESSAGE_BYTES: String(defaults.relay.maxMessageBytes),
      RELAY_MAX_CONNECTIONS_PER_ROOM: String(defaults.relay.maxConnectionsPerRoom),
      RELAY_MAX_CONNECTIONS_PER_DEVICE: String(defaults.relay.maxConnectionsPerDevice),
      RELAY_ROOM_IDLE_MS: String(defaults.relay.roomIdleMs),
      RELAY_COMPACT_EVERY_UPDATES: String(defaults.relay.compactEveryUpdates),
      RELAY_COMPACT_EVERY_MS: String(defaults.relay.compactEveryMs),
    };
    for (const [name, value] of Object.entries(used)) {
      expect(tableDefault(name), name).toBe(value);
      expect(readmeDefault(name), name).toBe(value);
    }
    expect(loadConfig({ PORT: '', DATA_DIR: '', RMS_SECRET: '' })).toEqual(defaults);
  });

  it('rejects bad values with one error naming every bad variable', () => {
    expect(() => loadConfig({ PORT: 'abc', RMS_SECRET: 'short', LOG_LEVEL: 'verbose' })).toThrow(
      /invalid configuration:\n {2}PORT: .*\n {2}RMS_SECRET: RMS_SECRET must be at least 16 characters\n {2}LOG_LEVEL: /,
    );
  });

  it('reads a port in digits only (0x50 was port 80)', () => {
    for (const port of ['0x50', '1e3', '80.0', '65536', '-1']) expect(() => loadConfig({ PORT: port }), port).toThrow(/PORT: a port number in digits/);
    expect(loadConfig({ PORT: '0' }).port).toBe(0);
    expect(loadConfig({ PORT: '65535' }).port).toBe(65535);
  });

  it('rejects a delay a timer cannot hold (Node would run it after 1 ms) and a non-positive flush interval', () => {
    expect(() => loadConfig({ RELAY_COMPACT_EVERY_MS: '3000000000', RELAY_ROOM_IDLE_MS: '2147483648' })).toThrow(/RELAY_ROOM_IDLE_MS: .*2147483647[\s\S]*RELAY_COMPACT_EVERY_MS: .*2147483647/);
    expect(() => loadConfig({ RELAY_COMPACT_EVERY_MS: '0' })).toThrow(/RELAY_COMPACT_EVERY_MS/);
    expect(loadConfig({ RELAY_ROOM_IDLE_MS: '0', RELAY_COMPACT_EVERY_MS: '2147483647' })).toMatchObject({ relay: { roomIdleMs: 0, compactEveryMs: 2147483647 } });
  });

  it('[SRV40] caps one device at 16 relay connections unless RELAY_MAX_CONNECTIONS_PER_DEVICE says otherwise (a positive integer)', () => {
    expect(loadConfig({}).relay.maxConnectionsPerDevice).toBe(16);
    expect(loadConfig({ RELAY_MAX_CONNECTIONS_PER_DEVICE: '4' }).relay.maxConnectionsPerDevice).toBe(4);
    expect(() => loadConfig({ RELAY_MAX_CONNECTIONS_PER_DEVICE: '0' })).toThrow(/RELAY_MAX_CONNECTIONS_PER_DEVICE/);
  });
});

describe('blank and padded values', () => {
  it('[SRV44] values are trimmed, and one of blanks only counts as unset (RELAY_ROOM_IDLE_MS=" " was 0 ms, HOST="   " was taken)', () => {
    const defaults = loadConfig({});
    expect(loadConfig({ RELAY_ROOM_IDLE_MS: ' ', HOST: '   ', DATA_DIR: '\t', PORT: ' ' })).toEqual(defaults);
    expect(loadConfig({ PORT: ' 80 ', HOST: ' 127.0.0.1\n', RELAY_MAX_CONNECTIONS_PER_ROOM: '\t5' })).toMatchObject({ port: 80, host: '127.0.0.1', relay: { maxConnectionsPerRoom: 5 } });
    // The secret is taken as written: trimmed, every token signed with it would stop verifying.
    expect(loadConfig({ RMS_SECRET: ' 0123456789abcdef ' }).secret).toBe(' 0123456789abcdef ');
  });

  it('[SRV44] RELAY_MAX_MESSAGE_BYTES is at most 64 MiB, said in the error', () => {
    expect(loadConfig({ RELAY_MAX_MESSAGE_BYTES: String(64 * 1024 * 1024) }).relay.maxMessageBytes).toBe(64 * 1024 * 1024);
    for (const value of ['1e12', '99999999999999999999', String(64 * 1024 * 1024 + 1)]) {
      expect(() => loadConfig({ RELAY_MAX_MESSAGE_BYTES: value }), value).toThrow(/RELAY_MAX_MESSAGE_BYTES: at most 67108864 \(64 MiB\)/);
    }
  });
});

describe('CORS_ORIGINS', () => {
  it('[SRV27] entries are normalised to the Origin header a browser sends: lower case, no trailing slash, no default port', () => {
    const { corsOrigins } = loadConfig({ CORS_ORIGINS: ' https://Till.Example/ , HTTP://LOCALHOST:5173,https://x.example:443,,' });
    expect(corsOrigins).toEqual(['https://till.example', 'http://localhost:5173', 'https://x.example']);
    expect(loadConfig({}).corsOrigins).toEqual([]);
  });

  it('[SRV27] an entry that is no origin, or has a path, stops startup with an error naming it', () => {
    const refused = ['till.example', 'https://x.example/app', 'https://x.example/?a=1', 'file:///tmp/app', '*', 'ftp://x.example', 'ws://x.example', 'wss://x.example:443'];
    for (const entry of refused) {
      expect(() => loadConfig({ CORS_ORIGINS: `https://ok.example,${entry}` }), entry).toThrow(/invalid configuration:\n {2}CORS_ORIGINS: /);
      expect(() => loadConfig({ CORS_ORIGINS: `https://ok.example,${entry}` }), entry).toThrow(entry);
    }
    // A browser never sends user info in Origin: such an entry would match no request.
    expect(() => loadConfig({ CORS_ORIGINS: 'https://u:p@till.example' })).toThrow(/CORS_ORIGINS: "https:\/\/u:p@till\.example" has credentials/);
  });
});

describe('PUBLIC_URL', () => {
  it('[SRV27] is an http(s) URL: one without a scheme would print pairing links no browser opens', () => {
    for (const value of ['pos.lan:8787', 'pos.lan', 'ftp://pos.lan', 'ws://pos.lan:8787', 'mailto:x@pos.lan']) {
      expect(() => loadConfig({ PUBLIC_URL: value }), value).toThrow(/invalid configuration:\n {2}PUBLIC_URL: an http\(s\) URL/);
    }
    expect(loadConfig({ PUBLIC_URL: 'https://pos.bistro.lan:8787' }).publicUrl).toBe('https://pos.bistro.lan:8787');
  });
});
