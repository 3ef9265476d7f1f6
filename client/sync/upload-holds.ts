import type { EventEnvelope, EventOrigin } from '../../shared/events/envelope';
import { acknowledges, type Acknowledgements } from '../../shared/log/acknowledgements';

/**
 * What holds an owed event back from the next upload, per event, and the server's answers
 * its writer's watermark does not cover yet. Pure: times are the caller's (the timers clock,
 * ms), and nothing here waits or sends.
 *
 * Invariants:
 *  - an owed event is held back while its refusal wait, its server-update wait, or (the
 *    relay in step) its relay grace has not ended, in that order; due, it goes;
 *  - relay graces and refusal waits are forgotten once they end; a server-update wait is
 *    kept once due (the status counts the event until the server takes it);
 *  - an answer, a server-update wait and a refusal are forgotten once the acknowledgements
 *    (watermarks and the ranges stored above them) cover the event.
 */
export class UploadHolds {
  /**
   * Events the server answered accepted or duplicate that its acknowledgements do not cover
   * yet (a server from before `storedAbove` never names those above a refused event).
   * Acknowledged all the same (not uploaded again, not owed); dropped once they are covered.
   */
  private readonly answered = new Map<string, Pick<EventOrigin, 'terminal' | 'n'>>();
  /**
   * Own events written with the relay in step → when their relay grace ends. Each event
   * waits out its own grace: one timer per burst used to post the events written late in
   * it at once, while the relay was still delivering them.
   */
  private readonly relayGrace = new Map<string, number>();
  /**
   * Events refused alone (a 400/422 for a batch of just them: a proxy's answer, or one event's
   * body refused whole) → until when they wait, with their own backoff, so the events behind
   * them still go. Never quarantined: a proxy's bad minute refuses every event.
   */
  private readonly refusedAlone = new Map<string, number>();
  /**
   * Events refused alone, their wait ended or not → their writer and n: they go after the other
   * owed events. Lowest n first, one due again led every batch, which the same refusal halved
   * back to it, while the events behind it waited out its growing waits. Forgotten once the
   * server takes them, the acknowledgements cover them (the relay delivered them) or they are
   * quarantined: none is kept for good.
   */
  private readonly refusedBefore = new Map<string, Pick<EventOrigin, 'terminal' | 'n'>>();
  /**
   * Events the server rejected as newer than it knows (refusedAsNewer: this build is ahead of
   * it, e.g. it was rolled back) → their writer, n and until when they wait. Not their fault:
   * never quarantined; sent again after a long backoff (the server must be updated first)
   * while the events behind them go, and dropped once it takes them.
   */
  private readonly awaitingServer = new Map<string, AwaitingServer>();

  /** Events refused alone still waiting (none: a later refusal's backoff starts short again). */
  get refusedAloneCount(): number {
    return this.refusedAlone.size;
  }

  /** Events waiting for a server update, due or not (none: the next one's backoff starts short again). */
  get awaitingServerCount(): number {
    return this.awaitingServer.size;
  }

  /** The server answered it accepted or duplicate (acknowledged, though above its watermark). */
  isAnswered(id: string): boolean {
    return this.answered.has(id);
  }

  /** Own events written with the relay in step: each waits until `until` for the relay to deliver it. */
  writtenInStep(ids: Iterable<string>, until: number): void {
    for (const id of ids) this.relayGrace.set(id, until);
  }

  /** The event was refused alone: it waits until `until`. */
  refused(e: EventEnvelope, until: number): void {
    this.refusedAlone.set(e.id, until);
    this.refusedBefore.set(e.id, e.origin);
  }

  /** The server rejected the event as newer than it knows: it waits until `until`. */
  rejectedAsNewer(e: EventEnvelope, until: number): void {
    this.awaitingServer.set(e.id, { terminal: e.origin.terminal, n: e.origin.n, until });
  }

  /** The server answered the event accepted or duplicate: acknowledged, and no longer waiting for an update. */
  taken(e: EventEnvelope): void {
    this.answered.set(e.id, e.origin);
    this.awaitingServer.delete(e.id);
    this.refusedBefore.delete(e.id);
  }

  /** Waiting for a server update or refused alone before, rejected by the server now: no longer waiting nor last. */
  quarantined(id: string): void {
    this.awaitingServer.delete(id);
    this.refusedBefore.delete(id);
  }

