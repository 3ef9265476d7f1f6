import type { EventEnvelope } from '../../shared/events/envelope';
import { LocationProjection } from '../../shared/projection/location-projection';
import type { EventStore } from '../store/event-store';
import type { IngestHook } from './ingest-service';

/**
 * The server's projection of each location: the same shared code the terminals run, so a
 * server view and a terminal view of the same events are equal. Built from the canonical
 * store on first use, then kept current by the after-ingest hook (apply is idempotent by
 * event id, so an event seen both by the build and by the hook counts once).
 */
export class ProjectionCache {
  private readonly projections = new Map<string, Promise<LocationProjection>>();

  constructor(private readonly store: EventStore) {}

  get(location: string): Promise<LocationProjection> {
    let p = this.projections.get(location);
    if (p === undefined) {
      p = this.build(location);
      this.projections.set(location, p);
      p.catch(() => this.projections.delete(location));
    }
    return p;
  }

  readonly hook: IngestHook = {
    name: 'projection',
    afterIngest: async ({ location, accepted }) => {
      // Only projections already built need the batch; a later build reads it from the store.
      const pending = this.projections.get(location);
      if (pending === undefined || accepted.length === 0) return;
      (await pending).apply(accepted.map((a) => a.event));
    },
  };

  private async build(location: string): Promise<LocationProjection> {
    const projection = new LocationProjection();
    const events = (await this.store.readAll(location)).map((json) => JSON.parse(json) as EventEnvelope);
    projection.apply(events);
    return projection;
  }
}
