/**
 * An in-process Web Locks manager for Node tests (Node 20 has no navigator.locks):
 * exclusive locks by name, `ifAvailable` grants or passes null, held until the
 * callback's promise settles — the subset of the spec the writer lease relies on.
 * `onHeld` hears each grant, in the requester's async context, with what releases the lock as
 * a browser does when the tab holding it dies (its callback never settling).
 */
export function installWebLocks(onHeld?: (release: () => void) => void): () => void {
  const held = new Set<string>();
  const locks = {
    async request(name: string, options: { ifAvailable?: boolean }, callback: (lock: { name: string } | null) => unknown) {
      if (held.has(name)) {
        if (options.ifAvailable) return callback(null);
        throw new Error('test lock manager only supports ifAvailable requests');
      }
      held.add(name);
      let release: () => void = () => {};
      const released = new Promise<void>((r) => (release = r));
      onHeld?.(release);
      try {
        return await Promise.race([callback({ name }), released]);
      } finally {
        held.delete(name);
      }
    },
  };
  const previous = Object.getOwnPropertyDescriptor(globalThis, 'navigator');
  Object.defineProperty(globalThis, 'navigator', { value: { locks }, configurable: true, writable: true });
  return () => {
    if (previous) Object.defineProperty(globalThis, 'navigator', previous);
    else delete (globalThis as { navigator?: unknown }).navigator;
  };
}
