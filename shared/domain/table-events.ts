import { z } from 'zod';
import { EntityId } from './common';

/** Dining tables: aggregate type 'table', aggregate id = tableId. */
export const TABLE_AGGREGATE = 'table';

export const TableDefinedV1 = z.strictObject({
  tableId: EntityId,
  label: z.string().min(1).max(16),
  seats: z.number().int().positive().max(99),
});
export type TableDefinedV1 = z.infer<typeof TableDefinedV1>;
