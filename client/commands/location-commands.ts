import { LOCATION_AGGREGATE, LOCATION_DETAILS_ID } from '../../shared/domain/location-events';
import type { EventEnvelope } from '../../shared/events/envelope';
import { CommandRefused, requireManager, signedBy, type CommandContext } from './ticket-commands';

/** What a receipt says about the business, as a manager types it (empty fields are left off). */
export interface ReceiptDetails {
  name: string;
  address: string;
  taxNumber: string;
  receiptFooter: string;
}

/** The location's details (location.details_set, managers): every till prints them on its receipts from then on. */
export class LocationCommands {
  constructor(private readonly ctx: CommandContext) {}

  setDetails(details: ReceiptDetails): Promise<EventEnvelope> {
    requireManager(this.ctx, 'change what receipts say');
    const name = details.name.trim();
    if (name === '') throw new CommandRefused('name the business: receipts start with it');
    const optional = (field: 'address' | 'taxNumber' | 'receiptFooter') => {
      const value = details[field].trim();
      return value === '' ? {} : { [field]: value };
    };
    const payload = { name, ...optional('address'), ...optional('taxNumber'), ...optional('receiptFooter') };
    return this.ctx.store.append('location.details_set', payload, { aggregate: { id: LOCATION_DETAILS_ID, type: LOCATION_AGGREGATE }, ...signedBy(this.ctx) });
  }
}
