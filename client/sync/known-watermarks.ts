import { unionAbove, type Acknowledgements } from '../../shared/log/acknowledgements';
import type { StoredAbove, Watermarks } from '../../shared/protocol/rest-events';

/** The room doc's `acks` (a Y.Map the server writes through the relay): terminal → highest contiguous n it holds. */
export interface RoomAcks {
  entries(): Iterable<[string, number]>;
  get(terminal: string): number | undefined;
}

/** One key of a Y.Map change (`YMapEvent.changes.keys`). */
export interface RoomAckChange {
  action: 'add' | 'update' | 'delete';
  oldValue: number | undefined;
}

/**
 * What this terminal knows the canonical store holds, per writer: the highest contiguous
 * origin.n. Two sources say so: the room doc's `acks`, and the server's REST answers (an
 * upload's, or the GET /api/watermarks that confirms a suspicion). Pure: the caller asks the
 * server and acts on what these rules conclude (uploads again what the server forgot).
 *
 * Rules:
 *  - the watermarks are the higher of the two sources, writer by writer, less room acks
 *    known stale;
 *  - the server's marks never go down unless its data was replaced or restored from a backup:
 *    an answer below the last answer, or a room ack written lower than before (the relay's
 *    room guard writes the server's truth, SRV15), means the server forgot; what it answered
 *    before no longer holds;
 *  - SYN20: a REST answer below the room's acks may mean a restore the relay could not tell
 *    (no relay, or its room guard has not run). Once GET /api/watermarks confirms it, the
 *    acks it is below are stale: disbelieved (uploaded again, and not compacted away) until
 *    the room writes that writer's ack anew; the confirmed marks are the server's word.
 *  - what the server stores above the marks (OUT8): the last REST answer's ranges, with the
 *    room's `ackRanges` of each writer whose room ack is not known stale.
 */
export class KnownWatermarks {
  /** The marks of the last REST answer (the server's word at that moment). */
  private answers: Readonly<Watermarks> = {};
  /** What the last REST answer said the server stores above those marks. */
  private answeredAbove: Readonly<StoredAbove> = {};
  /** Room acks a confirmed answer went below: writer → that ack (a new value is believed). */
  private readonly staleAcks = new Map<string, number>();

  /** The room's acks (less those known stale) and the last answer, whichever is higher per writer. */
  merged(roomAcks: RoomAcks): Watermarks {
    const merged: Record<string, number> = { ...this.answers };
    for (const [terminal, n] of roomAcks.entries()) {
      if (this.staleAcks.get(terminal) !== n) merged[terminal] = Math.max(merged[terminal] ?? 0, n);
    }
    return merged;
  }

  /** merged, with the ranges the server stores above the marks (the room's `ackRanges`, read as storedAboveOf). */
  acknowledgements(roomAcks: RoomAcks, roomRanges: Readonly<StoredAbove>): Acknowledgements {
    const stale = (terminal: string) => this.staleAcks.has(terminal) && this.staleAcks.get(terminal) === roomAcks.get(terminal);
    const believed = Object.fromEntries(Object.entries(roomRanges).filter(([terminal]) => !stale(terminal)));
    return { marks: this.merged(roomAcks), above: unionAbove(this.answeredAbove, believed) };
  }

  /** An upload was answered with these marks (and ranges above them); `forgot` if any mark is below the last answer's. */
  answered(marks: Watermarks, above: Readonly<StoredAbove> = {}): { forgot: boolean } {
    const forgot = Object.entries(this.answers).some(([terminal, n]) => (marks[terminal] ?? 0) < n);
    this.answers = marks;
    this.answeredAbove = above;
    return { forgot };
  }

  /**
   * The room wrote these acks: each is believed again. `forgot` if one went down (then call
   * forget, once what the old marks covered is settled).
   */
  roomAcksChanged(changes: ReadonlyMap<string, RoomAckChange>, roomAcks: RoomAcks): { forgot: boolean } {
    for (const terminal of changes.keys()) this.staleAcks.delete(terminal);
    for (const [terminal, change] of changes) {
      if (change.action !== 'add' && (change.oldValue ?? 0) > (roomAcks.get(terminal) ?? 0)) return { forgot: true };
    }
    return { forgot: false };
  }

  /** Whether a room ack (not known stale) is above these marks: if they are the server's, it forgot them (SYN20). */
  acksAbove(roomAcks: RoomAcks, marks: Watermarks): boolean {
    for (const [terminal, n] of roomAcks.entries()) if (this.staleAcks.get(terminal) !== n && (marks[terminal] ?? 0) < n) return true;
    return false;
  }

  /** GET /api/watermarks confirmed marks below the room's acks (see acksAbove): those acks are stale, and the answers are these marks. */
  confirmedBelowAcks(roomAcks: RoomAcks, confirmed: Watermarks, confirmedAbove: Readonly<StoredAbove> = {}): void {
    for (const [terminal, n] of roomAcks.entries()) if ((confirmed[terminal] ?? 0) < n) this.staleAcks.set(terminal, n);
    this.answers = confirmed;
    this.answeredAbove = confirmedAbove;
  }

  /** The server forgot (see roomAcksChanged): its earlier answers no longer hold. */
  forget(): void {
    this.answers = {};
    this.answeredAbove = {};
  }
}
