import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ackRangesOf, acksOf } from '../../shared/log/log-doc';
import { canonicalEventJson } from '../../shared/events/envelope';
import { roomBridgeHook } from '../../server/ingest/room-bridge';
import { createEventIndex } from '../../server/relay/event-index-hook';
import { Room } from '../../server/relay/room';
import type { RoomRegistry } from '../../server/relay/room-registry';
import type { ValidEvent } from '../../server/store/canonical-log';
import { eventIdsIn, ticketOpenedEvent } from '../helpers/server-clients';

/**
 * The bridge writes into the room after the response, a location's pending work in one
 * transaction per write: checked here on a real room (event index on, no persistence) with
 * fake timers, so the grace and the write interval are exact.
 */
describe('bridge: batched writes into the room', () => {
  const GRACE = 3_000;
  const EVERY = 100;
  let room: Room;
  let updates: number;
  /** How many of the next room loads fail. */
  let failingLoads: number;
  let released: number;
  const log = { error: vi.fn() };

  beforeEach(async () => {
    vi.useFakeTimers({ now: 1_000_000 });
    updates = 0;
    failingLoads = 0;
    released = 0;
    log.error.mockClear();
  });
  afterEach(() => {
    room.destroy();
    vi.useRealTimers();
  });

  const setUp = async () => {
    const index = createEventIndex();
    room = new Room('loc', [index.hook]);
    await index.hook.onLoad?.(room);
    room.doc.on('update', () => (updates += 1));
    const rooms = {
      acquire: async () => {
        if (failingLoads === 0) return room;
        failingLoads -= 1;
        throw new Error('room failed to load');
      },
      release: () => (released += 1),
    } as unknown as RoomRegistry;
    return roomBridgeHook(rooms, index, log, { graceMs: GRACE, everyMs: EVERY });
  };
  const valid = (terminal: string, n: number): ValidEvent => {
    const event = ticketOpenedEvent(terminal, n);
    return { event, canonical: canonicalEventJson(event) };
  };

  it("writes a terminal's own batches of one interval in one transaction, never before their grace", async () => {
    const bridge = await setUp();
    const batches = [1, 2, 3].map((n) => [valid('till-1', n)]);
    for (const [i, accepted] of batches.entries()) {
      await bridge.afterIngest({ location: 'loc', accepted, watermarks: { 'till-1': i + 1 }, storedAbove: {}, uploader: 'till-1' });
      await vi.advanceTimersByTimeAsync(10);
    }
    // The watermarks were published within EVERY, in one transaction; no event yet.
    await vi.advanceTimersByTimeAsync(EVERY);
    expect(acksOf(room.doc).get('till-1')).toBe(3);
    expect(eventIdsIn(room.doc)).toEqual([]);
    expect(updates).toBe(1);
    // 1 ms before the first batch's grace ends: still nothing.
    await vi.advanceTimersByTimeAsync(GRACE - EVERY - 30 - 1);
    expect(eventIdsIn(room.doc)).toEqual([]);
    await vi.advanceTimersByTimeAsync(EVERY + 1);
    expect(eventIdsIn(room.doc)).toEqual(batches.flat().map((v) => v.event.id));
    expect(updates).toBe(2);
    expect(log.error).not.toHaveBeenCalled();
  });

  it('writes events uploaded on behalf of others at the next turn, and flush() writes what still waits', async () => {
    const bridge = await setUp();
    const own = valid('till-1', 1);
    // One of the uploading terminal's tabs writes as till-1.2: its events are the terminal's own too.
    const tab = valid('till-1.2', 1);
    const others = valid('till-2', 1);
    await bridge.afterIngest({ location: 'loc', accepted: [own, tab, others], watermarks: { 'till-1': 1, 'till-1.2': 1, 'till-2': 1 }, storedAbove: {}, uploader: 'till-1' });
    await vi.advanceTimersByTimeAsync(1);
    expect(eventIdsIn(room.doc)).toEqual([others.event.id]);
    await bridge.flush?.();
    expect(eventIdsIn(room.doc)).toEqual([others.event.id, own.event.id, tab.event.id]);
    // Already in the room: never appended twice.
    await bridge.afterIngest({ location: 'loc', accepted: [own], watermarks: {}, storedAbove: {}, uploader: null });
    await vi.advanceTimersByTimeAsync(1);
    expect(eventIdsIn(room.doc)).toEqual([others.event.id, own.event.id, tab.event.id]);
  });

  it('publishes acks only ever higher and ackRanges as the last batch says, in one write that releases the room', async () => {
    const bridge = await setUp();
    // An ack above the store's mark already in the room (a replica's) is not lowered.
    room.doc.transact(() => acksOf(room.doc).set('till-4', 9));
    await bridge.afterIngest({ location: 'loc', accepted: [valid('till-3', 4)], watermarks: { 'till-4': 2 }, storedAbove: { 'till-3': [[4, 4]] }, uploader: null });
    await bridge.afterIngest({ location: 'loc', accepted: [valid('till-3', 6)], watermarks: {}, storedAbove: { 'till-3': [[4, 4], [6, 6]] }, uploader: null });
    await vi.advanceTimersByTimeAsync(1);
    expect(acksOf(room.doc).get('till-4')).toBe(9);
    expect(ackRangesOf(room.doc).toJSON()).toEqual({ 'till-3': [4, 4, 6, 6] });
    expect(released).toBe(1);
  });

  it('a write that fails (the room failing to load) is logged, and the location\'s later writes still run', async () => {
    const bridge = await setUp();
    failingLoads = 1;
    await bridge.afterIngest({ location: 'loc', accepted: [valid('till-2', 1)], watermarks: { 'till-2': 1 }, storedAbove: {}, uploader: null });
    await vi.advanceTimersByTimeAsync(1);
    expect(log.error).toHaveBeenCalledTimes(1);
    const next = valid('till-2', 2);
    await bridge.afterIngest({ location: 'loc', accepted: [next], watermarks: { 'till-2': 2 }, storedAbove: {}, uploader: null });
    await vi.advanceTimersByTimeAsync(1);
    expect([eventIdsIn(room.doc), acksOf(room.doc).get('till-2')]).toEqual([[next.event.id], 2]);
  });
});
