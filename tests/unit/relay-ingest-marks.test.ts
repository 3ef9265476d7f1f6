import * as Y from 'yjs';
import { describe, expect, it } from 'vitest';
import { canonicalEventJson } from '../../shared/events/envelope';
import { eventHeadOf } from '../../shared/log/event-head';
import { SegmentWriter, readAllEventJson, segmentsOf } from '../../shared/log/log-doc';
import type { IngestResult, UploadBatch } from '../../server/ingest/ingest-service';
import { relayIngestHook } from '../../server/ingest/relay-ingest-hook';
import { SERVER_ORIGIN } from '../../server/relay/origins';
import type { Room } from '../../server/relay/room';
import { ticketOpenedEvent, waitFor } from '../helpers/server-clients';

/**
 * The relay ingest's marks of what it judged (SRV21), against a canonical log held in memory
 * that stores every event it is given, or fails the batch the test says.
 */
function canonicalLog() {
  const stored = new Map<string, Set<number>>();
  let failNext = false;
  const watermarks = (): Record<string, number> => {
    const marks: Record<string, number> = {};
    for (const [writer, ns] of stored) {
      let n = 0;
      while (ns.has(n + 1)) n++;
      marks[writer] = n;
    }
    return marks;
  };
  return {
    holds: (writer: string): number[] => [...(stored.get(writer) ?? [])].sort((a, b) => a - b),
    failNextBatch: () => void (failNext = true),
    ingest: {
      async ingestEach(_location: string, batches: readonly UploadBatch[]): Promise<IngestResult[]> {
        if (failNext) {
          failNext = false;
          throw new Error('database or disk is full (simulated)');
        }
        return batches.map(({ raws }) => {
          for (const raw of raws as { origin: { terminal: string; n: number } }[]) {
            const { terminal, n } = raw.origin;
            stored.set(terminal, (stored.get(terminal) ?? new Set()).add(n));
          }
          return { results: [], watermarks: watermarks(), storedAbove: {}, accepted: raws.length, duplicates: 0, rejected: 0 };
        });
      },
    },
    acknowledgements: async () => ({ marks: watermarks(), above: {} }),
  };
}

/** Per writer, the highest n the room holds (as the event index counts it: a deleted event stays counted). */
function highestHeld(doc: Y.Doc, into: Map<string, number>): Map<string, number> {
  for (const json of readAllEventJson(doc)) {
    const head = eventHeadOf(json);
    if (head?.terminal) into.set(head.terminal, Math.max(into.get(head.terminal) ?? 0, head.n));
  }
  return into;
}

const fromTill = (terminal: string) => ({ kind: 'remote', connection: { claims: { role: 'terminal', terminal } } });

describe('relay ingest marks', () => {
  it('[SRV21] an unstored event a connection deleted while catch-up read the room, put back by the server, is caught up', async () => {
    const log = canonicalLog();
    const doc = new Y.Doc();
    const counted = new Map<string, number>();
    let failures = 0;
    const relay = relayIngestHook(log.ingest, {
      log: { error: () => {} } as never,
      acknowledgements: log.acknowledgements,
      held: () => highestHeld(doc, counted),
      onFailed: () => void failures++,
    });
    const room = { name: 'loc', doc } as Room;
    relay.hook.onLoad!(room);
    const [sale1, sale2] = [1, 2].map((n) => canonicalEventJson(ticketOpenedEvent('till-1', n)));

    // till-1's n = 1 and 2 arrive while the store takes no writes.
    log.failNextBatch();
    doc.transact(() => new SegmentWriter(doc, 'till-1').append([sale1!, sale2!]), fromTill('till-1'));
    await waitFor(() => failures === 1, 'the live batch failed');
    // A connection deletes n = 1 (unstored): the room guard puts it back, but only after catch-up read the room.
    const segment = [...segmentsOf(doc).values()][0]!;
    doc.transact(() => segment.delete(segment.toArray().indexOf(sale1!), 1), fromTill('till-9'));
    relay.hook.onFlush!(room);
    await waitFor(() => log.holds('till-1').includes(2), 'catch-up stored n = 2');
    doc.transact(() => new SegmentWriter(doc, 'server').append([sale1!]), SERVER_ORIGIN);

    relay.hook.onFlush!(room);
    await relay.close();
    // Before, catch-up had judged till-1 up to n = 2: n = 1 was skipped until the server restarted.
    expect(log.holds('till-1')).toEqual([1, 2]);
  });
});
