import 'fake-indexeddb/auto';
import * as Y from 'yjs';
import { EventStore } from '../client/store/event-store';
import { PERSISTENCE } from '../client/store/origins';
import { HybridClock } from '../shared/clock/hybrid-clock';
import { acksOf } from '../shared/log/log-doc';
import { ticketCommands } from './workload';
import { repeat } from './stats';
import type { BenchRow } from './report';

/**
 * Compaction (issue "Compaction and retention"): 50,000 events of ~11 days of tickets,
 * 95% closed and acknowledged, on a terminal persisted in IndexedDB (fake-indexeddb, which
 * stores the bytes it is given): how long compaction takes, what it frees (IndexedDB bytes
 * and Yjs state), and the cold load (state → Y.Doc → full projection) before vs after.
 */
const SUITE = 'compaction';
const DAY = 24 * 60 * 60_000;

export async function compactionBench({ quick }: { quick: boolean }): Promise<BenchRow[]> {
  const size = quick ? 10_000 : 50_000;
  let wall = Date.UTC(2026, 9, 1, 11);
  const store = await EventStore.open({ location: `compaction-${Math.random()}`, terminal: 'till-1', crossTab: false, clock: new HybridClock({ wallNow: () => wall }) });
  const pending: Promise<unknown>[] = [];
  let last = '';
  let written = 0;
  for (const c of ticketCommands(size, 3, 'D')) {
    const t = Number(c.aggregate.id.split('-').pop());
    if (t % 20 === 0 && /payment_recorded|closed|sale\./.test(c.type)) continue; // 5% stay open
    if (c.aggregate.id !== last) wall += 5 * 60_000;
    last = c.aggregate.id;
    written++;
    pending.push(store.append(c.type, c.payload, { aggregate: c.aggregate, ...(c.key ? { key: c.key } : {}) }));
  }
  await Promise.all(pending);
  // The server's acknowledgement of everything, as it arrives from the relay.
  const server = new Y.Doc();
  acksOf(server).set('till-1', written);
  Y.applyUpdate(store.doc, Y.encodeStateAsUpdate(server), 'relay');
  await store.durable();

  const before = Y.encodeStateAsUpdate(store.doc);
  const t0 = performance.now();
  const report = await store.compact({ now: wall + 3 * DAY });
  const compactMs = performance.now() - t0;
  const after = Y.encodeStateAsUpdate(store.doc);
  store.close();

  const coldLoad = (state: Uint8Array) =>
    repeat(quick ? 3 : 5, async () => {
      const t = performance.now();
      const s = await EventStore.open({ location: `cold-${Math.random()}`, terminal: 'till-2', persistence: 'memory', crossTab: false });
      Y.applyUpdate(s.doc, state, PERSISTENCE);
      const ms = performance.now() - t;
      s.close();
      return ms;
    });
  const coldBefore = await coldLoad(before);
  const coldAfter = await coldLoad(after);
  const k = `${Math.round(written / 1000)}k events`;
  return [
    { suite: SUITE, metric: `compaction time, ${k} (${report.aggregates} tickets removed)`, ours: compactMs, anchor: null, anchorName: '', unit: 'ms', target: null, note: 'plan + one Yjs transaction + IndexedDB rewrite' },
    { suite: SUITE, metric: `IndexedDB bytes after vs before compaction, ${k}`, ours: report.storedBytesAfter!, anchor: report.storedBytesBefore!, anchorName: 'before', unit: 'B', target: { op: '<=', value: 0.15, on: 'ratio' } },
    { suite: SUITE, metric: `Yjs state bytes after vs before compaction, ${k}`, ours: report.stateBytesAfter, anchor: report.stateBytesBefore, anchorName: 'before', unit: 'B', target: { op: '<=', value: 0.15, on: 'ratio' } },
    { suite: SUITE, metric: `cold load after vs before compaction, ${k}`, ours: coldAfter.median, anchor: coldBefore.median, anchorName: 'before', unit: 'ms', spread: `${coldAfter.min.toFixed(0)}–${coldAfter.max.toFixed(0)}`, target: null },
  ];
}
