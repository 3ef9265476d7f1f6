import { LOCATION_AGGREGATE, LOCATION_DETAILS_ID } from '../../shared/domain/location-events';
import type { EventEnvelope } from '../../shared/events/envelope';
import { CommandRefused, requireManager, signedBy, type CommandContext } from './ticket-commands';

/** What a receipt says about the business, as a manager types it. */
export interface LocationDetails {
  name: string;
  address: string;
  taxNumber: string;
  receiptFooter: string;
}

export type LocationDetailsField = keyof LocationDetails;

/** The location's details (location.details_set, managers): every till prints them on its receipts from then on. */
export class LocationCommands {
  constructor(private readonly ctx: CommandContext) {}

  /**
   * Writes the fields a manager changed (trimmed; emptied, a field is taken off, but the name
   * cannot be): the others keep what they hold, whatever this device has received of them.
   */
  setDetails(changes: Partial<LocationDetails>): Promise<EventEnvelope> {
    requireManager(this.ctx, 'change what receipts say');
    const payload: Partial<Record<LocationDetailsField, string | null>> = {};
    for (const [field, typed] of Object.entries(changes) as [LocationDetailsField, string | undefined][]) {
      if (typed === undefined) continue;
      const value = typed.replace(/\r\n?/g, '\n').trim();
      payload[field] = value === '' ? null : value;
    }
    if (payload.name === null) throw new CommandRefused('name the business: receipts start with it');
    if (Object.keys(payload).length === 0) throw new CommandRefused('nothing changed');
    return this.ctx.store.append('location.details_set', payload, { aggregate: { id: LOCATION_DETAILS_ID, type: LOCATION_AGGREGATE }, ...signedBy(this.ctx) });
  }
}
