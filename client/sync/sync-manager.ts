import type * as Y from 'yjs';
import { assertNever } from '../../shared/assert-never';
import type { EventEnvelope } from '../../shared/events/envelope';
import { storedAboveOf, type Acknowledgements } from '../../shared/log/acknowledgements';
import { ackRangesOf, acksOf, relayedOf } from '../../shared/log/log-doc';
import type { StoredAbove, Watermarks } from '../../shared/protocol/rest-events';
import type { EventStore } from '../store/event-store';
import { Backoff, SERVER_UPDATE_BACKOFF, UPLOAD_BACKOFF } from './backoff';
import { ClockOffsetEstimator, WallStepDetector } from './clock-offset';
import { ConnectionMonitor } from './connection-state';
import { KnownAcknowledgements } from './known-acknowledgements';
import { BATCH_LIMITS, OTHER_WRITERS_GRACE_MS, SLOW_BATCH_LIMITS, computeOutbox, deliveryStateOf, takeBatch, type BatchLimits, type Outbox } from './outbox';
import { LastSyncTime } from './last-sync';
import { Quarantine, refusedAsNewer } from './quarantine';
import { RelayConnection } from './relay-connection';
import type { DeliveryState, SyncMetrics, SyncStatus } from './sync-status';
import { SyncStatusBoard } from './sync-status-board';
import { TerminalPresence } from './terminal-presence';
import { monotonicClock, realTimers, type Timers } from './timers';
import { UploadHolds } from './upload-holds';
import { OutboxUploader, type FailureCause, type UploadOutcome } from './uploader';

export { SAMPLE_EVERY_MS } from './sync-status-board';

export const SYNC_INTERVAL_MS = 30_000;
/** While an upload is in flight, later local writes wait this long to share the next batch. */
export const APPEND_DEBOUNCE_MS = 250;
/** With the relay in step, own events are uploaded only if still unacknowledged this long after. */
export const RELAY_DELIVERY_GRACE_MS = 1_000;
/** With nothing to upload, the server's time is asked when the last answer is older than this. */
export const CLOCK_PROBE_EVERY_MS = 5 * 60_000;
export const BASE_TIMEOUT_MS = 10_000;
export const SLOW_TIMEOUT_MS = 30_000;
export const MAX_TIMEOUT_MS = 60_000;
/** What "Sync now" says when the browser has no network. */
export const NO_NETWORK = 'No network: this device is offline. What is owed goes once the network is back.';

/** The room doc's acks and ackRanges at one moment (what the server had published by then). */
interface RoomMarks {
  acks: ReadonlyMap<string, number>;
  ranges: StoredAbove;
}

export interface SyncOptions {
  store: EventStore;
  location: string;
  token: string;
  role: 'terminal' | 'manager' | 'admin';
  /** Who is signed in on the device (told to the other terminals); see setStaff. */
  staff?: string | null;
  /** REST base URL and relay websocket URL (the app's: appEndpoints()). */
  apiBase: string;
  syncEndpoint: string;
  timers?: Timers;
  fetch?: typeof fetch;
  WebSocketImpl?: typeof WebSocket;
  /** Browser online/offline events and navigator.onLine; omit in Node. */
  browser?: Pick<Window, 'addEventListener' | 'removeEventListener'> & { navigator: { onLine: boolean } };
  /** How long other writers' events wait here before they are ours to upload (default OTHER_WRITERS_GRACE_MS). */
  otherWritersGraceMs?: number;
  /** Upload timeout on a normal link (default BASE_TIMEOUT_MS); it stretches on a slow one. */
  uploadTimeoutMs?: number;
}

/**
 * Delivers this terminal's log: live through the relay (Yjs updates) and, exactly once
 * in effect, to the canonical store through `POST /api/events` (the server is idempotent
 * by event id, so a retry after a lost answer is harmless).
 *
 * Triggers: start-up (after the log has loaded), the browser's `online` event, every
 * SYNC_INTERVAL_MS while online, `syncNow()`, and shortly after a local append (at once
 * without the relay; with it, after RELAY_DELIVERY_GRACE_MS, as the server stores what it
 * relays: most events are acknowledged by then and never posted).
 * Offline (the browser says so) pauses both the relay and uploads; online resumes both.
 * One upload is in flight per tab (each tab uploads as its own writer, see writer-lease.ts).
 */
