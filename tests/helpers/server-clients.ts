import { createServer, type Server } from 'node:http';
import { SignJWT } from 'jose';
import WebSocket from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { newEventId } from '../../shared/events/event-id';
import type { EventEnvelope } from '../../shared/events/envelope';
import { readAllEventJson } from '../../shared/log/log-doc';
import { relaySubprotocols } from '../../shared/protocol/relay-auth';
import { createTokenIssuer, type TokenIssuer } from '../../server/auth/tokens';
import type { Role } from '../../shared/protocol/token-claims';

export const TEST_SECRET = 'test-secret-0123456789abcdef';

export const tokens: TokenIssuer = createTokenIssuer(TEST_SECRET);

/** 30 days by default, as a pairing link's token: a test may move the server's clock days ahead (compaction). */
export function mint(location: string, role: Role = 'terminal', terminal = 'till-1', ttlSeconds = 30 * 24 * 3600): Promise<string> {
  return tokens.mint({ location, role, terminal, ttlSeconds });
}

/** A token signed with another secret: the right shape, a forged signature. */
export function forge(location: string): Promise<string> {
  return createTokenIssuer('some-other-secret-0123456789').mint({ location, role: 'admin', terminal: 'x', ttlSeconds: 3600 });
}

/** A correctly signed admin token naming no device, as tokens were minted before every token had to (still valid until it expires). */
export function legacyAdminToken(location: string): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ location, role: 'admin' }).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setIssuedAt(now).setExpirationTime(now + 3600).sign(new TextEncoder().encode(TEST_SECRET));
}

/** A correctly signed token that expired an hour ago. */
export function expired(location: string): Promise<string> {
  return createTokenIssuer(TEST_SECRET, () => Date.now() - 2 * 3600_000).mint({
    location,
    role: 'terminal',
    terminal: 'till-1',
    ttlSeconds: 60,
  });
}

/**
 * Polls `check` until it holds; bounded (throws after `timeoutMs`), never a fixed sleep.
 * `state` describes what was seen instead, for the error of a wait that timed out.
 */
