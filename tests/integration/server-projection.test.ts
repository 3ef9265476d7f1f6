import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TICKET_AGGREGATE } from '../../shared/domain/ticket-events';
import { canonicalEventJson, type EventEnvelope } from '../../shared/events/envelope';
import type { TakingsResponse } from '../../shared/protocol/rest-reports';
import { LocationProjection } from '../../shared/projection/location-projection';
import { dayTakings } from '../../shared/reports/day-takings';
import { DB_FILE, migrate, openDatabase } from '../../server/store/database';
import { SqliteCanonicalLog } from '../../server/store/sqlite-canonical-log';
import { startTestServer, type InProcessServer } from '../helpers/server-in-process';
import { makeDataDir, removeDataDir } from '../helpers/server-process';
import { api, mint, postEvents } from '../helpers/server-clients';
import { TestWriter } from '../helpers/test-writer';

const LOCATION = 'loc-folds';
const HOUR = 3600_000;
/** The business day asked for (Nov 21, 04:00 to 04:00 UTC); the tickets of Nov 20 are the day before's. */
const TODAY = { from: Date.parse('2026-11-21T04:00:00Z'), to: Date.parse('2026-11-22T04:00:00Z') };
const YESTERDAY = TODAY.from - 12 * HOUR;

/**
 * Two days of one location: `tk-old` sold and closed yesterday; `tk-open` opened yesterday and
 * still open; `tk-late` opened and paid yesterday, closed today; `tk-today` sold today;
 * `tk-reopened` closed yesterday, then reopened by a manager (a line added after the close,
 * settled `reopen`): open now, with no event today; `tk-settled` closed yesterday with a second
 * payment a manager handed back yesterday (a resolution that reopens nothing).
 */
function twoDays(): { till: EventEnvelope[]; manager: EventEnvelope[]; later: (ticket: string, type: string, payload: unknown) => EventEnvelope } {
  let wall = YESTERDAY;
  const till = new TestWriter('till-1', () => wall);
  const tillEvents: EventEnvelope[] = [];
  const write = (ticket: string, type: string, payload: unknown): EventEnvelope => {
    const e = till.write({ type: TICKET_AGGREGATE, id: ticket }, type, payload);
    tillEvents.push(e);
    return e;
  };
  const line = (ticket: string, n: number, cents: number): void => {
    write(ticket, 'ticket.item_added', { lineId: `${ticket}-l${n}`, menuItemId: 'm-1', name: 'Dish', unitPriceCents: cents, quantity: 1 });
  };
  const sale = (ticket: string, number: string, cents: number, close = true): void => {
    write(ticket, 'ticket.opened', { number });
    line(ticket, 1, cents);
    write(ticket, 'ticket.payment_recorded', { paymentId: `${ticket}-p1`, method: 'card', amountCents: cents });
    if (close) write(ticket, 'ticket.closed', { totalCents: cents });
  };
  sale('tk-old', 'A-001', 800);
  write('tk-open', 'ticket.opened', { number: 'A-002' });
  line('tk-open', 1, 500);
  sale('tk-late', 'A-003', 1200, false);
  sale('tk-reopened', 'A-004', 900);
  sale('tk-settled', 'A-005', 700);
  wall += HOUR;
  line('tk-reopened', 2, 300);
  const conflict = projected(tillEvents).get('tk-reopened');
  if (conflict?.kind !== 'ticket' || conflict.conflicts.length !== 1) throw new Error('tk-reopened has no conflict to settle');
  const managerWriter = new TestWriter('manager-1', () => wall).see(...tillEvents);
  const resolved = managerWriter.write({ type: TICKET_AGGREGATE, id: 'tk-reopened' }, 'conflict.resolved', { conflictId: conflict.conflicts[0]!.conflictId, resolution: { kind: 'reopen' } });
  const twice = managerWriter.write({ type: TICKET_AGGREGATE, id: 'tk-settled' }, 'ticket.payment_recorded', { paymentId: 'tk-settled-p2', method: 'cash', amountCents: 700 });
  const over = projected([...tillEvents, twice]).get('tk-settled');
  if (over?.kind !== 'ticket' || over.conflicts.length !== 1) throw new Error('tk-settled has no over-payment to settle');
  const handedBack = managerWriter.write({ type: TICKET_AGGREGATE, id: 'tk-settled' }, 'conflict.resolved', { conflictId: over.conflicts[0]!.conflictId, resolution: { kind: 'refund_payment' } });
  wall = TODAY.from + 10 * HOUR;
  write('tk-late', 'ticket.closed', { totalCents: 1200 });
  sale('tk-today', 'B-001', 2000);
  const later = (ticket: string, type: string, payload: unknown): EventEnvelope => {
    wall = TODAY.from + 11 * HOUR;
    return till.write({ type: TICKET_AGGREGATE, id: ticket }, type, payload);
  };
  return { till: tillEvents, manager: [resolved, twice, handedBack], later };
}

