import type { ServerTakings } from '../../app/server-takings';
import { ServerUnreachable } from '../../app/manager-api';
import { localBusinessDay } from '../../store/device-retention';
import { PaymentMethod } from '../../../shared/domain/ticket-events';
import { dayTakings, type DayTakings, type DayWindow, type MoneyCount } from '../../../shared/reports/day-takings';
import { compareRates, type TaxLine } from '../../../shared/domain/tax';
import { message, money, takenOff, taxRate } from '../format';
import type { LiveLog } from './live-log.svelte';
import type { Now } from './now.svelte';
import type { SyncModel } from './sync-model.svelte';

/** One line of the takings: how it reads on this device and, once checked, on the server. */
export interface TakingsFigure {
  /** Stable key (`cash-expected`, `card`…), for the screen's rows. */
  key: string;
  label: string;
  local: string;
  /** null until the server was asked about this day. */
  server: string | null;
  differs: boolean;
}

/** The server's report of one day, and when the server made it (its clock). */
export interface ServerReport {
  takings: DayTakings;
  at: number;
}

const countAndMoney = (c: MoneyCount): string => `${c.count} · ${money(c.amountCents)}`;
/** Money taken off the day's figures (closes a manager reopened): it reads as a negative. */
const countAndMoneyOff = (c: MoneyCount): string => `${c.count} · ${takenOff(c.amountCents, money)}`;
const METHOD_LABEL: Record<PaymentMethod, string> = { cash: 'Cash payments', card: 'Card payments' };
const REFUND_LABEL: Record<PaymentMethod, string> = { cash: 'Refunded in cash', card: 'Refunded to cards' };
const HANDED_BACK_LABEL: Record<PaymentMethod, string> = { cash: 'Held payments handed back in cash', card: 'Held payments handed back to cards' };

/** A figure of the takings: its key, its label and how a report reads it. */
interface Figure {
  key: string;
  label: string;
  of: (t: DayTakings) => string;
}

/** The figures in the order a manager reads them at the cash-up: the day's closes first (the closes reopened follow them: reopenedFigures)… */
const CLOSE_FIGURES: readonly Figure[] = [
  { key: 'closed', label: 'Tickets closed', of: (t) => countAndMoney(t.closed) },
  { key: 'discounted', label: 'Discounts on them', of: (t) => countAndMoney(t.discounted) },
  { key: 'guests', label: 'Guests on them · spend per guest', of: (t) => `${t.guests.count} · ${money(t.guests.count === 0 ? 0 : Math.round(t.guests.amountCents / t.guests.count))}` },
];

/** …then the money. */
const MONEY_FIGURES: readonly Figure[] = [
  ...PaymentMethod.options.map((method) => ({ key: method, label: METHOD_LABEL[method], of: (t: DayTakings) => countAndMoney(t.taken.byMethod[method]) })),
  { key: 'taken', label: 'Payments taken in all', of: (t) => countAndMoney(t.taken) },
  { key: 'change', label: 'Change handed back', of: (t) => money(t.changeGivenCents) },
  { key: 'tips', label: 'Card tips (for staff)', of: (t) => countAndMoney(t.tips) },
  ...PaymentMethod.options.map((method) => ({ key: `refunded-${method}`, label: REFUND_LABEL[method], of: (t: DayTakings) => countAndMoney(t.refunded.byMethod[method]) })),
  ...PaymentMethod.options.map((method) => ({ key: `handed-back-${method}`, label: HANDED_BACK_LABEL[method], of: (t: DayTakings) => countAndMoney(t.handedBack.byMethod[method]) })),
  { key: 'cash-expected', label: 'Cash expected in the drawer', of: (t) => money(t.cashExpectedCents) },
  { key: 'held', label: 'Held — awaiting a manager', of: (t) => countAndMoney(t.held) },
  { key: 'voided', label: 'Voided tickets (their lines)', of: (t) => countAndMoney(t.voided) },
  { key: 'comped', label: 'Comped lines (given away)', of: (t) => countAndMoney(t.comped) },
  { key: 'open', label: 'Still open (left to take)', of: (t) => countAndMoney(t.open) },
  { key: 'conflicts', label: 'Tickets with open conflicts', of: (t) => String(t.ticketsWithOpenConflicts) },
];