export class SyncManager {
  private readonly store: EventStore;
  private readonly timers: Timers;
  /** Elapsed time that never steps (see Timers.monotonicNow). */
  private readonly elapsed: () => number;
  private readonly wallSteps: WallStepDetector;
  private readonly relay: RelayConnection;
  private readonly presence: TerminalPresence;
  private readonly uploader: OutboxUploader;
  private readonly connection: ConnectionMonitor;
  private readonly backoff: Backoff;
  private readonly offsets = new ClockOffsetEstimator();
  private readonly quarantine: Quarantine;
  /** What the server holds, from the room's acks and its REST answers (see KnownAcknowledgements, SYN20). */
  private readonly known = new KnownAcknowledgements();
  /** The room doc's `ackRanges`, read (storedAboveOf) when it changes. */
  private roomRanges: StoredAbove = {};
  /** Answers above the watermarks, and what holds owed events back (times on the timers clock). */
  private readonly holds = new UploadHolds();
  /** The wait of an event refused alone (see UploadHolds.refused). */
  private readonly refusalBackoff: Backoff;
  /** The wait of events the server rejected as newer than it knows (see UploadHolds.rejectedAsNewer). */
  private readonly serverUpdateBackoff: Backoff;
  private readonly cleanups: (() => void)[] = [];
  private token: string;
  private staff: string | null;
  private inFlight: Promise<void> | null = null;
  private retryTimer: unknown = null;
  private retryAt: number | null = null;
  private intervalTimer: unknown = null;
  /** After a local write: the relay grace, or the short wait that lets a burst share a batch. */
  private afterWriteTimer: unknown = null;
  private paused = false;
  /** After stop(): an answer still in flight schedules nothing (no upload from a closed store). */
  private stopped = false;
  /**
   * When the relay last synced, the server last published marks or an upload was answered
   * (SyncStatus.lastSyncAt); kept on the device, so an offline reload still says when.
   */
  private readonly inSyncAt: LastSyncTime;
  /** When the relay first synced with the server's room on this device (SyncStatus.roomReceivedAt); kept on the device. */
  private readonly roomReceivedAt: LastSyncTime;
  /** The server refuses our token: why, and since when (the status says offline since then). */
  private unauthorized: { message: string; since: number } | null = null;
  private limits: BatchLimits | null = null;
  /** Consecutive uploads that timed out: each doubles the next timeout. */
  private timeouts = 0;
  /** Fires when the first wait ends: other writers' grace, a relay grace, a refusal's or a server update's wait. */
  private dueTimer: unknown = null;
  /** When the due timer fires: a wait ending earlier re-arms it (a later one waits its turn). */
  private dueAt: number | null = null;
  /** Staff asked to sync, or the relay failed: the next upload with nothing owed asks the server's time, due or not. */
  private probeAsked = false;
  /** The upload a retry, write or answer called for while one was out: it goes once that one ends (see syncOnce). */
  private followUp: Promise<void> | null = null;
  /** Why the last upload or probe got no answer (its cause, and what the server said of a `version` refusal); null once one is answered. */
  private unanswered: { cause: FailureCause; message: string } | null = null;
  /** Since the last upload stored: a batch refused whole (a proxy's 400, 413 or 422), as `HTTP <status>`. */
  private refusedWith: string | null = null;
  private clockOffsetMs: number | null = null;
  /** When an answer last carried the server's time (monotonic clock: a wall clock set meanwhile does not delay the next probe). */
  private serverTimeAt: number | null = null;
  /** The status published to subscribers, and the metrics and chart samples in it. */
  private readonly statusBoard: SyncStatusBoard;

  private constructor(private readonly options: SyncOptions) {
    this.store = options.store;
    this.timers = options.timers ?? realTimers;
    this.elapsed = monotonicClock(this.timers);
    this.wallSteps = new WallStepDetector(this.timers.now, this.elapsed);
    this.token = options.token;
    this.staff = options.staff ?? null;
    this.connection = new ConnectionMonitor(this.timers.now, options.browser?.navigator.onLine ?? true, () => this.relayInStep);
    this.backoff = new Backoff(UPLOAD_BACKOFF, this.timers.random);
    this.refusalBackoff = new Backoff(UPLOAD_BACKOFF, this.timers.random);
    this.serverUpdateBackoff = new Backoff(SERVER_UPDATE_BACKOFF, this.timers.random);
    this.quarantine = new Quarantine(`rms:${options.location}:quarantine:${this.store.writer}`);
    this.inSyncAt = new LastSyncTime(`rms:${options.location}:in-sync-at:${this.store.writer}`);
    this.roomReceivedAt = new LastSyncTime(`rms:${options.location}:room-received-at:${this.store.writer}`);
    this.uploader = new OutboxUploader({ apiBase: options.apiBase, token: () => this.token, timers: this.timers, ...(options.fetch ? { fetch: options.fetch } : {}) });
    this.relay = new RelayConnection({
      url: options.syncEndpoint,
      room: options.location,
      doc: this.store.doc,
      token: options.token,
      timers: this.timers,
      ...(options.WebSocketImpl ? { WebSocketImpl: options.WebSocketImpl } : {}),
      onChange: () => this.statusBoard.publish(),
      // The server answered over the relay: the room (menu, tables) is here, and uploads
      // waiting out a backoff can go now.
      onSynced: () => {
        this.roomReceivedAt.markOnce(this.timers.now());
        this.serverReachable();
      },
      // With nothing owed, the relay is the first to find the server gone: asks it over REST.
      onFailed: () => this.relayFailed(),
    });
    this.presence = new TerminalPresence(this.relay.provider.awareness);
    this.statusBoard = new SyncStatusBoard({
      timers: this.timers,
      status: (metrics) => this.computeStatus(metrics),
      connection: () => this.connectionState(),
      paused: () => this.paused,
    });
  }

  /** Starts syncing a store whose log has loaded. */
  static start(options: SyncOptions): SyncManager {
    const manager = new SyncManager(options);
    manager.begin();
    return manager;
  }

  get status(): SyncStatus {
    return this.statusBoard.status;
  }

  /** The device's pairing role (managers may release quarantined events). */
  get role(): SyncOptions['role'] {
    return this.options.role;
  }

  /** The relay is connected and synced: this terminal's events reach the server through it. */
  get relayInStep(): boolean {
    return this.relay.state === 'connected';
  }

