import { TABLE_AGGREGATE } from '../../shared/domain/table-events';
import { newEventId } from '../../shared/events/event-id';
import type { EventEnvelope } from '../../shared/events/envelope';
import type { TableView } from '../../shared/projection/views';
import { CommandRefused, requireManager, signedBy, type CommandContext } from './ticket-commands';

/** A table as a manager sets it up: the label staff tap to open a ticket there, and its seats (a new ticket's guests). */
export interface TableDraft {
  label: string;
  seats: number;
}

export const TABLE_LABEL_MAX = 16;
export const TABLE_SEATS_MAX = 99;

/** A table staff can open tickets at: named, not taken off the floor. */
export function isInUse(table: TableView): boolean {
  return !table.retired && table.label !== null;
}

/** The table among `tables` other than `exceptId` with the name `label`, case aside (staff tell tables by it). */
export function tableNamed(tables: readonly TableView[], label: string, exceptId: string | null): TableView | undefined {
  const lower = label.toLocaleLowerCase();
  return tables.find((t) => t.id !== exceptId && t.label?.toLocaleLowerCase() === lower);
}

/**
 * The floor plan (managers): add a table, rename it or change its seats, take it off the floor.
 * Tickets keep the table they were opened at; only new tickets see a change. Like the other
 * commands, each resolves once the event is durable, and the projection shows it before that.
 */
export class TableCommands {
  constructor(private readonly ctx: CommandContext) {}

  /** A new table on every till's list; returns its id. */
  define(draft: TableDraft): Promise<string> {
    requireManager(this.ctx, 'set up the tables');
    const label = this.labelFor(draft.label, null);
    checkSeats(draft.seats);
    const tableId = `table-${newEventId().slice(-12)}`;
    return this.append(tableId, 'table.defined', { tableId, label, seats: draft.seats }).then(() => tableId);
  }

  /** Writes only the fields that differ from what the table has: each is its own register (PRJ14). */
  change(tableId: string, changes: Partial<TableDraft>): Promise<EventEnvelope> {
    requireManager(this.ctx, 'set up the tables');
    const table = this.table(tableId);
    const payload: { tableId: string; label?: string; seats?: number } = { tableId };
    if (changes.label !== undefined && changes.label.trim() !== table.label) payload.label = this.labelFor(changes.label, tableId);
    if (changes.seats !== undefined && changes.seats !== table.seats) payload.seats = checkSeats(changes.seats);
    if (payload.label === undefined && payload.seats === undefined) throw new CommandRefused('nothing changed');
    return this.append(tableId, 'table.defined', payload);
  }

  /** Off the floor for good (first-wins): no new ticket opens there; tickets at it keep it. */
  retire(tableId: string): Promise<EventEnvelope> {
    requireManager(this.ctx, 'set up the tables');
    const table = this.table(tableId);
    if (table.retired) throw new CommandRefused(`table ${table.label ?? tableId} is already off the floor`);
    return this.append(tableId, 'table.retired', { tableId });
  }

  /** The tables in use (labelled, not retired). */
  inUse(): TableView[] {
    return this.ctx.store.views(TABLE_AGGREGATE).filter((t): t is TableView => t.kind === 'table' && isInUse(t));
  }

  /** A label as typed, trimmed; refused when empty, too long, or another table in use has it (staff tell tables by it). */
  private labelFor(typed: string, tableId: string | null): string {
    const label = typed.trim();
    if (label === '') throw new CommandRefused('name the table');
    if (label.length > TABLE_LABEL_MAX) throw new CommandRefused(`a table's name is at most ${TABLE_LABEL_MAX} characters`);
    const taken = tableNamed(this.inUse(), label, tableId);
    if (taken !== undefined) throw new CommandRefused(`there is a table ${taken.label} already`);
    return label;
  }

  private table(tableId: string): TableView {
    const table = this.ctx.store.view(tableId);
    if (table?.kind !== 'table') throw new CommandRefused(`no table ${tableId}`);
    return table;
  }

  private append(tableId: string, type: string, payload: unknown): Promise<EventEnvelope> {
    return this.ctx.store.append(type, payload, { aggregate: { id: tableId, type: TABLE_AGGREGATE }, ...signedBy(this.ctx) });
  }
}

function checkSeats(seats: number): number {
  if (!Number.isInteger(seats) || seats < 1 || seats > TABLE_SEATS_MAX) throw new CommandRefused(`a table seats 1 to ${TABLE_SEATS_MAX} guests`);
  return seats;
}
