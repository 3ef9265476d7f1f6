import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acksOf, readAllEventJson, relayedOf } from '../../shared/log/log-doc';
import { makeDataDir, removeDataDir, spawnServer, type ServerProcess } from '../helpers/server-process';
import {
  TEST_SECRET,
  api,
  connectSynced,
  eventIdsIn,
  mint,
  postEvents,
  ticketOpenedEvent,
  waitFor,
} from '../helpers/server-clients';

type Page = { events: { id: string }[]; next: string; hasMore: boolean };

describe('crash safety: kill -9 loses nothing that was acknowledged', () => {
  let dataDir: string;
  let server: ServerProcess;
  // Compact often so the crash hits a room with both a state row and appended updates.
  const env = { RELAY_COMPACT_EVERY_UPDATES: '7', SEED_DEMO: '1' };

  beforeAll(async () => {
    dataDir = makeDataDir();
    server = await spawnServer({ dataDir, secret: TEST_SECRET, env });
  });
  afterAll(async () => {
    await server.stop();
    removeDataDir(dataDir);
  });

  it('[SRV9] room state and canonical log are intact after kill -9 and restart', async () => {
    const token = await mint('loc-crash', 'terminal', 'till-1');
    const writer = await connectSynced(server.wsUrl, 'loc-crash', token);
    const watcher = await connectSynced(server.wsUrl, 'loc-crash', await mint('loc-crash', 'terminal', 'till-2'));
    for (let i = 0; i < 30; i++) writer.doc.getMap<number>('counters').set(`k${i}`, i);
    const events = Array.from({ length: 12 }, (_, i) => ticketOpenedEvent('till-1', i + 1));
    const posted = await postEvents(server.url, token, events);
    expect(posted.body.results).toEqual(events.map((e) => ({ id: e.id, status: 'accepted' })));
    // The watcher seeing everything means the server applied it, and stored it in the same
    // event-loop turn (group commit); `relayed` is published only once the events are stored.
    await waitFor(
      () =>
        watcher.doc.getMap('counters').size === 30 &&
        eventIdsIn(watcher.doc).length === 12 &&
        relayedOf(watcher.doc).get('till-1') === 12,
      'watcher has all',
    );
    const expectedCounters = watcher.doc.getMap('counters').toJSON();
    writer.destroy();
    watcher.destroy();

    await server.kill9();
    server = await spawnServer({ dataDir, secret: TEST_SECRET, env });

    const after = await connectSynced(server.wsUrl, 'loc-crash', token);
    expect(after.doc.getMap('counters').toJSON()).toEqual(expectedCounters);
    expect(eventIdsIn(after.doc).sort()).toEqual(events.map((e) => e.id).sort());
    expect(acksOf(after.doc).get('till-1')).toBe(12);
    after.destroy();

    const log = await api<Page>(server.url, '/api/events?limit=1000', token);
    expect(log.body.events.map((e) => e.id)).toEqual(events.map((e) => e.id));
    expect((await api(server.url, '/api/watermarks', token)).body).toMatchObject({ watermarks: { 'till-1': 12 } });
    // Idempotency survives the crash too.
    const again = await postEvents(server.url, token, events);
    expect(again.body.results).toEqual(events.map((e) => ({ id: e.id, status: 'duplicate' })));
  });

  it('the demo location is seeded once, in the store and in the room, and not again after restarts', async () => {
    const token = await mint('demo', 'terminal', 'till-1');
    const log = await api<Page>(server.url, '/api/events?limit=1000', token);
    expect(log.body.events).toHaveLength(21);
    const room = await connectSynced(server.wsUrl, 'demo', token);
    const inRoom = readAllEventJson(room.doc).map((j) => JSON.parse(j) as { type: string });
    expect(inRoom.filter((e) => e.type === 'menu.item_defined')).toHaveLength(12);
    expect(inRoom.filter((e) => e.type === 'table.defined')).toHaveLength(8);
    expect(inRoom.filter((e) => e.type === 'location.details_set')).toHaveLength(1);
    room.destroy();
    const categories = await api<{ state: { category?: string } }>(server.url, '/api/aggregates/menu_item/demo-item-1', token);
    expect(categories.status).toBe(200);
  });
});
