import { describe, expect, it } from 'vitest';
import { canonicalJson, type AggregateRef, type EventEnvelope } from '../../shared/events/envelope';
import { EventValidationError, MANAGER_EVENT_TYPES, validatePayload } from '../../shared/events/catalog';
import { MENU_ITEM_MERGE_POLICY } from '../../shared/projection/merge-policy';
import { projectAggregate } from '../../shared/projection/project-aggregate';
import { LocationProjection } from '../../shared/projection/location-projection';
import type { HistoryEntry, MenuItemView } from '../../shared/projection/views';
import { TestWriter } from '../helpers/test-writer';

let wall = 1_700_000_000_000;

class Terminal extends TestWriter {
  constructor(id: string, skewMs = 0) {
    super(id, () => wall + skewMs);
  }
}

const M: AggregateRef = { id: 'm-calamari', type: 'menu_item' };
const defined = (by: Terminal) => by.write(M, 'menu.item_defined', { menuItemId: M.id, name: 'Calamari', category: 'Starters', priceCents: 950, station: 'grill' });
const availability = (by: Terminal, available: boolean) => by.write(M, 'menu.item_availability_set', { menuItemId: M.id, available });

function menuItem(events: EventEnvelope[]): MenuItemView & { history: HistoryEntry[] } {
  const v = projectAggregate(events);
  if (v.kind !== 'menu_item') throw new Error(`not a menu item: ${v.kind}`);
  return v;
}

describe('menu item availability (sold out, "86")', () => {
  it('[PRJ14] is an lww register on `available`, any role may write it', () => {
    expect(MENU_ITEM_MERGE_POLICY['menu.item_availability_set']).toMatchObject({ merge: 'lww', fields: ['available'] });
    expect(MANAGER_EVENT_TYPES.has('menu.item_availability_set')).toBe(false);
  });

  it('[PRJ14] an item is available until a write says otherwise; marked available again, it is', () => {
    const a = new Terminal('kitchen-1');
    const item = [defined(a)];
    expect(menuItem(item).soldOut).toBe(false);
    item.push(availability(a, false));
    expect(menuItem(item).soldOut).toBe(true);
    item.push(availability(a, true));
    expect(menuItem(item)).toMatchObject({ soldOut: false, name: 'Calamari', priceCents: 950 });
    expect(menuItem(item).history.map((h) => h.status)).toEqual(['applied', 'applied', 'applied']);
  });

  it('[PRJ14][PRJ4] two terminals mark the item concurrently: the highest (at, terminal, id) wins in any order, the loser is superseded', () => {
    const kitchen = new Terminal('kitchen-1', 5_000);
    const till = new Terminal('till-1');
    const base = [defined(kitchen)];
    till.see(...base);
    wall += 1_000;
    const soldOut = availability(kitchen, false); // 5 s ahead: the higher stamp
    const available = availability(till, true);
    expect(soldOut.seq).toBe(available.seq);
    const orders = [
      [...base, soldOut, available],
      [available, ...base, soldOut],
      [soldOut, available, ...base],
    ];
    const views = orders.map(menuItem);
    for (const v of views) {
      expect(v.soldOut).toBe(true);
      const byId = new Map(v.history.map((h) => [h.eventId, h]));
      expect(byId.get(soldOut.id)!.status).toBe('applied');
      expect(byId.get(available.id)).toMatchObject({ status: 'superseded' });
      expect(v.concurrent).toEqual([{ seq: soldOut.seq, eventIds: expect.any(Array), terminals: ['kitchen-1', 'till-1'] }]);
    }
    expect(new Set(views.map((v) => canonicalJson(v))).size).toBe(1);
  });

  it('[PRJ14][PRJ4] marked available after seeing the sold-out mark wins, even from a terminal 10 minutes behind', () => {
    const kitchen = new Terminal('kitchen-1');
    const till = new Terminal('till-1', -10 * 60_000);
    const base = [defined(kitchen)];
    const soldOut = availability(kitchen, false);
    till.see(...base, soldOut);
    const available = availability(till, true);
    const v = menuItem([available, soldOut, ...base]);
    expect(v.soldOut).toBe(false);
    expect(v.history.map((h) => h.status)).toEqual(['applied', 'applied', 'applied']);
  });

  it('[PRJ14] a mark for an item not defined (yet) is applied like a repricing would be: the definition arriving later keeps it', () => {
    const back = new Terminal('back-office');
    const kitchen = new Terminal('kitchen-1');
    const early = availability(kitchen, false);
    const onlyMark = menuItem([early]);
    expect(onlyMark).toMatchObject({ name: null, priceCents: null, soldOut: true });
    expect(onlyMark.history.map((h) => h.status)).toEqual(['applied']);
    const repriced = menuItem([back.write({ id: 'm-other', type: 'menu_item' }, 'menu.item_repriced', { menuItemId: 'm-other', priceCents: 100 })]);
    expect(repriced.history.map((h) => h.status)).toEqual(onlyMark.history.map((h) => h.status));
    expect(menuItem([defined(back), early])).toMatchObject({ name: 'Calamari', soldOut: true });
  });

  it('[PRJ14][PRJ9][PRJ12] incremental, out of order and restored from a checkpoint: the same view as the full fold', () => {
    const kitchen = new Terminal('kitchen-1');
    const till = new Terminal('till-1');
    const base = [defined(kitchen)];
    till.see(...base);
    const fromTill = availability(till, false);
    const fromKitchen = availability(kitchen, true);
    const reference = canonicalJson(projectAggregate([...base, fromTill, fromKitchen]));
    const p = new LocationProjection();
    p.trackChanges();
    p.apply([fromKitchen, ...base]);
    p.apply([fromTill]);
    expect(canonicalJson({ ...p.get(M.id), history: p.historyOf(M.id) })).toBe(reference);
    const restored = new LocationProjection();
    restored.restore(p.takeChanges().put);
    expect(canonicalJson(restored.get(M.id))).toBe(canonicalJson(p.get(M.id)));
    expect(restored.attach(new Map([[M.id, [...base, fromTill, fromKitchen]]])).size).toBe(0);
    expect(canonicalJson({ ...restored.get(M.id), history: restored.historyOf(M.id) })).toBe(reference);
  });

  it('[EVT1] a payload that is not a boolean `available` is refused naming payload.available', () => {
    for (const payload of [{ menuItemId: 'm', available: 'no' }, { menuItemId: 'm' }]) {
      let error: unknown;
      try {
        validatePayload('menu.item_availability_set', payload);
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(EventValidationError);
      expect((error as EventValidationError).field).toBe('payload.available');
      expect((error as EventValidationError).message).toMatch(/^menu\.item_availability_set v1: payload\.available: /);
    }
  });
});
