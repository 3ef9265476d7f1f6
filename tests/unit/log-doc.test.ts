import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { SegmentWriter, ackRangesOf, publishRanges, readAllEventJson, segmentsOf } from '../../shared/log/log-doc';

function sync(a: Y.Doc, b: Y.Doc): void {
  Y.applyUpdate(b, Y.encodeStateAsUpdate(a, Y.encodeStateVector(b)));
  Y.applyUpdate(a, Y.encodeStateAsUpdate(b, Y.encodeStateVector(a)));
}

describe('SegmentWriter', () => {
  it('[SRV16][STO23] a segment another replica replaced or deleted takes nothing more: the writer opens a new one, and what it writes reaches every replica', () => {
    for (const attack of ['replace', 'delete'] as const) {
      const server = new Y.Doc();
      const writer = new SegmentWriter(server, 'server');
      server.transact(() => writer.append(['e1']));
      const hostile = new Y.Doc();
      sync(server, hostile);
      const [key] = [...segmentsOf(hostile).keys()];
      hostile.transact(() => (attack === 'replace' ? segmentsOf(hostile).set(key!, new Y.Array<string>()) : segmentsOf(hostile).delete(key!)));
      sync(server, hostile);
      expect(readAllEventJson(server)).toEqual([]);
      server.transact(() => writer.append(['e2']));
      const later = new Y.Doc();
      sync(server, hostile);
      sync(server, later);
      for (const doc of [server, hostile, later]) expect(readAllEventJson(doc), attack).toEqual(['e2']);
      // A writer that starts over on this doc does not adopt the array the hostile client put under its key.
      const again = new SegmentWriter(server, 'server');
      server.transact(() => again.append(['e3']));
      expect(readAllEventJson(server).sort()).toEqual(['e2', 'e3']);
    }
  });
});

describe('publishRanges', () => {
  it('[SRV15][OUT8] the room doc\'s ranges are the server\'s: a writer it stores no range above any more goes', () => {
    const doc = new Y.Doc();
    const ranges = ackRangesOf(doc);
    doc.transact(() => publishRanges(ranges, { 'till-1': [[5, 7]], 'till-2': [[3, 3]] }));
    doc.transact(() => publishRanges(ranges, { 'till-1': [[5, 8]] }));
    expect(Object.fromEntries(ranges.entries())).toEqual({ 'till-1': [5, 8] });
  });
});
