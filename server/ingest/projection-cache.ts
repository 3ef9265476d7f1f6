import type { EventEnvelope } from '../../shared/events/envelope';
import { LocationProjection } from '../../shared/projection/location-projection';
import type { EventStore } from '../store/event-store';
import type { IngestHook } from './ingest-service';

/** Accepted events wait at most this long before they are folded into a built projection. */
export const PROJECTION_APPLY_EVERY_MS = 100;

/**
 * The server's projection of each location: the same shared code the terminals run, so a
 * server view and a terminal view of the same events are equal. Built from the canonical
 * store on first use, then kept current by the after-ingest hook (apply is idempotent by
 * event id, so an event seen both by the build and by the hook counts once).
 *
 * The hook only queues the accepted events: they are folded in after the response, many
 * batches at once, within PROJECTION_APPLY_EVERY_MS, and before any read (get() folds what
 * is queued first), so a read after a POST's answer always sees that POST's events.
 */
export class ProjectionCache {
  private readonly projections = new Map<string, Promise<LocationProjection>>();
  private readonly unapplied = new Map<string, EventEnvelope[]>();
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly store: EventStore) {}

  async get(location: string): Promise<LocationProjection> {
    let p = this.projections.get(location);
    if (p === undefined) {
      p = this.build(location);
      this.projections.set(location, p);
      p.catch(() => {
        this.projections.delete(location);
        // A later build reads these from the store.
        this.unapplied.delete(location);
      });
    }
    const projection = await p;
    this.applyQueued(location, projection);
    return projection;
  }

  readonly hook: IngestHook = {
    name: 'projection',
    afterIngest: ({ location, accepted }) => {
      // Only projections already built (or building) need the batch; a later build reads it from the store.
      if (!this.projections.has(location) || accepted.length === 0) return;
      const queued = this.unapplied.get(location);
      const events = accepted.map((a) => a.event);
      if (queued === undefined) this.unapplied.set(location, events);
      else queued.push(...events);
      this.timer ??= setTimeout(() => void this.applyAllQueued(), PROJECTION_APPLY_EVERY_MS);
      this.timer.unref?.();
    },
  };

  private async applyAllQueued(): Promise<void> {
    this.timer = null;
    // get() folds the queue in (and drops it if the build failed).
    await Promise.allSettled([...this.unapplied.keys()].map((location) => this.get(location)));
  }

  private applyQueued(location: string, projection: LocationProjection): void {
    const events = this.unapplied.get(location);
    if (events === undefined) return;
    this.unapplied.delete(location);
    projection.apply(events);
  }

  private async build(location: string): Promise<LocationProjection> {
    const projection = new LocationProjection();
    const events = (await this.store.readAll(location)).map((json) => JSON.parse(json) as EventEnvelope);
    projection.apply(events);
    return projection;
  }
}