  /** Calls `fn` at once and on every change. */
  subscribe(fn: (s: SyncStatus) => void): () => void {
    return this.statusBoard.subscribe(fn);
  }

  /**
   * Manual "Sync now": skips any backoff wait and uploads until the outbox is empty or a try
   * fails; with nothing owed it asks the server's time, so the server is always asked. Returns
   * why the server was not reached, in words for staff (null once it answered). Without a
   * network (the browser says so) it tries nothing: the `online` event resumes sync.
   */
  async syncNow(): Promise<string | null> {
    if (this.stopped) return null;
    if (this.options.browser && !this.options.browser.navigator.onLine) return NO_NETWORK;
    this.backoff.reset();
    this.refusalBackoff.reset();
    // Staff asked: what is owed goes now, relay grace or an earlier refusal or not.
    this.holds.releaseAll();
    this.probeAsked = true;
    this.unanswered = null;
    const successesBefore = this.statusBoard.successes;
    if (this.paused) this.resume();
    else this.relay.reconnectNow();
    for (let batches = 0; batches < 1000; batches++) {
      const before = this.statusBoard.successes;
      await this.syncOnce();
      if (this.statusBoard.successes === before || this.outbox().owed.length === 0) break;
    }
    // The batch awaited was one already in flight when staff asked, and nothing is owed: ask now.
    if (this.probeAsked && this.unanswered === null && this.statusBoard.successes === successesBefore) await this.syncOnce();
    // Not answered: the next trigger asks again (see probeServerIfDue).
    if (this.unanswered === null) this.probeAsked = false;
    if (this.unauthorized !== null) return `The server refuses this terminal: ${this.unauthorized.message}`;
    const unanswered = this.unansweredText();
    if (unanswered !== null) return unanswered;
    // Answered, but not stored: something between (a proxy) refuses the uploads.
    const refused = this.uploadsRefused();
    if (refused !== null) return `Uploads refused (${refused}, not by this app's server: a proxy in between?). What is owed stays here and is tried again.`;
    const newer = this.holds.awaitingServerUpdate(this.outbox().owed);
    if (newer > 0) return `The server needs an update for ${newer} event${newer === 1 ? '' : 's'} (newer than it knows): they wait here and go once it is updated.`;
    return null;
  }

  /** Why the last request got no answer, for staff; a protocol version refused is the server's answer, in its words. */
  private unansweredText(): string | null {
    if (this.unanswered === null) return null;
    const { cause, message } = this.unanswered;
    if (cause === 'version') return `The server and this app speak different protocol versions (${message}): one of them needs an update. Work continues here; what is owed goes once they match.`;
    return `Server not reachable (${cause}). Work continues here; what is owed goes when it answers.`;
  }

  deliveryState(event: EventEnvelope): DeliveryState {
    if (this.holds.isAnswered(event.id)) return 'acknowledged';
    return deliveryStateOf(event, this.acknowledgements(), relayedOf(this.store.doc).toJSON() as Record<string, number>);
  }

  /** Lets quarantined events be uploaded again (e.g. after the server was updated). */
  releaseQuarantine(eventIds: Iterable<string>): void {
    if (this.stopped) return;
    this.quarantine.release(eventIds);
    this.statusBoard.publish();
    void this.syncOnce();
  }

  /** Someone else signed in (or out) on this device: the other terminals' consoles show it. */
  setStaff(staff: string | null): void {
    if (this.stopped) return;
    this.staff = staff;
    this.announce();
  }

  renewToken(token: string): void {
    if (this.stopped) return;
    this.token = token;
    this.unauthorized = null;
    this.relay.renewToken(token);
    void this.syncOnce();
  }

  stop(): void {
    this.stopped = true;
    for (const c of this.cleanups.splice(0)) c();
    this.clearTimer('retryTimer');
    this.clearTimer('intervalTimer');
    this.clearTimer('afterWriteTimer');
    this.clearTimer('dueTimer');
    this.relay.destroy();
    this.statusBoard.stop();
  }

  /** The watermarks known from the room doc and from the server's answers, whichever is higher (less acks known stale). */
  watermarks(): Watermarks {
    return this.known.marks(acksOf(this.store.doc));
  }

  /** The watermarks, with what the server stores above them (the room's `ackRanges` and its answers'): see KnownAcknowledgements. */
  acknowledgements(): Acknowledgements {
    return this.known.acknowledgements(acksOf(this.store.doc), this.roomRanges);
  }

