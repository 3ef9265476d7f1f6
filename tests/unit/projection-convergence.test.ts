import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { canonicalJson, compareEvents, type AggregateRef, type EventEnvelope } from '../../shared/events/envelope';
import { saleKey } from '../../shared/domain/sale-events';
import { CURRENT_VERSIONS, isKnownType } from '../../shared/events/catalog';
import { CONFLICT_RESOLUTIONS, registerWriteOf, writeWins } from '../../shared/projection/merge-policy';
import { projectAggregate } from '../../shared/projection/project-aggregate';
import { LocationProjection } from '../../shared/projection/location-projection';
import type { MenuItemView, TicketView } from '../../shared/projection/views';
import { TestWriter } from '../helpers/test-writer';
import { prng } from '../../bench/workload';

/**
 * A seeded simulation of a few terminals working offline on a few tickets, with skewed
 * wall clocks, observing each other's events at random points. The projection must give
 * byte-identical views for the resulting event set in any order, with duplicates, folded
 * whole or incrementally in random chunks.
 */

interface Op {
  t: number;
  kind: number;
  ticket: number;
  a: number;
  b: number;
}

interface NoteWrite {
  event: EventEnvelope;
  seen: Set<string>;
}

/** A TestWriter that also keeps every event it knows (its own and those it saw). */
class SimTerminal extends TestWriter {
  readonly known = new Map<string, EventEnvelope>();
  private counter = 0;
  constructor(id: string, skewMs: number, wall: () => number) {
    super(id, () => wall() + skewMs);
  }
  nextLabel(): string {
    return `${this.id}-${++this.counter}`;
  }
  eventsOf(aggregateId: string): EventEnvelope[] {
    return [...this.known.values()].filter((e) => e.aggregate.id === aggregateId);
  }
  view(aggregateId: string): TicketView | undefined {
    const evs = this.eventsOf(aggregateId);
    if (evs.length === 0) return undefined;
    const v = projectAggregate(evs);
    return v.kind === 'ticket' ? v : undefined;
  }
  override see(...events: EventEnvelope[]): this {
    super.see(...events);
    for (const e of events) this.known.set(e.id, e);
    return this;
  }
}