/**
 * The closes reopened this day (made this day or before), taken off its sales, and what the
 * sales come to without them: only on a day either report has one. The guests and discounts of
 * those closes where they had any; the spend per guest above is the day's closes' alone.
 */
export function reopenedFigures(reports: readonly DayTakings[]): Figure[] {
  if (!reports.some((t) => t.reopened.count > 0)) return [];
  return [
    { key: 'reopened', label: 'Reopened closes (taken off)', of: (t) => countAndMoneyOff(t.reopened) },
    ...(reports.some((t) => t.reopened.discounted.count > 0) ? [{ key: 'reopened-discounted', label: 'Discounts on reopened closes', of: (t: DayTakings) => countAndMoneyOff(t.reopened.discounted) }] : []),
    ...(reports.some((t) => t.reopened.guests.count > 0) ? [{ key: 'reopened-guests', label: 'Guests on reopened closes', of: (t: DayTakings) => String(t.reopened.guests.count) }] : []),
    { key: 'net-sales', label: 'Net sales (closed less reopened)', of: (t) => money(t.closed.amountCents - t.reopened.amountCents) },
  ];
}

/** Where each kind of tax figure reads its lines, how its label names them, and its sign. */
const TAX_KINDS = {
  sales: { lines: (t: DayTakings) => t.taxes.sales, words: 'sales', sign: 1 },
  refunds: { lines: (t: DayTakings) => t.taxes.refunds, words: 'refunds', sign: 1 },
  /** Taken off the day: it reads as a negative. */
  reopened: { lines: (t: DayTakings) => t.reopened.taxes, words: 'reopened closes', sign: -1 },
} as const;
type TaxKind = keyof typeof TAX_KINDS;

/**
 * The tax figures, rate by rate, for the rates either report holds (prices include tax): the
 * tax in the sales, in the closes reopened (taken off) and in the refunds where there were any.
 * Sales at no rate are listed only beside taxed figures (an item whose rate was never set);
 * none at all where nothing is taxed.
 */
export function taxFigures(reports: readonly DayTakings[]): Figure[] {
  const rates = (kind: TaxKind): (number | null)[] => {
    const found = new Set(reports.flatMap((t) => TAX_KINDS[kind].lines(t).filter((l) => l.grossCents > 0).map((l) => l.basisPoints)));
    return [...found].sort(compareRates);
  };
  const sales = rates('sales');
  const reopened = rates('reopened').filter((r) => r !== null);
  const refunds = rates('refunds').filter((r) => r !== null);
  if (refunds.length === 0 && reopened.length === 0 && !sales.some((r) => r !== null)) return [];
  const figure = (kind: TaxKind, rate: number | null): Figure => ({
    key: `tax-${kind}-${rate ?? 'none'}`,
    label: rate === null ? `Sales with no tax rate` : `Tax at ${taxRate(rate)} in ${TAX_KINDS[kind].words}`,
    of: (t) => {
      const { lines, sign } = TAX_KINDS[kind];
      const line: TaxLine | undefined = lines(t).find((l) => l.basisPoints === rate);
      const gross = sign * (line?.grossCents ?? 0);
      const tax = sign * (line?.taxCents ?? 0);
      return rate === null ? money(gross) : `${money(tax)} of ${money(gross)}`;
    },
  });
  return [...sales.map((r) => figure('sales', r)), ...reopened.map((r) => figure('reopened', r)), ...refunds.map((r) => figure('refunds', r))];
}

/**
 * The Takings screen (managers): the business day's takings from this device's own log,
 * live as events arrive, and on request the server's for the same day side by side. The
 * device's figures are final only once it owes the server nothing; the server's, over the
 * canonical log, are what the back office sees (a till offline all along is in neither).
 */
