import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

/**
 * Merging stored room updates, off the event loop.
 *
 * A room stores every update as it happens and, from time to time, merges them into chunks
 * and the chunks into one state (persistence-hook.ts). Merging is pure CPU on bytes — 500
 * single updates take 3–9 ms, a whole 100k-event state about a second — and on the event
 * loop it delayed every frame relayed meanwhile: the relay's p99 at 10 terminals was 21.6 ms
 * with merges, 9.2 ms without. A worker thread does it here; the caller stores the result.
 *
 * The worker runs shared/log/stored-updates.js, the functions terminals merge their own
 * IndexedDB log with. It starts with the merger (~120 ms of CPU, in the worker), so the
 * first merge does not pay for it in the middle of traffic.
 */
export interface UpdateMerger {
  /** One update equivalent to `updates` (mergeUpdatesBounded). */
  merge(updates: readonly Uint8Array[]): Promise<Uint8Array>;
  /** The state of a document built from `pieces` (rebuildState: drops deleted content). */
  rebuild(pieces: readonly Uint8Array[]): Promise<Uint8Array>;
  /** Lets queued jobs finish (bounded), then stops the worker. */
  close(): Promise<void>;
}

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
// The module terminals merge their IndexedDB log with (plain JavaScript, imported natively).
const storedUpdates = import(workerData.module);
parentPort.on('message', async (job) => {
  try {
    const m = await storedUpdates;
    const bytes = job.kind === 'merge' ? m.mergeUpdatesBounded(job.updates) : m.rebuildState(job.updates);
    parentPort.postMessage({ id: job.id, bytes }, [bytes.buffer]);
  } catch (err) {
    parentPort.postMessage({ id: job.id, error: String((err && err.message) || err) });
  }
});
`;

/**
 * The URL of shared/log/stored-updates.js, looked up from this module's folder upwards: two
 * levels up in the sources (server/store/), one in the built server (dist-server/). Thrown
 * at start when missing, rather than failing every merge later.
 */
function storedUpdatesModule(): string {
  const wanted = join('shared', 'log', 'stored-updates.js');
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    if (existsSync(join(dir, wanted))) return pathToFileURL(join(dir, wanted)).href;
    if (dirname(dir) === dir) throw new Error(`${wanted} not found above ${fileURLToPath(import.meta.url)}`);
  }
}

interface Pending {
  done: Promise<Uint8Array>;
  resolve(bytes: Uint8Array): void;
  reject(err: Error): void;
}

/**
 * Starts the merge worker now. It holds the process open only while jobs are pending. If it
 * dies, its pending jobs fail (the caller keeps the unmerged rows, which only cost space) and
 * the next job starts a new one.
 */
export function startUpdateMerger(): UpdateMerger {
  const workerData = { module: storedUpdatesModule() };
  const pending = new Map<number, Pending>();
  let worker: Worker | null = null;
  let nextId = 0;
  let closed = false;

  const failAll = (err: Error): void => {
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };
  const settle = (message: { id: number; bytes?: Uint8Array; error?: string }): void => {
    const p = pending.get(message.id);
    if (p === undefined) return;
    pending.delete(message.id);
    if (message.bytes !== undefined) p.resolve(message.bytes);
    else p.reject(new Error(`update merge failed: ${message.error}`));
    if (pending.size === 0) worker?.unref();
  };
  const spawn = (): Worker => {
    const w = new Worker(WORKER_SOURCE, { eval: true, workerData });
    w.on('message', settle);
    w.on('error', (err) => failAll(err));
    w.on('exit', (code) => {
      if (worker === w) worker = null;
      failAll(new Error(`update merge worker exited (${code})`));
    });
    w.unref();
    return w;
  };
  worker = spawn();
  const run = (kind: 'merge' | 'rebuild', updates: readonly Uint8Array[]): Promise<Uint8Array> => {
    if (closed) return Promise.reject(new Error('update merger is closed'));
    worker ??= spawn();
    worker.ref();
    const id = nextId++;
    let settlers!: Pick<Pending, 'resolve' | 'reject'>;
    const done = new Promise<Uint8Array>((resolve, reject) => (settlers = { resolve, reject }));
    pending.set(id, { done, ...settlers });
    // Copied, not transferred: the caller's updates may share buffers with socket frames.
    worker.postMessage({ id, kind, updates });
    return done;
  };

  return {
    merge: (updates) => run('merge', updates),
    rebuild: (pieces) => run('rebuild', pieces),
    async close() {
      closed = true;
      const w = worker;
      if (w === null) return;
      // Bounded: a stuck merge is abandoned (its rows stay unmerged) rather than holding up shutdown.
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, 5000)));
      await Promise.race([Promise.allSettled([...pending.values()].map((p) => p.done)), timeout]);
      clearTimeout(timer);
      await w.terminate();
    },
  };
}
