import { createRequire } from 'node:module';
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
 * The worker is plain JavaScript evaluated from a string (as in checkpointer.ts: no
 * TypeScript loader needed under tsx, vitest or a build); it requires yjs by the path this
 * module resolves, so both threads run the same Yjs.
 */
export interface UpdateMerger {
  /** One update equivalent to `updates` (Y.mergeUpdates, at most MERGE_FAN_IN inputs per call). */
  merge(updates: readonly Uint8Array[]): Promise<Uint8Array>;
  /**
   * The state of a document built from `pieces`, re-encoded (Y.encodeStateAsUpdate of a fresh
   * doc): unlike a merge, it drops the content of deleted items, so compaction frees space.
   */
  rebuild(pieces: readonly Uint8Array[]): Promise<Uint8Array>;
  /** Lets queued jobs finish (bounded), then stops the worker. */
  close(): Promise<void>;
}

/** Inputs per Y.mergeUpdates call: its cost grows with the square of its inputs. */
export const MERGE_FAN_IN = 16;

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Y = require(workerData.yjs);
const FAN_IN = workerData.fanIn;
// Y.mergeUpdates re-sorts all its inputs for every struct it writes (quadratic in inputs):
// merging FAN_IN at a time, level by level, keeps it O(n log n) for the same document.
function merge(updates) {
  let level = updates;
  while (level.length > FAN_IN) {
    const next = [];
    for (let i = 0; i < level.length; i += FAN_IN) next.push(Y.mergeUpdates(level.slice(i, i + FAN_IN)));
    level = next;
  }
  return Y.mergeUpdates(level);
}
function rebuild(pieces) {
  const doc = new Y.Doc();
  doc.transact(() => { for (const p of pieces) Y.applyUpdate(doc, p); });
  const state = Y.encodeStateAsUpdate(doc);
  doc.destroy();
  return state;
}
parentPort.on('message', (job) => {
  try {
    const bytes = job.kind === 'merge' ? merge(job.updates) : rebuild(job.updates);
    parentPort.postMessage({ id: job.id, bytes }, [bytes.buffer]);
  } catch (err) {
    parentPort.postMessage({ id: job.id, error: String((err && err.message) || err) });
  }
});
`;

interface Pending {
  resolve(bytes: Uint8Array): void;
  reject(err: Error): void;
}

/**
 * Starts the merge worker lazily, at the first job. It holds the process open only while jobs
 * are pending. If it dies, its pending jobs fail (the caller keeps the unmerged rows, which
 * only cost space) and the next job starts a new one.
 */
export function startUpdateMerger(): UpdateMerger {
  const yjs = createRequire(import.meta.url).resolve('yjs');
  const pending = new Map<number, Pending>();
  const inFlight = new Set<Promise<Uint8Array>>();
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
    const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { yjs, fanIn: MERGE_FAN_IN } });
    w.on('message', settle);
    w.on('error', (err) => failAll(err));
    w.on('exit', (code) => {
      if (worker === w) worker = null;
      failAll(new Error(`update merge worker exited (${code})`));
    });
    return w;
  };
  const run = (kind: 'merge' | 'rebuild', updates: readonly Uint8Array[]): Promise<Uint8Array> => {
    if (closed) return Promise.reject(new Error('update merger is closed'));
    worker ??= spawn();
    worker.ref();
    const id = nextId++;
    const done = new Promise<Uint8Array>((resolve, reject) => pending.set(id, { resolve, reject }));
    // Copied, not transferred: the caller's updates may share buffers with socket frames.
    worker.postMessage({ id, kind, updates });
    inFlight.add(done);
    const forget = (): boolean => inFlight.delete(done);
    done.then(forget, forget);
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
      await Promise.race([Promise.allSettled([...inFlight]), timeout]);
      clearTimeout(timer);
      await w.terminate();
    },
  };
}
