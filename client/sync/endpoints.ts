/**
 * Where the server is. `VITE_API_BASE` (REST) and `VITE_SYNC_ENDPOINT` (relay websocket)
 * override; with neither set, the app talks to the server that served it.
 */
export interface Endpoints {
  apiBase: string;
  syncEndpoint: string;
}

export function resolveEndpoints(
  env: { VITE_API_BASE?: string; VITE_SYNC_ENDPOINT?: string },
  origin: string,
): Endpoints {
  const apiBase = trimSlash(env.VITE_API_BASE || origin);
  const syncEndpoint = trimSlash(env.VITE_SYNC_ENDPOINT || `${apiBase.replace(/^http/, 'ws')}/sync`);
  return { apiBase, syncEndpoint };
}

/** The endpoints of the running app: its build's settings, else the server that served it. */
export function appEndpoints(): Endpoints {
  const env = (import.meta as { env?: Record<string, string | undefined> }).env ?? {};
  return resolveEndpoints({ VITE_API_BASE: env.VITE_API_BASE, VITE_SYNC_ENDPOINT: env.VITE_SYNC_ENDPOINT }, location.origin);
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}
