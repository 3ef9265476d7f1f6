import type { LocationCommands, ReceiptDetails } from '../../commands/location-commands';
import { CommandState } from './command-state.svelte';
import type { LiveLog } from './live-log.svelte';

export type ReceiptField = keyof ReceiptDetails;

/**
 * "On the receipt" (managers, on the Menu screen): the business's name, address, tax number
 * and the receipt's last line. Each field shows what every till prints now until it is edited.
 */
export class ReceiptDetailsModel extends CommandState {
  /** What is being typed, by field. */
  drafts = $state<Partial<Record<ReceiptField, string>>>({});

  /** The details every till prints (this device's view of them). */
  readonly current = $derived.by(() => this.log.locationDetails());

  readonly edited = $derived(Object.keys(this.drafts).length > 0);

  constructor(
    private readonly log: LiveLog,
    private readonly commands: LocationCommands,
  ) {
    super();
  }

  shown(field: ReceiptField): string {
    return this.drafts[field] ?? this.current?.[field] ?? '';
  }

  async save(): Promise<boolean> {
    const details: ReceiptDetails = { name: this.shown('name'), address: this.shown('address'), taxNumber: this.shown('taxNumber'), receiptFooter: this.shown('receiptFooter') };
    const ok = await this.run(() => this.commands.setDetails(details));
    if (ok) this.drafts = {};
    return ok;
  }
}
