import { describe, expect, it } from 'vitest';
import { KnownWatermarks, type RoomAckChange } from '../../client/sync/known-watermarks';

/** The room's acks after a write, and the change Yjs reports for it. */
function write(acks: Map<string, number>, terminal: string, n: number | undefined): ReadonlyMap<string, RoomAckChange> {
  const oldValue = acks.get(terminal);
  if (n === undefined) acks.delete(terminal);
  else acks.set(terminal, n);
  const action = oldValue === undefined ? 'add' : n === undefined ? 'delete' : 'update';
  return new Map([[terminal, { action, oldValue }]]);
}

describe('KnownWatermarks', () => {
  it('[SYN20] the watermarks are the room\'s acks and the last answer, whichever is higher per writer', () => {
    const known = new KnownWatermarks();
    const acks = new Map([['till-1', 5], ['till-2', 1]]);
    expect(known.merged(acks)).toEqual({ 'till-1': 5, 'till-2': 1 });
    expect(known.answered({ 'till-1': 3, 'till-2': 4, 'till-3': 2 })).toEqual({ forgot: false });
    expect(known.merged(acks)).toEqual({ 'till-1': 5, 'till-2': 4, 'till-3': 2 });
  });

  it('[SYN20] an answer below the last answer says the server forgot, and replaces it', () => {
    const known = new KnownWatermarks();
    known.answered({ 'till-1': 6, 'till-2': 2 });
    expect(known.answered({ 'till-1': 7, 'till-2': 2 })).toEqual({ forgot: false });
    // A writer the answer no longer names counts as 0.
    expect(known.answered({ 'till-1': 7 })).toEqual({ forgot: true });
    expect(known.merged(new Map())).toEqual({ 'till-1': 7 });
  });

  it('[SYN20] room acks a confirmed answer is below are disbelieved until the room writes them anew', () => {
    const known = new KnownWatermarks();
    const acks = new Map([['till-1', 5], ['till-2', 3]]);
    const answer = { 'till-1': 2, 'till-2': 3 };
    known.answered(answer);
    expect(known.acksAbove(acks, answer)).toBe(true);
    known.confirmedBelowAcks(acks, answer);
    expect(known.merged(acks)).toEqual({ 'till-1': 2, 'till-2': 3 });
    // Known stale: no longer a reason to ask again.
    expect(known.acksAbove(acks, answer)).toBe(false);
    // The room writes the same ack anew (its guard has run): believed again.
    expect(known.roomAcksChanged(write(acks, 'till-1', 5), acks)).toEqual({ forgot: false });
    expect(known.merged(acks)).toEqual({ 'till-1': 5, 'till-2': 3 });
  });

  it('[SYN20] a stale ack is only that value: the room\'s next one is believed', () => {
    const known = new KnownWatermarks();
    const acks = new Map([['till-1', 5]]);
    known.confirmedBelowAcks(acks, { 'till-1': 2 });
    acks.set('till-1', 6);
    expect(known.merged(acks)).toEqual({ 'till-1': 6 });
  });

  it('[SRV15] a room ack written lower than before, or deleted, says the server forgot; forget drops the earlier answers', () => {
    const known = new KnownWatermarks();
    const acks = new Map([['till-1', 5]]);
    known.answered({ 'till-1': 5 });
    expect(known.roomAcksChanged(write(acks, 'till-2', 1), acks)).toEqual({ forgot: false });
    expect(known.roomAcksChanged(write(acks, 'till-1', 6), acks)).toEqual({ forgot: false });
    expect(known.roomAcksChanged(write(acks, 'till-1', 2), acks)).toEqual({ forgot: true });
    // Until forgotten, the last answer still counts.
    expect(known.merged(acks)).toEqual({ 'till-1': 5, 'till-2': 1 });
    known.forget();
    expect(known.merged(acks)).toEqual({ 'till-1': 2, 'till-2': 1 });
    expect(known.roomAcksChanged(write(acks, 'till-2', undefined), acks)).toEqual({ forgot: true });
  });

  it('[OUT8][SYN20] the ranges stored above the marks: the last answer\'s with the room\'s, less a writer\'s whose room ack is known stale; forget drops the answer\'s', () => {
    const known = new KnownWatermarks();
    const acks = new Map([['till-1', 5], ['till-2', 9]]);
    known.answered({ 'till-1': 5, 'till-2': 9 }, { 'till-1': [[7, 8]] });
    const room = { 'till-1': [[10, 12]] as [number, number][], 'till-2': [[11, 11]] as [number, number][] };
    expect(known.acknowledgements(acks, room).above).toEqual({ 'till-1': [[7, 8], [10, 12]], 'till-2': [[11, 11]] });
    // A restore the relay could not tell: the server's confirmed answer is below till-2's room ack.
    known.confirmedBelowAcks(acks, { 'till-1': 5, 'till-2': 3 }, {});
    expect(known.acknowledgements(acks, room)).toEqual({ marks: { 'till-1': 5, 'till-2': 3 }, above: { 'till-1': [[10, 12]] } });
    known.answered({ 'till-1': 5, 'till-2': 3 }, { 'till-2': [[5, 6]] });
    known.forget();
    expect(known.acknowledgements(acks, {}).above).toEqual({});
  });
});
