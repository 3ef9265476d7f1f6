import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { DB_FILE, type Db } from './database';

/**
 * WAL checkpoints off the event loop.
 *
 * SQLite's automatic checkpoint runs inside whichever COMMIT pushes the WAL past 1000
 * pages: it copies the WAL into the database file and fsyncs, synchronously, on the thread
 * that committed — here the event loop. Measured on this machine it was about half of all
 * SQLite time during ingest (a bare insert loop: ~52k rows/s with it, ~100k without), and
 * it lands as a multi-millisecond stall on whatever relay frame or batch triggered it.
 *
 * So the main connection's automatic checkpoint is raised to a backstop (BACKSTOP_PAGES,
 * only reached if this worker stops keeping up), and a worker thread with its own
 * connection runs PASSIVE checkpoints. PASSIVE takes no lock the writer needs (it copies
 * what no reader needs and stops), and the writer restarts the WAL from the beginning at
 * its next commit once a checkpoint completed. Durability is unchanged: commits are in the
 * WAL either way (synchronous = NORMAL), and the checkpoint's fsync now happens in the
 * worker.
 *
 * When, though, matters: a checkpoint fsyncs the WAL, and meanwhile the writer's own
 * write() to the WAL waits on the file system (ext4 here: the page it appends to is under
 * writeback). On a 100 ms clock that stalled a relayed sale's commit by 1–10 ms (measured
 * end to end; 0.1–0.3 ms without). Once per 4 MiB instead, each stall was long enough to
 * be the relay's p99 at 1000 updates/s (41 ms, from 13). So the worker looks at the WAL's
 * size every `everyMs` and checkpoints when the writer is quiet: the WAL holds
 * `softBytes` and has not grown for `quietMs`. A writer that is never quiet is checkpointed
 * at `hardBytes`, small enough for a short stall.
 *
 * The worker is plain JavaScript evaluated from a string (no TypeScript loader needed in
 * the worker, under tsx, vitest or a build alike); it requires better-sqlite3 by the path
 * this module resolves.
 */
export const BACKSTOP_PAGES = 20_000;
export interface CheckpointPolicy {
  /** How often the worker looks at the WAL's size. */
  everyMs: number;
  /** Checkpoint once the WAL holds this much and the writer has been quiet for quietMs. */
  softBytes: number;
  quietMs: number;
  /** Checkpoint at this size however busy the writer is. */
  hardBytes: number;
}

export const DEFAULT_CHECKPOINT_POLICY: CheckpointPolicy = { everyMs: 20, softBytes: 64 * 1024, quietMs: 50, hardBytes: 256 * 1024 };

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { statSync } = require('node:fs');
const Database = require(workerData.driver);
const db = new Database(workerData.file);
db.pragma('busy_timeout = 50');
let timer = null;
const walBytes = () => {
  try { return statSync(workerData.file + '-wal').size; } catch { return 0; }
};
// The writer truncates the WAL when it restarts it (journal_size_limit = 0), so its size is
// what was written since the last checkpoint; until that restart it keeps the size it had.
const { softBytes, quietMs, hardBytes, everyMs } = workerData.policy;
let checkpointedAt = -1;
let lastSize = -1;
let grewAt = Date.now();
const tick = () => {
  const size = walBytes();
  const now = Date.now();
  if (size !== lastSize) { lastSize = size; grewAt = now; }
  if (size === checkpointedAt) return;
  if (size < hardBytes && (size < softBytes || now - grewAt < quietMs)) return;
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
    checkpointedAt = size;
  } catch { /* busy: next tick */ }
};
timer = setInterval(tick, everyMs);
parentPort.on('message', (m) => {
  if (m === 'close') {
    clearInterval(timer);
    try { db.close(); } catch {}
    parentPort.postMessage('closed');
    parentPort.close();
  }
});
`;

export interface Checkpointer {
  /** Stops the worker and closes its connection (before the main connection closes). */
  close(): Promise<void>;
}

export function startCheckpointer(db: Db, dataDir: string, policy: CheckpointPolicy = DEFAULT_CHECKPOINT_POLICY): Checkpointer {
  db.pragma(`wal_autocheckpoint = ${BACKSTOP_PAGES}`);
  db.pragma('journal_size_limit = 0');
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { driver, file: join(dataDir, DB_FILE), policy },
  });
  // A failing worker must not take the server down: fall back to in-line checkpoints.
  let alive = true;
  const fallBack = (): void => {
    if (!alive) return;
    alive = false;
    if (db.open) db.pragma('wal_autocheckpoint = 1000');
  };
  worker.on('error', fallBack);
  worker.on('exit', fallBack);
  worker.unref();
  let closing: Promise<void> | null = null;
  return {
    close() {
      closing ??= new Promise<void>((resolve) => {
        if (!alive) return resolve();
        alive = false;
        const done = (): void => {
          clearTimeout(timer);
          resolve();
        };
        // Bounded: a stuck worker is terminated rather than holding up shutdown.
        const timer = setTimeout(() => void worker.terminate().then(done, done), 2000);
        worker.once('exit', done);
        worker.postMessage('close');
      });
      return closing;
    },
  };
}
