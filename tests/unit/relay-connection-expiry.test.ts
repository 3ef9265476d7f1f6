import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { CloseReason, type CloseReasonInfo } from '../../shared/protocol/close-reasons';
import { RelayConnection } from '../../server/relay/connection';

/** The side of a ws socket a connection uses, open until closed; every ping answered. */
class FakeSocket extends EventEmitter {
  readyState: number = WebSocket.OPEN;
  bufferedAmount = 0;
  binaryType = 'nodebuffer';
  send(_message: unknown, done?: (err?: Error) => void): void {
    done?.();
  }
  ping(): void {
    this.emit('pong');
  }
  close(): void {
    this.readyState = WebSocket.CLOSED;
  }
  terminate(): void {
    this.readyState = WebSocket.CLOSED;
  }
}

/** A connection whose token expires at `exp` (seconds), on the clock `now`, and the closes it makes. */
function connectionExpiringAt(exp: number, now: () => number) {
  const closes: number[] = [];
  const socket = new FakeSocket();
  new RelayConnection(socket as unknown as WebSocket, { location: 'loc-1', role: 'terminal', terminal: 'till-1', exp }, {
    maxMessageBytes: 1 << 20,
    maxConnectionsPerRoom: 10,
    maxConnectionsPerDevice: 2,
    hooks: [],
    onGone() {},
    onClosed: (reason: CloseReasonInfo) => closes.push(reason.code),
    log: { info() {}, warn() {} },
    now,
  });
  return { socket, closes };
}

describe('relay connection: its token expiring', () => {
  afterEach(() => void vi.useRealTimers());

  it('[SRV5] a frame after the token expired closes tokenExpired, though the expiry timer has not fired (late, or the clock stepped)', () => {
    let now = Date.now();
    const exp = Math.floor(now / 1000) + 3600;
    const { socket, closes } = connectionExpiringAt(exp, () => now);
    now = exp * 1000 + 1;
    socket.emit('message', Buffer.from([0, 0, 0]), true);
    expect(closes).toEqual([CloseReason.tokenExpired.code]);
    socket.emit('close');
  });

  it('[SRV5] a token expiring in 30 days, past what setTimeout can wait, closes its socket at its expiry, not before', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    const day = 24 * 3600 * 1000;
    const exp = Math.floor(Date.now() / 1000) + 30 * 24 * 3600;
    const { socket, closes } = connectionExpiringAt(exp, () => Date.now());
    vi.advanceTimersByTime(29 * day);
    expect(closes).toEqual([]);
    vi.advanceTimersByTime(2 * day);
    expect(closes).toEqual([CloseReason.tokenExpired.code]);
    socket.emit('close');
  });
});
