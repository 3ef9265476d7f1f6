/**
 * A localStorage for Node tests (what survives a reload of a tab in a browser): the store's
 * counters and lists read it as they read the browser's. `saved` is what it holds;
 * `restore()` takes it away again.
 */
export function installLocalStorage(): { saved: Map<string, string>; restore(): void } {
  const saved = new Map<string, string>();
  const g = globalThis as { localStorage?: unknown };
  g.localStorage = { getItem: (k: string) => saved.get(k) ?? null, setItem: (k: string, v: string) => void saved.set(k, v), removeItem: (k: string) => void saved.delete(k) };
  return {
    saved,
    restore: () => {
      delete g.localStorage;
    },
  };
}
