/**
 * The pairing link a device opens to store its token (the app reads it from the hash route),
 * printed by the server and the token CLI, and made by a manager's console.
 * `baseUrl` may end in `/` (a PUBLIC_URL like `https://pos.example/`): it is not doubled.
 */
export function pairingLink(baseUrl: string, token: string, location: string, terminal: string): string {
  const q = new URLSearchParams({ token, location, terminal });
  return `${baseUrl.replace(/\/+$/, '')}/#/pair?${q.toString()}`;
}
