import { rangesFromFlat, unionAbove, type Acknowledgements } from '../../shared/log/acknowledgements';
import { sameRanges } from '../../shared/log/log-doc';
import type { StoredAbove, Watermarks } from '../../shared/protocol/rest-events';

/** The room doc's `acks` (a Y.Map the server writes through the relay): terminal → highest contiguous n it holds. */
export interface RoomAcks {
  entries(): Iterable<[string, number]>;
  get(terminal: string): number | undefined;
}

/** One key of a room Y.Map's change (`YMapEvent.changes.keys`). */
export interface RoomMapChange<V> {
  action: 'add' | 'update' | 'delete';
  oldValue: V | undefined;
}

/** Ranges of n as StoredAbove holds them for one writer. */
type Ranges = readonly (readonly [number, number])[];

/**
 * What this terminal knows the canonical store holds, per writer: the highest contiguous
 * origin.n, and the ranges stored above it (OUT8). Two sources say so: the room doc's `acks`
 * and `ackRanges`, and the server's REST answers (an upload's, or the GET /api/watermarks
 * that confirms a suspicion). Pure: the caller asks the server and acts on what these rules
 * conclude (uploads again what the server forgot).
 *
 * Rules:
 *  - the watermarks are the higher of the two sources, writer by writer, less room acks
 *    known stale;
 *  - what the server stores never shrinks unless its data was replaced or restored from a
 *    backup: an answer lacking an n the last answer held (below its mark or in its ranges),
 *    or a room ack written lower than before (the relay's room guard writes the server's
 *    truth, SRV15), means the server forgot; what it answered before no longer holds;
 *  - SYN20: a REST answer lacking what the room names (an n up to a room ack, or in a room
 *    range: neither up to the answer's mark nor in one of its ranges) may mean a restore the
 *    relay could not tell (no relay, or its room guard has not run). Once GET /api/watermarks
 *    confirms it, those room acks and every writer's room ranges it lacks are stale:
 *    disbelieved (uploaded again, and not compacted away) until the room writes that
 *    writer's value anew; the confirmed answer is the server's word.
 *  - what the server stores above the marks (OUT8): the last REST answer's ranges, with the
 *    room's `ackRanges` not known stale.
 */
export class KnownAcknowledgements {
  /** The marks of the last REST answer (the server's word at that moment). */
  private answeredMarks: Readonly<Watermarks> = {};
  /** What the last REST answer said the server stores above those marks. */
  private answeredAbove: Readonly<StoredAbove> = {};
  /** Room acks a confirmed answer went below: writer → that ack (a new value is believed). */
  private readonly staleAcks = new Map<string, number>();
  /** Room ranges a confirmed answer lacks: writer → that value (a new value is believed). */
  private readonly staleRanges = new Map<string, Ranges>();

  /** The room's acks (less those known stale) and the last answer, whichever is higher per writer. */
  marks(roomAcks: RoomAcks): Watermarks {
    const marks: Record<string, number> = { ...this.answeredMarks };
    for (const [terminal, n] of roomAcks.entries()) {
      if (this.staleAcks.get(terminal) !== n) marks[terminal] = Math.max(marks[terminal] ?? 0, n);
    }
    return marks;
  }

  /** The marks, with the ranges the server stores above them (the room's `ackRanges`, read as storedAboveOf). */
  acknowledgements(roomAcks: RoomAcks, roomRanges: Readonly<StoredAbove>): Acknowledgements {
    return { marks: this.marks(roomAcks), above: unionAbove(this.answeredAbove, this.believedRanges(roomRanges)) };
  }

  /** An upload was answered with these marks (and ranges above them); `forgot` if it lacks an n the last answer held. */
  answered(marks: Watermarks, above: Readonly<StoredAbove> = {}): { forgot: boolean } {
    const answer = { marks, above };
    const forgot =
      Object.entries(this.answeredMarks).some(([terminal, n]) => markOf(answer, terminal) < n) ||
      Object.entries(this.answeredAbove).some(([terminal, ranges]) => !holdsAll(answer, terminal, ranges));
    this.answeredMarks = marks;
    this.answeredAbove = above;
    return { forgot };
  }

