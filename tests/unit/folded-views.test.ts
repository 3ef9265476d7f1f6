import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TOMBSTONE_KEPT_MS } from '../../shared/compaction/compaction-plan';
import type { AggregateRef } from '../../shared/events/envelope';
import { IngestService } from '../../server/ingest/ingest-service';
import { openDatabase } from '../../server/store/database';
import { aggregatesMayLeave } from '../../server/store/folded-views';
import { SqliteCanonicalLog } from '../../server/store/sqlite-canonical-log';
import { ticketOpenedEvent } from '../helpers/server-clients';
import { TestWriter } from '../helpers/test-writer';

const DAY_MS = 24 * 60 * 60_000;

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

/** A canonical log in a temp data directory holding `events`, as uploaded. */
async function logHolding(events: Parameters<IngestService['ingest']>[1]): Promise<SqliteCanonicalLog> {
  const dataDir = mkdtempSync(join(tmpdir(), 'rms-folded-views-'));
  const db = openDatabase(dataDir);
  cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
  cleanups.push(() => db.close());
  const store = new SqliteCanonicalLog(db);
  const { results } = await new IngestService(store, [], { error: () => {} }).ingest('bistro', events);
  expect(results.map((r) => r.status)).toEqual(events.map(() => 'accepted'));
  return store;
}

describe('aggregatesMayLeave', () => {
  it('[CMP8] lets a ticket opened longer ago than a tombstone is kept leave, though still open (a terminal lets it go as a fragment); a younger open one stays', async () => {
    const now = Date.now();
    const old = ticketOpenedEvent('till-1', 1, { at: now - TOMBSTONE_KEPT_MS - DAY_MS });
    const young = ticketOpenedEvent('till-1', 2, { at: now - DAY_MS });
    const store = await logHolding([old, young]);
    const compactedAt = new Map([old, young].map((e) => [e.aggregate.id, now] as const));
    expect(await aggregatesMayLeave(store, 'bistro', compactedAt, now)).toEqual(new Set([old.aggregate.id]));
  });

  it('[SRV16] judges a ticket by its newest event, not the one folded last: a note an offline till wrote an hour ago keeps a ticket voided two days ago', async () => {
    const now = Date.now();
    const till = new TestWriter('till-1', () => now - 2 * DAY_MS);
    const late = new TestWriter('till-2', () => now - 60 * 60_000);
    const noted: AggregateRef = { id: 'tk-noted', type: 'ticket' };
    const alone: AggregateRef = { id: 'tk-alone', type: 'ticket' };
    const opened = till.write(noted, 'ticket.opened', { number: 'A-001' });
    late.see(opened);
    // The note's seq is the till's own second event's: the void (seq 3, stamped two days ago) folds after it.
    const events = [opened, late.write(noted, 'ticket.note_set', { note: 'left a scarf' }), till.write(noted, 'ticket.note_set', { note: 'window' }), till.write(noted, 'ticket.voided', { reason: 'walked out' })];
    events.push(till.write(alone, 'ticket.opened', { number: 'A-002' }), till.write(alone, 'ticket.voided', { reason: 'walked out' }));
    const store = await logHolding(events);
    const compactedAt = new Map([noted, alone].map((a) => [a.id, now] as const));
    expect(await aggregatesMayLeave(store, 'bistro', compactedAt, now)).toEqual(new Set([alone.id]));
  });
});
