import { deviceStorage, keepOnDevice } from './device-storage';
import { assertNever } from '../../shared/assert-never';

/**
 * Writer slots agreed among the tabs of one device over a BroadcastChannel, for browsers
 * without Web Locks (they exist only in secure contexts, and a LAN server is plain http).
 *
 * A tab asks which slots are taken and listens for SETTLE_MS: holders answer, and so do
 * tabs still claiming. It claims the lowest slot nobody named, skipping one for each tab
 * asking at the same moment with a lower id (tabs a browser restores together then mostly
 * agree at once), and listens SETTLE_MS again: if the holder of that slot answers, or a tab
 * with a lower id claims it too, it asks again. A holder answers until it releases the slot.
 *
 * A holder busy for longer than SETTLE_MS cannot answer (loading a big log can take a second),
 * so it also keeps a record of its slot in localStorage (shared at once by an origin's tabs,
 * plain http included), refreshed every HEARTBEAT_MS: a slot whose record is younger than
 * STALE_MS is taken even if nobody answers. A crashed tab stops answering and beating, so its
 * slot is free STALE_MS later. A tab busy or frozen for longer than STALE_MS may lose its slot
 * to a tab opening meanwhile: it then knows (TabSlot.held) and writes no more under it.
 */
export const SETTLE_MS = 200;
export const HEARTBEAT_MS = 1_000;
/** Generous: a busy holder's heartbeat comes late. */
export const STALE_MS = 10_000;

interface SlotRecord {
  tab: string;
  at: number;
}

type SlotMessage =
  /** Sent by a tab choosing a slot: which are taken? */
  | { type: 'ask'; tab: string }
  /** A tab choosing a slot too answers an ask so (its own ask may predate the asker). */
  | { type: 'choosing'; tab: string }
  /** The sender holds the slot, or claims it (held: false). */
  | { type: 'slot'; tab: string; slot: number; held: boolean };

export interface TabSlot {
  readonly slot: number;
  /**
   * Whether this tab still holds the slot. A tab frozen for longer than STALE_MS (a background
   * tab on Android, Energy Saver) neither answered nor beat meanwhile, so a tab opening then
   * may have taken its slot: once the slot's record is another tab's, it is lost for good (it
   * must not number events as the new holder does). A late heartbeat alone is no loss (the
   * screen off, another app in front): the record still its own, the tab writes it again.
   * Numbers stay apart in the moment before the new holder's record is written too: both read
   * the device's counter at every append (STO24).
   */
  held(): boolean;
  /** Stops answering for the slot: another tab may take it. */
  release(): void;
}

/** Takes a slot in 1..maxSlots among the tabs on `channelName`, or null if all are taken. */
export async function claimTabSlot(channelName: string, maxSlots: number): Promise<TabSlot | null> {
  const tab = Math.random().toString(36).slice(2);
  const channel = new BroadcastChannel(channelName);
  const records = deviceStorage();
  const recordKey = (slot: number): string => `${channelName}:${slot}`;
  const recordOf = (slot: number): SlotRecord | null => {
    try {
      return JSON.parse(records?.getItem(recordKey(slot)) ?? 'null') as SlotRecord | null;
    } catch {
      return null; // not ours to read (another build's, or edited by hand): no claim
    }
  };
  // Either way: the clock may have been set back since the record was written.
  const recorded = (slot: number): boolean => {
    const record = recordOf(slot);
    return record !== null && Math.abs(Date.now() - record.at) < STALE_MS;
  };
  // This tab's slot once it claims one; what the current round heard.
  let mine: { slot: number; held: boolean } | null = null;
  let taken = new Set<number>();
  let alsoChoosing = new Set<string>();
  let beaten = false;

  const post = (msg: SlotMessage): void => channel.postMessage(msg);
  const tellMine = (): void => {
    if (mine) post({ type: 'slot', tab, ...mine });
  };
  channel.onmessage = ({ data: msg }: MessageEvent<SlotMessage>) => {
    switch (msg.type) {
      case 'ask':
        if (mine) {
          tellMine();
        } else {
          alsoChoosing.add(msg.tab);
          post({ type: 'choosing', tab });
        }
        return;
      case 'choosing':
        if (!mine) alsoChoosing.add(msg.tab);
        return;
      case 'slot':
        taken.add(msg.slot);
        alsoChoosing.delete(msg.tab); // counted in `taken` now
        if (!mine || msg.slot !== mine.slot || (msg.held && mine.held)) return;
        // The other claimant must back off: tell it, as it may not have heard this tab's claim.
        if (mine.held || (!msg.held && tab < msg.tab)) tellMine();
        else beaten = true;
        return;
      default:
        assertNever(msg, 'slot message');
    }
  };

  for (;;) {
    mine = null;
    taken = new Set();
    alsoChoosing = new Set();
    beaten = false;
    post({ type: 'ask', tab });
    await sleep(SETTLE_MS);
    const free: number[] = [];
    for (let slot = 1; slot <= maxSlots; slot++) if (!taken.has(slot) && !recorded(slot)) free.push(slot);
    if (free.length === 0) {
      channel.close();
      return null;
    }
    const ahead = [...alsoChoosing].filter((other) => other < tab).length;
    mine = { slot: free[Math.min(ahead, free.length - 1)]!, held: false };
    tellMine();
    await sleep(SETTLE_MS);
    if (!beaten) break;
  }
  mine.held = true;
  const { slot } = mine;
  let lost = false;
  /** This tab's record was written: gone now, another tab took the slot (a full device kept it no record of its own). */
  let wroteRecord = false;
  const held = (): boolean => {
    if (lost || records === undefined) return !lost;
    const record = recordOf(slot);
    lost = record === null ? wroteRecord : record.tab !== tab;
    if (lost) clearInterval(heartbeat);
    return !lost;
  };
  const writeRecord = (): void => {
    const record = JSON.stringify({ tab, at: Date.now() } satisfies SlotRecord);
    if (keepOnDevice(records, recordKey(slot), record)) {
      wroteRecord = true;
      return;
    }
    // A full device. Another tab's record there (a crashed holder's, stale) goes first, freeing
    // its bytes for ours: else it outlives our claim and makes every append of ours a lost slot,
    // reload or not. If even then refused, the slot has no record and rests on the channel's
    // answers; the holder it was taken from, waking, finds its record gone and knows. Our own
    // record stays as it was (an older beat).
    if (recordOf(slot)?.tab === tab) return;
    records?.removeItem(recordKey(slot));
    if (keepOnDevice(records, recordKey(slot), record)) wroteRecord = true;
  };
  const heartbeat = records ? setInterval(() => held() && writeRecord(), HEARTBEAT_MS) : undefined;
  writeRecord(); // over the stale record of the tab that held the slot before, if any
  const release = (): void => {
    clearInterval(heartbeat);
    // A holder that was silent for STALE_MS may have lost the slot: the record is then another tab's.
    if (recordOf(slot)?.tab === tab) records?.removeItem(recordKey(slot));
    channel.close();
    if (typeof removeEventListener === 'function') removeEventListener('pagehide', onPageHide);
  };
  // A page closed or reloaded frees its slot at once, as its closing channel does; a page kept
  // for going back may return, so its record stays until stale.
  const onPageHide = (event: PageTransitionEvent): void => {
    if (!event.persisted) release();
  };
  if (typeof addEventListener === 'function') addEventListener('pagehide', onPageHide);
  return { slot, held, release };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
