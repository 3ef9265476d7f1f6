import type { NetworkInterfaceInfo } from 'node:os';

/** Whether browsers give pages of `url` a secure context: https, or http on a loopback host. */
export function isSecureContextUrl(url: string): boolean {
  const { protocol, hostname } = new URL(url);
  return protocol === 'https:' || hostname === 'localhost' || hostname.endsWith('.localhost') || hostname === '127.0.0.1' || hostname === '[::1]';
}

/**
 * The server's URLs on this machine's network (IPv4, not loopback) when it listens on every
 * interface: what another device opens (the printed pairing links say localhost otherwise).
 */
export function networkUrls(
  host: string,
  port: number,
  protocol: 'http' | 'https',
  interfaces: NodeJS.Dict<NetworkInterfaceInfo[]>,
): string[] {
  if (!isWildcardHost(host)) return [];
  const addresses = Object.values(interfaces).flatMap((infos) => infos ?? []);
  return addresses.filter((a) => a.family === 'IPv4' && !a.internal).map((a) => `${protocol}://${a.address}:${port}`);
}

/** Whether the server listening on `host` listens on every interface (IPv4 or IPv6). */
export function isWildcardHost(host: string): boolean {
  return host === '0.0.0.0' || host === '::';
}

/**
 * `host` as this machine's URLs name it: localhost for every interface; an IPv6 address in
 * brackets (HOST=::1); localhost for one with a zone (fe80::1%eth0), which has no URL form.
 */
export function urlHost(host: string): string {
  if (isWildcardHost(host) || host.includes('%')) return 'localhost';
  return host.includes(':') ? `[${host}]` : host;
}

/** `value` as one shell word (a DATA_DIR with a space in it): quoted only when it needs to be. */
export function shellWord(value: string): string {
  return /^[\w./:@%+-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}
