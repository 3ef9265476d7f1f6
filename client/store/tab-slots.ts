/**
 * Writer slots agreed among the tabs of one device over a BroadcastChannel, for browsers
 * without Web Locks (they exist only in secure contexts, and a LAN server is plain http).
 *
 * A tab asks which slots are taken and listens for SETTLE_MS: holders answer, and so do
 * tabs still claiming. It claims the lowest slot nobody named, skipping one for each tab
 * asking at the same moment with a lower id (tabs a browser restores together then mostly
 * agree at once), and listens SETTLE_MS again: if the holder of that slot answers, or a tab
 * with a lower id claims it too, it asks again. A holder answers until it releases the slot;
 * a crashed tab stops answering, which frees its slot. (The limit of this fallback: a tab
 * busy for longer than SETTLE_MS cannot answer in time, and a tab opening meanwhile may take
 * the same slot.)
 */
export const SETTLE_MS = 200;

type SlotMessage =
  /** Sent by a tab choosing a slot: which are taken? */
  | { type: 'ask'; tab: string }
  /** A tab choosing a slot too answers an ask so (its own ask may predate the asker). */
  | { type: 'choosing'; tab: string }
  /** The sender holds the slot, or claims it (held: false). */
  | { type: 'slot'; tab: string; slot: number; held: boolean };

export interface TabSlot {
  readonly slot: number;
  /** Stops answering for the slot: another tab may take it. */
  release(): void;
}

/** Takes a slot in 1..maxSlots among the tabs on `channelName`, or null if all are taken. */
export async function claimTabSlot(channelName: string, maxSlots: number): Promise<TabSlot | null> {
  const tab = Math.random().toString(36).slice(2);
  const channel = new BroadcastChannel(channelName);
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
      default: {
        const never: never = msg;
        throw new Error(`unknown slot message ${JSON.stringify(never)}`);
      }
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
    for (let slot = 1; slot <= maxSlots; slot++) if (!taken.has(slot)) free.push(slot);
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
  return { slot: mine.slot, release: () => channel.close() };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
