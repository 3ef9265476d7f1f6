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
 * that stores every event it is given, or fails the batches the test says, or holds the next
 * batch until the test lets it go.
 */
function canonicalLog() {
  const stored = new Map<string, Set<number>>();
  let failing = 0;
  let held: Promise<void> | null = null;
  let batches = 0;
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
    failNextBatch: () => void (failing += 1),
    /** The next batch waits for the returned function's call. */
    holdNextBatch: (): (() => void) => {
      let release!: () => void;
      held = new Promise<void>((resolve) => (release = resolve));
      return release;
    },
    /** Batches begun so far. */
    batches: () => batches,
    ingest: {
      async ingestEach(_location: string, uploads: readonly UploadBatch[]): Promise<IngestResult[]> {
        batches += 1;
        const hold = held;
        held = null;
        await hold;
        if (failing > 0) {
          failing -= 1;
          throw new Error('database or disk is full (simulated)');
        }
        return uploads.map(({ raws }) => {
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

/**
 * A loaded room whose relay ingest stores into `canonicalLog()`, and till-1's n = 1 and 2, which
 * arrived while the store took no writes (their batch failed).
 */
async function roomAfterFailedBatch() {
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
  const sales = [1, 2].map((n) => canonicalEventJson(ticketOpenedEvent('till-1', n)));
  log.failNextBatch();
  doc.transact(() => new SegmentWriter(doc, 'till-1').append(sales), fromTill('till-1'));
  // The event index counts them as they arrive: a deleted event stays counted.
  highestHeld(doc, counted);
  await waitFor(() => failures === 1, 'the live batch failed');
  /** A connection deletes the sale (unstored). */
  const deleteSale = (json: string): void => {
    const segment = [...segmentsOf(doc).values()][0]!;
    doc.transact(() => segment.delete(segment.toArray().indexOf(json), 1), fromTill('till-9'));
  };
  /** The room guard puts the sale back. */
  const putBack = (json: string): void => doc.transact(() => new SegmentWriter(doc, 'server').append([json]), SERVER_ORIGIN);
  return { log, relay, room, sales, failures: () => failures, deleteSale, putBack };
}

/**
 * `roomAfterFailedBatch()` with n = 1 deleted by a connection, then put back by the server while
 * the catch-up of the next flush stores n = 2 (held until `release()`). The failed batch took
 * till-1's mark away: n = 1 is below no mark, only below what that catch-up will mark.
 */
async function putBackWhileCatchUpStores() {
  const { log, relay, room, sales, deleteSale, putBack } = await roomAfterFailedBatch();
  const [sale1] = sales;
  deleteSale(sale1!);
  const release = log.holdNextBatch();
  const before = log.batches();
  relay.hook.onFlush!(room);
  await waitFor(() => log.batches() > before, 'catch-up is storing n = 2');
  putBack(sale1!);
  return { log, relay, room, release };
}

/** The batches queued by now are done (the fake store answers at once). */
const settled = () => new Promise((resolve) => setTimeout(resolve, 50));

/** A room whose relay ingest stores into `canonicalLog()`, till-1's sales written live into it, and its unload and load again (as the registry does, flush first). */
function roomThatReloads() {
  const log = canonicalLog();
  const counted = new WeakMap<Room, Map<string, number>>();
  const held = (room: Room) => highestHeld(room.doc, counted.get(room) ?? counted.set(room, new Map()).get(room)!);
  let failures = 0;
  const relay = relayIngestHook(log.ingest, {
    log: { error: () => {} } as never,
    acknowledgements: log.acknowledgements,
    held,
    onFailed: () => void failures++,
  });
  const room = { name: 'loc', doc: new Y.Doc() } as Room;
  relay.hook.onLoad!(room);
  const sale = (n: number) => canonicalEventJson(ticketOpenedEvent('till-1', n));
  const live = (into: Room, ns: number[]) => {
    into.doc.transact(() => new SegmentWriter(into.doc, 'till-1').append(ns.map(sale)), fromTill('till-1'));
    held(into);
  };
  const reload = (from: Room): Room => {
    relay.hook.onFlush!(from);
    relay.hook.onUnload!(from);
    const doc = new Y.Doc();
    Y.applyUpdate(doc, Y.encodeStateAsUpdate(from.doc));
    from.doc.destroy();
    const next = { name: from.name, doc } as Room;
    relay.hook.onLoad!(next);
    return next;
  };
  return { log, relay, room, live, reload, failures: () => failures };
}

/**
 * One room's random life (30 steps, seeded): till-1's sales 1–8 written live in any order,
 * batches failing or held, a connection deleting an event the server puts back later (unless
 * acknowledged), flushes, waits and reloads; then everything let go and a last reload. Returns
 * null when the canonical log holds every event the room holds, else what went missing and the
 * steps taken (for the failure's message).
 */
async function randomRoomLife(seed: number): Promise<string | null> {
  const random = seededRandom(seed);
  const { log, relay, room: first, live, reload } = roomThatReloads();
  let room = first;
  const unwritten = [1, 2, 3, 4, 5, 6, 7, 8];
  const deleted: { room: Room; json: string }[] = [];
  let release: (() => void) | null = null;
  const steps: string[] = [];
  const putBack = async ({ room: into, json }: { room: Room; json: string }): Promise<void> => {
    const n = eventHeadOf(json)!.n;
    if (into.doc.isDestroyed || n <= ((await log.acknowledgements()).marks['till-1'] ?? 0)) return;
    into.doc.transact(() => new SegmentWriter(into.doc, 'server').append([json]), SERVER_ORIGIN);
    steps.push(`put${n}`);
  };
  for (let step = 0; step < 30; step++) {
    const roll = random();
    if (roll < 0.25 && unwritten.length > 0) {
      const [n] = unwritten.splice(Math.floor(random() * unwritten.length), 1);
      live(room, [n!]);
      steps.push(`add${n}`);
    } else if (roll < 0.35) {
      log.failNextBatch();
      steps.push('fail');
    } else if (roll < 0.42) {
      if (release === null) {
        release = log.holdNextBatch();
        steps.push('hold');
      } else {
        release();
        release = null;
        steps.push('release');
      }
    } else if (roll < 0.6) {
      relay.hook.onFlush!(room);
      steps.push('flush');
    } else if (roll < 0.7) {
      const entries = [...segmentsOf(room.doc).values()].flatMap((segment) => segment.toArray().map((json) => ({ segment, json })));
      if (entries.length === 0) continue;
      const { segment, json } = entries[Math.floor(random() * entries.length)]!;
      room.doc.transact(() => segment.delete(segment.toArray().indexOf(json), 1), fromTill('till-9'));
      deleted.push({ room, json });
      steps.push(`del${eventHeadOf(json)!.n}`);
    } else if (roll < 0.8) {
      const next = deleted.shift();
      if (next !== undefined) await putBack(next);
    } else if (roll < 0.93) {
      const ms = Math.floor(random() * 15);
      await new Promise((resolve) => setTimeout(resolve, ms));
      steps.push(`wait${ms}`);
    } else {
      room = reload(room);
      steps.push('reload');
    }
  }
  release?.();
  for (const next of deleted) await putBack(next);
  for (let i = 0; i < 4; i++) {
    await settled();
    relay.hook.onFlush!(room);
  }
  await settled();
  // A last reload: its catch-up skips only what the marks say was judged.
  room = reload(room);
  for (let i = 0; i < 2; i++) {
    await settled();
    relay.hook.onFlush!(room);
  }
  await settled();
  await relay.close();
  const held = new Set(readAllEventJson(room.doc).map((json) => eventHeadOf(json)!.n));
  const missing = [...held].filter((n) => !log.holds('till-1').includes(n));
  return missing.length === 0 ? null : `seed ${seed}: missing ${missing.join(',')} after ${steps.join(' ')}`;
}

/** A small linear congruential generator: the same steps for the same seed. */
function seededRandom(seed: number): () => number {
  return () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
}

describe('relay ingest marks', () => {
  it('[SRV21] an unstored event a connection deleted while catch-up read the room, put back by the server, is caught up', async () => {
    const { log, relay, room, sales, deleteSale, putBack } = await roomAfterFailedBatch();
    const [sale1] = sales;
    // A connection deletes n = 1: the room guard puts it back, but only after catch-up read the room.
    deleteSale(sale1!);
    relay.hook.onFlush!(room);
    await waitFor(() => log.holds('till-1').includes(2), 'catch-up stored n = 2');
    putBack(sale1!);

    relay.hook.onFlush!(room);
    await relay.close();
    // Before, catch-up had judged till-1 up to n = 2: n = 1 was skipped until the server restarted.
    expect(log.holds('till-1')).toEqual([1, 2]);
  });

  it("[SRV21] an unstored event put back at its writer's mark is caught up", async () => {
    const { log, relay, room, sales, deleteSale, putBack } = await roomAfterFailedBatch();
    const [, sale2] = sales;
    deleteSale(sale2!);
    relay.hook.onFlush!(room);
    await waitFor(() => log.holds('till-1').includes(1), 'catch-up stored n = 1');
    // Catch-up judged till-1 up to n = 2, the highest the room counted.
    await settled();
    putBack(sale2!);

    relay.hook.onFlush!(room);
    await relay.close();
    expect(log.holds('till-1')).toEqual([1, 2]);
  });

  it('[SRV21] a catch-up that fails too marks nothing: a later flush catches the events up', async () => {
    const { log, relay, room, failures } = await roomAfterFailedBatch();
    log.failNextBatch();
    relay.hook.onFlush!(room);
    await waitFor(() => failures() === 2, 'the catch-up failed');
    // The flush that scheduled it marked nothing after it: the next flush catches up.
    await settled();
    relay.hook.onFlush!(room);
    await relay.close();
    expect(log.holds('till-1')).toEqual([1, 2]);
  });

  it('[SRV21] an unstored event put back while catch-up stores what it read is caught up', async () => {
    const { log, relay, room, release } = await putBackWhileCatchUpStores();
    release();
    await waitFor(() => log.holds('till-1').includes(2), 'catch-up stored n = 2');
    await settled();

    relay.hook.onFlush!(room);
    await relay.close();
    // Before, catch-up marked till-1 judged up to n = 2 as it ended: n = 1 waited for a restart.
    expect(log.holds('till-1')).toEqual([1, 2]);
  });

  it('[SRV21] a catch-up marks nothing once catch-up became due while it stored, though a flush since scheduled the next', async () => {
    const { log, relay, room, release } = await putBackWhileCatchUpStores();
    // The room's next flush comes while the catch-up still stores: it schedules the next catch-up.
    relay.hook.onFlush!(room);
    release();

    await relay.close();
    // Before, the first catch-up ended marking till-1 judged up to n = 2, and the next one read nothing.
    expect(log.holds('till-1')).toEqual([1, 2]);
  });

  it('[SRV21] a room unloaded while its batch stores, loaded again and failing a lower n: the unloaded one\'s queued marking takes nothing, the n is caught up', async () => {
    const { log, relay, room, live, reload, failures } = roomThatReloads();
    await settled();
    const release = log.holdNextBatch();
    const before = log.batches();
    live(room, [2]); // n = 1 comes later (a gap); this batch is slow
    await waitFor(() => log.batches() > before, 'the first room\'s batch storing');
    const again = reload(room); // its flush's marking waits behind the slow batch
    await settled();
    log.failNextBatch();
    live(again, [1]);
    await waitFor(() => failures() === 1, 'the loaded room\'s batch failed');
    release(); // the first room's queue ends: before, its marking took till-1 up to 2 again
    await settled();
    for (let i = 0; i < 2; i++) {
      relay.hook.onFlush!(again);
      await settled();
    }
    await relay.close();
    expect(log.holds('till-1')).toEqual([1, 2]);
  });

  it('[SRV21] an unloaded room\'s batch of a lower n failing after the room loaded again: the loaded room catches it up', async () => {
    const { log, relay, room, live, reload, failures } = roomThatReloads();
    await settled();
    live(room, [2]);
    await waitFor(() => log.holds('till-1').includes(2), 'n = 2 stored');
    relay.hook.onFlush!(room);
    await settled(); // till-1 judged up to 2
    const release = log.holdNextBatch();
    log.failNextBatch();
    const before = log.batches();
    live(room, [1]); // late, slow, and it will fail
    await waitFor(() => log.batches() > before, 'n = 1 storing');
    const again = reload(room); // its catch-up finds till-1 judged up to 2: nothing behind
    await settled();
    release();
    await waitFor(() => failures() === 1, 'the unloaded room\'s batch failed');
    for (let i = 0; i < 3; i++) {
      relay.hook.onFlush!(again);
      await settled();
    }
    await relay.close();
    expect(log.holds('till-1')).toEqual([1, 2]);
  });

  it('[SRV21] whatever the order of writes, failed and slow batches, deletions put back by the server, flushes and reloads, every event the room holds reaches the canonical log (40 seeded runs)', async () => {
    const lost: string[] = [];
    for (let seed = 1; seed <= 40; seed++) {
      const missing = await randomRoomLife(seed);
      if (missing !== null) lost.push(missing);
    }
    expect(lost).toEqual([]);
  }, 120_000);
});
