import type { TicketCommands } from '../../commands/ticket-commands';
import type { TicketLine, TicketView } from '../../../shared/projection/views';
import { TICKET_AGGREGATE } from '../../../shared/domain/ticket-events';
import { message } from '../format';
import type { LiveLog } from './live-log.svelte';
import type { Now } from './now.svelte';

export interface KitchenTicket {
  ticket: TicketView;
  /** Sent and not yet bumped, in the order they were sent. */
  lines: TicketLine[];
  /** When the oldest waiting line was sent (hybrid-clock ms). */
  since: number;
}

/**
 * The kitchen display: every ticket with lines sent and not yet bumped, oldest first.
 * It reads the local log only, so it keeps working with no network; lines sent from other
 * tills appear as the relay brings them.
 */
export class KitchenModel {
  error = $state<string | null>(null);

  readonly queue = $derived.by((): KitchenTicket[] => {
    const out: KitchenTicket[] = [];
    for (const ticket of this.log.views<TicketView>(TICKET_AGGREGATE)) {
      if (ticket.status === 'voided') continue;
      const lines = ticket.lines.filter((l) => l.sentAt !== null && l.bumpedAt === null);
      if (lines.length === 0) continue;
      lines.sort((a, b) => a.sentAt! - b.sentAt!);
      out.push({ ticket, lines, since: lines[0]!.sentAt! });
    }
    return out.sort((a, b) => a.since - b.since);
  });

  constructor(
    private readonly log: LiveLog,
    private readonly commands: TicketCommands,
    private readonly now: Now,
  ) {}

  ageOf(since: number): number {
    return this.now.value - since;
  }

  bumpLine(ticketId: string, lineId: string) {
    return this.run(() => this.commands.bumpItem(ticketId, lineId));
  }

  /** Bumps every waiting line of the ticket. */
  bumpTicket(entry: KitchenTicket) {
    return this.run(async () => {
      for (const line of entry.lines) await this.commands.bumpItem(entry.ticket.id, line.lineId);
    });
  }

  private async run(action: () => Promise<unknown>): Promise<void> {
    this.error = null;
    try {
      await action();
    } catch (err) {
      this.error = message(err);
    }
  }
}
