import { z } from 'zod';
import { DisplayName, ShortText } from './common';

/** The location itself (the business behind the tills): aggregate type 'location', one aggregate per location. */
export const LOCATION_AGGREGATE = 'location';
/** The id of a location's own aggregate: every location has exactly one. */
export const LOCATION_DETAILS_ID = 'location';

/** Street, town, phone…: printed as written, line by line. */
export const Address = z.string().min(1).max(300);

/**
 * What a receipt says about the seller (a tax receipt names the business, its address and its
 * tax registration number) and how it ends. Each field is its own last-write-wins register and
 * a write carries only the fields a manager changed (null takes one off; the name cannot be):
 * two managers changing different fields both hold, and a device that has not received the
 * details yet cannot blank them by saving one.
 */
export const LocationDetailsSetV1 = z
  .strictObject({
    name: DisplayName.optional(),
    address: Address.nullable().optional(),
    /** The tax (VAT, GST) registration number. */
    taxNumber: ShortText.nullable().optional(),
    /** The receipt's last line ("Thank you!" without one). */
    receiptFooter: ShortText.nullable().optional(),
  })
  .refine((p) => Object.keys(p).length > 0, { message: 'change at least one field' });
export type LocationDetailsSetV1 = z.infer<typeof LocationDetailsSetV1>;
