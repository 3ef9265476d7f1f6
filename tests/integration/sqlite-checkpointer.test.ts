import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DB_FILE, openDatabase } from '../../server/store/database';
import { startCheckpointer, type CheckpointPolicy } from '../../server/store/checkpointer';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const size = (file: string) => statSync(file).size;
const KiB = 1024;

/** A server database with a checkpointer of this policy, and a way to commit ~`kib` KiB of rows. */
function setUp(policy: CheckpointPolicy) {
  const dir = mkdtempSync(join(tmpdir(), 'rms-ckpt-'));
  const db = openDatabase(dir);
  const checkpointer = startCheckpointer(db, dir, policy);
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }), () => db.close(), () => checkpointer.close());
  db.exec('CREATE TABLE filler (x TEXT)');
  const insert = db.prepare('INSERT INTO filler (x) VALUES (?)');
  // Each commit appends whole 4 KiB pages to the WAL: one transaction per call.
  const commit = db.transaction((kib: number) => {
    for (let i = 0; i < kib; i++) insert.run('x'.repeat(1000));
  });
  const file = join(dir, DB_FILE);
  return { commit, file, wal: `${file}-wal` };
}

describe('SQLite WAL checkpoints (server/store/checkpointer.ts)', () => {
  it('[SRV18] a quiet writer is checkpointed once the WAL holds softBytes, not before however long it waits; the next commit restarts a short WAL', async () => {
    const { commit, file, wal } = setUp({ everyMs: 10, softBytes: 256 * KiB, quietMs: 50, hardBytes: 4096 * KiB });
    commit(60);
    const before = size(file);
    await sleep(300);
    expect(size(file)).toBe(before);

    commit(300);
    // The worker copies the pages while we look: wait for all of them, not the first.
    for (let i = 0; i < 250 && size(file) <= before + 256 * KiB; i++) await sleep(20);
    expect(size(file)).toBeGreaterThan(before + 256 * KiB);
    // A commit restarts the WAL, truncated, once a checkpoint completed (copied and synced):
    // commit, and if it was too early, let the writer be quiet for another checkpoint.
    commit(1);
    for (let i = 0; i < 50 && size(wal) >= 64 * KiB; i++) {
      await sleep(150);
      commit(1);
    }
    expect(size(wal)).toBeLessThan(64 * KiB);
  });

  it('[SRV18] a writer that is never quiet is checkpointed at hardBytes', async () => {
    const { commit, file } = setUp({ everyMs: 5, softBytes: 64 * KiB, quietMs: 60_000, hardBytes: 256 * KiB });
    const before = size(file);
    // ~2 MiB in commits of 16 KiB, a few ms apart: never quiet for quietMs, yet checkpointed
    // (pages copied into the database file) on the way.
    for (let i = 0; i < 128; i++) {
      commit(16);
      await sleep(3);
    }
    for (let i = 0; i < 250 && size(file) < before + 256 * KiB; i++) await sleep(20);
    expect(size(file)).toBeGreaterThan(before + 256 * KiB);
  });
});

describe('the database file', () => {
  it('a data directory whose database file is not a database stops the start with an error naming the file, and leaves the file as it was', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rms-corrupt-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, DB_FILE);
    const garbage = 'this is a backup someone copied over the database\n'.repeat(200);
    writeFileSync(file, garbage);
    expect(() => openDatabase(dir)).toThrow(`cannot open the database ${file}: file is not a database`);
    expect(statSync(file).size).toBe(garbage.length);
  });
});