export async function waitFor(check: () => boolean, label: string, timeoutMs = 10_000, state?: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${label}${state ? `\n${state()}` : ''}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** waitFor with an async check (e.g. an HTTP probe); bounded the same way. */
export async function waitForAsync(check: () => Promise<boolean>, label: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${label}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export interface TestClient {
  doc: Y.Doc;
  provider: WebsocketProvider;
  destroy(): void;
}

/** A y-websocket client in Node, as a terminal would run it; `webSocket` is the socket class (one that trusts a test certificate, say). */
export function connectClient(wsUrl: string, location: string, token: string, doc = new Y.Doc(), webSocket: new (url: string, protocols?: string | string[]) => WebSocket = WebSocket): TestClient {
  const provider = new WebsocketProvider(wsUrl, location, doc, {
    WebSocketPolyfill: webSocket as unknown as typeof globalThis.WebSocket,
    disableBc: true,
    params: { token },
    maxBackoffTime: 300,
  });
  return {
    doc,
    provider,
    destroy() {
      provider.destroy();
      doc.destroy();
    },
  };
}

export async function connectSynced(wsUrl: string, location: string, token: string): Promise<TestClient> {
  const client = connectClient(wsUrl, location, token);
  await waitFor(() => client.provider.synced, `client of ${location} synced`);
  return client;
}

/**
 * The HTTP status a websocket upgrade gets, or 101 (with the subprotocol the server selected)
 * when it is accepted. The token goes in the URL, or in a subprotocol as the staff app sends it.
 */
export function upgradeStatus(
  wsUrl: string,
  location: string,
  token: string | null,
  carrier: 'query' | 'subprotocol' = 'query',
): Promise<{ status: number; body: string; protocol?: string }> {
  const inQuery = carrier === 'query' && token !== null;
  const url = `${wsUrl}/${location}${inQuery ? `?token=${encodeURIComponent(token)}` : ''}`;
  return new Promise((resolve, reject) => {
    const ws = carrier === 'subprotocol' && token !== null ? new WebSocket(url, relaySubprotocols(token)) : new WebSocket(url);
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    ws.on('open', () => {
      const protocol = ws.protocol;
      ws.terminate();
      resolve({ status: 101, body: '', protocol });
    });
    ws.on('error', (err) => {
      if (!String(err).includes('Unexpected server response')) reject(err);
    });
  });
}

/** Ids of the events a doc holds, with multiplicity (to check "exactly once"). */
export function eventIdsIn(doc: Y.Doc): string[] {
  return readAllEventJson(doc).map((json) => (JSON.parse(json) as { id: string }).id);
}

/** A valid `table.defined` event (the smallest catalog event) from `terminal`, number n. */
/**
 * An event any role may write (a ticket opened, number T-00n), as `terminal`'s n-th: the test
 * event of the server's tests (a manager's kind, CMD2, would be refused from a terminal token).
 */
export function ticketOpenedEvent(terminal: string, n: number, overrides: Partial<EventEnvelope> = {}): EventEnvelope {
  return {
    id: newEventId(),
    seq: 1,
    at: Date.now(),
    type: 'ticket.opened',
    v: 1,
    aggregate: { type: 'ticket', id: `ticket-${terminal}-${n}` },
    origin: { terminal, n },
    payload: { number: `T-${String(n).padStart(3, '0')}`, covers: 4 },
    ...overrides,
  };
}

export interface Posted<T = unknown> {
  status: number;
  body: T;
  headers: Headers;
}

export async function api<T = Record<string, unknown>>(
  baseUrl: string,
  path: string,
  token: string | null,
  init: { method?: string; body?: unknown; rawBody?: string; headers?: Record<string, string> } = {},
): Promise<Posted<T>> {
  const headers: Record<string, string> = { ...init.headers };
  if (token !== null) headers.authorization = `Bearer ${token}`;
  let body: string | undefined;
  if (init.rawBody !== undefined) body = init.rawBody;
  else if (init.body !== undefined) body = JSON.stringify(init.body);
  if (body !== undefined) headers['content-type'] ??= 'application/json';
  const res = await fetch(`${baseUrl}${path}`, { method: init.method ?? (body ? 'POST' : 'GET'), headers, body });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON (metrics)
  }
  return { status: res.status, body: parsed as T, headers: res.headers };
}

export function postEvents(baseUrl: string, token: string, events: unknown[]) {
  return api<{
    results: { id: string; status: string; reason?: string; field?: string }[];
    watermarks: Record<string, number>;
    serverTime: number;
  }>(baseUrl, '/api/events', token, { body: { events } });
}

/** A fetch for a terminal's sync that counts its POSTs (uploads), passing everything through; while `failing`, POSTs get no answer (a network failure). */
export interface CountingPosts {
  fetch: typeof fetch;
  posts(): number;
  failing: boolean;
}

export function countingPosts(): CountingPosts {
  let posts = 0;
  const counting: CountingPosts = {
    failing: false,
    fetch: (input, init) => {
      if (init?.method !== 'POST') return globalThis.fetch(input, init);
      posts++;
      return counting.failing ? Promise.reject(new TypeError('fetch failed')) : globalThis.fetch(input, init);
    },
    posts: () => posts,
  };
  return counting;
}

/** `relay` alone (no REST, no hooks it was not given) on a free 127.0.0.1 port: its /sync URL, and close() for the HTTP server. */
export async function serveRelay(relay: { attach(server: Server): void }): Promise<{ wsUrl: string; close(): Promise<void> }> {
  const http = createServer((_req, res) => res.writeHead(404).end());
  relay.attach(http);
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const address = http.address();
  return {
    wsUrl: `ws://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/sync`,
    close: () => new Promise<void>((resolve) => http.close(() => resolve())),
  };
}
