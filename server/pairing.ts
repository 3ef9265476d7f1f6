/** Pairing link a device opens to store its token (the app reads it from the hash route). */
export function pairingLink(baseUrl: string, token: string, location: string, terminal: string): string {
  const q = new URLSearchParams({ token, location, terminal });
  return `${baseUrl}/#/pair?${q.toString()}`;
}