  /** The server forgot what it answered (restored from a backup): its answers no longer hold. */
  forgetAnswers(): void {
    this.answered.clear();
  }

  /** Answers, server-update waits and refusals the acknowledgements now cover: the server holds those events. */
  settleCovered(acks: Acknowledgements): void {
    for (const held of [this.answered, this.awaitingServer, this.refusedBefore]) {
      for (const [id, { terminal, n }] of held) {
        if (!acknowledges(acks, terminal, n)) continue;
        held.delete(id);
        // A refusal's wait too (it no longer holds anything back).
        this.refusedAlone.delete(id);
      }
    }
  }

  /**
   * The wall clock was set back by `step` (< 0): the held times move with it (a relay grace
   * would otherwise last the step).
   */
  shift(step: number): void {
    for (const held of [this.relayGrace, this.refusedAlone]) for (const [id, until] of held) held.set(id, until + step);
    for (const waiting of this.awaitingServer.values()) waiting.until += step;
  }

  /** Staff asked: what is owed goes now, relay grace or an earlier refusal or not. */
  releaseAll(): void {
    this.relayGrace.clear();
    this.refusedAlone.clear();
    for (const waiting of this.awaitingServer.values()) waiting.until = 0;
  }

  /**
   * What of `owed` to upload at `now`: less own events still in their relay grace while the
   * relay is in step (it delivers them; the server acknowledges them in `acks`), events
   * refused alone and events awaiting a server update still waiting; and when the first of
   * those held comes due. Also forgets the relay graces and refusal waits that ended by `now`.
   */
  uploadableNow(owed: EventEnvelope[], now: number, relayInStep: boolean): { uploadable: EventEnvelope[]; heldUntil: number | null } {
    const { uploadable, heldUntil } = this.notHeld(owed, now, relayInStep);
    return { uploadable: this.refusedLast(uploadable), heldUntil };
  }

  /** `events` with those refused alone before moved after the others (see refusedBefore). */
  private refusedLast(events: EventEnvelope[]): EventEnvelope[] {
    if (this.refusedBefore.size === 0) return events;
    const others = events.filter((e) => !this.refusedBefore.has(e.id));
    return others.length === events.length ? events : [...others, ...events.filter((e) => this.refusedBefore.has(e.id))];
  }

  private notHeld(owed: EventEnvelope[], now: number, relayInStep: boolean): { uploadable: EventEnvelope[]; heldUntil: number | null } {
    if (this.relayGrace.size === 0 && this.refusedAlone.size === 0 && this.awaitingServer.size === 0) return { uploadable: owed, heldUntil: null };
    for (const held of [this.relayGrace, this.refusedAlone]) for (const [id, until] of held) if (until <= now) held.delete(id);
    const relayHolds = this.relayGrace.size > 0 && relayInStep;
    if (!relayHolds && this.refusedAlone.size === 0 && this.awaitingServer.size === 0) return { uploadable: owed, heldUntil: null };
    const uploadable: EventEnvelope[] = [];
    let heldUntil: number | null = null;
    for (const e of owed) {
      // Kept once due (the status counts them until the server takes them): due, it goes.
      const awaiting = this.awaitingServer.get(e.id)?.until;
      const until = this.refusedAlone.get(e.id) ?? (awaiting !== undefined && awaiting > now ? awaiting : undefined) ?? (relayHolds ? this.relayGrace.get(e.id) : undefined);
      if (until === undefined) uploadable.push(e);
      else if (heldUntil === null || until < heldUntil) heldUntil = until;
    }
    return { uploadable, heldUntil };
  }

  /**
   * With events refused alone or awaiting a server update, the first end of the owed events'
   * waits is the next attempt (null without: a relay grace alone schedules none).
   */
  firstWaitEnd(owed: EventEnvelope[], now: number, relayInStep: boolean): number | null {
    return this.refusedAlone.size === 0 && this.awaitingServer.size === 0 ? null : this.uploadableNow(owed, now, relayInStep).heldUntil;
  }

  /** How many of `owed` wait for a server update (see SyncStatus.awaitingServerUpdate). */
  awaitingServerUpdate(owed: readonly EventEnvelope[]): number {
    return this.awaitingServer.size === 0 ? 0 : owed.filter((e) => this.awaitingServer.has(e.id)).length;
  }
}

/** An owed event the server must take first: its writer, n and until when it waits. */
interface AwaitingServer {
  terminal: string;
  n: number;
  until: number;
}
