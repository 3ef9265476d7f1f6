import { z } from 'zod';
import { DisplayName, EntityId, PositiveCents } from './common';
import { TaxBasisPoints } from './tax';

/** Menu items: aggregate type 'menu_item', aggregate id = menuItemId. */
export const MENU_ITEM_AGGREGATE = 'menu_item';

export const MenuItemDefinedV1 = z.strictObject({
  menuItemId: EntityId,
  name: DisplayName,
  category: DisplayName,
  priceCents: PositiveCents,
  /** The kitchen station that prepares it (grill, bar...); absent = not sent to a station. */
  station: DisplayName.optional(),
});
export type MenuItemDefinedV1 = z.infer<typeof MenuItemDefinedV1>;

/**
 * v2: the sales tax included in the price (basis points: 2000 = 20 %), copied onto each line
 * like the price. A v1 item had none; an item without one is still written as v1.
 */
export const MenuItemDefinedV2 = MenuItemDefinedV1.extend({ taxBasisPoints: TaxBasisPoints.optional() });
export type MenuItemDefinedV2 = z.infer<typeof MenuItemDefinedV2>;

/**
 * A new name, category or station of an item: only the fields changed, at least one. Each is its
 * own LWW register (as item_defined writes them), so a rename never writes back a price, nor
 * another field, changed meanwhile on a device that had not heard of it. A null station takes
 * the item off any station.
 */
export const MenuItemChangedV1 = z
  .strictObject({
    menuItemId: EntityId,
    name: DisplayName.optional(),
    category: DisplayName.optional(),
    station: DisplayName.nullable().optional(),
  })
  .refine((p) => p.name !== undefined || p.category !== undefined || p.station !== undefined, {
    message: 'a menu item change names its name, category or station',
  });
export type MenuItemChangedV1 = z.infer<typeof MenuItemChangedV1>;

export const MenuItemRepricedV1 = z.strictObject({
  menuItemId: EntityId,
  priceCents: PositiveCents,
});
export type MenuItemRepricedV1 = z.infer<typeof MenuItemRepricedV1>;

export const MenuItemRetiredV1 = z.strictObject({
  menuItemId: EntityId,
});
export type MenuItemRetiredV1 = z.infer<typeof MenuItemRetiredV1>;

/**
 * The sales tax included in the item's price from now on (a rate set or changed by law), or
 * null for none (a rate set by mistake): lines already on tickets keep theirs.
 */
export const MenuItemTaxSetV1 = z.strictObject({
  menuItemId: EntityId,
  taxBasisPoints: TaxBasisPoints.nullable(),
});
export type MenuItemTaxSetV1 = z.infer<typeof MenuItemTaxSetV1>;

/** Sold out ("86") or available again: an LWW register, so the latest word on the item holds. */
export const MenuItemAvailabilitySetV1 = z.strictObject({
  menuItemId: EntityId,
  available: z.boolean(),
});
export type MenuItemAvailabilitySetV1 = z.infer<typeof MenuItemAvailabilitySetV1>;
