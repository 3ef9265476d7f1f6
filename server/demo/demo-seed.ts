import { newEventId } from '../../shared/events/event-id';
import { MENU_ITEM_AGGREGATE } from '../../shared/domain/menu-events';
import { TABLE_AGGREGATE } from '../../shared/domain/table-events';
import { LOCATION_AGGREGATE, LOCATION_DETAILS_ID } from '../../shared/domain/location-events';
import type { EventEnvelope } from '../../shared/events/envelope';
import { validatePayload } from '../../shared/events/catalog';

export const DEMO_LOCATION = 'demo';
/** Origin of the events the server writes itself; terminals never use this id. */
export const SEED_TERMINAL = 'server';

/** Prices include tax (basis points): food at 10 %, drinks at 20 %. */
const FOOD = 1000;
const DRINK = 2000;

const MENU: ReadonlyArray<{ name: string; category: string; priceCents: number; taxBasisPoints: number; station?: string }> = [
  { name: 'Tomato soup', category: 'Starters', priceCents: 650, taxBasisPoints: FOOD, station: 'kitchen' },
  { name: 'Garlic bread', category: 'Starters', priceCents: 450, taxBasisPoints: FOOD, station: 'kitchen' },
  { name: 'Caesar salad', category: 'Starters', priceCents: 850, taxBasisPoints: FOOD, station: 'kitchen' },
  { name: 'Calamari', category: 'Starters', priceCents: 950, taxBasisPoints: FOOD, station: 'grill' },
  { name: 'Cheeseburger', category: 'Mains', priceCents: 1450, taxBasisPoints: FOOD, station: 'grill' },
  { name: 'Ribeye steak', category: 'Mains', priceCents: 2650, taxBasisPoints: FOOD, station: 'grill' },
  { name: 'Mushroom risotto', category: 'Mains', priceCents: 1550, taxBasisPoints: FOOD, station: 'kitchen' },
  { name: 'Fish and chips', category: 'Mains', priceCents: 1650, taxBasisPoints: FOOD, station: 'kitchen' },
  { name: 'Lemonade', category: 'Drinks', priceCents: 350, taxBasisPoints: DRINK, station: 'bar' },
  { name: 'Espresso', category: 'Drinks', priceCents: 280, taxBasisPoints: DRINK, station: 'bar' },
  { name: 'House red (glass)', category: 'Drinks', priceCents: 750, taxBasisPoints: DRINK, station: 'bar' },
  { name: 'Sparkling water', category: 'Drinks', priceCents: 300, taxBasisPoints: DRINK },
];

/**
 * The demo location's starting data as events: what its receipts say about it, 12 menu items
 * in 3 categories and 8 tables.
 * Pure: takes the clock, returns events; the caller stores them through the normal ingest
 * path, so they reach the canonical store and the room exactly like uploaded events.
 */
export function demoSeedEvents(now: number): EventEnvelope[] {
  const events: EventEnvelope[] = [];
  let n = 0;
  const push = (type: string, aggregate: { type: string; id: string }, payload: unknown): void => {
    n += 1;
    const { v } = validatePayload(type, payload);
    events.push({
      id: newEventId(now),
      seq: 1,
      at: now + n,
      type,
      v,
      aggregate,
      origin: { terminal: SEED_TERMINAL, n },
      key: `demo-seed-${aggregate.type}-${aggregate.id}`,
      payload,
    });
  };
  push('location.details_set', { type: LOCATION_AGGREGATE, id: LOCATION_DETAILS_ID }, {
    name: 'RMS Demo Bistro',
    address: '1 Harbour Street\nSpringfield',
    taxNumber: 'DEMO 123 456 789',
    receiptFooter: 'Thank you, see you soon!',
  });
  MENU.forEach((item, i) => {
    const menuItemId = `demo-item-${i + 1}`;
    push('menu.item_defined', { type: MENU_ITEM_AGGREGATE, id: menuItemId }, { menuItemId, ...item });
  });
  for (let t = 1; t <= 8; t++) {
    const tableId = `demo-table-${t}`;
    push('table.defined', { type: TABLE_AGGREGATE, id: tableId }, { tableId, label: `T${t}`, seats: t <= 4 ? 2 : 4 });
  }
  return events;
}
