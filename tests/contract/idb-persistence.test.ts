import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { IdbPersistence, MERGE_EVERY } from '../../client/store/idb-persistence';
import { failIndexedDbWrites } from '../helpers/failing-disk';
import { until } from '../helpers/until';

describe('IdbPersistence', () => {
  it('[STO14] merges small records into a chunk once writes pause, not during the burst; a reload is exact', async () => {
    const name = `merge-${Math.random()}`;
    const doc = new Y.Doc();
    const log = await IdbPersistence.open(name, doc);
    const entries = doc.getArray<string>('entries');
    for (let i = 0; i < MERGE_EVERY + 10; i++) {
      entries.push([`event ${i}`]);
      await log.committed();
    }
    // The burst is over, but nothing was merged while it ran.
    expect(log.stats()).toMatchObject({ records: MERGE_EVERY + 10, chunks: 0 });
    await until(() => log.stats().chunks === 1, 'the merge after the pause');
    expect(log.stats().records).toBe(1);
    await log.close();

    const reloaded = new Y.Doc();
    const again = await IdbPersistence.open(name, reloaded);
    expect(reloaded.getArray<string>('entries').toArray()).toEqual(entries.toArray());
    expect(again.stats()).toMatchObject({ records: 1, chunks: 1 });
    await again.close();
  });

  it('[STO20][STO19] a write the close found scheduled, refused once: the close tries it again after it, a reload has it; a closed log says nothing more of its health', async () => {
    const name = `close-${Math.random()}`;
    const doc = new Y.Doc();
    const log = await IdbPersistence.open(name, doc);
    const health: string[] = [];
    log.onHealth = (problem) => health.push(problem === null ? 'saved' : 'failed');
    const disk = failIndexedDbWrites('UnknownError', 1);
    doc.getArray<string>('entries').push(['a relayed sale']); // its write is scheduled, not begun
    await log.close();
    disk.restore();
    expect(disk.failing).toBe(false); // the one refusal was used
    expect(health).toEqual([]); // closed before either outcome: nobody to tell

    const reloaded = new Y.Doc();
    const again = await IdbPersistence.open(name, reloaded);
    expect(reloaded.getArray<string>('entries').toArray()).toEqual(['a relayed sale']);
    await again.close();
  });
});

describe('IdbPersistence, two tabs on one database', () => {
  /** Two tabs' persistences on one database; their BroadcastChannel has not delivered anything yet. */
  async function twoTabs(): Promise<{ name: string; a: Y.Doc; b: Y.Doc; tabA: IdbPersistence; tabB: IdbPersistence }> {
    const name = `tabs-${Math.random()}`;
    const a = new Y.Doc();
    const b = new Y.Doc();
    const tabA = await IdbPersistence.open(name, a);
    const tabB = await IdbPersistence.open(name, b);
    return { name, a, b, tabA, tabB };
  }

  async function reloaded(name: string): Promise<string[]> {
    const doc = new Y.Doc();
    const log = await IdbPersistence.open(name, doc);
    await log.close();
    return doc.getArray<string>('entries').toArray().sort();
  }

  it('[STO21] a rewrite in one tab keeps what another tab stored and it had not received: on disk and in its doc', async () => {
    const { name, a, b, tabA, tabB } = await twoTabs();
    a.getArray<string>('entries').push(['a1']);
    await tabA.committed();
    b.getArray<string>('entries').push(['b1']);
    await tabB.committed();
    await tabA.rewrite();
    expect(a.getArray<string>('entries').toArray().sort()).toEqual(['a1', 'b1']);
    // B goes on writing after A's rewrite: its next rewrite keeps A's state too.
    b.getArray<string>('entries').push(['b2']);
    await tabB.committed();
    a.getArray<string>('entries').push(['a2']);
    await tabA.committed();
    await tabB.rewrite();
    await Promise.all([tabA.close(), tabB.close()]);
    expect(await reloaded(name)).toEqual(['a1', 'a2', 'b1', 'b2']);
  });

  it('[STO21] a merge in one tab takes in the other tab\'s records it merges, so its later rewrite keeps them', async () => {
    const { name, a, b, tabA, tabB } = await twoTabs();
    for (let i = 0; i < MERGE_EVERY; i++) {
      a.getArray<string>('entries').push([`a${i}`]);
      await tabA.committed();
    }
    b.getArray<string>('entries').push(['b-while-a-writes']);
    await tabB.committed();
    await tabB.close();
    // A's idle merge folds B's record into A's chunk; A's rewrite then replaces the chunk.
    await until(() => tabA.stats().chunks === 1, 'the merge after the pause');
    expect(a.getArray<string>('entries').toArray()).toContain('b-while-a-writes');
    await tabA.rewrite();
    await tabA.close();
    expect(await reloaded(name)).toContain('b-while-a-writes');
    expect(await reloaded(name)).toHaveLength(MERGE_EVERY + 1);
  });
});
