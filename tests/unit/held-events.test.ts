import { describe, expect, it, onTestFinished } from 'vitest';
import { HeldEvents } from '../../client/store/held-events';
import { ClockSuspects } from '../../client/store/clock-suspects';
import { HybridClock } from '../../shared/clock/hybrid-clock';
import type { EventEnvelope } from '../../shared/events/envelope';
import { newEventId } from '../../shared/events/event-id';
import { installLocalStorage } from '../helpers/device-storage';

const T0 = 1_764_000_000_000;

function event(terminal: string, n: number, fields: { seq?: number; at?: number; key?: string } = {}): EventEnvelope {
  const at = fields.at ?? T0 + n;
  const e: EventEnvelope = { id: newEventId(at), seq: fields.seq ?? n, at, type: 'ticket.note_set', v: 1, aggregate: { id: 't', type: 'ticket' }, origin: { terminal, n }, payload: { note: 'x' } };
  if (fields.key !== undefined) e.key = fields.key;
  return e;
}

const ns = (held: HeldEvents, writer: string) => held.byWriter().get(writer)?.map((e) => e.origin.n);

describe('HeldEvents', () => {
  it('[OUT4] keeps each writer\'s events sorted by origin.n, in whatever order they arrive', () => {
    const held = new HeldEvents('till-1');
    for (const n of [1, 2, 5, 3, 4]) held.add(event('till-2', n), 0);
    held.add(event('till-1', 1), 0);
    expect(ns(held, 'till-2')).toEqual([1, 2, 3, 4, 5]);
    expect(ns(held, 'till-1')).toEqual([1]);
    expect(held.lastN('till-2')).toBe(5);
    expect(held.lastN('till-9')).toBe(0);
  });

  it('[OUT4] knows when other writers\' events were first held; its own count as held since written', () => {
    const held = new HeldEvents('till-1');
    const own = event('till-1', 1);
    const other = event('till-2', 1);
    held.add(own, 500);
    held.add(other, 700);
    expect(held.firstHeldAt(own.id)).toBe(0);
    expect(held.firstHeldAt(other.id)).toBe(700);
  });

  it('[STO3] a key names the event the fold keeps: the first in fold order, whatever arrived first', () => {
    const held = new HeldEvents('till-1');
    const later = event('till-2', 1, { seq: 2, key: 'k' });
    const first = event('till-3', 1, { seq: 1, key: 'k' });
    held.add(later, 0);
    expect(held.firstWithKey('k')).toBe(later);
    held.add(first, 0);
    expect(held.firstWithKey('k')).toBe(first);
    held.add(event('till-4', 1, { seq: 3, key: 'k' }), 0);
    expect(held.firstWithKey('k')).toBe(first);
  });

  it('[CMP1] forgets a compacted event everywhere, and a key only if it named that event', () => {
    const held = new HeldEvents('till-1');
    const kept = event('till-2', 1, { seq: 1, key: 'k' });
    const duplicate = event('till-2', 2, { seq: 2, key: 'k' });
    held.add(kept, 100);
    held.add(duplicate, 100);
    held.remove(duplicate);
    expect(ns(held, 'till-2')).toEqual([1]);
    expect(held.firstHeldAt(duplicate.id)).toBe(0);
    expect(held.firstWithKey('k')).toBe(kept);
    held.remove(kept);
    expect(ns(held, 'till-2')).toEqual([]);
    expect(held.firstWithKey('k')).toBeUndefined();
    held.remove(event('till-9', 1)); // a writer it never held
  });
});

describe('ClockSuspects', () => {
  function setUp(location: string) {
    let wall = T0;
    const clock = new HybridClock({ wallNow: () => wall });
    return { clock, suspects: new ClockSuspects(location, clock, 60_000), setWall: (t: number) => (wall = t) };
  }

  it('[SYN10] follows a stamp within the bound; lists one beyond it, unfollowed, until calibration finds it within', () => {
    const { clock, suspects, setWall } = setUp('held-events-test-a');
    clock.setOffset(0);
    suspects.judge(event('till-2', 1, { at: T0 + 30_000 }));
    expect(clock.peek()).toBe(T0 + 30_000);
    const ahead = event('till-2', 2, { at: T0 + 120_000 });
    suspects.judge(ahead);
    expect(suspects.events).toEqual([ahead]);
    expect(clock.peek()).toBe(T0 + 30_000);
    suspects.calibrated();
    expect(suspects.events).toEqual([ahead]);
    setWall(T0 + 70_000); // now within the bound after all
    suspects.calibrated();
    expect(suspects.events).toEqual([]);
    expect(clock.peek()).toBe(T0 + 120_000);
  });

  it('[SYN10] an uncalibrated clock follows what it cannot judge, except an id this device found suspect before a reload', () => {
    const { restore } = installLocalStorage();
    onTestFinished(restore);
    const location = 'held-events-test-b';
    const before = setUp(location);
    before.clock.setOffset(0);
    const ahead = event('till-2', 1, { at: T0 + 120_000 });
    before.suspects.judge(ahead);
    const ownLifted = event('till-1', 1, { at: T0 + 180_000 });
    before.suspects.judgeOwn(ownLifted);
    expect(before.suspects.events).toEqual([ahead]); // own stamps are not listed, only remembered
    const reloaded = setUp(location);
    reloaded.suspects.judge(event('till-2', 2, { at: T0 + 90_000 }));
    expect(reloaded.clock.peek()).toBe(T0 + 90_000);
    reloaded.suspects.judge(ahead);
    reloaded.suspects.judge(ownLifted);
    expect(reloaded.suspects.events).toEqual([ahead, ownLifted]);
    expect(reloaded.clock.peek()).toBe(T0 + 90_000);
  });

  it('[HLC4] calibration caps a clock that ran beyond the bound ahead of server time', () => {
    const { clock, suspects } = setUp('held-events-test-c');
    clock.observe(T0 + 600_000);
    clock.setOffset(0);
    suspects.calibrated();
    expect(clock.peek()).toBe(T0);
  });
});
