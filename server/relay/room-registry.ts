import type { CloseReasonInfo } from '../../shared/protocol/close-reasons';
import type { RelayHook } from './hooks';
import { Room, type RoomCommitWatch } from './room';

export interface RoomRegistryOptions {
  hooks: readonly RelayHook[];
  /** Told of every room's commits (store health, the log). */
  commitWatch: RoomCommitWatch;
  /** Grace period before an idle room (no connections) is flushed and unloaded. */
  idleMs: number;
  /** Interval of the periodic flush of every loaded room. */
  flushEveryMs: number;
  /** A room's flush failed (e.g. the database is locked or full); the room stays loaded. */
  onFlushError?(room: Room, err: unknown): void;
}

/**
 * Loads rooms on demand and unloads idle ones.
 *
 *   acquire(name) ──► loading (onLoad hooks) ──► loaded ──idle for idleMs──► flush, unload
 *                                                  ▲   │
 *                                                  └───┘ acquire / a connection cancels the idle timer
 *
 * Every caller of acquire() for a room that is still loading gets the same promise, so a
 * room is loaded once and never serves anyone before it finished loading.
 */
export class RoomRegistry {
  private readonly loaded = new Map<string, Room>();
  private readonly loading = new Map<string, Promise<Room>>();
  private readonly idleTimers = new Map<string, NodeJS.Timeout>();
  private readonly flushTimer: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly options: RoomRegistryOptions) {
    this.flushTimer = setInterval(() => this.flushAll(), options.flushEveryMs);
    this.flushTimer.unref();
  }

  get size(): number {
    return this.loaded.size;
  }

  loadedRooms(): Room[] {
    return [...this.loaded.values()];
  }

  /** The loaded room, if it is in memory now. */
  peek(name: string): Room | undefined {
    return this.loaded.get(name);
  }

  /**
   * The room, loaded. Cancels a pending unload; callers that do not add a connection
   * (the REST bridge) call release() when done so the room can idle out again.
   */
  async acquire(name: string): Promise<Room> {
    if (this.closed) throw new Error('relay is shutting down');
    const room = this.loaded.get(name);
    if (room !== undefined) {
      this.cancelIdle(name);
      return room;
    }
    const pending = this.loading.get(name);
    if (pending !== undefined) return pending;
    const load = this.load(name);
    this.loading.set(name, load);
    try {
      return await load;
    } finally {
      this.loading.delete(name);
    }
  }

  /** A user of the room let go; unload it later if nobody is connected. */
  release(room: Room): void {
    if (this.loaded.get(room.name) !== room || room.connections.size > 0 || this.closed) return;
    this.cancelIdle(room.name);
    const timer = setTimeout(() => this.unload(room), this.options.idleMs);
    timer.unref();
    this.idleTimers.set(room.name, timer);
  }

  flushAll(): void {
    for (const room of this.loaded.values()) this.flush(room);
  }

  /**
   * Commits and flushes `room`; false if a hook failed. Never throws: it runs from timers, where
   * a throw (SQLITE_BUSY or SQLITE_FULL from the persistence hook) crashed the whole server, every
   * location with it, where a failed commit only closes its senders and is retried (SRV11).
   */
  private flush(room: Room): boolean {
    try {
      room.commit();
      for (const hook of this.options.hooks) hook.onFlush?.(room);
      // A flush may write the doc (the event index publishes `relayed`): stored now, not left
      // queued for an unload to drop.
      room.commit();
      return true;
    } catch (err) {
      this.options.onFlushError?.(room, err);
      return false;
    }
  }

  /** Shutdown: close every connection with `reason`, flush and unload every room. */
  async closeAll(reason: CloseReasonInfo): Promise<void> {
    this.closed = true;
    clearInterval(this.flushTimer);
    await Promise.allSettled([...this.loading.values()]);
    for (const room of [...this.loaded.values()]) {
      for (const conn of [...room.connections]) conn.close(reason);
      // Unloaded even if its flush fails (unload logs it): what was not stored was never
      // published as relayed, its senders send it again; the other rooms are still flushed.
      this.unload(room);
    }
  }

  private async load(name: string): Promise<Room> {
    const room = new Room(name, this.options.hooks, this.options.commitWatch);
    try {
      for (const hook of this.options.hooks) await hook.onLoad?.(room);
    } catch (err) {
      room.destroy();
      throw err;
    }
    this.loaded.set(name, room);
    this.notifyRooms();
    return room;
  }

  private unload(room: Room): void {
    this.cancelIdle(room.name);
    if (this.loaded.get(room.name) !== room) return;
    if (room.connections.size > 0 && !this.closed) return;
    if (!this.flush(room) && !this.closed) {
      // Destroying it now would drop updates held only in memory: keep it and try again later.
      this.release(room);
      return;
    }
    for (const hook of this.options.hooks) hook.onUnload?.(room);
    this.loaded.delete(room.name);
    room.destroy();
    this.notifyRooms();
  }

  private cancelIdle(name: string): void {
    const timer = this.idleTimers.get(name);
    if (timer !== undefined) {
      clearTimeout(timer);
      this.idleTimers.delete(name);
    }
  }

  private notifyRooms(): void {
    for (const hook of this.options.hooks) hook.onRoomsChanged?.(this.loaded.size);
  }
}
