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

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}
