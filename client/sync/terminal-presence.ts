import type { Awareness } from 'y-protocols/awareness';
import type { ConnectedTerminal } from './sync-status';

/** What this device tells the other terminals about itself. */
export interface OwnPresence {
  terminal: string;
  role: string;
  staff: string | null;
  clockOffsetMs: number | null;
}

/**
 * The terminals on the location's relay, told through Yjs awareness (field `rms`): this
 * device's announcement, and the others'. Another device's presence is whatever it sent
 * (SYN24): it is read here field by field, never trusted whole.
 */
export class TerminalPresence {
  constructor(private readonly awareness: Awareness) {}

  /** Tells the other terminals who we are and how far our clock is off. */
  announce(own: OwnPresence): void {
    this.awareness.setLocalStateField('rms', own);
  }

  /** The connected terminals by name, this one included; one whose terminal is not a name is left out. */
  list(): ConnectedTerminal[] {
    const self = this.awareness.clientID;
    const out: ConnectedTerminal[] = [];
    for (const [clientId, state] of this.awareness.getStates()) {
      const rms = (state as { rms?: { [K in keyof ConnectedTerminal]?: unknown } }).rms;
      if (typeof rms?.terminal !== 'string' || rms.terminal === '') continue;
      out.push({
        clientId,
        terminal: rms.terminal,
        role: typeof rms.role === 'string' ? rms.role : '',
        staff: typeof rms.staff === 'string' ? rms.staff : null,
        clockOffsetMs: typeof rms.clockOffsetMs === 'number' ? rms.clockOffsetMs : null,
        self: clientId === self,
      });
    }
    return out.sort((a, b) => a.terminal.localeCompare(b.terminal));
  }

  /** Calls `fn` when a terminal joins, leaves or announces something else; returns the unsubscribe. */
  onChange(fn: () => void): () => void {
    this.awareness.on('change', fn);
    return () => this.awareness.off('change', fn);
  }
}