  private begin(): void {
    const { browser } = this.options;
    if (browser) {
      const online = () => this.resume();
      const offline = () => this.pause();
      browser.addEventListener('online', online);
      browser.addEventListener('offline', offline);
      this.cleanups.push(() => browser.removeEventListener('online', online));
      this.cleanups.push(() => browser.removeEventListener('offline', offline));
    }
    this.cleanups.push(
      this.store.subscribe((change) => {
        if (change.origin === 'local') this.afterLocalWrite(change.events);
        else this.othersEventsArrived();
        this.statusBoard.publish();
      }),
    );
    // Only the server writes these maps: a change is word from it that we are in step.
    const onMarks = () => {
      this.markInSync();
      this.statusBoard.publish();
    };
    const acks = acksOf(this.store.doc);
    const onAcks = (event: Y.YMapEvent<number>) => this.afterRoomMarks(this.known.roomAcksChanged(event.changes.keys, acks).forgot);
    acks.observe(onAcks);
    const ranges = ackRangesOf(this.store.doc);
    const onRanges = (event: Y.YMapEvent<unknown>) => {
      this.roomRanges = storedAboveOf(ranges.entries());
      this.afterRoomMarks(this.known.roomRangesChanged(event.changes.keys, acks, this.roomRanges).forgot);
    };
    this.roomRanges = storedAboveOf(ranges.entries());
    ranges.observe(onRanges);
    relayedOf(this.store.doc).observe(onMarks);
    this.cleanups.push(() => acks.unobserve(onAcks));
    this.cleanups.push(() => ranges.unobserve(onRanges));
    this.cleanups.push(() => relayedOf(this.store.doc).unobserve(onMarks));
    // Another terminal joined, left, or someone else signed in there: the console lists them.
    this.cleanups.push(this.presence.onChange(() => this.statusBoard.publish()));
    this.announce();
    this.statusBoard.startSampling();
    // The owed count waits for the log to be read, online or not (offline it read "counting…" for good).
    if (!this.store.isIndexed) void this.store.indexed.then(() => this.statusBoard.publish());
    if (browser && !browser.navigator.onLine) {
      this.pause();
      return;
    }
    this.relay.start();
    this.armInterval();
    void this.syncOnce();
  }

  /** The room's `acks` or `ackRanges` changed (`forgot`: the server lost what it acknowledged, see KnownAcknowledgements). */
  private afterRoomMarks(forgot: boolean): void {
    this.forgetCovered();
    this.markInSync();
    this.statusBoard.publish();
    if (forgot) {
      this.serverForgot();
      if (!this.paused) this.trigger();
    }
  }

  private pause(): void {
    this.paused = true;
    this.connection.browserOffline();
    this.relay.pause();
    // Every automatic trigger waits for resume(), which uploads what is owed.
    this.clearTimer('retryTimer');
    this.clearTimer('intervalTimer');
    this.clearTimer('afterWriteTimer');
    this.clearTimer('dueTimer');
    this.statusBoard.publish();
  }

  private resume(): void {
    this.paused = false;
    this.connection.browserOnline();
    this.backoff.reset();
    this.relay.start();
    this.armInterval();
    void this.syncOnce();
  }

  /**
   * The relay failed to connect or lost its socket. Not a failure by itself: a proxy may block
   * websockets, or the relay refuse the room, while uploads are stored. The server is asked over
   * REST (at most one request per relay failure, and none while one is out or uploads back off);
   * its answer or failure moves the connection state.
   */
  private relayFailed(): void {
    if (this.paused || this.unauthorized !== null) return;
    this.probeAsked = true;
    // A request out answers (or fails) for it: none follows it (see syncOnce).
    if (this.inFlight === null) this.trigger();
  }

  private serverReachable(): void {
    if (this.paused || this.unauthorized !== null) return;
    this.connection.reachable();
    this.statusBoard.answeredUntimed();
    this.markInSync();
    this.statusBoard.publish();
    this.backoff.reset();
    this.clearTimer('retryTimer');
    void this.syncOnce();
  }

  private afterLocalWrite(events: readonly EventEnvelope[]): void {
    if (this.relayInStep) this.holds.writtenInStep(events.map((e) => e.id), this.timers.now() + RELAY_DELIVERY_GRACE_MS);
    // Waiting out a backoff: the retry will carry this event too.
    if (this.paused || this.retryTimer !== null || this.afterWriteTimer !== null) return;
    // The relay is in step: the server stores what it relays and acknowledges it in `acks`
    // within a fraction of a second. Upload only what is still owed after a grace (the
    // socket dropped the update, or the server does not store from the relay).
    if (this.relayInStep) {
      this.afterWriteTimer = this.timers.setTimeout(() => {
        this.afterWriteTimer = null;
        this.trigger();
      }, RELAY_DELIVERY_GRACE_MS);
      return;
    }
    // Idle: upload at once (the sale should reach the back office now). Busy: the batch in
    // flight is followed at once by the next one if more is owed; otherwise wait a moment
    // so a burst of writes shares one batch.
    if (this.inFlight === null) {
      void this.syncOnce();
      return;
    }
    this.afterWriteTimer = this.timers.setTimeout(() => {
      this.afterWriteTimer = null;
      this.trigger();
    }, APPEND_DEBOUNCE_MS);
  }

  /**
   * Other writers' events become ours to upload once their grace period has passed (their
   * own terminal may be gone): check again when the first one waiting comes due, and after
   * each upload for those that arrived later.
   */
  private othersEventsArrived(): void {
    if (this.paused) return;
    this.armDueTimerAt(this.timers.now() + (this.options.otherWritersGraceMs ?? OTHER_WRITERS_GRACE_MS));
  }

  private firstWaitDue(): void {
    this.dueTimer = null;
    this.dueAt = null;
    this.trigger();
    // An upload in flight or a backoff wait re-arms it when it ends (see syncOnce).
    if (this.inFlight === null && this.retryTimer === null) this.armDueTimer();
  }

  /** Arms the due timer for the first wait to end: other writers' grace (the outbox's `waitingUntil`) or an owed event's hold. */
  private armDueTimer(): void {
    if (this.paused || this.stopped || !this.store.isIndexed) return;
    const outbox = this.outbox();
    const held = this.uploadableNow(outbox).heldUntil;
    const due = outbox.waitingUntil === null ? held : held === null ? outbox.waitingUntil : Math.min(outbox.waitingUntil, held);
    if (due !== null) this.armDueTimerAt(due);
  }

