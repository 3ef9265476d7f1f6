import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { EventEnvelope, parseEnvelope } from '../../shared/events/envelope';
import { newEventId } from '../../shared/events/event-id';

/** A valid envelope, then arbitrary damage to any of its fields. */
const base = () => ({
  id: newEventId(1_764_000_000_000),
  seq: 3,
  at: 1_764_000_000_123,
  type: 'ticket.note_set',
  v: 1,
  aggregate: { id: 't-1', type: 'ticket' },
  origin: { terminal: 'till-1', n: 7, staff: 'sam' },
  key: 'k-1',
  payload: { note: 'window' },
});

const odd = fc.oneof(
  fc.constant(undefined),
  fc.constant(null),
  fc.constant(''),
  fc.constant(0),
  fc.constant(-1),
  fc.constant(1.5),
  fc.constant(Number.MAX_SAFE_INTEGER + 2),
  fc.constant(NaN),
  fc.constant('x'.repeat(300)),
  fc.constant('Ticket.Opened'),
  fc.constant('till 1'),
  // Fresh each time: a shared constant object, mutated through one path, would come back
  // as the value of another and make the envelope circular (and leak into later runs).
  fc.constant(null).map(() => []),
  fc.constant(null).map(() => ({})),
  fc.string(),
  fc.integer(),
  fc.boolean(),
);
const paths = ['id', 'seq', 'at', 'type', 'v', 'aggregate', 'aggregate.id', 'aggregate.type', 'origin', 'origin.terminal', 'origin.n', 'origin.staff', 'key', 'payload', 'extra', 'origin.extra'];

function damaged(mutations: [string, unknown, boolean][]): unknown {
  const e = base() as Record<string, unknown>;
  for (const [path, value, remove] of mutations) {
    const [head, tail] = path.split('.') as [string, string | undefined];
    const target = tail === undefined ? e : (e[head] as Record<string, unknown> | undefined);
    if (target === null || typeof target !== 'object') continue;
    const field = tail ?? head;
    if (remove) delete target[field];
    else target[field] = value;
  }
  return e;
}

describe('parseEnvelope', () => {
  it('[EVT6] the fast path accepts exactly what the zod schema accepts, and builds the same envelope', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom(...paths), odd, fc.boolean()), { maxLength: 3 }), (mutations) => {
        const raw = damaged(mutations);
        const fast = parseEnvelope(raw);
        const zod = EventEnvelope.safeParse(raw);
        expect(fast.success).toBe(zod.success);
        if (fast.success && zod.success) expect(JSON.stringify(fast.data)).toBe(JSON.stringify(zod.data));
      }),
      { numRuns: 3000 },
    );
  });
});
