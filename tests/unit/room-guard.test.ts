import * as Y from 'yjs';
import { afterEach, describe, expect, it } from 'vitest';
import { canonicalEventJson } from '../../shared/events/envelope';
import type { Acknowledgements } from '../../shared/log/acknowledgements';
import { SegmentWriter, compactedOf, deleteEvents, readAllEventJson, segmentsOf, type Tombstone } from '../../shared/log/log-doc';
import { roomGuardHook } from '../../server/relay/room-guard-hook';
import { PERSISTENCE_ORIGIN, remoteOrigin } from '../../server/relay/origins';
import type { Room } from '../../server/relay/room';
import type { RelayConnection } from '../../server/relay/connection';
import { ticketOpenedEvent } from '../helpers/server-clients';

/**
 * What the room guard (server/relay/room-guard-hook.ts, SRV16) puts back of what a connection
 * deletes, on a room with no server: its sources stubbed, answering within the turn unless the
 * test holds them, so each judgement is done by the next turn of the event loop.
 */
const unloads: (() => void)[] = [];
afterEach(() => unloads.splice(0).forEach((unload) => unload()));

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * A loaded room whose canonical store acknowledges `acks` (its answers held while `holdAcks()`'s
 * release is not called) and lets no tombstoned aggregate leave (each answer held, once
 * `holdMayLeave()`, until the test gives it with `mayLeaveAnswered()`).
 */
async function guardedRoom(acks: Acknowledgements = { marks: {}, above: {} }) {
  const room = { name: 'loc', doc: new Y.Doc() } as Room;
  const errors: unknown[] = [];
  let acksHeld: Promise<void> | null = null;
  let mayLeaveHeld = false;
  const mayLeaveAsked: (() => void)[] = [];
  const hook = roomGuardHook({
    acknowledged: async () => {
      await acksHeld;
      return acks;
    },
    relayed: () => new Map(),
    holds: () => false,
    stored: async () => [],
    mayLeave: () => (mayLeaveHeld ? new Promise((resolve) => mayLeaveAsked.push(() => resolve(new Set()))) : Promise.resolve(new Set())),
    // Nothing the room lacks is restored within a test.
    restoreAfterLoadMs: 3_600_000,
    warn: () => {},
    onError: (err) => errors.push(err),
  });
  await hook.onLoad!(room);
  unloads.push(() => hook.onUnload!(room));
  return {
    room,
    errors,
    /** A transaction of till-2's connection. */
    byTill2: (change: () => void) => room.doc.transact(change, remoteOrigin({ claims: { terminal: 'till-2' } } as RelayConnection)),
    /** Entries as the room loaded them from its own storage (no connection's). */
    stored: (writer: string, jsons: string[]) => room.doc.transact(() => new SegmentWriter(room.doc, writer).append(jsons), PERSISTENCE_ORIGIN),
    holdAcks: (): (() => void) => {
      let release!: () => void;
      acksHeld = new Promise<void>((resolve) => (release = resolve));
      return release;
    },
    holdMayLeave: () => void (mayLeaveHeld = true),
    /** Answers the oldest question held: the aggregate may not leave. */
    mayLeaveAnswered: () => mayLeaveAsked.shift()!(),
  };
}

