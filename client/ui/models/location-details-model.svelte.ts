import type { LocationCommands, LocationDetails, LocationDetailsField } from '../../commands/location-commands';
import { CommandState } from './command-state.svelte';
import type { LiveLog } from './live-log.svelte';

/**
 * "On the receipt" (managers, on the Menu screen): the business's name, address, tax number
 * and the receipt's last line. Each field shows what every till prints now until it is edited;
 * saving writes only the fields that differ from it.
 */
export class LocationDetailsModel extends CommandState {
  /** What is being typed, by field. */
  drafts = $state<Partial<Record<LocationDetailsField, string>>>({});

  /** The details every till prints (this device's view of them). */
  readonly current = $derived.by(() => this.log.locationDetails());

  /** The fields typed to something other than what is printed now. */
  readonly changes = $derived.by((): Partial<LocationDetails> => {
    const out: Partial<LocationDetails> = {};
    for (const [field, typed] of Object.entries(this.drafts) as [LocationDetailsField, string][]) {
      if (typed.trim() !== (this.current?.[field] ?? '')) out[field] = typed;
    }
    return out;
  });

  readonly edited = $derived(Object.keys(this.changes).length > 0);

  constructor(
    private readonly log: LiveLog,
    private readonly commands: LocationCommands,
  ) {
    super();
  }

  shown(field: LocationDetailsField): string {
    return this.drafts[field] ?? this.current?.[field] ?? '';
  }

  /** Drops what was typed: the fields show what every till prints. */
  discard(): void {
    this.drafts = {};
    this.error = null;
  }

  async save(): Promise<boolean> {
    const changes = this.changes;
    const ok = await this.run(() => this.commands.setDetails(changes));
    if (ok) this.drafts = {};
    return ok;
  }
}
