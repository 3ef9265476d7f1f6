import type * as Y from 'yjs';
import type { LocationProjection } from '../projection/location-projection';
import { acknowledges, type Acknowledgements } from '../log/acknowledgements';
import { compactedOf, deleteEvents, numberedOf, type Tombstone } from '../log/log-doc';
import { parseTicketNumber } from '../domain/ticket-number';
import { DEFAULT_RETENTION, retentionOf, type RetentionPolicy } from './retention-policy';

/**
 * Compaction, as a pure plan and one transaction applying it. Run by any replica (a
 * terminal when idle, short of storage or asked to; the server for its room): the
 * deletions and tombstones are CRDT changes, so every replica ends up agreeing,
 * including one that was offline during it (see Tombstone).
 */
export interface CompactionPlan {
  aggregates: { id: string; number: string | null; eventIds: string[] }[];
  /** Tombstones kept TOMBSTONE_KEPT_MS whose aggregate has no event here any more: dropped. */
  expired: string[];
}

/**
 * How long a tombstone outlives the compaction that wrote it. It hides a late event of its
 * aggregate (a refund a till wrote offline) from the views; a till offline longer than this
 * shows such an event as an aggregate of its own, the server's log keeping the whole of it.
 * Without an end, the doc (every replica's, and each paired till's first sync) grew by a
 * tombstone per ticket for good: ~25 KB a day at 300 tickets, ~10 MB and 1.6 s to apply after
 * a year. A ticket's number stays taken (numberedOf: the highest ordinal per label).
 */
export const TOMBSTONE_KEPT_MS = 90 * 24 * 60 * 60_000;

export function planCompaction(
  projection: LocationProjection,
  acks: Acknowledgements,
  tombstones: ReadonlyMap<string, Tombstone>,
  now: number,
  policy?: RetentionPolicy,
): CompactionPlan {
  const aggregates: CompactionPlan['aggregates'] = [];
  for (const view of projection.all()) {
    const events = projection.eventsOf(view.id);
    // Late events of an archived aggregate (a refund written offline elsewhere) go once the
    // server has them and their own day is past, as a ticket's: until then the Takings of
    // that day can say they are held here and not counted (EventStore.lateOnArchived).
    const archived = tombstones.has(view.id);
    const leaves = archived
      ? events.every((e) => acknowledges(acks, e.origin.terminal, e.origin.n) && now >= (policy ?? DEFAULT_RETENTION).keptUntil(e.at))
      : retentionOf(view, events, acks, now, policy).compactable;
    if (!leaves) continue;
    aggregates.push({ id: view.id, number: view.kind === 'ticket' ? view.number : null, eventIds: events.map((e) => e.id) });
  }
  const expired: string[] = [];
  for (const [id, stone] of tombstones) {
    if (now - stone.at >= TOMBSTONE_KEPT_MS && projection.eventsOf(id).length === 0) expired.push(id);
  }
  return { aggregates, expired };
}

export interface CompactionResult {
  aggregates: number;
  events: number;
  /** Tombstones dropped (expired). */
  tombstones: number;
}

/** Writes the tombstones and deletes the events. Must run inside a transaction the caller tags. */
export function applyCompaction(doc: Y.Doc, plan: CompactionPlan, by: string, at: number): CompactionResult {
  const tombstones = compactedOf(doc);
  const ids = new Set<string>();
  for (const a of plan.aggregates) {
    const previous = tombstones.get(a.id);
    const stone: Tombstone = { at, by, events: (previous?.events ?? 0) + a.eventIds.length, number: a.number ?? previous?.number ?? null };
    tombstones.set(a.id, stone);
    for (const id of a.eventIds) ids.add(id);
  }
  const numbered = numberedOf(doc);
  for (const id of plan.expired) {
    // Its number stays taken: the label's highest ordinal, under this replica's key.
    const number = parseTicketNumber(tombstones.get(id)?.number ?? '');
    const key = number === undefined ? null : `${number.writerLabel}/${by}`;
    if (number !== undefined && key !== null && (numbered.get(key) ?? 0) < number.k) numbered.set(key, number.k);
    tombstones.delete(id);
  }
  return { aggregates: plan.aggregates.length, events: deleteEvents(doc, ids), tombstones: plan.expired.length };
}
