import { describe, expect, it } from 'vitest';
import type { AggregateRef, EventEnvelope } from '../../shared/events/envelope';
import { EventValidationError, MANAGER_EVENT_TYPES, validatePayload } from '../../shared/events/catalog';
import { refusedToTerminal } from '../../shared/events/catalog';
import { projectAggregate } from '../../shared/projection/project-aggregate';
import type { HistoryEntry, TableView } from '../../shared/projection/views';
import { TestWriter, ticketOf } from '../helpers/test-writer';

let wall = 1_700_000_000_000;

class Terminal extends TestWriter {
  constructor(id: string) {
    super(id, () => wall);
  }
}

const T: AggregateRef = { id: 't-terrace', type: 'table' };

function table(events: EventEnvelope[]): TableView & { history: HistoryEntry[] } {
  const v = projectAggregate(events);
  if (v.kind !== 'table') throw new Error(`not a table: ${v.kind}`);
  return v;
}

function permutations<T>(xs: T[]): T[][] {
  if (xs.length <= 1) return [xs];
  return xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((rest) => [x, ...rest]));
}

describe('tables (the floor plan)', () => {
  it('[PRJ28][EVT16] a change carries only what it changes: a rename on one tablet and new seats on another both hold, in any order', () => {
    const a = new Terminal('manager-a');
    const b = new Terminal('manager-b');
    const defined = a.write(T, 'table.defined', { tableId: T.id, label: 'Terrace', seats: 4 });
    wall += 1000;
    const renamed = a.write(T, 'table.defined', { tableId: T.id, label: 'Terrace 1' });
    const reseated = b.write(T, 'table.defined', { tableId: T.id, seats: 6 });
    // A full definition is still written as v1 (a build that knows only v1 folds it); a change of one field is v2.
    expect([defined, renamed, reseated].map((e) => validatePayload(e.type, e.payload).v)).toEqual([1, 2, 2]);
    expect(table([defined, renamed])).toMatchObject({ label: 'Terrace 1', seats: 4 });
    for (const order of permutations([defined, renamed, reseated])) {
      expect(table(order)).toMatchObject({ label: 'Terrace 1', seats: 6, retired: false });
    }
  });

  it('[PRJ28] retiring is one-way and first-wins (in fold order, the same on every replica); a later definition renames it but does not bring it back', () => {
    const a = new Terminal('manager-a');
    const b = new Terminal('manager-b');
    const defined = a.write(T, 'table.defined', { tableId: T.id, label: 'T9', seats: 2 });
    wall += 1000;
    const first = a.write(T, 'table.retired', { tableId: T.id });
    wall += 1000;
    const second = b.write(T, 'table.retired', { tableId: T.id });
    const renamed = b.write(T, 'table.defined', { tableId: T.id, label: 'T9 old' });
    const folded = table([defined, first, second, renamed]);
    expect(folded).toMatchObject({ label: 'T9 old', retired: true });
    expect([first.at, second.at]).toContain(folded.retiredAt);
    expect(folded.history.filter((h) => h.type === 'table.retired').map((h) => h.status).sort()).toEqual(['applied', 'superseded']);
    for (const order of permutations([defined, first, second, renamed])) {
      const { history, ...view } = table(order);
      expect(view).toEqual((({ history: _, ...rest }) => rest)(folded));
    }
  });

  it('[EVT16][CMD2] a change naming neither label nor seats is refused naming the payload; tables are a manager\'s to set up, the server refuses them from a till\'s own writer', () => {
    expect(() => validatePayload('table.defined', { tableId: 't1' })).toThrow(EventValidationError);
    try {
      validatePayload('table.defined', { tableId: 't1' });
    } catch (err) {
      expect((err as EventValidationError).field).toBe('payload');
      expect((err as Error).message).toMatch(/names its label, its seats or both/);
    }
    expect(() => validatePayload('table.defined', { tableId: 't1', label: '' })).toThrow(/payload\.label/);
    // A key holding undefined is absent (JSON drops it): such a change is a v2, never an invalid v1.
    expect(validatePayload('table.defined', { tableId: 't1', label: 'T1', seats: undefined }).v).toBe(2);
    expect(() => validatePayload('table.retired', { tableId: 't1', label: 'x' })).toThrow(/payload\.label: Unrecognized key/);
    expect(MANAGER_EVENT_TYPES.has('table.defined') && MANAGER_EVENT_TYPES.has('table.retired')).toBe(true);
    const event = { type: 'table.retired', origin: { terminal: 'till-1' } };
    expect(refusedToTerminal({ role: 'terminal', terminal: 'till-1' }, event)).toBe(true);
    expect(refusedToTerminal({ role: 'manager', terminal: 'manager-1' }, { ...event, origin: { terminal: 'manager-1' } })).toBe(false);
  });

  it('[EVT18] a ticket moved off its table has none (a takeaway); a move to a table made after seeing it wins, and so does one made after seeing that, in any order', () => {
    const a = new Terminal('till-a');
    const b = new Terminal('till-b');
    const K: AggregateRef = { id: 'k-1', type: 'ticket' };
    const opened = a.write(K, 'ticket.opened', { number: 'AAA-001', tableId: 't5' });
    wall += 1000;
    const off = b.see(opened).write(K, 'ticket.table_assigned', {}, { v: 2 });
    expect(ticketOf([opened, off]).tableId).toBeNull();
    // Till a's clock runs behind: its move, made after seeing the move off, still wins.
    wall -= 60_000;
    const back = a.see(off).write(K, 'ticket.table_assigned', { tableId: 't7' }, { v: 1 });
    const offAgain = b.see(back).write(K, 'ticket.table_assigned', {}, { v: 2 });
    for (const order of permutations([opened, off, back])) expect(ticketOf(order).tableId).toBe('t7');
    for (const order of permutations([opened, off, back, offAgain])) expect(ticketOf(order).tableId).toBeNull();
  });
});