  /** The due timer stands at the first wait's end: one armed for later is brought forward. */
  private armDueTimerAt(due: number): void {
    if (this.dueAt !== null && this.dueAt <= due) return;
    this.clearTimer('dueTimer');
    this.dueAt = due;
    this.dueTimer = this.timers.setTimeout(() => this.firstWaitDue(), Math.max(0, due - this.timers.now()) + 1);
  }

  private armInterval(): void {
    this.clearTimer('intervalTimer');
    this.intervalTimer = this.timers.setTimeout(() => {
      this.intervalTimer = null;
      if (this.paused) return;
      this.armInterval();
      this.noticeWallStep();
      this.trigger();
    }, SYNC_INTERVAL_MS);
  }

  /** Automatic triggers wait out a backoff: only the retry timer, the browser and staff cut it short. */
  private trigger(): void {
    if (this.retryTimer === null) void this.syncOnce();
  }

  /**
   * One upload of the next batch owed or, with nothing owed, a probe of the server if due (see
   * probeServerIfDue); one already in flight is waited for instead, and followed by another
   * once it ends (it may have passed the point where it would see what called: a retry armed
   * by its own answer fires while that answer is checked against the room), unless a backoff
   * now holds uploads (the retry timer is armed) or sync was paused or stopped meanwhile.
   */
  private syncOnce(): Promise<void> {
    if (this.inFlight) {
      // Awaited whole by whoever called (Sync now reads the status after it), however that one ended.
      const next = (): Promise<void> | undefined => {
        this.followUp = null;
        return this.retryTimer === null ? this.syncOnce() : undefined;
      };
      this.followUp ??= this.inFlight.then(next, next);
      return this.followUp;
    }
    if (this.paused || this.stopped || this.unauthorized !== null) return Promise.resolve();
    this.inFlight = this.uploadBatch().finally(() => {
      this.inFlight = null;
      this.armDueTimer();
      this.statusBoard.publish();
    });
    this.statusBoard.publish();
    return this.inFlight;
  }

  private async uploadBatch(): Promise<void> {
    // Right after a cold start the store may still be reading its log in the background:
    // wait for it rather than make it finish at once on the page's first frames.
    await this.store.indexed;
    if (this.stopped) return;
    this.noticeWallStep();
    let { uploadable } = this.uploadableNow();
    if (uploadable.length === 0) {
      await this.probeServerIfDue();
      if (this.paused || this.stopped) return;
      // Writes made while the probe was out found it in flight: they go now, not at the next trigger.
      ({ uploadable } = this.uploadableNow());
      if (uploadable.length === 0) return;
    }
    this.clearTimer('retryTimer');
    const { events, body } = takeBatch(uploadable, this.batchLimits());
    this.statusBoard.attempted();
    const sentWith = this.token;
    const outcome = await this.uploader.upload(body, this.timeoutMs());
    // Stopped meanwhile: a newer sync of this store may own the quarantine list it would save over.
    if (this.stopped) return;
    if (outcome.kind === 'stored') this.learnServerTime(outcome.latencyMs, outcome.serverTime);
    this.applyUploadOutcome(outcome, events, body.length, sentWith);
    if (outcome.kind === 'stored') await this.confirmAnswerAgainstRoom(outcome);
  }

  /**
   * A REST answer lacking what the room's acks or ackRanges name may mean a restore the relay
   * could not tell (SYN20): confirmed by a GET (an upload's answer may predate the room's
   * marks), the room's marks it lacks are disbelieved and what the server lost goes again.
   * Judged against the room as it was when the GET was sent (`roomWhenAsked`, a probe's): a
   * room mark arriving meanwhile may be newer than the answer.
   */
  private async confirmAnswerAgainstRoom(answer: { watermarks: Watermarks; storedAbove: StoredAbove }, roomWhenAsked: RoomMarks | null = null): Promise<void> {
    if (!this.known.lacksRoom(acksOf(this.store.doc), this.roomRanges, { marks: answer.watermarks, above: answer.storedAbove })) return;
    let confirmed = answer;
    let asked = roomWhenAsked;
    if (asked === null) {
      asked = this.roomNow();
      const probed = await this.uploader.probe(this.timeoutMs());
      if (probed.kind !== 'answered' || this.stopped) return;
      confirmed = probed;
    }
    const server = { marks: confirmed.watermarks, above: confirmed.storedAbove };
    if (!this.known.lacksRoom(asked.acks, asked.ranges, server)) return;
    this.known.confirmedLacking(asked.acks, asked.ranges, server);
    this.uploadWhatTheServerLost();
  }

  /** The server lacks what it answered before: its answers no longer hold, and what it lacks goes now. */
  private uploadWhatTheServerLost(): void {
    this.serverLostAnswers();
    this.statusBoard.publish();
    this.retrySoon(0);
  }

  /**
   * The server's answers no longer hold (a restore): the events they covered are owed again,
   * and what a compaction let go on their word (this device's, or another's followed here) is
   * written back to be uploaded.
   */
  private serverLostAnswers(): void {
    this.holds.forgetAnswers();
    this.store.writeBackRemovedUnacknowledged(this.acknowledgements());
  }