function simulate(terminalCount: number, skews: number[], tickets: number, ops: Op[]) {
  let wall = 1_700_000_000_000;
  const terms = Array.from({ length: terminalCount }, (_, i) => new SimTerminal(`term-${i}`, skews[i % skews.length]!, () => wall));
  const refs: AggregateRef[] = Array.from({ length: tickets }, (_, i) => ({ id: `tk-${i}`, type: 'ticket' }));
  const all: EventEnvelope[] = [];
  const notes: NoteWrite[] = [];
  const menu: AggregateRef = { id: 'm-1', type: 'menu_item' };
  // Some openings name a table and its guests (writes to those registers, PRJ21).
  const opening = (i: number) => [{}, { tableId: 'table-0', covers: 2 }, { covers: 4 }][i % 3]!;
  refs.forEach((ref, i) => all.push(terms[i % terminalCount]!.write(ref, 'ticket.opened', { number: `T${i}-001`, ...opening(i) })));
  all.push(terms[0]!.write(menu, 'menu.item_defined', { menuItemId: 'm-1', name: 'Soup', category: 'S', priceCents: 500 }));
  for (const op of ops) {
    wall += op.a % 5000;
    const term = terms[op.t % terminalCount]!;
    const ref = refs[op.ticket % tickets]!;
    const line = `L${op.a % 4}`;
    const view = term.view(ref.id);
    const write = (type: string, payload: unknown, opts?: { v?: number; key?: string }) => all.push(term.write(ref, type, payload, opts));
    switch (op.kind % 20) {
      case 0:
      case 1:
        if (op.b % 5 === 0) write('ticket.item_added', { menuItemId: 'm-1', name: 'Old', price: (op.b % 300) / 10, qty: 1 + (op.b % 3) }, { v: 1 });
        else write('ticket.item_added', { lineId: line, menuItemId: 'm-1', name: 'Soup', unitPriceCents: 100 * (1 + (op.b % 9)), quantity: 1 + (op.b % 3), ...(op.b % 4 === 0 ? {} : { taxBasisPoints: 500 * (op.b % 4) }) });
        break;
      case 2:
        write('ticket.item_removed', { lineId: line });
        break;
      case 3:
        write('ticket.quantity_changed', { lineId: line, quantity: 1 + (op.b % 5) });
        break;
      case 4: {
        const seen = new Set(term.known.keys());
        write('ticket.note_set', { note: term.nextLabel() });
        notes.push({ event: all[all.length - 1]!, seen });
        break;
      }
      case 5:
        // A move off the table (EVT18) now and then.
        if (op.b % 2 === 0) write('ticket.table_assigned', op.b % 8 === 0 ? {} : { tableId: `table-${op.b % 3}` });
        else write('ticket.covers_set', { covers: 1 + (op.b % 6) });
        break;
      case 6:
        write('ticket.sent_to_kitchen', { lineIds: [line, `L${op.b % 4}`] });
        break;
      case 7:
        // Bumped in the kitchen, or held back and fired at the till (PRJ23).
        if (op.b % 3 === 0) write('ticket.line_held', { lineId: line, held: op.b % 2 === 0 });
        else if (op.b % 3 === 1) write('ticket.kitchen_item_bumped', { lineId: line });
        else if (op.b % 5 < 2) write('ticket.kitchen_item_bumped', { lineId: line, quantity: 1 + (op.b % 4) }, { v: 2 });
        else write('ticket.kitchen_item_bumped', { lineId: line, quantity: 1 + (op.b % 4), stopped: op.b % 5 === 4 });
        break;
      case 8: {
        const due = view ? view.totalCents - view.paidCents : 0;
        const amount = due > 0 && op.b % 3 !== 0 ? due : 100 + (op.b % 1000);
        // Some for lines (separate checks), one of them perhaps never on the ticket.
        write('ticket.payment_recorded', { paymentId: term.nextLabel(), method: op.b % 2 ? 'card' : 'cash', amountCents: amount, ...(op.b % 4 === 1 ? { lineIds: [line] } : {}) });
        break;
      }
      case 9:
        write('ticket.closed', { totalCents: view && op.b % 4 !== 0 ? view.totalCents : op.b % 2000 });
        break;
      case 10:
        write('ticket.voided', { reason: 'sim' });
        break;
      case 11: {
        // A ticket sold already is sold again naming a close (PRJ18): the last one it knows, or another.
        const sale = { ticketId: ref.id, totalCents: view?.totalCents ?? 0, paidCents: view?.paidCents ?? 0, closedAt: term.clock.peek() };
        const closes = [...term.known.values()].filter((e) => e.aggregate.id === ref.id && e.type === 'ticket.closed');
        const close = view?.sale && closes.length > 0 ? closes[(closes.length - 1 + (op.b % 2)) % closes.length]! : null;
        if (close === null) write('sale.recorded', sale, { key: saleKey(ref.id) });
        else {
          const totalCents = (close.payload as { totalCents: number }).totalCents;
          write('sale.recorded', { ...sale, totalCents, closeEventId: close.id }, { key: saleKey(ref.id, close.id) });
        }
        break;
      }
      case 12: {
        const open = view?.conflicts.filter((c) => c.status === 'open') ?? [];
        const c = open[op.b % Math.max(1, open.length)];
        if (!c) break;
        const kinds = CONFLICT_RESOLUTIONS[c.kind];
        const kind = kinds[op.b % kinds.length]!;
        write('conflict.resolved', { conflictId: c.conflictId, resolution: kind === 'accept_total' ? { kind, totalCents: view!.totalCents } : { kind } });
        break;
      }
      case 13:
      case 14: {
        // Sync: this terminal receives everything another one holds.
        const other = terms[op.b % terminalCount]!;
        for (const e of other.known.values()) term.see(e);
        break;
      }
      case 15:
        if (op.b % 3 === 0) write('ticket.item_added', { lineId: line, fromTheFuture: true }, { v: 9 });
        else if (op.b % 3 === 1) write('ticket.split', { parts: 2 });
        else write('ticket.note_set', { note: 42 });
        break;
      case 16:
        // The kitchen or a till marks the menu item sold out, or available again (PRJ14); a
        // manager renames it, moves it to another category or station or off any (EVT19), or reprices it.
        if (op.b % 4 < 2) all.push(term.write(menu, 'menu.item_availability_set', { menuItemId: 'm-1', available: op.b % 2 === 0 }));
        else if (op.b % 4 === 2) {
          const label = term.nextLabel();
          const change = [{ name: label }, { category: label }, { station: op.a % 3 === 0 ? null : label }, { name: label, station: label }][op.a % 4]!;
          all.push(term.write(menu, 'menu.item_changed', { menuItemId: 'm-1', ...change }));
        } else all.push(term.write(menu, 'menu.item_repriced', { menuItemId: 'm-1', priceCents: 100 * (1 + (op.a % 20)) }));
        break;
      case 17: {
        // A manager comps a line it sees (PRJ15), racing other comps, removals, payments and the close.
        const seen = view?.lines ?? [];
        write('ticket.line_comped', { lineId: seen.length > 0 ? seen[op.b % seen.length]!.lineId : line, reason: `comp ${op.b % 3}`, quantity: 1 + (op.b % 3) });
        break;
      }
      case 18: {
        // A manager refunds what it sees taken (PRJ16), or more, for the ticket or a line, racing other refunds, payments, removals and voids.
        const refundable = view ? view.paidCents - view.refundedCents : 0;
        const amount = refundable > 0 && op.b % 3 !== 0 ? refundable : 100 + (op.b % 1000);
        write('ticket.refunded', { refundId: term.nextLabel(), method: op.b % 2 ? 'card' : 'cash', amountCents: amount, reason: 'sim', ...(op.b % 5 < 2 ? { lineId: line } : {}) });
        break;
      }
      case 19:
        // A manager sets a discount (PRJ17), an amount maybe over the lines, or takes it off, racing changes and payments.
        if (op.b % 4 === 0) write('ticket.discount_set', { discount: null });
        else if (op.b % 2) write('ticket.discount_set', { discount: { kind: 'percent', percent: 1 + (op.b % 100), reason: 'sim' } });
        else write('ticket.discount_set', { discount: { kind: 'amount', amountCents: 50 * (1 + (op.b % 40)), reason: 'sim' } });
        break;
    }
  }
  return { all, notes, refs, menu };
}

