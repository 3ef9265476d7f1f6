import type { TicketCommands } from '../../commands/ticket-commands';
import type { ConflictResolution } from '../../../shared/domain/conflict-events';
import type { TicketConflict, TicketView } from '../../../shared/projection/views';
import { TICKET_AGGREGATE } from '../../../shared/domain/ticket-events';
import { CONFLICT_RESOLUTIONS } from '../../../shared/projection/merge-policy';
import type { ConflictResolutionKind } from '../../../shared/domain/conflict-events';
import { assertNever } from '../../../shared/assert-never';
import { CommandState } from './command-state.svelte';
import type { LiveLog } from './live-log.svelte';

export interface ConflictEntry {
  ticket: TicketView;
  conflict: TicketConflict;
}

/**
 * Escalated business conflicts (those LWW must not settle) across all tickets, and the
 * manager's resolution of them: one `conflict.resolved` event through TicketCommands.
 */
export class ConflictsModel extends CommandState {
  readonly entries = $derived.by((): ConflictEntry[] => {
    const out: ConflictEntry[] = [];
    for (const ticket of this.log.views<TicketView>(TICKET_AGGREGATE)) {
      for (const conflict of ticket.conflicts) out.push({ ticket, conflict });
    }
    // Open first, then those two managers settled at once (their money to check), newest first.
    const rank = (c: TicketConflict): number => (c.status === 'open' ? 0 : c.overruled.length > 0 ? 1 : 2);
    return out.sort((a, b) => rank(a.conflict) - rank(b.conflict) || b.conflict.detectedAt - a.conflict.detectedAt);
  });

  readonly openCount = $derived(this.entries.filter((e) => e.conflict.status === 'open').length);

  /**
   * Tickets this device archived that late events arrived for (a change or a refund written
   * offline elsewhere): it cannot show them, or a conflict they raise; the server holds them.
   */
  readonly archivedWithLateEvents = $derived.by(() => new Set(this.log.lateOnArchived().map((e) => e.aggregate.id)).size);

  constructor(
    private readonly log: LiveLog,
    private readonly commands: TicketCommands,
    readonly manager: boolean,
  ) {
    super();
  }

  /** The resolutions that fit this kind of conflict (merge-policy CONFLICT_RESOLUTIONS). */
  choices(conflict: TicketConflict): readonly ConflictResolutionKind[] {
    return CONFLICT_RESOLUTIONS[conflict.kind];
  }

  async resolve(ticketId: string, conflictId: string, kind: ConflictResolutionKind, totalCents: number | null, note: string): Promise<void> {
    await this.run(async () => this.commands.resolveConflict(ticketId, conflictId, toResolution(kind, totalCents), note.trim() || undefined));
  }
}

function toResolution(kind: ConflictResolutionKind, totalCents: number | null): ConflictResolution {
  switch (kind) {
    case 'accept_total':
      if (totalCents === null) throw new Error('enter the total to accept');
      return { kind, totalCents };
    case 'accept_payment':
    case 'refund_payment':
    case 'accept_refund':
    case 'keep_void':
    case 'keep_closed':
    case 'discard_change':
    case 'reopen':
      return { kind };
    default:
      return assertNever(kind, 'resolution');
  }
}