  /**
   * With nothing owed, asks the server (a GET) when asked to (`probeAsked`: the relay failed,
   * or staff pressed Sync now), or when the last answer carrying the server's time is older
   * than CLOCK_PROBE_EVERY_MS (with the relay delivering, a till may post nothing for hours:
   * stamps and kitchen ages stay on server time); then checks the room doc's acks against
   * the marks it answers.
   */
  private async probeServerIfDue(): Promise<void> {
    const due = this.serverTimeAt === null || this.elapsed() - this.serverTimeAt >= CLOCK_PROBE_EVERY_MS;
    if (!due && !this.probeAsked) return;
    this.probeAsked = false;
    const sentWith = this.token;
    const asked = this.roomNow();
    const outcome = await this.uploader.probe(this.timeoutMs());
    // Stopped meanwhile: the store may be closed, and a newer sync of it owns its clock and status.
    if (this.stopped) return;
    switch (outcome.kind) {
      case 'answered': {
        this.learnServerTime(outcome.latencyMs, outcome.serverTime);
        this.heard(outcome.latencyMs);
        this.statusBoard.probed(outcome.latencyMs);
        this.markInSync();
        // The server's word as an upload's answer is: lacking what the last answer held, it
        // forgot (a restore); an idle till posts nothing else that would tell it (SYN20).
        if (this.known.answered(outcome.watermarks, outcome.storedAbove).forgot) this.uploadWhatTheServerLost();
        // What it shows stored leaves the quarantine and the holds, as after an upload's answer.
        this.forgetCovered();
        await this.confirmAnswerAgainstRoom(outcome, asked);
        return;
      }
      case 'unauthorized':
        // Refused a token renewToken has replaced since: says nothing of the new one (asked again at the next trigger).
        if (sentWith !== this.token) return;
        this.tokenRefused(outcome.message || `HTTP ${outcome.status}`);
        return;
      case 'failed':
        // Asked again at the next trigger (the 30 s interval), not at the next clock probe due
        // minutes later: its failure stays on the connection state until an answer follows it.
        this.probeAsked = true;
        this.unreachable(outcome.cause, outcome.message);
        return;
      default:
        assertNever(outcome, 'probe outcome');
    }
  }

  /** The room's acks and ranges now (a copy): what a request sent now can be judged against. */
  private roomNow(): RoomMarks {
    return { acks: new Map(acksOf(this.store.doc).entries()), ranges: this.roomRanges };
  }

  /** An answer's `serverTime`, measured against the same wall clock the hybrid clock corrects. */
  private learnServerTime(rttMs: number, serverTime: number): void {
    this.noticeWallStep(); // a step while the request was out: the older samples are void, not this one
    this.serverTimeAt = this.elapsed();
    this.clockOffsetMs = this.offsets.add(this.store.clock.wallTime(), rttMs, serverTime);
    this.store.clock.setOffset(this.clockOffsetMs);
    this.store.clockCalibrated();
    this.announce();
  }

  /**
   * The device's clock was set (NTP, staff): the offset measured against the old wall clock
   * is off by the step. Forget it and ask the server's time at once (the hybrid clock keeps
   * the old offset until the answer: the step may also be a device waking from sleep).
   */
  private noticeWallStep(): void {
    const step = this.wallSteps.step();
    if (step === 0) return;
    this.offsets.clear();
    this.clockOffsetMs = null;
    this.serverTimeAt = null;
    // Set back: wall-clock times kept move with it (a relay grace would last the step, "last
    // sync" lie in the future). Not forward: that may be sleep, and later times would be lies.
    if (step < 0) {
      // Server time did not step: a calibrated clock carries on from it until the next answer
      // (offline, it would stamp the same instant and put the sales after 04:00 on the day
      // before). Uncalibrated, the wall clock may just have been set right: nothing to keep.
      const clock = this.store.clock;
      if (clock.calibrated) clock.setOffset(clock.getOffset() - step);
      this.inSyncAt.shift(step);
      this.roomReceivedAt.shift(step);
      this.statusBoard.shift(step);
      this.holds.shift(step);
    }
    this.announce();
    this.statusBoard.publish();
  }

  /** A request got no answer: counted by cause, and a failure for the connection state. */
  private unreachable(cause: FailureCause, message: string): void {
    // No answer now (an upload or a probe): that is the story, not a refusal before.
    this.refusedWith = null;
    this.unanswered = { cause, message };
    this.statusBoard.failed(cause);
    this.heard(null);
  }

  /** What the connection state learns from an answer (its latency) or a failure (null); nothing while paused (offline says so). */
  private heard(latencyMs: number | null): void {
    if (latencyMs !== null) this.unanswered = null;
    this.statusBoard.charted(latencyMs);
    if (this.paused) return;
    if (latencyMs === null) this.connection.failed();
    else this.connection.succeeded(latencyMs);
  }

  private tokenRefused(message: string): void {
    this.unauthorized = { message, since: this.unauthorized?.since ?? this.timers.now() };
    this.statusBoard.failed('unauthorized');
    this.statusBoard.publish();
  }