  /**
   * The room wrote these acks: each is believed again. `forgot` if one went down (then call
   * forget, once what the old marks covered is settled).
   */
  roomAcksChanged(changes: ReadonlyMap<string, RoomMapChange<number>>, roomAcks: RoomAcks): { forgot: boolean } {
    for (const terminal of changes.keys()) this.staleAcks.delete(terminal);
    for (const [terminal, change] of changes) {
      if (change.action !== 'add' && (change.oldValue ?? 0) > (roomAcks.get(terminal) ?? 0)) return { forgot: true };
    }
    return { forgot: false };
  }

  /**
   * The room wrote these writers' `ackRanges`: each is believed again. `forgot` if one lost an
   * n it held that the room's ack does not now cover (the room guard writes the server's truth,
   * acks before ranges, SRV15): as for an ack written lower.
   */
  roomRangesChanged(changes: ReadonlyMap<string, RoomMapChange<unknown>>, roomAcks: RoomAcks, roomRanges: Readonly<StoredAbove>): { forgot: boolean } {
    let forgot = false;
    for (const [terminal, change] of changes) {
      this.staleRanges.delete(terminal);
      const before = change.action === 'add' ? undefined : rangesFromFlat(change.oldValue);
      if (before !== undefined && !holdsAll({ marks: { [terminal]: roomAcks.get(terminal) ?? 0 }, above: roomRanges }, terminal, before)) forgot = true;
    }
    return { forgot };
  }

  /**
   * Whether this answer lacks what the room names (not known stale): an n up to a room ack,
   * or in a room range. If it is the server's, it forgot them (SYN20).
   */
  lacksRoom(roomAcks: RoomAcks, roomRanges: Readonly<StoredAbove>, answer: Acknowledgements): boolean {
    for (const [terminal, n] of roomAcks.entries()) if (this.staleAcks.get(terminal) !== n && markOf(answer, terminal) < n) return true;
    return Object.entries(this.believedRanges(roomRanges)).some(([terminal, ranges]) => !holdsAll(answer, terminal, ranges));
  }

  /**
   * GET /api/watermarks confirmed an answer lacking what the room names (see lacksRoom): the
   * room acks above its marks and the room ranges it lacks are stale, and it is the answer.
   */
  confirmedLacking(roomAcks: RoomAcks, roomRanges: Readonly<StoredAbove>, confirmed: Acknowledgements): void {
    for (const [terminal, n] of roomAcks.entries()) if (markOf(confirmed, terminal) < n) this.staleAcks.set(terminal, n);
    for (const [terminal, ranges] of Object.entries(roomRanges)) if (!holdsAll(confirmed, terminal, ranges)) this.staleRanges.set(terminal, ranges);
    this.answeredMarks = confirmed.marks;
    this.answeredAbove = confirmed.above;
  }

  /** The server forgot (see roomAcksChanged): its earlier answers, marks and ranges, no longer hold. */
  forget(): void {
    this.answeredMarks = {};
    this.answeredAbove = {};
  }

  /** The room's ranges, less each writer's value known stale. */
  private believedRanges(roomRanges: Readonly<StoredAbove>): StoredAbove {
    const stale = (terminal: string, ranges: Ranges) => {
      const known = this.staleRanges.get(terminal);
      return known !== undefined && sameRanges(known, ranges);
    };
    return Object.fromEntries(Object.entries(roomRanges).filter(([terminal, ranges]) => !stale(terminal, ranges)));
  }
}

/** A writer's mark in an answer (0: none; own keys only, a writer id may be `__proto__`). */
function markOf(answer: Acknowledgements, terminal: string): number {
  return Object.hasOwn(answer.marks, terminal) ? answer.marks[terminal]! : 0;
}

/**
 * Whether an answer holds every n of these ranges: up to its mark, or in one of its ranges.
 * An n above the ranges it names is lacking (it names at most MAX_RANGES_ABOVE: the safe side).
 */
function holdsAll(answer: Acknowledgements, terminal: string, ranges: Ranges): boolean {
  const mark = markOf(answer, terminal);
  const above: Ranges = Object.hasOwn(answer.above, terminal) ? answer.above[terminal]! : [];
  return ranges.every(([from, to]) => {
    // Each step passes one of the answer's ranges: at most as many steps as it has.
    for (let n = Math.max(from, mark + 1); n <= to; ) {
      const holding = above.find(([low, high]) => low <= n && n <= high);
      if (holding === undefined) return false;
      n = holding[1] + 1;
    }
    return true;
  });
}
