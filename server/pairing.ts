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
  if (host !== '0.0.0.0' && host !== '::') return [];
  const addresses = Object.values(interfaces).flatMap((infos) => infos ?? []);
  return addresses.filter((a) => a.family === 'IPv4' && !a.internal).map((a) => `${protocol}://${a.address}:${port}`);
}
