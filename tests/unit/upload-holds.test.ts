import { describe, expect, it } from 'vitest';
import { UploadHolds } from '../../client/sync/upload-holds';
import type { EventEnvelope } from '../../shared/events/envelope';
import { newEventId } from '../../shared/events/event-id';
import { marksOnly } from '../helpers/acknowledgements';

function event(terminal: string, n: number): EventEnvelope {
  return { id: newEventId(1_764_000_000_000 + n), seq: n, at: 1_764_000_000_000 + n, type: 'ticket.note_set', v: 1, aggregate: { id: 't', type: 'ticket' }, origin: { terminal, n }, payload: { note: 'x' } };
}

const ids = (events: EventEnvelope[]): string[] => events.map((e) => e.id);

describe('UploadHolds', () => {
  it('[SYN13] an own event written with the relay in step waits out its own grace, only while the relay stays in step', () => {
    const holds = new UploadHolds();
    const [early, late, other] = [event('till-1', 1), event('till-1', 2), event('till-1', 3)];
    holds.writtenInStep([early!.id], 1_000);
    holds.writtenInStep([late!.id], 1_500);
    const owed = [early!, late!, other!];
    expect(holds.uploadableNow(owed, 500, true)).toEqual({ uploadable: [other], heldUntil: 1_000 });
    // The relay dropped: nothing delivers them, they go now.
    expect(holds.uploadableNow(owed, 500, false)).toEqual({ uploadable: owed, heldUntil: null });
    // Each its own grace: the early one is due, the late one still waits.
    expect(holds.uploadableNow(owed, 1_000, true)).toEqual({ uploadable: [early, other], heldUntil: 1_500 });
    // A relay grace alone is no next attempt (the due timer comes back for it).
    expect(holds.firstWaitEnd(owed, 1_000, true)).toBeNull();
    expect(holds.uploadableNow(owed, 1_500, true)).toEqual({ uploadable: owed, heldUntil: null });
  });

  it('[OUT9] an event refused alone waits while the events behind it go; due again, it goes after them (it led every batch, refused each time, while they waited out its growing waits) until the server takes it', () => {
    const holds = new UploadHolds();
    const [refused, behind, next] = [event('till-1', 1), event('till-1', 2), event('till-1', 3)];
    holds.refused(refused!, 5_000);
    expect(holds.refusedAloneCount).toBe(1);
    expect(ids(holds.uploadableNow([refused!, behind!], 1_000, false).uploadable)).toEqual([behind!.id]);
    expect(holds.firstWaitEnd([refused!, behind!], 1_000, false)).toBe(5_000);
    expect(holds.uploadableNow([refused!, behind!, next!], 5_000, false)).toEqual({ uploadable: [behind, next, refused], heldUntil: null });
    expect(holds.refusedAloneCount).toBe(0);
    holds.taken(refused!);
    expect(holds.uploadableNow([refused!, behind!, next!], 6_000, false).uploadable).toEqual([refused, behind, next]);
  });

  it('[OUT9] an event refused alone that the acknowledgements cover (the relay delivered it) or the server quarantined is forgotten (its wait and its place last): nothing kept for good', () => {
    const holds = new UploadHolds();
    const [delivered, behind, rejected] = [event('till-1', 1), event('till-1', 2), event('till-1', 3)];
    holds.refused(delivered!, 5_000);
    holds.settleCovered(marksOnly({ 'till-1': 1 }));
    expect(holds.refusedAloneCount).toBe(0); // a later refusal's backoff starts short again
    holds.refused(rejected!, 0);
    holds.quarantined(rejected!.id);
    // Owed again (the server restored from a backup, the quarantine released): no longer held nor last.
    // Before, both stayed refused before for good (held on to, for every event a proxy ever refused).
    expect(holds.uploadableNow([delivered!, behind!, rejected!], 1_000, false)).toEqual({ uploadable: [delivered, behind, rejected], heldUntil: null });
  });

  it('[OUT14] an event rejected as newer waits, is counted until the server takes it, and is dropped once the watermarks cover it', () => {
    const holds = new UploadHolds();
    const newer = event('till-1', 3);
    holds.rejectedAsNewer(newer, 60_000);
    expect(holds.uploadableNow([newer], 1_000, false)).toEqual({ uploadable: [], heldUntil: 60_000 });
    expect(holds.awaitingServerUpdate([newer])).toBe(1);
    // Due, it goes, and is still counted: the server has not taken it yet.
    expect(holds.uploadableNow([newer], 60_000, false)).toEqual({ uploadable: [newer], heldUntil: null });
    expect(holds.awaitingServerCount).toBe(1);
    holds.settleCovered(marksOnly({ 'till-1': 2 }));
    expect(holds.awaitingServerCount).toBe(1);
    holds.settleCovered(marksOnly({ 'till-1': 3 }));
    expect(holds.awaitingServerCount).toBe(0);
    expect(holds.awaitingServerUpdate([newer])).toBe(0);
  });

  it('[OUT14] an event taken or quarantined no longer waits for a server update', () => {
    const holds = new UploadHolds();
    const [taken, quarantined] = [event('till-1', 1), event('till-1', 2)];
    holds.rejectedAsNewer(taken!, 60_000);
    holds.rejectedAsNewer(quarantined!, 60_000);
    holds.taken(taken!);
    holds.quarantined(quarantined!.id);
    expect(holds.awaitingServerCount).toBe(0);
    expect(holds.isAnswered(taken!.id)).toBe(true);
  });

  it('[OUT8] an answer above the watermark is acknowledged until the watermark covers it, or the server forgets it', () => {
    const holds = new UploadHolds();
    const [a, b] = [event('till-1', 4), event('till-2', 1)];
    holds.taken(a!);
    holds.taken(b!);
    holds.settleCovered(marksOnly({ 'till-1': 3, 'till-2': 1 }));
    expect([holds.isAnswered(a!.id), holds.isAnswered(b!.id)]).toEqual([true, false]);
    holds.forgetAnswers();
    expect(holds.isAnswered(a!.id)).toBe(false);
  });

  it('[SYN17] a wall clock set back moves every held time with it', () => {
    const holds = new UploadHolds();
    const [inGrace, refused, newer] = [event('till-1', 1), event('till-1', 2), event('till-1', 3)];
    holds.writtenInStep([inGrace!.id], 10_000);
    holds.refused(refused!, 20_000);
    holds.rejectedAsNewer(newer!, 30_000);
    holds.shift(-9_000);
    const owed = [inGrace!, refused!, newer!];
    expect(holds.uploadableNow(owed, 500, true)).toEqual({ uploadable: [], heldUntil: 1_000 });
    expect(holds.uploadableNow(owed, 1_000, true)).toEqual({ uploadable: [inGrace], heldUntil: 11_000 });
    expect(holds.uploadableNow(owed, 11_000, true)).toEqual({ uploadable: [inGrace, refused], heldUntil: 21_000 });
  });

  it('[SYN13] Sync now releases every hold: what is owed goes at once, a server-update wait still counted', () => {
    const holds = new UploadHolds();
    const [inGrace, refused, newer] = [event('till-1', 1), event('till-1', 2), event('till-1', 3)];
    holds.writtenInStep([inGrace!.id], 10_000);
    holds.refused(refused!, 20_000);
    holds.rejectedAsNewer(newer!, 30_000);
    holds.releaseAll();
    const owed = [inGrace!, refused!, newer!];
    // All of it, the one refused alone before last (see OUT9).
    expect(holds.uploadableNow(owed, 1_000, true)).toEqual({ uploadable: [inGrace, newer, refused], heldUntil: null });
    expect(holds.awaitingServerUpdate(owed)).toBe(1);
  });
});
