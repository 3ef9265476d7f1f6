/**
 * This browser's localStorage, where small per-device records live (the writer's counter,
 * clock suspects, the quarantine, the last sync time): `undefined` where there is none (Node).
 */
export function deviceStorage(): Storage | undefined {
  return typeof localStorage !== 'undefined' ? localStorage : undefined;
}

/**
 * Writes one record, and says whether the device kept it. localStorage throws when it is full
 * (about 5 MiB per origin, counted with IndexedDB by some browsers): a write path that lets
 * that escape drops the work it was doing (an append, an update from the relay) half done.
 * Callers keep the value in memory either way.
 */
export function keepOnDevice(storage: Storage | undefined, key: string, value: string): boolean {
  try {
    storage?.setItem(key, value);
    return true;
  } catch {
    return false;
  }
}
