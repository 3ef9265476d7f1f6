/**
 * What the sync layer tells the staff app and the technical console. The SyncManager
 * publishes a new SyncStatus whenever anything in it changes; screens only read it.
 */

/**
 * Network state as judged from real outcomes (not navigator.onLine alone):
 *   online        requests succeed with normal latency
 *   slow          requests succeed but slowly: longer timeouts, smaller batches
 *   intermittent  recent requests failed, some succeeded: keep trying, with backoff
 *   offline       the browser says so, or every recent request failed
 */
export type ConnectionState =
  | { name: 'online'; latencyMs: number | null }
  | { name: 'slow'; latencyMs: number }
  | { name: 'intermittent'; recentFailures: number }
  | { name: 'offline'; since: number };

/**
 * The relay as staff see it: `syncing` while the socket is open but the room has not answered
 * the first sync yet (it is loading; or a server that never answers, which would otherwise
 * read "connected" while nothing arrives), `connected` once it has.
 */
export type RelayState = 'connected' | 'syncing' | 'connecting' | 'disconnected';

/** Where one event is on its way to the back office. */
export type DeliveryState = 'local' | 'relayed' | 'acknowledged';

export interface QuarantinedEvent {
  eventId: string;
  type: string;
  aggregateId: string;
  terminal: string;
  n: number;
  reason: string;
  field: string | null;
  at: number;
}

export interface SyncSample {
  at: number;
  outbox: number;
  latencyMs: number | null;
}

export interface SyncMetrics {
  attempts: number;
  successes: number;
  failuresByCause: Record<string, number>;
  eventsSent: number;
  bytesSent: number;
  lastSuccessAt: number | null;
  lastLatencyMs: number | null;
  /**
   * Bounded history for the console's small charts (outbox size, sync latency), one sample
   * every SAMPLE_EVERY_MS, paused or not; latency is the last answer's, null since a failure.
   */
  samples: SyncSample[];
}

export interface ConnectedTerminal {
  clientId: number;
  terminal: string;
  role: string;
  staff: string | null;
  /** That terminal's estimate of (server time - its wall clock), ms. */
  clockOffsetMs: number | null;
  self: boolean;
}

export interface SyncStatus {
  connection: ConnectionState;
  relay: RelayState;
  /** Events held here that the server has not acknowledged; null while the store is still reading its log after a cold start. */
  owed: number | null;
  oldestOwedAt: number | null;
  /** Last word from the server that this terminal is in step: an upload stored, the relay synced, or acknowledgement marks arrived. */
  lastSyncAt: number | null;
  /**
   * When the relay first completed its sync with the server's room on this device (kept on the
   * device): the location's menu and tables, which arrive only through the relay, have reached
   * it. Null until then, however many REST answers came (lastSyncAt is set by those too).
   */
  roomReceivedAt: number | null;
  inFlight: boolean;
  /** Uploads failed in a row; the next wait is drawn below backoffMs (its ceiling). */
  attempt: number;
  backoffMs: number;
  nextAttemptAt: number | null;
  /** Relay connects failed in a row (reset once a connection stays up), and when it tries next. */
  relayAttempt: number;
  relayNextAttemptAt: number | null;
  quarantined: QuarantinedEvent[];
  metrics: SyncMetrics;
  clockOffsetMs: number | null;
  terminals: ConnectedTerminal[];
  /** Per-terminal watermarks the server has acknowledged (terminal → highest contiguous n). */
  watermarks: Record<string, number>;
  /** Why the server refuses this terminal (expired or bad token), if it does: staff must re-pair. */
  authProblem: string | null;
  /**
   * Uploads answered but refused whole by something in between (a proxy's 400, 413 or 422, as
   * `HTTP <status>`) since the last one stored, while events are owed: they wait here and are
   * tried again. Null otherwise.
   */
  uploadsRefused: string | null;
  /**
   * Owed events the server rejected as newer than it knows (a type or version of a later
   * build: the server must be updated). Not quarantined: they wait with a long backoff and go
   * once it knows them, while the events after them go.
   */
  awaitingServerUpdate: number;
}