  private applyUploadOutcome(outcome: UploadOutcome, events: EventEnvelope[], bytes: number, sentWith: string): void {
    switch (outcome.kind) {
      case 'stored': {
        const latency = outcome.latencyMs;
        this.heard(latency);
        this.limits = null;
        this.refusedWith = null;
        // Every event refused alone went through since: a later refusal starts short again.
        if (this.holds.refusedAloneCount === 0) this.refusalBackoff.reset();
        this.timeouts = 0;
        // Below the last answer: the server forgot what it answered before (a restore). What
        // is owed again goes with the next batches (see the end of this case).
        if (this.known.answered(outcome.watermarks, outcome.storedAbove).forgot) this.serverLostAnswers();
        const byId = new Map(events.map((e) => [e.id, e]));
        let settled = 0;
        let waitUntil: number | null = null;
        for (const r of outcome.results) {
          const e = byId.get(r.id);
          if (e === undefined) continue;
          settled++;
          if (r.status === 'rejected' && refusedAsNewer(r, e, { role: this.options.role, terminal: this.store.terminal })) {
            // One longer wait per answer, not per event: a batch of them does not wait for ever.
            waitUntil ??= this.timers.now() + this.serverUpdateBackoff.fail();
            this.holds.rejectedAsNewer(e, waitUntil);
            this.statusBoard.failed('server_needs_update');
          } else if (r.status === 'rejected') {
            this.quarantineEvent(e, r.reason ?? 'rejected by the server', r.field ?? null);
          } else {
            this.holds.taken(e);
          }
        }
        this.forgetCovered();
        if (settled > 0) this.backoff.reset();
        // The server is up: a relay waiting out its backoff reconnects now (after a restart,
        // whichever channel reaches it first brings the other back).
        this.relay.serverAnswered();
        this.statusBoard.stored({ events: events.length, bytes, receivedAt: outcome.receivedAt, latencyMs: latency });
        this.markInSync();
        // More owed: the next batch at once, unless this answer settled none of its events
        // (a server answering for other ids): then wait as after a failure, never spin.
        // Own events still in their relay grace are not due yet: the due timer comes back for them.
        if (this.uploadableNow().uploadable.length > 0) this.retrySoon(settled > 0 ? 0 : this.backoff.fail());
        return;
      }
      case 'tooLarge':
      case 'refused':
        this.statusBoard.failed(outcome.kind === 'tooLarge' ? 'too_large' : 'refused');
        this.refusedWith = outcome.kind === 'tooLarge' ? 'HTTP 413' : `HTTP ${outcome.status}`;
        if (events.length > 1) {
          // Halved: a batch above the limits, or the event refused, is found in a few requests.
          this.halveBatch(events, bytes);
          this.retrySoon(0);
          return;
        }
        // One event is never above our server's limits (append bounds it at MAX_EVENT_BYTES, a
        // batch takes MAX_BATCH_BYTES): a 413 for it is a proxy's, as a 400 or 422 is, and never
        // quarantines it (a proxy's bad minute would set every owed sale aside, owed 0).
        // Refused alone: it waits (see UploadHolds.refused), and the next event goes after a backoff,
        // not at once: a proxy that refuses everything would be walked one event a request. Its own
        // wait outlasts that backoff: due first again, it went again in place of the events
        // behind it, refused each time, while they waited out its growing waits.
        const retryIn = this.backoff.fail();
        this.holds.refused(events[0]!, this.timers.now() + Math.max(retryIn + 1, this.refusalBackoff.fail()));
        this.retrySoon(retryIn);
        return;
      case 'unauthorized':
        // Refused a token renewToken has replaced while the request was out: the old token's
        // answer must not block the new one for good (until yet another renewal). Retry with it.
        if (sentWith !== this.token) {
          this.retrySoon(0);
          return;
        }
        this.tokenRefused(outcome.message || `HTTP ${outcome.status}`);
        return;
      case 'failed': {
        if (outcome.cause === 'timeout') this.timeouts++;
        this.unreachable(outcome.cause, outcome.message);
        this.retrySoon(this.backoff.fail());
        return;
      }
      default:
        assertNever(outcome, 'upload outcome');
    }
  }

  /**
   * The room says the server lost what it acknowledged (an ack written lower, or ranges
   * shrunk below the ack: the relay's room guard writes its truth after a restore): what it
   * said before no longer holds; upload again what it lacks.
   */
  private serverForgot(): void {
    // First: what is written back is judged by the server's word as it is now.
    this.known.forget();
    this.serverLostAnswers();
  }

  private markInSync(): void {
    this.inSyncAt.mark(this.timers.now());
  }

  /** The server would not take the batch whole (413, or a 400/422 over one event's body): smaller ones, until one is stored. */
  private halveBatch(events: EventEnvelope[], bytes: number): void {
    this.limits = { maxEvents: Math.max(1, Math.floor(events.length / 2)), maxBytes: Math.max(1024, Math.floor(bytes / 2)) };
  }

  /** Answers, events awaiting a server update and quarantined events now acknowledged: the server holds them. */
  private forgetCovered(): void {
    const acks = this.acknowledgements();
    this.holds.settleCovered(acks);
    // None waits for a server update (it was updated): one newer than it later waits short again.
    if (this.holds.awaitingServerCount === 0) this.serverUpdateBackoff.reset();
    this.quarantine.dropCovered(acks);
  }

  private quarantineEvent(e: EventEnvelope, reason: string, field: string | null): void {
    this.holds.quarantined(e.id);
    this.quarantine.add({ eventId: e.id, type: e.type, aggregateId: e.aggregate.id, terminal: e.origin.terminal, n: e.origin.n, reason, field, at: this.timers.now() });
  }

