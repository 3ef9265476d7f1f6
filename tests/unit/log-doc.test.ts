import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { SegmentWriter, deleteEmptySegmentsOfEarlierLives, deleteEvents, readAllEventJson, segmentsOf } from '../../shared/log/log-doc';

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

  it('[STO23] a writer\'s segments of its earlier lives go once compaction emptied them; its live segment and other writers\' stay', () => {
    const event = (id: string) => JSON.stringify({ id, origin: { terminal: 'till-1', n: 1 } });
    const firstLife = new Y.Doc();
    firstLife.transact(() => new SegmentWriter(firstLife, 'till-1').append([event('a'), event('b')]));
    firstLife.transact(() => new SegmentWriter(firstLife, 'till-2').append([event('x')]));
    const reloaded = new Y.Doc();
    Y.applyUpdate(reloaded, Y.encodeStateAsUpdate(firstLife));
    reloaded.transact(() => new SegmentWriter(reloaded, 'till-1').append([event('c')]));
    expect(segmentsOf(reloaded).size).toBe(3);
    // Not yet empty: kept.
    reloaded.transact(() => expect(deleteEmptySegmentsOfEarlierLives(reloaded, 'till-1')).toBe(0));
    reloaded.transact(() => {
      deleteEvents(reloaded, new Set(['a', 'b', 'c', 'x']));
      expect(deleteEmptySegmentsOfEarlierLives(reloaded, 'till-1')).toBe(1);
    });
    // The live one (empty too) and till-2's stay; the writer goes on in its own.
    expect(segmentsOf(reloaded).size).toBe(2);
    reloaded.transact(() => new SegmentWriter(reloaded, 'till-1').append([event('d')]));
    expect(readAllEventJson(reloaded)).toEqual([event('d')]);
  });
});
