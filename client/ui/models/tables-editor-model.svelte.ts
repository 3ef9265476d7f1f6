import { TABLE_LABEL_MAX, TABLE_SEATS_MAX, tableNamed, type TableCommands, type TableDraft } from '../../commands/table-commands';
import type { TableView } from '../../../shared/projection/views';
import { CommandState } from './command-state.svelte';
import type { LiveLog } from './live-log.svelte';
import { SecondTap } from './second-tap.svelte';

/** What is typed for one table: a new label, new seats, or both. */
interface TableEdit {
  label?: string;
  seats?: string;
}

/** Seats as typed: a whole number from 1 to TABLE_SEATS_MAX, else undefined. */
function parseSeats(text: string): number | undefined {
  const trimmed = text.trim();
  if (!/^\d+$/.test(trimmed)) return undefined;
  const seats = Number(trimmed);
  return seats >= 1 && seats <= TABLE_SEATS_MAX ? seats : undefined;
}

const SEATS_HINT = `Seats: a number from 1 to ${TABLE_SEATS_MAX}`;

/**
 * The Tables section of the Menu screen (managers): add a table, rename it or change its seats,
 * take it off the floor. Every till's table list follows live; tickets keep their table.
 */
export class TablesEditorModel extends CommandState {
  label = $state('');
  seatsText = $state('4');
  /** Labels and seats being typed, by table (a field shows the table's value until then). */
  edits = $state<Record<string, TableEdit>>({});
  /** The table whose retirement waits for a second tap. */
  readonly retiring = new SecondTap();

  /** The tables in use, by label. */
  readonly tables = $derived.by((): TableView[] => this.log.tables());

  /** Why the new table cannot be added as typed; null when it can. */
  readonly addProblem = $derived.by((): string | null => {
    const label = this.label.trim();
    if (label === '') return 'Name the table (e.g. T12, Terrace 3)';
    if (label.length > TABLE_LABEL_MAX) return `At most ${TABLE_LABEL_MAX} characters a table's name`;
    if (tableNamed(this.tables, label, null) !== undefined) return `There is a table ${label} already`;
    if (parseSeats(this.seatsText) === undefined) return SEATS_HINT;
    return null;
  });

  constructor(
    private readonly log: LiveLog,
    private readonly commands: TableCommands,
  ) {
    super();
  }

  /** Something typed and not saved (the automatic update waits for it); an edit of a table taken off the floor is gone with it. */
  get hasDrafts(): boolean {
    return this.label.trim() !== '' || this.tables.some((t) => this.edits[t.id] !== undefined);
  }

  async add(): Promise<boolean> {
    const seats = parseSeats(this.seatsText);
    if (this.addProblem !== null || seats === undefined) return false;
    const ok = await this.run(() => this.commands.define({ label: this.label, seats }));
    if (ok) this.label = '';
    return ok;
  }

  /** A table's label or seats: what is being typed, else its value. */
  shown(table: TableView, field: keyof TableEdit): string {
    return this.edits[table.id]?.[field] ?? (field === 'label' ? (table.label ?? '') : String(table.seats ?? ''));
  }

  type(table: TableView, field: keyof TableEdit, text: string): void {
    this.edits[table.id] = { ...this.edits[table.id], [field]: text };
  }

  /** Writes what was typed for a table: only the fields that changed (TableCommands.change). */
  async save(table: TableView): Promise<boolean> {
    const edit = this.edits[table.id];
    if (edit === undefined) return false;
    const changes: Partial<TableDraft> = {};
    if (edit.label !== undefined) changes.label = edit.label;
    if (edit.seats !== undefined) {
      const seats = parseSeats(edit.seats);
      if (seats === undefined) {
        this.error = `${SEATS_HINT} (table ${table.label ?? table.id})`;
        return false;
      }
      changes.seats = seats;
    }
    const unchanged = (changes.label === undefined || changes.label.trim() === table.label) && (changes.seats === undefined || changes.seats === table.seats);
    const ok = unchanged || (await this.run(() => this.commands.change(table.id, changes)));
    if (ok) delete this.edits[table.id];
    return ok;
  }

  /** Open tickets at the table (said before it is taken off the floor). */
  openTicketsAt(tableId: string): number {
    return this.log.openTicketsAt(tableId).length;
  }

  /** Takes the table off the floor for good on a second, deliberate tap (SecondTap). */
  async retire(table: TableView): Promise<boolean> {
    if (!this.retiring.tap(table.id)) return false;
    return this.run(() => this.commands.retire(table.id));
  }

}