function projected(events: readonly EventEnvelope[]): LocationProjection {
  const p = new LocationProjection();
  p.apply(events);
  return p;
}

function aggregatesOf(jsons: readonly string[]): string[] {
  return [...new Set(jsons.map((j) => (JSON.parse(j) as EventEnvelope).aggregate.id))].sort();
}

describe('Server views folded per request from the events they need (SRV28)', () => {
  let server: InProcessServer;
  let manager: string;
  let till: string;
  let events: EventEnvelope[];
  let later: ReturnType<typeof twoDays>['later'];

  beforeAll(async () => {
    server = await startTestServer();
    manager = await mint(LOCATION, 'manager', 'manager-1');
    till = await mint(LOCATION, 'terminal', 'till-1');
    const written = twoDays();
    events = [...written.till, ...written.manager];
    later = written.later;
    for (const [token, batch] of [[till, written.till], [manager, written.manager]] as const) {
      const res = await postEvents(server.url, token, batch);
      expect(res.body.results.map((r) => r.status)).toEqual(batch.map(() => 'accepted'));
    }
  });
  afterAll(async () => {
    await server.dispose();
  });

  it('[SRV28][SRV25] a takings report reads only the tickets of its window and those that may be open, and answers as the whole log\'s projection', async () => {
    const db = openDatabase(server.dataDir);
    try {
      const read = await new SqliteCanonicalLog(db).readTakingsTickets(LOCATION, TODAY);
      expect(aggregatesOf(read)).toEqual(['tk-late', 'tk-open', 'tk-reopened', 'tk-today']);
    } finally {
      db.close();
    }
    const res = await api<TakingsResponse>(server.url, `/api/reports/takings?from=${TODAY.from}&to=${TODAY.to}`, manager);
    expect(res.status).toBe(200);
    expect(res.body.takings).toEqual(dayTakings(projected(events).all(TICKET_AGGREGATE), TODAY));
    expect(res.body.takings).toMatchObject({ closed: { count: 2, amountCents: 3200 }, open: { count: 2, amountCents: 800 } });
  });

  it('[SRV28] an aggregate read folds its own events as stored now: one posted after the last read is in the next', async () => {
    const path = '/api/aggregates/ticket/tk-open';
    const before = await api<{ events: { id: string }[] }>(server.url, path, till);
    expect(before.body.events.map((e) => e.id)).toEqual(events.filter((e) => e.aggregate.id === 'tk-open').map((e) => e.id));
    const added = later('tk-open', 'ticket.item_added', { lineId: 'tk-open-l2', menuItemId: 'm-1', name: 'Dish', unitPriceCents: 700, quantity: 1 });
    expect((await postEvents(server.url, till, [added])).body.results[0]).toMatchObject({ status: 'accepted' });
    const after = await api<{ state: { totalCents: number }; events: { id: string }[] }>(server.url, path, till);
    expect(after.body.events.map((e) => e.id)).toEqual([...before.body.events.map((e) => e.id), added.id]);
    expect(after.body.state.totalCents).toBe(1200);
  });

  it('[SRV28] the migration fills the event time, type and ticket ends of a log stored before it', async () => {
    const dataDir = makeDataDir();
    const db = new Database(join(dataDir, DB_FILE));
    try {
      migrate(db, 2);
      const insert = db.prepare('INSERT INTO events (location, id, terminal, n, aggregate_type, aggregate_id, json, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, 0)');
      for (const e of events) insert.run(LOCATION, e.id, e.origin.terminal, e.origin.n, e.aggregate.type, e.aggregate.id, canonicalEventJson(e));
      migrate(db);
      const store = new SqliteCanonicalLog(db);
      expect(aggregatesOf(await store.readTakingsTickets(LOCATION, TODAY))).toEqual(['tk-late', 'tk-open', 'tk-reopened', 'tk-today']);
      expect(aggregatesOf(await store.readTakingsTickets(LOCATION, { from: TODAY.from - 24 * HOUR, to: TODAY.from }))).toEqual(['tk-late', 'tk-old', 'tk-open', 'tk-reopened', 'tk-settled']);
      expect((await store.readAggregate(LOCATION, 'tk-old')).map((j) => (JSON.parse(j) as EventEnvelope).id)).toEqual(events.filter((e) => e.aggregate.id === 'tk-old').map((e) => e.id));
    } finally {
      db.close();
      removeDataDir(dataDir);
    }
  });
});