function shuffledWithDuplicates(events: readonly EventEnvelope[], rand: () => number): EventEnvelope[] {
  const out = [...events];
  const dups = Math.floor(rand() * events.length);
  for (let i = 0; i < dups; i++) out.push(events[Math.floor(rand() * events.length)]!);
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** Every view with its history, as projectAggregate returns them. */
function audited(p: LocationProjection) {
  return p.all().map((v) => ({ ...v, history: p.historyOf(v.id) }));
}

function viewsByProjectAggregate(events: readonly EventEnvelope[]): string {
  const groups = new Map<string, EventEnvelope[]>();
  for (const e of events) groups.set(e.aggregate.id, [...(groups.get(e.aggregate.id) ?? []), e]);
  return canonicalJson([...groups.keys()].sort().map((id) => projectAggregate(groups.get(id)!)));
}

const opArb = fc.record({
  t: fc.nat(9),
  kind: fc.nat(39), // each of the 20 kinds of op twice
  ticket: fc.nat(9),
  a: fc.nat(100_000),
  b: fc.nat(100_000),
});
const scenarioArb = fc.record({
  terminals: fc.integer({ min: 2, max: 5 }),
  // Wall clocks up to 10 minutes either side of true time.
  skews: fc.array(fc.integer({ min: -600_000, max: 600_000 }), { minLength: 5, maxLength: 5 }),
  tickets: fc.integer({ min: 1, max: 3 }),
  ops: fc.array(opArb, { minLength: 1, maxLength: 60 }),
  seed: fc.integer(),
});

describe('projection convergence (property)', () => {
  it('[PRJ1] any order, any duplicates, whole or incremental in random chunks: byte-identical views', () => {
    fc.assert(
      fc.property(scenarioArb, ({ terminals, skews, tickets, ops, seed }) => {
        const { all } = simulate(terminals, skews, tickets, ops);
        const reference = viewsByProjectAggregate(all);
        const rand = prng(seed);
        for (let round = 0; round < 3; round++) {
          const shuffled = shuffledWithDuplicates(all, rand);
          expect(viewsByProjectAggregate(shuffled)).toBe(reference);
          const p = new LocationProjection();
          for (let i = 0; i < shuffled.length; ) {
            const size = 1 + Math.floor(rand() * 8);
            p.apply(shuffled.slice(i, i + size));
            i += size;
          }
          expect(canonicalJson(audited(p))).toBe(reference);
          expect(p.size).toBe(all.length);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('[PRJ12] a projection restored from its checkpoint, then given its events in any order, equals the full fold', () => {
    fc.assert(
      fc.property(scenarioArb, fc.integer({ min: 0, max: 100 }), ({ terminals, skews, tickets, ops, seed }, laterPercent) => {
        const { all } = simulate(terminals, skews, tickets, ops);
        const reference = viewsByProjectAggregate(all);
        const rand = prng(seed);
        const shuffled = shuffledWithDuplicates(all, rand);
        // Checkpoint after some of the events; the rest arrive after the restore.
        const cut = Math.floor((shuffled.length * (100 - laterPercent)) / 100);
        const before = new LocationProjection();
        before.trackChanges();
        before.apply(shuffled.slice(0, cut));
        const restored = new LocationProjection();
        restored.restore(before.takeChanges().put);
        expect(canonicalJson(restored.all())).toBe(canonicalJson(before.all()));
        expect(restored.size).toBe(before.size);
        const byAggregate = new Map<string, EventEnvelope[]>();
        for (const e of shuffled.slice(0, cut)) byAggregate.set(e.aggregate.id, [...(byAggregate.get(e.aggregate.id) ?? []), e]);
        // A few aggregates at a time, as the store does in slices.
        const entries = [...byAggregate];
        for (let i = 0; i < entries.length; i += 2) expect(restored.attach(entries.slice(i, i + 2)).size).toBe(0);
        expect(restored.dropDetached().size).toBe(0);
        restored.apply(shuffled.slice(cut));
        expect(canonicalJson(audited(restored))).toBe(reference);
        expect(restored.size).toBe(all.length);
      }),
      { numRuns: 100 },
    );
  });

  it('[PRJ2][PRJ7] history holds every event once, in compareEvents order; nothing is dropped', () => {
    fc.assert(
      fc.property(scenarioArb, ({ terminals, skews, tickets, ops }) => {
        const { all, refs } = simulate(terminals, skews, tickets, ops);
        for (const ref of refs) {
          const evs = all.filter((e) => e.aggregate.id === ref.id);
          const v = projectAggregate(evs);
          expect(v.history.map((h) => h.eventId)).toEqual([...evs].sort(compareEvents).map((e) => e.id));
          const needsUpdate = evs.filter((e) => !isKnownType(e.type) || e.v > CURRENT_VERSIONS[e.type]).length;
          expect(v.needsUpdate).toBe(needsUpdate);
          if (v.kind === 'ticket') {
            // Money is consistent: paid is the sum of applied payments, total what is charged of the lines (a comp gives away at most what it saw).
            expect(v.paidCents).toBe(v.payments.filter((p) => p.state === 'applied').reduce((n, p) => n + p.amountCents, 0));
            expect(v.refundedCents).toBe(v.refunds.filter((r) => r.state === 'applied').reduce((n, r) => n + r.amountCents, 0));
            // A payment keeps the lines it was for as written (PRJ22), whatever became of them.
            for (const p of v.payments) expect(p.lineIds).toEqual((evs.find((e) => e.id === p.eventId)!.payload as { lineIds?: string[] }).lineIds ?? []);
            // Never more handed back than kept taken, unless a manager said it was (accept_refund).
            if (!v.conflicts.some((c) => c.resolution?.kind === 'accept_refund')) expect(v.refundedCents).toBeLessThanOrEqual(v.paidCents);
            expect(v.subtotalCents).toBe(v.lines.reduce((n, l) => n + l.unitPriceCents * (l.comped === null ? l.quantity : Math.max(0, l.quantity - l.comped.quantity)), 0));
            // The discount takes at most the subtotal off: a total is never below zero.
            expect(v.totalCents).toBe(v.subtotalCents - (v.discount?.cents ?? 0));
            expect(v.totalCents).toBeGreaterThanOrEqual(0);
            // One sale counts (a replaced one is superseded), and it is the view's unless the ticket is voided (PRJ18).
            const applied = v.history.filter((h) => h.type === 'sale.recorded' && h.status === 'applied');
            expect(applied.length).toBeLessThanOrEqual(1);
            expect(v.sale?.eventId ?? null).toBe(v.status === 'voided' ? null : (applied[0]?.eventId ?? null));
          }
        }
      }),
      { numRuns: 100 },
    );
  });

  it('[PRJ14] the menu item is sold out exactly when its highest-stamped availability write says so', () => {
    fc.assert(
      fc.property(scenarioArb, ({ terminals, skews, tickets, ops }) => {
        const { all, menu } = simulate(terminals, skews, tickets, ops);
        const writes = all.filter((e) => e.type === 'menu.item_availability_set');
        const v = projectAggregate(all.filter((e) => e.aggregate.id === menu.id)) as MenuItemView;
        const winner = writes.reduce<EventEnvelope | null>((best, w) => (best === null || writeWins(registerWriteOf(best), registerWriteOf(w)) ? w : best), null);
        expect(v.soldOut).toBe(winner !== null && !(winner.payload as { available: boolean }).available);
      }),
      { numRuns: 100 },
    );
  });

  it('[PRJ4][EVT19] each of the menu item\'s fields is that of its highest-stamped write carrying it: the definition, a change (only the fields it names) or a new price', () => {
    const MENU_FIELDS = ['name', 'category', 'station', 'priceCents'] as const;
    // A definition writes all four (no station: null); a change or a new price only those it carries.
    const carries = (e: EventEnvelope, field: (typeof MENU_FIELDS)[number]) => e.type === 'menu.item_defined' || (e.payload as Record<string, unknown>)[field] !== undefined;
    fc.assert(
      fc.property(scenarioArb, ({ terminals, skews, tickets, ops }) => {
        const { all, menu } = simulate(terminals, skews, tickets, ops);
        const evs = all.filter((e) => e.aggregate.id === menu.id);
        const v = projectAggregate(evs) as MenuItemView;
        for (const field of MENU_FIELDS) {
          const writes = evs.filter((e) => e.type !== 'menu.item_availability_set' && carries(e, field));
          const winner = writes.reduce((best, w) => (writeWins(registerWriteOf(best), registerWriteOf(w)) ? w : best));
          expect(v[field], field).toBe((winner.payload as Record<string, unknown>)[field] ?? null);
        }
      }),
      { numRuns: 100 },
    );
  });

  it('[PRJ21] a ticket\'s guests are those of its highest-stamped covers write: the opening\'s or a ticket.covers_set', () => {
    fc.assert(
      fc.property(scenarioArb, ({ terminals, skews, tickets, ops }) => {
        const { all, refs } = simulate(terminals, skews, tickets, ops);
        for (const ref of refs) {
          const evs = all.filter((e) => e.aggregate.id === ref.id);
          const writes = evs.filter((e) => e.type === 'ticket.covers_set' || (e.type === 'ticket.opened' && (e.payload as { covers?: number }).covers !== undefined));
          const winner = writes.reduce<EventEnvelope | null>((best, w) => (best === null || writeWins(registerWriteOf(best), registerWriteOf(w)) ? w : best), null);
          expect((projectAggregate(evs) as TicketView).covers).toBe(winner === null ? null : (winner.payload as { covers: number }).covers);
        }
      }),
      { numRuns: 100 },
    );
  });

  it('[PRJ4] a note written after observing another always wins over it, even 10 minutes behind', () => {
    fc.assert(
      fc.property(scenarioArb, ({ terminals, skews, tickets, ops }) => {
        const { all, notes, refs } = simulate(terminals, skews, tickets, ops);
        for (const { event: y, seen } of notes) {
          for (const x of notes) if (seen.has(x.event.id)) expect(writeWins(registerWriteOf(x.event), registerWriteOf(y))).toBe(true);
        }
        for (const ref of refs) {
          const mine = notes.filter((w) => w.event.aggregate.id === ref.id);
          if (mine.length === 0) continue;
          const winner = mine.reduce((best, w) => (writeWins(registerWriteOf(best.event), registerWriteOf(w.event)) ? w : best));
          const v = projectAggregate(all.filter((e) => e.aggregate.id === ref.id)) as TicketView;
          expect(v.note).toBe((winner.event.payload as { note: string }).note);
          for (const w of mine) expect(w.seen.has(winner.event.id)).toBe(false);
        }
      }),
      { numRuns: 100 },
    );
  });
});
