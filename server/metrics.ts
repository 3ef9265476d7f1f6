import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { CloseReason } from '../shared/protocol/close-reasons';
import type { RelayHook } from './relay/hooks';
import { STORE_WRITE_OPS } from './store/store-health';

/**
 * Prometheus metrics of one server instance. Each instance has its own registry, so several
 * servers in one process (tests) never share or double-register counters.
 */
export interface ServerMetrics {
  registry: Registry;
  eventsIngested: Counter<'status'>;
  relayEventsIngested: Counter<'status'>;
  batchSeconds: Histogram;
  relayConnections: Gauge;
  relayRooms: Gauge;
  relayBytes: Counter<'direction'>;
  relayCloses: Counter<'code' | 'reason'>;
  storeErrors: Counter<'op'>;
  relayHook: RelayHook;
}

export function createMetrics(): ServerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'rms_' });
  const eventsIngested = new Counter({
    name: 'rms_events_ingested_total',
    help: 'Events received by POST /api/events, by outcome (accepted, duplicate, rejected)',
    labelNames: ['status'] as const,
    registers: [registry],
  });
  const relayEventsIngested = new Counter({
    name: 'rms_relay_events_ingested_total',
    help: 'Events the relay brought into a room, stored in the canonical log as if posted, by outcome',
    labelNames: ['status'] as const,
    registers: [registry],
  });
  const batchSeconds = new Histogram({
    name: 'rms_batch_duration_seconds',
    help: 'Time to check and store one POST /api/events batch',
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const relayConnections = new Gauge({
    name: 'rms_relay_connections',
    help: 'Open relay websocket connections',
    registers: [registry],
  });
  const relayRooms = new Gauge({
    name: 'rms_relay_rooms',
    help: 'Relay rooms loaded in memory',
    registers: [registry],
  });
  const relayBytes = new Counter({
    name: 'rms_relay_bytes_total',
    help: 'Relay websocket payload bytes, by direction (in, out)',
    labelNames: ['direction'] as const,
    registers: [registry],
  });
  const relayCloses = new Counter({
    name: 'rms_relay_closes_total',
    help: 'Relay connections the server closed, by close code and reason (4413 messageTooLarge and 4422 malformedMessage stop a till syncing live)',
    labelNames: ['code', 'reason'] as const,
    registers: [registry],
  });
  // Listed at 0 from the start, as rms_store_errors_total.
  for (const { code, reason } of Object.values(CloseReason)) relayCloses.inc({ code: String(code), reason }, 0);
  const storeErrors = new Counter({
    name: 'rms_store_errors_total',
    help: 'Store writes that failed (disk full, database locked), by site: events (POST /api/events), relay_ingest, room_commit, room_flush',
    labelNames: ['op'] as const,
    registers: [registry],
  });
  // Listed at 0 from the start, so an alert on its increase sees the first failure.
  for (const op of STORE_WRITE_OPS) storeErrors.inc({ op }, 0);
  const connectionsPerRoom = new Map<string, number>();
  let bytesIn: { inc(n: number): void } | undefined;
  let bytesOut: { inc(n: number): void } | undefined;
  const relayHook: RelayHook = {
    name: 'metrics',
    onConnectionsChanged(room) {
      connectionsPerRoom.set(room.name, room.connections.size);
      let total = 0;
      for (const n of connectionsPerRoom.values()) total += n;
      relayConnections.set(total);
    },
    onUnload(room) {
      connectionsPerRoom.delete(room.name);
    },
    onRoomsChanged(count) {
      relayRooms.set(count);
    },
    onBytes(direction, bytes) {
      // Bound children: a labelled inc() hashes its label object on every frame.
      // (Bound on first use, so /metrics lists a direction only once it carried bytes.)
      if (direction === 'in') (bytesIn ??= relayBytes.labels('in')).inc(bytes);
      else (bytesOut ??= relayBytes.labels('out')).inc(bytes);
    },
  };
  return { registry, eventsIngested, relayEventsIngested, batchSeconds, relayConnections, relayRooms, relayBytes, relayCloses, storeErrors, relayHook };
}

/** Counts one batch's outcomes (POST /api/events or the relay). */
export function countIngested(counter: Counter<'status'>, result: { accepted: number; duplicates: number; rejected: number }): void {
  counter.inc({ status: 'accepted' }, result.accepted);
  counter.inc({ status: 'duplicate' }, result.duplicates);
  counter.inc({ status: 'rejected' }, result.rejected);
}
