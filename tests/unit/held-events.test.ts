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
    suspects.calibrated(() => []);
    expect(suspects.events).toEqual([ahead]);
    setWall(T0 + 70_000); // now within the bound after all
    suspects.calibrated(() => []);
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

  it('[SYN10] suspects two tabs of the device found stay suspects after a reload: neither tab\'s write drops the other\'s', () => {
    const { restore } = installLocalStorage();
    onTestFinished(restore);
    const location = 'held-events-test-d';
    const [a, b] = [setUp(location), setUp(location)];
    a.clock.setOffset(0);
    b.clock.setOffset(0);
    const x = event('till-2', 1, { at: T0 + 600_000 });
    const y = event('till-3', 1, { at: T0 + 600_000 });
    a.suspects.judge(x);
    b.suspects.judge(y);
    const reloaded = setUp(location);
    reloaded.suspects.judge(x);
    reloaded.suspects.judge(y);
    expect(reloaded.suspects.events).toEqual([x, y]);
    expect(reloaded.clock.peek()).toBe(0);
  });

  it('[SYN10] past 500 suspects the newest are kept across a reload', () => {
    const { restore } = installLocalStorage();
    onTestFinished(restore);
    const location = 'held-events-test-e';
    const before = setUp(location);
    before.clock.setOffset(0);
    const all = Array.from({ length: 501 }, (_, i) => event('till-2', i + 1, { at: T0 + 600_000 + i }));
    for (const e of all) before.suspects.judge(e);
    const reloaded = setUp(location);
    reloaded.suspects.judge(all[500]!);
    expect(reloaded.suspects.events).toEqual([all[500]]);
  });

  it('[SYN10] calibration keeps a suspect just beyond the bound a suspect', () => {
    const { clock, suspects } = setUp('held-events-test-f');
    clock.setOffset(0);
    const just = event('till-2', 1, { at: T0 + 60_500 });
    suspects.judge(just);
    suspects.calibrated(() => []);
    expect(suspects.events).toEqual([just]);
    expect(clock.peek()).toBe(0);
  });

  it('[SYN10] an event followed before calibration (the relay synced before the server\'s first answer) and beyond the bound then is a suspect from calibration on, after a reload too', () => {
    const { restore } = installLocalStorage();
    onTestFinished(restore);
    const location = 'held-events-test-g';
    const before = setUp(location);
    const far = event('till-9', 1, { at: T0 + 2 * 24 * 60 * 60_000 });
    const near = event('till-9', 2, { at: T0 + 120_000 });
    before.suspects.judge(far);
    before.suspects.judge(near);
    expect(before.clock.peek()).toBe(far.at); // it cannot judge them yet
    before.setWall(T0 + 90_000);
    before.clock.setOffset(0);
    before.suspects.calibrated(() => [far, near]);
    expect(before.suspects.events).toEqual([far]); // the other is within the bound now
    expect(before.clock.peek()).toBe(T0 + 90_000);
    const reloaded = setUp(location); // offline: the log read from disk
    reloaded.suspects.judge(far);
    expect(reloaded.clock.peek()).toBe(0);
    expect(reloaded.suspects.events).toEqual([far]);
  });

  it('[SYN10] what this tab stamped after following a far-ahead stamp before calibration is a suspect from calibration on, after a reload too', () => {
    const { restore } = installLocalStorage();
    onTestFinished(restore);
    const location = 'held-events-test-i';
    const before = setUp(location);
    const far = event('till-9', 1, { at: T0 + 2 * 24 * 60 * 60_000 });
    before.suspects.judge(far);
    const sale = event('till-1', 1, { at: before.clock.now() });
    expect(before.suspects.events).toEqual([]); // it cannot judge them yet
    before.clock.setOffset(0);
    before.suspects.calibrated(() => [sale, far]);
    expect(before.suspects.events).toEqual([far, sale]);
    const reloaded = setUp(location); // offline: its own sale read from disk
    reloaded.suspects.judge(sale);
    expect(reloaded.clock.peek()).toBe(0);
    expect(reloaded.suspects.events).toEqual([sale]);
  });

  it('[SYN10] a device whose wall clock is behind stamps after server time before calibration: within the bound once calibrated, no suspects', () => {
    const { saved, restore } = installLocalStorage();
    onTestFinished(restore);
    const location = 'held-events-test-j';
    const behind = setUp(location);
    behind.setWall(T0 - 600_000);
    const other = event('till-9', 1, { at: T0 });
    behind.suspects.judge(other);
    const sale = event('till-1', 1, { at: behind.clock.now() }); // beyond the bound of its own wall clock
    behind.clock.setOffset(600_000);
    behind.suspects.calibrated(() => [other, sale]);
    expect(behind.suspects.events).toEqual([]);
    expect(saved.get(`rms:${location}:clock-suspects`) ?? '[]').toBe('[]');
    expect(behind.clock.peek()).toBe(sale.at);
  });

  it('[SYN10] a device a day behind that read a day of events and a far-ahead one before calibration lists only the far-ahead one: however many it read', () => {
    const { restore } = installLocalStorage();
    onTestFinished(restore);
    const behind = setUp('held-events-test-k');
    behind.setWall(T0 - 24 * 60 * 60_000);
    const day = Array.from({ length: 600 }, (_, i) => event('till-9', i + 1, { at: T0 - 600_000 + i * 1_000 }));
    const far = event('till-8', 1, { at: T0 + 2 * 24 * 60 * 60_000 });
    for (const e of [far, ...day]) behind.suspects.judge(e); // every one beyond the bound of its wall clock
    behind.clock.setOffset(24 * 60 * 60_000);
    behind.suspects.calibrated(() => [...day, far]);
    expect(behind.suspects.events).toEqual([far]);
    const reloaded = setUp('held-events-test-k');
    reloaded.suspects.judge(far);
    expect(reloaded.clock.peek()).toBe(0);
  });

  it('[SYN10] a suspect compacted away is not listed nor kept any more, one followed before calibration not judged then', () => {
    const { saved, restore } = installLocalStorage();
    onTestFinished(restore);
    const location = 'held-events-test-h';
    const { clock, suspects } = setUp(location);
    const unjudged = event('till-9', 1, { at: T0 + 600_000 });
    suspects.judge(unjudged);
    clock.setOffset(0);
    const listed = event('till-9', 2, { at: T0 + 600_000 });
    suspects.judge(listed);
    suspects.forget(unjudged.id);
    suspects.forget(listed.id);
    suspects.calibrated(() => []);
    expect(suspects.events).toEqual([]);
    expect(saved.get(`rms:${location}:clock-suspects`)).toBe('[]');
  });

  it('[HLC4] calibration caps a clock that ran beyond the bound ahead of server time', () => {
    const { clock, suspects } = setUp('held-events-test-c');
    clock.observe(T0 + 600_000);
    clock.setOffset(0);
    suspects.calibrated(() => []);
    expect(clock.peek()).toBe(T0);
  });
});
