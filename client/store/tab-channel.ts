import * as Y from 'yjs';
import { TAB, PERSISTENCE } from './origins';
import { assertNever } from '../../shared/assert-never';

/**
 * Keeps the docs of several tabs of one device in sync with no network: each tab
 * broadcasts its own updates; a tab that opens asks the others for what it lacks.
 * Received updates are applied with the `tab` origin, which this channel does not echo
 * (the persistence stores them too: the sending tab may not have yet).
 */
type TabMessage =
  | { type: 'hello'; stateVector: Uint8Array; wantsReply: boolean }
  | { type: 'update'; update: Uint8Array };

export class TabChannel {
  private readonly channel: BroadcastChannel;
  private readonly onUpdate = (update: Uint8Array, origin: unknown): void => {
    if (origin === TAB || origin === PERSISTENCE) return;
    this.post({ type: 'update', update });
  };

  constructor(
    name: string,
    private readonly doc: Y.Doc,
  ) {
    this.channel = new BroadcastChannel(name);
    this.channel.onmessage = (e: MessageEvent<TabMessage>) => this.receive(e.data);
    doc.on('update', this.onUpdate);
    this.post({ type: 'hello', stateVector: Y.encodeStateVector(doc), wantsReply: true });
  }

  close(): void {
    this.doc.off('update', this.onUpdate);
    this.channel.close();
  }

  private receive(msg: TabMessage): void {
    switch (msg.type) {
      case 'hello': {
        const diff = Y.encodeStateAsUpdate(this.doc, msg.stateVector);
        // An empty diff is 2 bytes (no structs, no deletes).
        if (diff.byteLength > 2) this.post({ type: 'update', update: diff });
        // The newcomer may hold what we lack (written by a tab that has since closed).
        if (msg.wantsReply) {
          this.post({ type: 'hello', stateVector: Y.encodeStateVector(this.doc), wantsReply: false });
        }
        return;
      }
      case 'update':
        Y.applyUpdate(this.doc, msg.update, TAB);
        return;
      default:
        assertNever(msg, 'tab message');
    }
  }

  private post(msg: TabMessage): void {
    this.channel.postMessage(msg);
  }
}
