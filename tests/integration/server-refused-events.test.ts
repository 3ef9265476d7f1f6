import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { IngestService, type Uploader } from '../../server/ingest/ingest-service';
import { DB_FILE, migrate } from '../../server/store/database';
import { SqliteCanonicalLog } from '../../server/store/sqlite-canonical-log';
import { canonicalEventJson, type EventEnvelope } from '../../shared/events/envelope';
import type { TakingsResponse } from '../../shared/protocol/rest-reports';
import { SegmentWriter } from '../../shared/log/log-doc';
import { startTestServer, type InProcessServer } from '../helpers/server-in-process';
import { makeDataDir, removeDataDir } from '../helpers/server-process';
import { api, connectSynced, eventIdsIn, mint, postEvents, ticketOpenedEvent, waitFor, waitForAsync } from '../helpers/server-clients';
import { serverEvents } from '../helpers/terminals';

/**
 * [CMD2] A role refusal is remembered: a till's own void stays in the room after the server
 * refused it, and a manager's outbox uploads it on the till's behalf after the grace (SYN5),
 * from a token that may write a void. That upload, and any other of that id, is refused too.
 */
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function server(): Promise<InProcessServer> {
  const s = await startTestServer();
  cleanups.push(() => s.dispose());
  return s;
}

const REFUSED = { status: 'rejected', reason: 'only a manager may write ticket.voided', field: 'type' };

function voidOf(terminal: string, n: number, ticket: string): EventEnvelope {
  return ticketOpenedEvent(terminal, n, { type: 'ticket.voided', aggregate: { type: 'ticket', id: ticket }, payload: { reason: 'no manager said so' } });
}

async function results(s: InProcessServer, token: string, events: EventEnvelope[]): Promise<unknown[]> {
  return (await postEvents(s.url, token, events)).body.results.map(({ status, reason, field }) => ({ status, ...(reason ? { reason, field } : {}) }));
}

/** The ticket as the canonical log folds it, and the takings around now. */
async function canonical(s: InProcessServer, location: string, manager: string, ticket: string): Promise<{ status: unknown; voided: number; open: number }> {
  const agg = await api<{ state: { status: unknown } }>(s.url, `/api/aggregates/ticket/${ticket}`, manager);
  const now = Date.now();
  const report = await api<TakingsResponse>(s.url, `/api/reports/takings?from=${now - 3600_000}&to=${now + 3600_000}`, manager);
  expect(report.status).toBe(200);
  return { status: agg.body.state.status, voided: report.body.takings.voided.count, open: report.body.takings.open.count };
}

