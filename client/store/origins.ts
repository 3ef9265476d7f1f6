/**
 * Typed Yjs transaction origins. Every transaction on a location doc is tagged with one,
 * and observers branch on it: the store skips re-reading its own `local` writes, the
 * persistence skips what it just loaded, the tab channel does not echo what it received.
 */
export const LOCAL = { kind: 'local' } as const;
export const PERSISTENCE = { kind: 'persistence' } as const;
export const TAB = { kind: 'tab' } as const;
export const COMPACTION = { kind: 'compaction' } as const;

export type TransactionOrigin = typeof LOCAL | typeof PERSISTENCE | typeof TAB | typeof COMPACTION;

/** Anything else (a y-websocket provider, the server) counts as `remote`. */
const KNOWN: ReadonlySet<unknown> = new Set<TransactionOrigin>([LOCAL, PERSISTENCE, TAB, COMPACTION]);

export function originKind(origin: unknown): TransactionOrigin['kind'] | 'remote' {
  return KNOWN.has(origin) ? (origin as TransactionOrigin).kind : 'remote';
}
