/** Where the server writes its store, as `rms_store_errors_total{op}` labels a failure. */
export const STORE_WRITE_OPS = ['events', 'relay_ingest', 'room_commit', 'room_flush'] as const;
export type StoreWriteOp = (typeof STORE_WRITE_OPS)[number];

/** The failure /healthz reports: the latest one's site and error, since the first of the run. */
export interface StoreFailure {
  op: StoreWriteOp;
  error: string;
  since: number;
}

/** What each site writes: a success there clears what failed there only. */
const WRITES: Record<StoreWriteOp, 'events' | 'rooms'> = { events: 'events', relay_ingest: 'events', room_commit: 'rooms', room_flush: 'rooms' };

/**
 * Whether the store takes writes, as the sites that write it last found: failing from a failed
 * write until a later one stores something in the same place (the canonical log, or the rooms'
 * state: with only one of them failing, a success in the other does not say all is well).
 * `SELECT 1` still answers on a full disk or while another process holds the write lock, when
 * nothing a terminal sends can be stored.
 */
export class StoreHealth {
  private readonly failures = new Map<'events' | 'rooms', StoreFailure>();

  constructor(
    private readonly now: () => number,
    /** Each failure (metrics). */
    private readonly onFailed: (op: StoreWriteOp) => void = () => {},
  ) {}

  /** The longest-standing failure not cleared by a write that stored something in its place since, if any. */
  get failing(): StoreFailure | null {
    let first: StoreFailure | null = null;
    for (const f of this.failures.values()) if (first === null || f.since < first.since) first = f;
    return first;
  }

  failed(op: StoreWriteOp, err: unknown): void {
    const place = WRITES[op];
    this.failures.set(place, { op, error: String(err), since: this.failures.get(place)?.since ?? this.now() });
    this.onFailed(op);
  }

  /** A write at `op` stored something. */
  succeeded(op: StoreWriteOp): void {
    this.failures.delete(WRITES[op]);
  }
}
