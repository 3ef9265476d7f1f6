import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { Awareness, applyAwarenessUpdate, encodeAwarenessUpdate } from 'y-protocols/awareness';
import { TerminalPresence } from '../../client/sync/terminal-presence';

/** What `from` announced, as `to` hears it over the relay. */
function hear(to: Awareness, from: Awareness): void {
  applyAwarenessUpdate(to, encodeAwarenessUpdate(from, [from.clientID]), 'relay');
}

describe('TerminalPresence', () => {
  it('[SYN24] lists this terminal and the others by name; another device\'s fields are read one by one, a terminal that is not a name (a number, empty) left out', () => {
    const own = new Awareness(new Y.Doc());
    const presence = new TerminalPresence(own);
    let changes = 0;
    const stop = presence.onChange(() => changes++);
    presence.announce({ terminal: 'till-2', role: 'terminal', staff: 'Ana', clockOffsetMs: 12 });
    const other = new Awareness(new Y.Doc());
    other.setLocalStateField('rms', { terminal: 'till-1', role: 7, staff: { name: 'x' }, clockOffsetMs: '3' });
    hear(own, other);
    const hostile = new Awareness(new Y.Doc());
    hostile.setLocalStateField('rms', { terminal: 42, role: 'admin' });
    hear(own, hostile);
    const unnamed = new Awareness(new Y.Doc());
    unnamed.setLocalStateField('rms', { terminal: '', role: 'terminal' });
    hear(own, unnamed);
    expect(presence.list()).toEqual([
      { clientId: other.clientID, terminal: 'till-1', role: '', staff: null, clockOffsetMs: null, self: false },
      { clientId: own.clientID, terminal: 'till-2', role: 'terminal', staff: 'Ana', clockOffsetMs: 12, self: true },
    ]);
    expect(changes).toBeGreaterThan(0);
    stop();
    const before = changes;
    presence.announce({ terminal: 'till-2', role: 'terminal', staff: null, clockOffsetMs: 12 });
    expect(changes).toBe(before);
    for (const a of [own, other, hostile, unnamed]) a.destroy();
  });
});
