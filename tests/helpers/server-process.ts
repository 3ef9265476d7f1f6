import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { buildServer } from '../../scripts/builds.mjs';

const ROOT = resolve(import.meta.dirname, '../..');

/** A fresh data directory under the OS temp dir; remove it with removeDataDir. */
export function makeDataDir(prefix = 'rms-server-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function removeDataDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export interface ServerProcess {
  url: string;
  wsUrl: string;
  port: number;
  child: ChildProcess;
  /** Every JSON log line printed so far. */
  logs: Record<string, unknown>[];
  /** SIGKILL: no shutdown code runs at all. Resolves once the process is gone. */
  kill9(): Promise<void>;
  /** SIGTERM: graceful shutdown. Resolves with the exit code. */
  stop(): Promise<number | null>;
}

export interface SpawnOptions {
  dataDir: string;
  secret: string;
  env?: Record<string, string>;
  /** Fixed port (to restart on the same URL); default 0 = any free port. */
  port?: number;
  /**
   * Run the built server as `npm start` does (dist-server/main.js, built first if stale, plain
   * node) instead of server/main.ts through tsx: for benchmarks that time a restart.
   */
  built?: boolean;
}

/**
 * Starts `server/main.ts` as a real child process on 127.0.0.1 and waits for its
 * `server listening` JSON log line (which carries the port). Runs node with the tsx loader
 * directly (or the built server, see `built`), not the tsx CLI, so the pid is the server
 * itself and kill -9 hits it.
 */
export async function spawnServer(options: SpawnOptions): Promise<ServerProcess> {
  const entry = options.built ? [buildServer()] : ['--import', 'tsx', 'server/main.ts'];
  const child = spawn(process.execPath, entry, {
    cwd: ROOT,
    env: {
      ...process.env,
      PORT: String(options.port ?? 0),
      HOST: '127.0.0.1',
      DATA_DIR: options.dataDir,
      RMS_SECRET: options.secret,
      SEED_DEMO: '0',
      LOG_LEVEL: 'info',
      STATIC_DIR: join(options.dataDir, 'no-static'),
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Record<string, unknown>[] = [];
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));

  const port = await new Promise<number>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`server did not start in 20 s\n${stderr}`)), 20_000);
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      if (!line.startsWith('{')) return;
      try {
        const entry = JSON.parse(line) as Record<string, unknown>;
        logs.push(entry);
        if (entry.msg === 'server listening' && typeof entry.port === 'number') {
          clearTimeout(timer);
          res(entry.port);
        }
      } catch {
        // not a log line
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      rej(new Error(`server exited with ${code} before listening\n${stderr}`));
    });
  });

  return {
    url: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}/sync`,
    port,
    child,
    logs,
    async kill9() {
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      child.kill('SIGTERM');
      return exited;
    },
  };
}
