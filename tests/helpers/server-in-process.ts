import { join } from 'node:path';
import { configWith, type RelayLimits, type ServerConfig } from '../../server/config';
import { startServer, type RunningServer } from '../../server/main';
import { makeDataDir, removeDataDir } from './server-process';
import { TEST_SECRET } from './server-clients';

export interface InProcessServer extends RunningServer {
  wsUrl: string;
  dataDir: string;
  /** close() and remove the data directory. */
  dispose(): Promise<void>;
}

/** startServer() on 127.0.0.1, a free port and a fresh data directory. */
export async function startTestServer(
  options: { dataDir?: string; relay?: Partial<RelayLimits>; relayIngest?: boolean; corsOrigins?: string[]; seedDemo?: boolean; tls?: ServerConfig['tls']; now?: () => number } = {},
): Promise<InProcessServer> {
  const dataDir = options.dataDir ?? makeDataDir();
  const server = await startServer(
    configWith({
      port: 0,
      host: '127.0.0.1',
      dataDir,
      secret: TEST_SECRET,
      seedDemo: options.seedDemo ?? false,
      logLevel: 'error',
      staticDir: join(dataDir, 'no-static'),
      corsOrigins: options.corsOrigins ?? [],
      ...(options.relay ? { relay: options.relay } : {}),
      ...(options.relayIngest !== undefined ? { relayIngest: options.relayIngest } : {}),
      ...(options.tls ? { tls: options.tls } : {}),
    }),
    options.now ? { now: options.now } : {},
  );
  return {
    ...server,
    wsUrl: `${options.tls ? 'wss' : 'ws'}://127.0.0.1:${server.port}/sync`,
    dataDir,
    async dispose() {
      await server.close();
      if (options.dataDir === undefined) removeDataDir(dataDir);
    },
  };
}