describe('room guard: events a connection deletes, put back', () => {
  it('[SRV16] the same unsent sale deleted again by a later transaction (another till compacting on the old server\'s word): put back again', async () => {
    const { room, byTill2, stored } = await guardedRoom();
    const sale = ticketOpenedEvent('till-3', 1);
    stored('till-3', [JSON.stringify(sale)]);
    for (let deletion = 1; deletion <= 2; deletion++) {
      byTill2(() => deleteEvents(room.doc, new Set([sale.id])));
      await nextTurn();
      expect(readAllEventJson(room.doc)).toEqual([JSON.stringify(sale)]);
    }
  });

  it('[SRV16] two copies of an unsent event in different key orders (a till\'s and the bridge\'s), deleted at once: put back once', async () => {
    const { room, byTill2, stored } = await guardedRoom();
    const sale = ticketOpenedEvent('till-3', 1);
    expect(JSON.stringify(sale)).not.toBe(canonicalEventJson(sale));
    stored('till-3', [JSON.stringify(sale)]);
    stored('till-4', [canonicalEventJson(sale)]);
    byTill2(() => deleteEvents(room.doc, new Set([sale.id])));
    await nextTurn();
    expect(readAllEventJson(room.doc)).toHaveLength(1);
  });

  const junk = [
    { entry: 'names no writer', json: '{"id":"junk-1","seq":1}' },
    { entry: 'names an acknowledged writer and n but is no event envelope', json: JSON.stringify({ id: 'junk-2', origin: { terminal: 'till-3', n: 2 }, aggregate: { id: 'ticket-9', type: 'ticket' } }) },
  ];
  for (const { entry, json } of junk) it(`[SRV16] a deleted entry that ${entry} (a faulty replica's junk) is not put back`, async () => {
    const { room, byTill2, stored } = await guardedRoom({ marks: { 'till-3': 5 }, above: {} });
    stored('till-5', [json]);
    byTill2(() => deleteEvents(room.doc, new Set([JSON.parse(json).id])));
    await nextTurn();
    expect(readAllEventJson(room.doc)).toEqual([]);
  });

  it('[SRV16] acknowledged events deleted under a forged tombstone, the tombstone written again before the deletion was judged: put back', async () => {
    const { room, byTill2, stored, errors, holdAcks, holdMayLeave, mayLeaveAnswered } = await guardedRoom({ marks: { 'till-3': 1 }, above: {} });
    const opened = JSON.stringify(ticketOpenedEvent('till-3', 1, { aggregate: { type: 'ticket', id: 'ticket-9' }, at: Date.now() - 5 * 24 * 60 * 60_000 }));
    stored('till-3', [opened]);
    const stone: Tombstone = { at: Date.now(), by: 'till-2', events: 1, number: null };
    // The canonical store answers after real I/O: the deletion's judgement waits for its acks.
    const releaseAcks = holdAcks();
    holdMayLeave();
    byTill2(() => {
      compactedOf(room.doc).set('ticket-9', stone);
      deleteEvents(room.doc, new Set([JSON.parse(opened).id]));
    });
    mayLeaveAnswered();
    await nextTurn();
    expect(compactedOf(room.doc).has('ticket-9')).toBe(false); // the forged tombstone undone
    // Written again; its own judgement still out when the deletion is judged.
    byTill2(() => compactedOf(room.doc).set('ticket-9', stone));
    releaseAcks();
    await nextTurn();
    expect(errors).toEqual([]);
    expect(readAllEventJson(room.doc)).toEqual([opened]);
    mayLeaveAnswered();
  });
});

describe('room guard: whole segments a connection deletes or replaces', () => {
  const ways = [
    { way: 'deleting another till\'s whole segment (its key)', change: (segments: Y.Map<Y.Array<string>>, key: string) => segments.delete(key) },
    { way: 'replacing another till\'s segment with an empty one under the same key', change: (segments: Y.Map<Y.Array<string>>, key: string) => segments.set(key, new Y.Array<string>()) },
  ];
  for (const { way, change } of ways) it(`[SRV16] a connection ${way}: its unsent sale is put back`, async () => {
    const { room, byTill2, stored } = await guardedRoom();
    const sale = JSON.stringify(ticketOpenedEvent('till-3', 1));
    stored('till-3', [sale]);
    const key = [...segmentsOf(room.doc).keys()].find((k) => k.startsWith('till-3/'))!;
    byTill2(() => change(segmentsOf(room.doc), key));
    await nextTurn();
    expect(readAllEventJson(room.doc)).toEqual([sale]);
  });
});