describe('remembered role refusals', () => {
  it('[CMD2] a till\'s own void refused over REST is refused from a manager\'s or another till\'s upload too; a manager\'s own void, and a till\'s upload of one, are still stored', async () => {
    const s = await server();
    const till = await mint('laundry', 'terminal', 'till-1');
    const till2 = await mint('laundry', 'terminal', 'till-2');
    const manager = await mint('laundry', 'manager', 'manager-1');
    const open = ticketOpenedEvent('till-1', 1);
    const tillVoid = voidOf('till-1', 2, open.aggregate.id);
    expect(await results(s, till, [open, tillVoid])).toEqual([{ status: 'accepted' }, REFUSED]);
    // The manager tablet's outbox after the grace, then another till's: the same answer.
    expect(await results(s, manager, [tillVoid])).toEqual([REFUSED]);
    expect(await results(s, till2, [tillVoid])).toEqual([REFUSED]);
    expect(await results(s, till, [tillVoid])).toEqual([REFUSED]);
    expect((await serverEvents(s.url, 'laundry')).map((e) => e.id)).toEqual([open.id]);
    expect(await canonical(s, 'laundry', manager, open.aggregate.id)).toEqual({ status: 'open', voided: 0, open: 1 });

    // A manager's own void is stored; so is one a till uploads on the manager's behalf (SYN5): no refusal was recorded for either.
    const second = ticketOpenedEvent('till-1', 3);
    const third = ticketOpenedEvent('till-1', 4);
    expect(await results(s, till, [second, third])).toEqual([{ status: 'accepted' }, { status: 'accepted' }]);
    expect(await results(s, manager, [voidOf('manager-1', 1, second.aggregate.id)])).toEqual([{ status: 'accepted' }]);
    expect(await results(s, till, [voidOf('manager-2', 1, third.aggregate.id)])).toEqual([{ status: 'accepted' }]);
    expect(await canonical(s, 'laundry', manager, open.aggregate.id)).toEqual({ status: 'open', voided: 2, open: 1 });
  });

  it('[CMD2][SRV17] a till\'s own void refused at relay ingest is refused from the manager\'s upload on its behalf', async () => {
    const s = await server();
    const tillClient = await connectSynced(s.wsUrl, 'laundry-relay', await mint('laundry-relay', 'terminal', 'till-1'));
    cleanups.push(() => tillClient.destroy());
    const open = ticketOpenedEvent('till-1', 1);
    const tillVoid = voidOf('till-1', 2, open.aggregate.id);
    tillClient.doc.transact(() => new SegmentWriter(tillClient.doc, 'till-1').append([open, tillVoid].map(canonicalEventJson)), 'local');
    await waitForAsync(async () => (await serverEvents(s.url, 'laundry-relay')).length === 1, 'the opening stored from the relay');
    const manager = await mint('laundry-relay', 'manager', 'manager-1');
    const managerClient = await connectSynced(s.wsUrl, 'laundry-relay', manager);
    cleanups.push(() => managerClient.destroy());
    // Every device holds it; the manager's outbox owes it once the grace is over.
    await waitFor(() => eventIdsIn(managerClient.doc).includes(tillVoid.id), 'the manager holds the void');
    expect(await results(s, manager, [tillVoid])).toEqual([REFUSED]);
    expect((await serverEvents(s.url, 'laundry-relay')).map((e) => e.id)).toEqual([open.id]);
    expect(await canonical(s, 'laundry-relay', manager, open.aggregate.id)).toEqual({ status: 'open', voided: 0, open: 1 });
  });

  it('[CMD2][SRV17] in one relay window, a till\'s own void and a manager\'s copy of it are both refused', async () => {
    const dataDir = makeDataDir();
    cleanups.push(() => removeDataDir(dataDir));
    const db = new Database(join(dataDir, DB_FILE));
    cleanups.push(() => db.close());
    migrate(db);
    const ingest = new IngestService(new SqliteCanonicalLog(db), [], { error: () => {} });
    const tillVoid = voidOf('till-1', 1, 'ticket-1');
    const [fromManager, fromTill] = await ingest.ingestEach('window', [
      { raws: [tillVoid], uploader: { terminal: 'manager-1', role: 'manager' } },
      { raws: [tillVoid], uploader: { terminal: 'till-1', role: 'terminal' } },
    ]);
    expect([...fromManager!.results, ...fromTill!.results]).toEqual([{ id: tillVoid.id, ...REFUSED }, { id: tillVoid.id, ...REFUSED }]);
    expect(fromManager!.watermarks).toEqual({});
  });

  it('[CMD2][SRV21] a refusal of the catch-up (which presumes each event came from its writer\'s terminal token) is not remembered: a manager\'s void it refused is stored from a till\'s upload on the manager\'s behalf', async () => {
    const dataDir = makeDataDir();
    cleanups.push(() => removeDataDir(dataDir));
    const db = new Database(join(dataDir, DB_FILE));
    cleanups.push(() => db.close());
    migrate(db);
    const ingest = new IngestService(new SqliteCanonicalLog(db), [], { error: () => {} });
    const managerVoid = voidOf('manager-1', 1, 'ticket-1');
    const statusOf = async (uploader: Uploader) => (await ingest.ingest('caught-up', [managerVoid], uploader)).results[0]!.status;
    expect(await statusOf({ terminal: 'manager-1', role: 'terminal', presumed: true })).toBe('rejected');
    // The manager's tablet may be gone for good: the till holding its void delivers it (SYN5).
    expect(await statusOf({ terminal: 'till-2', role: 'terminal' })).toBe('accepted');
    expect(await statusOf({ terminal: 'manager-1', role: 'manager' })).toBe('duplicate');
    // A terminal token's own refusal is remembered, as before.
    const tillVoid = voidOf('till-2', 2, 'ticket-1');
    expect((await ingest.ingest('caught-up', [tillVoid], { terminal: 'till-2', role: 'terminal' })).results[0]!.status).toBe('rejected');
    expect((await ingest.ingest('caught-up', [tillVoid], { terminal: 'manager-1', role: 'manager' })).results[0]).toMatchObject(REFUSED);
  });

  it('[CMD2] a database of the schema before refusals were remembered is migrated and remembers them', async () => {
    const dataDir = makeDataDir();
    cleanups.push(() => removeDataDir(dataDir));
    const db = new Database(join(dataDir, DB_FILE));
    cleanups.push(() => db.close());
    migrate(db, 3);
    const stored = ticketOpenedEvent('till-1', 1);
    db.prepare('INSERT INTO events (location, id, terminal, n, aggregate_type, aggregate_id, json, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, 0)').run(
      'old', stored.id, 'till-1', 1, 'ticket', stored.aggregate.id, canonicalEventJson(stored),
    );
    migrate(db);
    const ingest = new IngestService(new SqliteCanonicalLog(db), [], { error: () => {} });
    const tillVoid = voidOf('till-1', 2, stored.aggregate.id);
    await ingest.ingest('old', [tillVoid], { terminal: 'till-1', role: 'terminal' });
    const fromManager = await ingest.ingest('old', [tillVoid, stored], { terminal: 'manager-1', role: 'manager' });
    expect(fromManager.results).toEqual([{ id: tillVoid.id, ...REFUSED }, { id: stored.id, status: 'duplicate' }]);
  });
});
