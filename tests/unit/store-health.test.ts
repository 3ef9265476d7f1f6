import { describe, expect, it } from 'vitest';
import { StoreHealth } from '../../server/store/store-health';

/** What /healthz reports while the store takes no writes (docs/server.md, "Operations"). */
describe('StoreHealth', () => {
  it('[SRV37] keeps the first failure\'s time while the same place keeps failing, with the latest site and error', () => {
    let t = 1000;
    const health = new StoreHealth(() => t);
    health.failed('events', new Error('disk full'));
    t = 5000;
    // relay ingest writes the canonical log too: the same place
    health.failed('relay_ingest', new Error('locked'));
    expect(health.failing).toEqual({ op: 'relay_ingest', error: 'Error: locked', since: 1000 });
  });

  it('[SRV37] of the two places, reports the one failing longest; a success clears only its own place', () => {
    let t = 1000;
    const health = new StoreHealth(() => t);
    health.failed('room_commit', 'a');
    t = 2000;
    health.failed('events', 'b');
    t = 3000;
    health.failed('room_flush', 'c');
    expect(health.failing).toMatchObject({ op: 'room_flush', since: 1000 });
    health.succeeded('room_commit');
    expect(health.failing).toMatchObject({ op: 'events', since: 2000 });
    health.succeeded('relay_ingest');
    expect(health.failing).toBeNull();
  });
});
