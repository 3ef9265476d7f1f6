import { describe, expect, it } from 'vitest';
import { KnownAcknowledgements, type RoomMapChange } from '../../client/sync/known-acknowledgements';
import { acknowledges } from '../../shared/log/acknowledgements';
import { marksOnly } from '../helpers/acknowledgements';

/** The room's acks after a write, and the change Yjs reports for it. */
function write(acks: Map<string, number>, terminal: string, n: number | undefined): ReadonlyMap<string, RoomMapChange<number>> {
  const oldValue = acks.get(terminal);
  if (n === undefined) acks.delete(terminal);
  else acks.set(terminal, n);
  const action = oldValue === undefined ? 'add' : n === undefined ? 'delete' : 'update';
  return new Map([[terminal, { action, oldValue }]]);
}

describe('KnownAcknowledgements', () => {
  it('[SYN20] the watermarks are the room\'s acks and the last answer, whichever is higher per writer', () => {
    const known = new KnownAcknowledgements();
    const acks = new Map([['till-1', 5], ['till-2', 1]]);
    expect(known.marks(acks)).toEqual({ 'till-1': 5, 'till-2': 1 });
    expect(known.answered({ 'till-1': 3, 'till-2': 4, 'till-3': 2 })).toEqual({ forgot: false });
    expect(known.marks(acks)).toEqual({ 'till-1': 5, 'till-2': 4, 'till-3': 2 });
  });

  it('[SYN20] an answer below the last answer says the server forgot, and replaces it', () => {
    const known = new KnownAcknowledgements();
    known.answered({ 'till-1': 6, 'till-2': 2 });
    expect(known.answered({ 'till-1': 7, 'till-2': 2 })).toEqual({ forgot: false });
    // A writer the answer no longer names counts as 0.
    expect(known.answered({ 'till-1': 7 })).toEqual({ forgot: true });
    expect(known.marks(new Map())).toEqual({ 'till-1': 7 });
  });

  it('[SYN20] room acks a confirmed answer is below are disbelieved until the room writes them anew', () => {
    const known = new KnownAcknowledgements();
    const acks = new Map([['till-1', 5], ['till-2', 3]]);
    const answer = { 'till-1': 2, 'till-2': 3 };
    known.answered(answer);
    expect(known.lacksRoom(acks, {}, marksOnly(answer))).toBe(true);
    known.confirmedLacking(acks, {}, marksOnly(answer));
    expect(known.marks(acks)).toEqual({ 'till-1': 2, 'till-2': 3 });
    // Known stale: no longer a reason to ask again.
    expect(known.lacksRoom(acks, {}, marksOnly(answer))).toBe(false);
    // The room writes the same ack anew (its guard has run): believed again.
    expect(known.roomAcksChanged(write(acks, 'till-1', 5), acks)).toEqual({ forgot: false });
    expect(known.marks(acks)).toEqual({ 'till-1': 5, 'till-2': 3 });
  });

  it('[SYN20] a stale ack is only that value: the room\'s next one is believed', () => {
    const known = new KnownAcknowledgements();
    const acks = new Map([['till-1', 5]]);
    known.confirmedLacking(acks, {}, marksOnly({ 'till-1': 2 }));
    acks.set('till-1', 6);
    expect(known.marks(acks)).toEqual({ 'till-1': 6 });
  });

  it('[SRV15] a room ack written lower than before, or deleted, says the server forgot; forget drops the earlier answers', () => {
    const known = new KnownAcknowledgements();
    const acks = new Map([['till-1', 5]]);
    known.answered({ 'till-1': 5 });
    expect(known.roomAcksChanged(write(acks, 'till-2', 1), acks)).toEqual({ forgot: false });
    expect(known.roomAcksChanged(write(acks, 'till-1', 6), acks)).toEqual({ forgot: false });
    expect(known.roomAcksChanged(write(acks, 'till-1', 2), acks)).toEqual({ forgot: true });
    // Until forgotten, the last answer still counts.
    expect(known.marks(acks)).toEqual({ 'till-1': 5, 'till-2': 1 });
    known.forget();
    expect(known.marks(acks)).toEqual({ 'till-1': 2, 'till-2': 1 });
    expect(known.roomAcksChanged(write(acks, 'till-2', undefined), acks)).toEqual({ forgot: true });
  });

  it('[OUT8][SYN20] the ranges stored above the marks: the last answer\'s with the room\'s, less those a confirmed answer lacks; forget drops the answer\'s', () => {
    const known = new KnownAcknowledgements();
    const acks = new Map([['till-1', 5], ['till-2', 9]]);
    known.answered({ 'till-1': 5, 'till-2': 9 }, { 'till-1': [[7, 8]] });
    const room = { 'till-1': [[10, 12]] as [number, number][], 'till-2': [[11, 11]] as [number, number][] };
    expect(known.acknowledgements(acks, room).above).toEqual({ 'till-1': [[7, 8], [10, 12]], 'till-2': [[11, 11]] });
    // A restore the relay could not tell: the server's confirmed answer is below till-2's room ack, and holds till-1's 10 only.
    known.confirmedLacking(acks, room, { marks: { 'till-1': 5, 'till-2': 3 }, above: { 'till-1': [[10, 10]] } });
    expect(known.acknowledgements(acks, room)).toEqual({ marks: { 'till-1': 5, 'till-2': 3 }, above: { 'till-1': [[10, 10]] } });
    known.answered({ 'till-1': 5, 'till-2': 3 }, { 'till-2': [[5, 6]] });
    known.forget();
    expect(known.acknowledgements(acks, {}).above).toEqual({});
  });

  it('[SYN20][OUT8] an answer lacking an n of a room range is a suspicion, every mark equal to the room\'s acks or not', () => {
    const known = new KnownAcknowledgements();
    const acks = new Map([['till-1', 4]]);
    const room = { 'till-1': [[6, 8]] as [number, number][] };
    // A server restored from a backup: the same mark, none of what the old one stored above it.
    expect(known.lacksRoom(acks, room, { marks: { 'till-1': 4 }, above: {} })).toBe(true);
    expect(known.lacksRoom(acks, room, { marks: { 'till-1': 4 }, above: { 'till-1': [[6, 7]] } })).toBe(true);
    // Held: up to the mark, or in the answer's ranges (pieced together).
    expect(known.lacksRoom(acks, room, { marks: { 'till-1': 8 }, above: {} })).toBe(false);
    expect(known.lacksRoom(acks, room, { marks: { 'till-1': 6 }, above: { 'till-1': [[9, 9], [7, 8]] } })).toBe(false);
    // A writer with ranges and no ack.
    expect(known.lacksRoom(new Map(), { 'till-2': [[3, 4]] }, { marks: {}, above: {} })).toBe(true);
    // Above the lowest 64 ranges an answer names, nothing is held: the safe side.
    const capped = Array.from({ length: 64 }, (_, i): [number, number] => [2 * i + 2, 2 * i + 2]);
    expect(known.lacksRoom(new Map(), { 'till-3': [[130, 130]] }, { marks: { 'till-3': 1 }, above: { 'till-3': capped } })).toBe(true);
    expect(known.lacksRoom(new Map(), { 'till-3': [[128, 128]] }, { marks: { 'till-3': 1 }, above: { 'till-3': capped } })).toBe(false);
  });

  it('[SYN20][OUT8] a confirmed answer lacking room ranges: every such writer\'s are disbelieved, with or without a stale ack, until the room writes them anew', () => {
    const known = new KnownAcknowledgements();
    // till-1's ack is above the restored mark; till-2's equals it; till-3 has ranges and no ack; till-4's the server holds.
    const acks = new Map([['till-1', 50], ['till-2', 10], ['till-4', 3]]);
    const room = {
      'till-1': [[60, 70]] as [number, number][],
      'till-2': [[12, 40]] as [number, number][],
      'till-3': [[1, 30]] as [number, number][],
      'till-4': [[5, 5]] as [number, number][],
    };
    known.answered({ 'till-1': 50, 'till-2': 10 }, { 'till-2': [[12, 40]] });
    const restored = { marks: { 'till-1': 20, 'till-2': 10, 'till-4': 5 }, above: {} };
    expect(known.lacksRoom(acks, room, restored)).toBe(true);
    known.confirmedLacking(acks, room, restored);
    const acked = known.acknowledgements(acks, room);
    expect(acked).toEqual({ marks: { 'till-1': 20, 'till-2': 10, 'till-4': 5 }, above: { 'till-4': [[5, 5]] } });
    for (const [terminal, n] of [['till-1', 65], ['till-2', 20], ['till-3', 5]] as const) expect(acknowledges(acked, terminal, n)).toBe(false);
    // Known stale: no longer a reason to ask again.
    expect(known.lacksRoom(acks, room, restored)).toBe(false);
    // The room writes till-2's anew (its guard has run, or the server stored them again): believed again.
    known.roomRangesChanged(new Map([['till-2', { action: 'update' as const, oldValue: [12, 40] }]]), acks, room);
    expect(known.acknowledgements(acks, room).above).toEqual({ 'till-2': [[12, 40]], 'till-4': [[5, 5]] });
    // A stale value is only that value: the room's next one for till-3 is believed.
    expect(known.acknowledgements(acks, { ...room, 'till-3': [[1, 2]] }).above['till-3']).toEqual([[1, 2]]);
  });

  it('[SYN20][OUT8] an answer lacking an n the last answer\'s ranges held says the server forgot', () => {
    const known = new KnownAcknowledgements();
    known.answered({ 'till-1': 4 }, { 'till-1': [[6, 8]] });
    expect(known.answered({ 'till-1': 4 }, { 'till-1': [[6, 9]] })).toEqual({ forgot: false });
    expect(known.answered({ 'till-1': 9 }, {})).toEqual({ forgot: false });
    known.answered({ 'till-1': 4 }, { 'till-1': [[6, 8]] });
    expect(known.answered({ 'till-1': 4 }, {})).toEqual({ forgot: true });
    // The n just above the new mark, held in a range before: the server stores 1..3 and not 4 (restored from a backup taken before 4 arrived).
    known.answered({ 'till-1': 2 }, { 'till-1': [[4, 4]] });
    expect(known.answered({ 'till-1': 3 }, {})).toEqual({ forgot: true });
  });

  it('[SRV15][OUT8] the room writing a writer\'s ackRanges without an n it held, its ack not covering it, says the server forgot (a restore with the relay up); ranges the ack rose through do not', () => {
    const known = new KnownAcknowledgements();
    const changed = (oldValue: unknown, action: 'update' | 'delete' | 'add' = 'update') => new Map([['till-1', { action, oldValue }]]);
    expect(known.roomRangesChanged(changed([6, 8]), new Map([['till-1', 4]]), {})).toEqual({ forgot: true });
    expect(known.roomRangesChanged(changed([6, 8], 'delete'), new Map([['till-1', 4]]), { 'till-1': [[6, 7]] })).toEqual({ forgot: true });
    expect(known.roomRangesChanged(changed([6, 8]), new Map([['till-1', 8]]), {})).toEqual({ forgot: false });
    expect(known.roomRangesChanged(changed([6, 8]), new Map([['till-1', 4]]), { 'till-1': [[6, 9]] })).toEqual({ forgot: false });
    expect(known.roomRangesChanged(changed(undefined, 'add'), new Map(), { 'till-1': [[6, 9]] })).toEqual({ forgot: false });
  });
});
