import { z } from 'zod';
import { EntityId, notBlank } from './common';

/** Dining tables: aggregate type 'table', aggregate id = tableId. */
export const TABLE_AGGREGATE = 'table';

const TableLabel = z.string().min(1).max(16).refine(notBlank, 'must not be blank');
const TableSeats = z.number().int().positive().max(99);

export const TableDefinedV1 = z.strictObject({
  tableId: EntityId,
  label: TableLabel,
  seats: TableSeats,
});
export type TableDefinedV1 = z.infer<typeof TableDefinedV1>;

/**
 * v2: a change carries only the fields it changes (a renamed table keeps the seats another
 * manager set meanwhile: each field is its own LWW register). A definition with both is
 * still written as v1.
 */
export const TableDefinedV2 = TableDefinedV1.partial({ label: true, seats: true }).refine((p) => p.label !== undefined || p.seats !== undefined, {
  message: 'a table change names its label, its seats or both',
});
export type TableDefinedV2 = z.infer<typeof TableDefinedV2>;

/** Off the floor plan for good (first-wins); tickets at it keep their table. */
export const TableRetiredV1 = z.strictObject({
  tableId: EntityId,
});
export type TableRetiredV1 = z.infer<typeof TableRetiredV1>;
