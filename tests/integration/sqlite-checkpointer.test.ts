import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DB_FILE, openDatabase } from '../../server/store/database';
import { startCheckpointer, type Checkpointer } from '../../server/store/checkpointer';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const size = (file: string) => statSync(file).size;

describe('SQLite WAL checkpoints (server/store/checkpointer.ts)', () => {
  it('[SRV18] checkpoints in its worker once the WAL holds the threshold, not on a clock; the writer then restarts a short WAL', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rms-ckpt-'));
    const db = openDatabase(dir);
    const checkpointer: Checkpointer = startCheckpointer(db, dir, 10, 256 * 1024);
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }), () => db.close(), () => checkpointer.close());
    db.exec('CREATE TABLE filler (x TEXT)');
    const insert = db.prepare('INSERT INTO filler (x) VALUES (?)');
    // Each commit appends whole 4 KiB pages to the WAL: rows go in one transaction per phase.
    const insertRows = db.transaction((count: number) => {
      for (let i = 0; i < count; i++) insert.run('x'.repeat(1000));
    });
    const file = join(dir, DB_FILE);
    const wal = `${file}-wal`;

    // ~60 KiB: below the threshold, so it stays in the WAL however long we wait.
    insertRows(60);
    const before = size(file);
    await sleep(200);
    expect(size(file)).toBe(before);

    // Past the threshold: the worker copies the WAL into the database file.
    insertRows(300);
    for (let i = 0; i < 250 && size(file) === before; i++) await sleep(20);
    expect(size(file)).toBeGreaterThan(before + 256 * 1024);

    // The next commit starts the WAL over, truncated (journal_size_limit = 0).
    insertRows(1);
    expect(size(wal)).toBeLessThan(64 * 1024);
  });
});
