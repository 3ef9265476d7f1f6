import { newEventId } from '../../shared/events/event-id';
import { MENU_ITEM_AGGREGATE } from '../../shared/domain/menu-events';
import { TABLE_AGGREGATE } from '../../shared/domain/table-events';
import { LOCATION_AGGREGATE, LOCATION_DETAILS_ID } from '../../shared/domain/location-events';
import type { EventEnvelope } from '../../shared/events/envelope';
import { validatePayload } from '../../shared/events/catalog';
import type { IngestResult } from '../ingest/ingest-service';
import type { CanonicalLog } from '../store/canonical-log';
import { getMeta, holdsAnyData, setMeta, type Db } from '../store/database';

export const DEMO_LOCATION = 'demo';
/**
 * The `meta` key holding this data directory's choice: when the demo was seeded, DEMO_SKIPPED, or
 * DEMO_SEEDING. It keeps its name `demo_seeded` because existing data directories hold it.
 */
const DEMO_META_KEY = 'demo_seeded';
const DEMO_SKIPPED = 'skipped';
/** Recorded before the seed is stored: a start stopped meanwhile is told from a real restaurant's data. */
const DEMO_SEEDING = 'seeding';
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

export interface DemoSettled {
  /** The demo location, when this data directory has one (seeded at this start or an earlier one). */
  demoLocation: string | null;
  /** Whether this start seeded it. */
  demoCreated: boolean;
}

export interface DemoSeedDeps {
  db: Db;
  /** The canonical store: whether the demo location holds events (its seed was stored). */
  store: Pick<CanonicalLog, 'countEvents'>;
  /** SEED_DEMO. */
  seedDemo: boolean;
  /** Stores the seed's events through the normal ingest path. */
  ingest(location: string, events: EventEnvelope[]): Promise<IngestResult>;
  now: () => number;
  log: { info(obj: object, msg: string): void; error(obj: object, msg: string): void };
}

/**
 * Seeds the demo location or records that it was skipped, once per data directory: seeded only
 * at the first start of an empty database with SEED_DEMO on. A first start with SEED_DEMO=0, or
 * a database that already holds data without a recorded choice (a data directory from before it
 * was recorded), is a real restaurant's: skipped for good, so a later plain `npm start` never puts
 * the demo and its pairing links next to real sales.
 */
export async function settleDemoLocation({ db, store, seedDemo, ingest, now, log }: DemoSeedDeps): Promise<DemoSettled> {
  const recorded = getMeta(db, DEMO_META_KEY);
  if (recorded === DEMO_SEEDING && (await store.countEvents(DEMO_LOCATION)) > 0) {
    // A first start stopped right after storing the seed (one transaction: it is whole).
    setMeta(db, DEMO_META_KEY, String(now()));
    return { demoLocation: DEMO_LOCATION, demoCreated: false };
  }
  // A recorded choice holds; DEMO_SEEDING without the seed stored (stopped before it) is still a first start.
  if (recorded !== undefined && recorded !== DEMO_SEEDING) return { demoLocation: recorded === DEMO_SKIPPED ? null : DEMO_LOCATION, demoCreated: false };
  if (!seedDemo || holdsAnyData(db)) {
    log.info({ location: DEMO_LOCATION, seedDemo }, 'demo seed skipped for good (SEED_DEMO=0 at the first start, or the database holds data already)');
    setMeta(db, DEMO_META_KEY, DEMO_SKIPPED);
    return { demoLocation: null, demoCreated: false };
  }
  setMeta(db, DEMO_META_KEY, DEMO_SEEDING);
  const result = await ingest(DEMO_LOCATION, demoSeedEvents(now()));
  if (result.rejected > 0) log.error({ results: result.results }, 'demo seed rejected');
  log.info({ location: DEMO_LOCATION, events: result.accepted }, 'demo location created');
  setMeta(db, DEMO_META_KEY, String(now()));
  return { demoLocation: DEMO_LOCATION, demoCreated: true };
}
