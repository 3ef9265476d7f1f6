import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { IdbPersistence, MERGE_EVERY } from '../../client/store/idb-persistence';

async function until(condition: () => boolean, what: string, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

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
});