  private retrySoon(delayMs: number): void {
    // An answer that came after pause() or stop(): resume() uploads what is owed; stop(), nothing.
    if (this.paused || this.stopped) return;
    this.clearTimer('retryTimer');
    this.retryAt = this.timers.now() + delayMs;
    this.retryTimer = this.timers.setTimeout(() => {
      this.retryTimer = null;
      this.retryAt = null;
      void this.syncOnce();
    }, delayMs);
  }

  private batchLimits(): BatchLimits {
    const base = this.connection.isSlow ? SLOW_BATCH_LIMITS : BATCH_LIMITS;
    if (!this.limits) return base;
    return { maxEvents: Math.min(base.maxEvents, this.limits.maxEvents), maxBytes: Math.min(base.maxBytes, this.limits.maxBytes) };
  }

  /**
   * Stretches on a slow link: at least four round trips of the smoothed latency, and
   * doubled after each upload that timed out, within MAX_TIMEOUT_MS.
   */
  private timeoutMs(): number {
    const normal = this.options.uploadTimeoutMs ?? BASE_TIMEOUT_MS;
    const base = this.connection.isSlow ? Math.max(normal, SLOW_TIMEOUT_MS) : normal;
    const stretched = Math.max(base * 2 ** Math.min(this.timeouts, 6), 4 * (this.connection.latencyMs ?? 0));
    return Math.min(MAX_TIMEOUT_MS, stretched);
  }

  /**
   * See SyncStatus.uploadsRefused. Forgets the refusal once nothing is owed, when read: a
   * refusal answered after the relay delivered all that was owed (the batch was out meanwhile)
   * is dropped here too, which forgetCovered alone would not see.
   */
  private uploadsRefused(outbox: Outbox = this.outbox()): string | null {
    // Nothing owed (the relay delivered what was refused): a later sale owed is no refusal's.
    if (outbox.owed.length === 0) this.refusedWith = null;
    return this.refusedWith;
  }

  /** What to upload now, and when the first event held back comes due (see UploadHolds.uploadableNow). */
  private uploadableNow(outbox = this.outbox()): { uploadable: EventEnvelope[]; heldUntil: number | null } {
    return this.holds.uploadableNow(outbox.owed, this.timers.now(), this.relayInStep);
  }

  private outbox(): Outbox {
    return computeOutbox({
      byWriter: this.store.eventsByWriter(),
      acknowledged: this.acknowledgements(),
      quarantined: this.quarantine.ids,
      answered: { has: (id) => this.holds.isAnswered(id) },
      ownWriter: this.store.writer,
      firstHeldAt: (id) => this.store.firstHeldAt(id),
      // Stamps carry the measured offset; the status bar counts from the wall clock.
      ownWrittenAt: (e) => e.at - (this.clockOffsetMs ?? 0),
      now: this.timers.now(),
      ...(this.options.otherWritersGraceMs === undefined ? {} : { graceMs: this.options.otherWritersGraceMs }),
    });
  }

  /** Tells the other terminals who we are and how far our clock is off. */
  private announce(): void {
    this.presence.announce({ terminal: this.store.writer, role: this.options.role, staff: this.staff, clockOffsetMs: this.clockOffsetMs });
  }

  /** The status as of now, with the board's `metrics` (see SyncStatusBoard.publish). */
  private computeStatus(metrics: SyncMetrics): SyncStatus {
    const outbox = this.store.isIndexed ? this.outbox() : null;
    return {
      connection: this.connectionState(),
      relay: this.relay.state,
      owed: outbox === null ? null : outbox.owed.length + outbox.waiting,
      lastSyncAt: this.inSyncAt.at(this.timers.now()),
      roomReceivedAt: this.roomReceivedAt.at(this.timers.now()),
      oldestOwedAt: outbox?.oldestOwedAt ?? null,
      inFlight: this.inFlight !== null,
      attempt: this.backoff.attempt,
      backoffMs: this.backoff.ceilingMs(),
      nextAttemptAt: this.retryAt ?? (outbox === null ? null : this.holds.firstWaitEnd(outbox.owed, this.timers.now(), this.relayInStep)),
      // None while connected: the backoff itself resets only after a stable connection (STABLE_MS).
      relayAttempt: this.relayInStep ? 0 : this.relay.attempt,
      relayNextAttemptAt: this.relay.nextAttemptAt,
      quarantined: this.quarantine.list(),
      metrics,
      clockOffsetMs: this.clockOffsetMs,
      terminals: this.presence.list(),
      watermarks: this.watermarks(),
      authProblem: this.unauthorized?.message ?? (this.relay.refusedFor ? `relay refused: ${this.relay.refusedFor}` : null),
      uploadsRefused: outbox === null ? null : this.uploadsRefused(outbox),
      awaitingServerUpdate: outbox === null ? 0 : this.holds.awaitingServerUpdate(outbox.owed),
    };
  }

  private connectionState(): SyncStatus['connection'] {
    return this.unauthorized !== null ? { name: 'offline', since: this.unauthorized.since } : this.connection.current;
  }

  private clearTimer(name: 'retryTimer' | 'intervalTimer' | 'afterWriteTimer' | 'dueTimer'): void {
    const handle = this[name];
    if (handle !== null) this.timers.clearTimeout(handle);
    this[name] = null;
    if (name === 'retryTimer') this.retryAt = null;
    if (name === 'dueTimer') this.dueAt = null;
  }
}