export class TakingsModel {
  /** The business day shown; today's at first. */
  day: DayWindow;
  server = $state.raw<ServerReport | null>(null);
  /** Why the server's figures are missing (it cannot be reached, or refused). */
  serverProblem = $state<string | null>(null);
  checking = $state(false);

  /**
   * Every ticket, not only those restored so far (`LiveLog.views` is partial right after a
   * restart): closed tickets are what the takings are made of.
   */
  readonly local = $derived.by(() => dayTakings(this.log.all(), this.day));

  readonly figures = $derived.by((): TakingsFigure[] => {
    const server = this.server?.takings ?? null;
    const reports = server === null ? [this.local] : [this.local, server];
    return [...CLOSE_FIGURES, ...reopenedFigures(reports), ...MONEY_FIGURES, ...taxFigures(reports)].map(({ key, label, of }) => {
      const local = of(this.local);
      const atServer = server === null ? null : of(server);
      return { key, label, local, server: atServer, differs: atServer !== null && atServer !== local };
    });
  });

  readonly differences = $derived(this.figures.filter((f) => f.differs).length);

  /** Events this device holds that the server has not acknowledged (null while counting). */
  readonly owed = $derived.by(() => this.sync.status.owed);

  readonly isToday = $derived.by(() => this.day.from === this.today().from);

  /**
   * Settled tickets leave the devices once acknowledged and past the end of the business day
   * after theirs: this one keeps them a day more (DEVICE_RETENTION), but a device in another
   * time zone may compact by its own days, up to a day earlier, and compaction reaches every
   * device. So a day whose next day has ended may be missing tickets here. So may any day with
   * late events of such a ticket (a refund given offline on it): the device holds them but no
   * view shows them; the server counts them.
   */
  readonly mayBeIncomplete = $derived.by(
    () => localBusinessDay(this.day.to).to <= this.physicalNow() || this.log.lateOnArchived().some((e) => e.at >= this.day.from && e.at < this.day.to),
  );

  /** The business's name, at the top of the takings slip (null until a manager set the receipt details). */
  get businessName(): string | null {
    return this.log.locationDetails()?.name ?? null;
  }

  constructor(
    private readonly log: LiveLog,
    private readonly sync: SyncModel,
    private readonly serverTakings: ServerTakings,
    private readonly now: Now,
  ) {
    this.day = $state.raw(this.today());
  }

  previousDay(): void {
    this.show(this.dayOf(this.day.from - 1));
  }

  nextDay(): void {
    if (!this.isToday) this.show(this.dayOf(this.day.to));
  }

  showToday(): void {
    this.show(this.today());
  }

  /** Asks the server for the same day; offline, the device's figures stay and it says why. */
  async checkWithServer(): Promise<void> {
    if (this.checking) return;
    const day = this.day;
    this.checking = true;
    this.serverProblem = null;
    try {
      const answer = await this.serverTakings.of(day);
      if (this.day === day) this.server = { takings: answer.takings, at: answer.serverTime };
    } catch (err) {
      if (this.day === day) {
        this.serverProblem =
          err instanceof ServerUnreachable ? 'The server cannot be reached: the figures are this device\'s only.' : `The server did not give its figures: ${message(err)}`;
      }
    } finally {
      this.checking = false;
    }
  }

  private show(day: DayWindow): void {
    this.day = day;
    this.server = null;
    this.serverProblem = null;
  }

  private today(): DayWindow {
    return this.dayOf(this.physicalNow());
  }

  /** The business day holding `at`, in this device's time zone. */
  private dayOf(at: number): DayWindow {
    return localBusinessDay(at);
  }

  /** Server-corrected time, as events are stamped (read again on every tick of `now`). */
  private physicalNow(): number {
    void this.now.value;
    return this.log.store.clock.physicalNow();
  }
}
