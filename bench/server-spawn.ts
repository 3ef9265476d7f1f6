import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { createTokenIssuer } from '../server/auth/tokens';
import { buildServer } from '../scripts/builds.mjs';

/** Spawning and watching the separate processes of the server benchmarks. */
const ROOT = resolve(import.meta.dirname, '..');
export const BENCH_SECRET = 'bench-secret-0123456789abcdef';
export const benchTokens = createTokenIssuer(BENCH_SECRET);

export interface Child {
  child: ChildProcess;
  /** Resolves with the next stdout JSON line that has `key`. */
  next<T = Record<string, unknown>>(key: string, timeoutMs?: number): Promise<T>;
  /** Resident set size of the process now (bytes), from /proc. */
  rss(): number;
  stop(): Promise<void>;
}

export function spawnNode(args: string[], env: Record<string, string> = {}): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Record<string, unknown>[] = [];
  const waiters: Array<() => void> = [];
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (!line.startsWith('{')) return;
    try {
      lines.push(JSON.parse(line) as Record<string, unknown>);
      for (const w of waiters.splice(0)) w();
    } catch {
      // not ours
    }
  });
  let exited = false;
  const exit = new Promise<void>((r) =>
    child.once('exit', () => {
      exited = true;
      for (const w of waiters.splice(0)) w();
      r();
    }),
  );
  return {
    child,
    next<T>(key: string, timeoutMs = 60_000): Promise<T> {
      const deadline = Date.now() + timeoutMs;
      return new Promise<T>((res, rej) => {
        const look = (): void => {
          const i = lines.findIndex((l) => key in l);
          if (i >= 0) return res(lines.splice(i, 1)[0] as T);
          if (exited) return rej(new Error(`${args.join(' ')} exited before "${key}"\n${stderr.slice(-2000)}`));
          if (Date.now() > deadline) return rej(new Error(`${args.join(' ')}: no "${key}" in ${timeoutMs} ms\n${stderr.slice(-2000)}`));
          waiters.push(look);
          setTimeout(look, Math.max(0, deadline - Date.now()) + 1).unref();
        };
        look();
      });
    },
    rss() {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
      return kb * 1024;
    },
    async stop() {
      if (!exited) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exit;
      clearTimeout(timer);
    },
  };
}

export interface BenchServer extends Child {
  port: number;
  dataDir: string;
  dispose(): Promise<void>;
}

/**
 * Our server, as production runs it: the built server (`npm start`'s dist-server/main.js,
 * built first if stale) in its own process, auth and SQLite persistence on. (spawnNode's tsx
 * loader only serves `nodeArgs` such as bench/gc-on-signal.ts here.)
 */
export async function spawnOurServer(env: Record<string, string> = {}, nodeArgs: string[] = []): Promise<BenchServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'rms-bench-'));
  const c = spawnNode([...nodeArgs, buildServer()], {
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    RMS_SECRET: BENCH_SECRET,
    SEED_DEMO: '0',
    LOG_LEVEL: 'silent',
    STATIC_DIR: join(dataDir, 'no-static'),
    ...env,
  });
  // LOG_LEVEL silent: no "server listening" line; the ready banner's URL carries the port.
  const port = await new Promise<number>((res, rej) => {
    let out = '';
    const onData = (d: Buffer): void => {
      out += d.toString();
      const m = /open http:\/\/[^:\s]+:(\d+)/.exec(out);
      if (m) {
        c.child.stdout!.off('data', onData);
        res(Number(m[1]));
      }
    };
    c.child.stdout!.on('data', onData);
    c.child.once('exit', () => rej(new Error('our server exited before listening')));
  });
  return {
    ...c,
    port,
    dataDir,
    async dispose() {
      await c.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function spawnProc(mode: string): Promise<Child & { port: number }> {
  const c = spawnNode(['bench/server-procs.ts', mode]);
  const { port } = await c.next<{ port: number }>('port');
  return { ...c, port };
}
