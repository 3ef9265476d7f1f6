/** Where the server writes its store, as `rms_store_errors_total{op}` labels a failure. */
export const STORE_WRITE_OPS = ['events', 'relay_ingest', 'room_commit', 'room_flush'] as const;
export type StoreWriteOp = (typeof STORE_WRITE_OPS)[number];

/** The failure /healthz reports: the latest one's site and error, since the first of the run. */
export interface StoreFailure {
  op: StoreWriteOp;
  error: string;
  since: number;
}

/**
 * Whether the store takes writes, as the sites that write it last found: failing from a failed
 * write until a later one stores something. `SELECT 1` still answers on a full disk or while
 * another process holds the write lock, when nothing a terminal sends can be stored.
 */
export class StoreHealth {
  private failure: StoreFailure | null = null;

  constructor(
    private readonly now: () => number,
    /** Each failure (metrics). */
    private readonly onFailed: (op: StoreWriteOp) => void = () => {},
  ) {}

  /** The failure since the last write that stored something, if any. */
  get failing(): StoreFailure | null {
    return this.failure;
  }

  failed(op: StoreWriteOp, err: unknown): void {
    this.failure = { op, error: String(err), since: this.failure?.since ?? this.now() };
    this.onFailed(op);
  }

  succeeded(): void {
    this.failure = null;
  }
}
