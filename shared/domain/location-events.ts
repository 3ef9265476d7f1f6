import { z } from 'zod';
import { ShortText } from './common';

/** The location itself (the business behind the tills): aggregate type 'location', one aggregate per location. */
export const LOCATION_AGGREGATE = 'location';
/** The id of a location's own aggregate: every location has exactly one. */
export const LOCATION_DETAILS_ID = 'location';

/**
 * What a receipt says about the seller (a tax receipt names the business, its address and its
 * tax registration number) and how it ends. A manager writes the whole set at once; each field
 * is its own last-write-wins register, absent fields clearing theirs.
 */
export const LocationDetailsSetV1 = z.strictObject({
  name: ShortText,
  /** Street, town, phone…: printed as written, line by line. */
  address: z.string().min(1).max(300).optional(),
  /** The tax (VAT, GST) registration number. */
  taxNumber: ShortText.optional(),
  /** The receipt's last line ("Thank you!" without one). */
  receiptFooter: ShortText.optional(),
});
export type LocationDetailsSetV1 = z.infer<typeof LocationDetailsSetV1>;
