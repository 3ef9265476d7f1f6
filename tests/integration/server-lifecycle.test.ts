import { afterEach, describe, expect, it } from 'vitest';
import { SegmentWriter } from '../../shared/log/log-doc';
import { canonicalEventJson, type EventEnvelope } from '../../shared/events/envelope';
import { makeDataDir, removeDataDir, spawnServer, type ServerProcess } from '../helpers/server-process';
import { TEST_SECRET, connectSynced, eventIdsIn, mint, tableEvent, waitFor, type TestClient } from '../helpers/server-clients';
import { serverEvents } from '../helpers/terminals';

/**
 * Server lifecycle and ordering: what the server relayed, stored or acknowledged survives
 * its rooms unloading and its graceful shutdown (real server processes, real websockets,
 * real SQLite in a temp data directory).
 */
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function serverIn(dataDir: string, env: Record<string, string> = {}): Promise<ServerProcess> {
  const s = await spawnServer({ dataDir, secret: TEST_SECRET, env });
  cleanups.push(() => (s.child.exitCode === null && s.child.signalCode === null ? s.kill9() : undefined));
  return s;
}

async function client(s: ServerProcess, location: string, terminal: string): Promise<TestClient> {
  const c = await connectSynced(s.wsUrl, location, await mint(location, 'terminal', terminal));
  cleanups.push(() => c.destroy());
  return c;
}

/** Writes events into the writer's segments, as a terminal's EventStore does (no POST). */
function write(c: TestClient, writer: string, entries: readonly EventEnvelope[]): void {
  c.doc.transact(() => new SegmentWriter(c.doc, writer).append(entries.map((e) => canonicalEventJson(e))), 'local');
}

describe('server lifecycle', () => {
  it('[SRV19] SIGTERM while the relay ingests a terminal\'s backlog: every event the room kept is in the canonical log after the restart', async () => {
    const dataDir = makeDataDir();
    cleanups.push(() => removeDataDir(dataDir));
    const first = await serverIn(dataDir);
    // A till back from an outage that reaches only the relay (SYN5): it never posts, so the
    // canonical log gets its sales from the relay or not at all.
    const till = await client(first, 'shutdown', 'till-1');
    const kitchen = await client(first, 'shutdown', 'kitchen-1');
    const events = Array.from({ length: 5000 }, (_, i) => tableEvent('till-1', i + 1));
    write(till, 'till-1', events);
    await waitFor(() => eventIdsIn(kitchen.doc).length === events.length, 'the backlog relayed to the kitchen');
    // The server stops while it is still storing the backlog in the canonical log.
    expect(await first.stop()).toBe(0);

    const second = await serverIn(dataDir);
    cleanups.push(() => second.stop());
    const probe = await client(second, 'shutdown', 'manager-1');
    // The room kept the whole backlog (stored at the shutdown)...
    expect(new Set(eventIdsIn(probe.doc)).size).toBe(events.length);
    // ...and so must the canonical log: nothing ingests a room's stored updates again, so an
    // event left out here would never reach the back office from a relay-only till.
    const stored = (await serverEvents(second.url, 'shutdown')).map((e) => e.id);
    expect(stored.length).toBe(events.length);
    expect(new Set(stored)).toEqual(new Set(events.map((e) => e.id)));
  }, 60_000);
});
