/**
 * IndexedDB writes fail as browsers report it: the transaction aborts with `error`
 * (fake-indexeddb's own abort step: QuotaExceededError for a full disk) while `failing` is
 * true — for `times` transactions, then `failing` turns false by itself (room again).
 * `restore()` puts IndexedDB back.
 */
export function failIndexedDbWrites(error = 'QuotaExceededError', times = Infinity): { failing: boolean; restore(): void } {
  const add = IDBObjectStore.prototype.add;
  const aborted = new WeakSet<IDBTransaction>();
  const control = {
    failing: true,
    restore: () => {
      IDBObjectStore.prototype.add = add;
    },
  };
  IDBObjectStore.prototype.add = function (this: IDBObjectStore, ...args: Parameters<IDBObjectStore['add']>) {
    const req = add.apply(this, args);
    const tx = this.transaction as IDBTransaction & { _abort(name: string): void };
    if (control.failing && !aborted.has(tx)) {
      aborted.add(tx);
      if (--times <= 0) control.failing = false;
      queueMicrotask(() => tx._abort(error));
    }
    return req;
  };
  return control;
}
