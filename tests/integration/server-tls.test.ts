import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { loadConfig } from '../../server/config';
import { startTestServer, type InProcessServer } from '../helpers/server-in-process';
import { makeDataDir, removeDataDir } from '../helpers/server-process';
import { connectClient, eventIdsIn, mint, ticketOpenedEvent, waitFor, type TestClient } from '../helpers/server-clients';
import { SegmentWriter } from '../../shared/log/log-doc';
import { canonicalEventJson } from '../../shared/events/envelope';

/**
 * [SRV22] HTTPS and WSS on the one port (TLS_CERT_FILE, TLS_KEY_FILE): what browsers need for
 * the staff app's offline shell on a LAN. The fixture is a self-signed certificate for
 * localhost and 127.0.0.1; clients here trust it explicitly, as devices trust a local CA.
 */
const TLS_DIR = join(import.meta.dirname, '../fixtures/tls');
const tls = { certFile: join(TLS_DIR, 'cert.pem'), keyFile: join(TLS_DIR, 'key.pem') };
const ca = readFileSync(tls.certFile);

/** A socket that trusts the fixture's certificate. */
class TrustingWebSocket extends WebSocket {
  constructor(url: string, protocols?: string | string[]) {
    super(url, protocols, { ca });
  }
}

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function server(): Promise<InProcessServer> {
  const s = await startTestServer({ tls });
  cleanups.push(() => s.dispose());
  return s;
}

function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A y-websocket client over TrustingWebSocket, destroyed after the test. */
function wssClient(wsUrl: string, location: string, token: string): TestClient {
  const client = connectClient(wsUrl, location, token, new Y.Doc(), TrustingWebSocket);
  cleanups.push(() => client.destroy());
  return client;
}

describe('HTTPS', () => {
  it('[SRV22] with TLS_CERT_FILE and TLS_KEY_FILE the API is HTTPS and the relay WSS, on one port', async () => {
    const s = await server();
    expect(s.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(await get(`${s.url}/healthz`)).toMatchObject({ status: 200 });
    // Without trusting the certificate, nothing is served.
    await expect(fetch(`${s.url}/healthz`)).rejects.toThrow();

    const a = wssClient(s.wsUrl, 'tls', await mint('tls', 'terminal', 'till-1'));
    const b = wssClient(s.wsUrl, 'tls', await mint('tls', 'terminal', 'till-2'));
    await waitFor(() => a.provider.synced && b.provider.synced, 'both synced over wss');
    const sale = ticketOpenedEvent('till-1', 1);
    a.doc.transact(() => new SegmentWriter(a.doc, 'till-1').append([canonicalEventJson(sale)]), 'local');
    await waitFor(() => eventIdsIn(b.doc).includes(sale.id), 'relayed over wss');
  });

  it('[SRV22] a certificate that cannot be read stops the start with the variable and the path; one without the other is a configuration error', async () => {
    const dataDir = makeDataDir();
    cleanups.push(() => removeDataDir(dataDir));
    await expect(startTestServer({ dataDir, tls: { ...tls, certFile: join(TLS_DIR, 'missing.pem') } })).rejects.toThrow(/TLS_CERT_FILE: cannot read .*missing\.pem \(ENOENT\)/);
    expect(() => loadConfig({ TLS_CERT_FILE: tls.certFile })).toThrow(/TLS_KEY_FILE: TLS_CERT_FILE and TLS_KEY_FILE go together/);
    expect(loadConfig({ TLS_CERT_FILE: tls.certFile, TLS_KEY_FILE: tls.keyFile }).tls).toEqual(tls);
  });
});
