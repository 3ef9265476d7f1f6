import type { RoomOrigin } from './origins';
import type { Room } from './room';

/**
 * Side effects of the relay, as ordered hooks (after Hocuspocus extensions). The relay core
 * only moves bytes; persistence, indexes and metrics live here. Hooks run in the order given:
 * persistence first, so at a commit what later hooks publish (the event index's `relayed`
 * marks) is already stored.
 */
export interface RelayHook {
  readonly name: string;
  /** Fill a freshly created room (it serves no one until every onLoad resolved). */
  onLoad?(room: Room): Promise<void> | void;
  /** After any update to the room's doc; `origin` null for foreign transactions. */
  onUpdate?(room: Room, update: Uint8Array, origin: RoomOrigin | null): void;
  /**
   * Make durable what onUpdate saw since the last commit (group commit). The room calls it
   * once per COMMIT_WINDOW_MS with updates (they were relayed already); a hook that throws
   * stops the hooks after it, and the room retries at its next commit.
   */
  onCommit?(room: Room): void;
  /** Persist what is pending (periodically, before unload, at shutdown). */
  onFlush?(room: Room): void;
  /** The room leaves memory (after onFlush). */
  onUnload?(room: Room): void;
  onConnectionsChanged?(room: Room): void;
  onRoomsChanged?(count: number): void;
  onBytes?(direction: 'in' | 'out', bytes: number): void;
}
