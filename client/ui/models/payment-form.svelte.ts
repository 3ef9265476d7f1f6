import type { PaymentMethod } from '../../../shared/domain/ticket-events';
import { linesShareCents, paidLineIds, soldByLine, type TicketLine, type TicketView } from '../../../shared/projection/views';
import type { PaymentToRecord } from '../../commands/ticket-commands';
import { AMOUNT_MAX_CENTS, money, parseMoney } from '../format';

/**
 * Cash handed over may exceed the amount by at most this (1000.00): more is a typing slip
 * (99999 for 10.00), not cash anyone hands over — the largest notes in use are 500s, and
 * nobody pays 10.00 with three of them. The schema's own bound (AMOUNT_MAX_CENTS) applies too.
 */
export const TENDER_OVER_MAX_CENTS = 100_000;

/**
 * After a payment is recorded the Record button stays disabled this long: the amount falls
 * back to what is still due, so the second tap of a double tap would record the rest of the
 * bill as a payment nobody took (as the kitchen's BUMP_HOLD_MS).
 */
export const RECORD_HOLD_MS = 600;

/** A line a guest can pay for on their own, and what it comes to (linesShareCents). */
export interface PayableLine {
  line: TicketLine;
  cents: number;
}

/**
 * The payment panel of the selected ticket: method, amount (the amount due, or what the
 * lines a guest pays for come to, unless typed), cash handed over and the change. Held here, not in the panel, so a half-typed payment is
 * seen by the automatic update (nothing half-typed is reloaded away) and survives a look at
 * another screen; it is cleared when another ticket is selected.
 */
export class PaymentForm {
  private methodChosen = $state<PaymentMethod>('card');
  /** null = worked out: the split's share, what the chosen lines come to, or the amount still due. */
  amountText = $state<string | null>(null);
  private tenderedTyped = $state('');
  /** A card tip (owed to staff, charged with the amount); empty = none. */
  private tipTyped = $state('');
  /**
   * The worked-out amount the cashier acted on (chose ÷n or lines, changed the method, typed cash
   * handed over or a tip): the card machine or the change was worked out from it. null: not acted on
   * since the last payment. Live changes of the amount after that are not recorded unconfirmed (amountWas).
   */
  private seen = $state<number | null>(null);
  /** The lines a guest is paying for (separate checks); empty: an amount. */
  lineIds = $state<string[]>([]);
  /** Guests still to pay their even share (÷n), this one included; null when not splitting. */
  splitLeft = $state<number | null>(null);
  /** The n of the split going on (its ÷n button is pressed). */
  splitOf = $state<number | null>(null);
  /** The form as the last payment recorded left it (null: none on this ticket), and the change given then. */
  private recordedForm = $state<string | null>(null);
  private recordedChange = $state<number | null>(null);
  /** The payment the last recording took (its id, as the command wrote it). */
  private recordedPaymentId = $state<string | null>(null);
  /** For RECORD_HOLD_MS after a payment is recorded. */
  private holding = $state(false);
  private recordedTimer: ReturnType<typeof setTimeout> | null = null;
  private recording = false;
  /**
   * The cashier checked a ticket holding events of a newer app version (chargeAnyway): those may be
   * a payment an updated till took, which this one cannot read (the ticket shows as owing), so a
   * payment waits for this, each time.
   */
  private checkedNewer = $state<number | null>(null);
  private readonly newer = $derived.by(() => this.ticketNow()?.needsUpdate ?? 0);
  /** Ticked for as many newer events as the ticket holds: one more arriving (another payment?) asks again. */
  get chargeAnyway(): boolean {
    return this.newer > 0 && this.checkedNewer === this.newer;
  }
  set chargeAnyway(checked: boolean) {
    this.checkedNewer = checked ? this.newer : null;
  }
  readonly uncheckedNewer = $derived(this.newer > 0 && !this.chargeAnyway);
  /** Nothing was changed since the last payment was recorded. */
  private readonly unchanged = $derived(this.recordedForm !== null && this.recordedForm === this.formKey());
  /** A payment was just recorded and nothing changed since: the button waits (a change is meant). */
  readonly justRecorded = $derived(this.holding && this.unchanged);
  /**
   * The change of the last cash payment recorded, shown big for the cashier until the form is
   * changed for the next guest, and while that payment still counts (not once it is held for a manager).
   */
  readonly lastChange = $derived(this.unchanged && this.recordedStillApplied() ? this.recordedChange : null);

  readonly due = $derived.by(() => this.dueNow() ?? 0);
  /** Lines a guest can still pay for on their own: charging something, and no applied payment was for them. */
  readonly payableLines = $derived.by((): PayableLine[] => {
    const ticket = this.ticketNow();
    // Nothing to pay for on a ticket paid in full.
    if (ticket === null || (this.dueNow() ?? 0) <= 0) return [];
    const paid = paidLineIds(ticket);
    // Each line's share, allocated once for the ticket (linesShareCents of one line each would allocate per line).
    const sold = soldByLine(ticket);
    return ticket.lines
      .filter((line) => !paid.has(line.lineId))
      .map((line) => ({ line, cents: sold.get(line.lineId) ?? 0 }))
      .filter((p) => p.cents > 0);
  });
  /** The chosen lines still payable (one another till took payment for meanwhile drops out). */
  readonly chosenLines = $derived(this.lineIds.filter((id) => this.payableLines.some((p) => p.line.lineId === id)));
  /** Lines were chosen and none is payable any more (removed, or paid for, on another till): no amount, not the whole due. */
  private readonly chosenGone = $derived(this.lineIds.length > 0 && this.chosenLines.length === 0);
  /** What the chosen lines come to, whatever is due; null with none chosen. */
  private readonly linesCents = $derived.by((): number | null => {
    const ticket = this.ticketNow();
    if (ticket === null || this.chosenLines.length === 0) return null;
    return linesShareCents(ticket, this.chosenLines);
  });
  /** What the chosen lines come to, at most the amount due; null with none chosen. */
  readonly forLines = $derived(this.linesCents === null ? null : Math.min(this.linesCents, this.due));
  /** The even share of the split going on, of what is due now: it follows a line or a payment another till adds meanwhile. */
  private readonly splitShare = $derived(this.splitLeft === null ? null : Math.ceil(this.due / this.splitLeft));
  readonly amount = $derived.by((): number | null => {
    if (this.amountText !== null) return parseMoney(this.amountText);
    if (this.chosenGone) return null;
    return this.splitShare ?? this.forLines ?? this.due;
  });
  /** The amount the cashier acted on, when a payment or a line on another till changed it since (a typed amount never changes); else null. */
  readonly amountWas = $derived(this.amountText === null && this.seen !== null && this.amount !== null && this.amount !== this.seen ? this.seen : null);
  readonly tendered = $derived(this.method === 'cash' && this.tenderedText.trim() !== '' ? parseMoney(this.tenderedText) : null);
  readonly change = $derived(this.amount !== null && this.tendered !== null ? this.tendered - this.amount : null);
  readonly tip = $derived(this.method === 'card' && this.tipText.trim() !== '' ? parseMoney(this.tipText) : null);

  /** Why the payment cannot be recorded as typed, in staff words, and the field it is about (none: a payment held, items chosen gone); null when it can. */
  private readonly issue = $derived.by((): { message: string; field: 'amount' | 'tip' | 'cash' | null } | null => {
    const { amount, due, method, tendered, change } = this;
    const about = (field: 'amount' | 'tip' | 'cash' | null, message: string | null) => (message === null ? null : { message, field });
    // Another payment now could charge the guest twice (the panel may have stayed open since the hold).
    if (this.ticketNow()?.payments.some((p) => p.state === 'held')) return about(null, 'A payment is held for a manager: take no other payment until it is settled');
    if (this.chosenGone && this.amountText === null) return about(null, 'The items chosen were removed or paid for (on another till): choose again');
    if (amount === null || amount <= 0) return about('amount', 'Enter an amount');
    // The card machine was keyed, or the change counted, for the amount seen: recording the new one unasked would not match the money.
    if (this.amountWas !== null) return about('amount', `The amount due changed on another till (${money(this.amountWas)} → ${money(amount)}): check the amount${method === 'cash' ? ' and the change' : ''}`);
    // More than due is a typing slip (1000.00 for 10.00), not a tip: cash over the amount is change.
    if (amount > due) return about('amount', method === 'cash' ? `More than the ${money(due)} due: put the cash handed over below for the change` : `More than the ${money(due)} due: put the extra as the tip`);
    if (method === 'card') return about('tip', this.tipProblem(amount));
    if (this.tenderedText.trim() === '') return null;
    if (tendered === null) return about('cash', 'Enter the cash handed over');
    if (change !== null && change < 0) return about('cash', 'Less cash handed over than the amount');
    const most = Math.min(amount + TENDER_OVER_MAX_CENTS, AMOUNT_MAX_CENTS);
    if (tendered > most) return about('cash', `More cash than anyone hands over for ${money(amount)}: check the cash handed over (at most ${money(most)})`);
    return null;
  });
  /** Why the payment cannot be recorded as typed, in staff words; null when it can. */
  readonly problem = $derived(this.issue?.message ?? null);
  /** The field `problem` is about (the panel ties the message to it); null for none. */
  readonly problemField = $derived(this.issue?.field ?? null);

  /** Something typed that is not recorded yet. */
  readonly hasDraft = $derived(
    this.amountText !== null || this.tenderedText.trim() !== '' || this.tipText.trim() !== '' || this.chosenLines.length > 0 || this.splitLeft !== null,
  );

  constructor(
    /** What is left to take on the selected ticket (TicketsModel.dueOf); null when nothing can be. */
    private readonly dueNow: () => number | null,
    /** Records it: the payment's id, or null when it was not recorded. */
    private readonly recordPayment: (payment: PaymentToRecord) => Promise<string | null>,
    /** The selected ticket, for the lines a guest can pay for. */
    private readonly ticketNow: () => TicketView | null,
  ) {}

  get method(): PaymentMethod {
    return this.methodChosen;
  }
  set method(method: PaymentMethod) {
    if (method !== this.methodChosen) this.actOnAmount();
    this.methodChosen = method;
  }
  get tenderedText(): string {
    return this.tenderedTyped;
  }
  set tenderedText(text: string) {
    this.actOnAmount();
    this.tenderedTyped = text;
  }
  get tipText(): string {
    return this.tipTyped;
  }
  set tipText(text: string) {
    this.actOnAmount();
    this.tipTyped = text;
  }

  /** The cashier acts on the amount shown: the first act keeps it (a later change of it is asked about), later ones do not move it. */
  private actOnAmount(): void {
    this.seen ??= this.amount;
  }

  /** The amount as it is now is the one meant (after another till changed it: "Use …"). */
  useAmountNow(): void {
    this.seen = this.amount;
  }

  /** An even share of the amount due (none when nothing is): for an amount, not for lines. The next guests' shares follow (recordNow). */
  split(n: number): void {
    if (this.due <= 0) return;
    this.lineIds = [];
    this.amountText = null;
    // ÷n tapped again for the next guest of the same split: still that guest's share.
    if (this.splitOf !== n || this.splitLeft === null) {
      this.splitOf = n;
      this.splitLeft = n;
    }
    // The share shown now is the one chosen (tapped again: confirmed after a change).
    this.useAmountNow();
  }

  /** An amount typed by hand: the split, if any, ends (the amount is no share of it). */
  typeAmount(text: string): void {
    this.amountText = text;
    this.endSplit();
  }

  private endSplit(): void {
    this.splitLeft = null;
    this.splitOf = null;
  }

  /** Adds the line to what the guest pays for, or takes it off; the amount follows the lines. */
  toggleLine(lineId: string): void {
    this.lineIds = this.lineIds.includes(lineId) ? this.lineIds.filter((id) => id !== lineId) : [...this.lineIds, lineId];
    this.amountText = null;
    this.endSplit();
    this.useAmountNow();
  }

  /** A tip of `percent` % of the amount (rounded to the cent), as the guest asks at the card machine. */
  tipPercent(percent: number): void {
    if (this.amount !== null && this.amount > 0) this.tipText = money(Math.round((this.amount * percent) / 100));
  }

  /**
   * A tip larger than the amount is a typing slip (15.00 for 1.50), not generosity; staff
   * can split such a payment if it is meant.
   */
  private tipProblem(amount: number): string | null {
    if (this.tipText.trim() === '') return null;
    const tip = this.tip;
    if (tip === null) return 'Enter the tip as an amount (e.g. 2.50)';
    if (tip > amount) return `A tip of ${money(tip)} on ${money(amount)}: check the tip (at most the amount)`;
    return null;
  }

  /** Records the payment as typed; false (and nothing written) when there is a problem or it failed. */
  async record(): Promise<boolean> {
    const { amount, tendered, tip, problem, method } = this;
    // One at a time: a second submit while the first is written would take the same amount again.
    if (problem !== null || amount === null || this.justRecorded || this.recording || this.uncheckedNewer) return false;
    this.recording = true;
    try {
      return await this.recordNow(amount, tendered, tip, method);
    } finally {
      this.recording = false;
    }
  }

  private async recordNow(amount: number, tendered: number | null, tip: number | null, method: PaymentMethod): Promise<boolean> {
    // Taken before the payment lands: then the amount due, and so this, changes.
    const given = this.change;
    const ticketId = this.ticketNow()?.id;
    const paymentId = await this.recordPayment({
      method,
      amountCents: amount,
      ...(tendered === null ? {} : { tenderedCents: tendered }),
      ...(tip === null || tip === 0 ? {} : { tipCents: tip }),
      // For the lines only when it pays all they come to (not only what is due, when that is
      // less: the rest of what was paid by amount is another guest's): a part leaves them to pay.
      ...(this.linesCents === null || amount < this.linesCents ? {} : { lineIds: [...this.chosenLines] }),
    });
    if (paymentId === null) return false;
    // Another ticket was selected meanwhile: its form is its own (no change of this one shown there).
    if (this.ticketNow()?.id !== ticketId) return true;
    this.recordedChange = given !== null && given > 0 ? given : null;
    this.recordedPaymentId = paymentId;
    this.checkedNewer = null;
    this.tenderedText = '';
    this.tipText = '';
    this.lineIds = [];
    // Splitting ÷n: the next guest's share of what is left (÷3 of 10.00: 3.34, then 3.33, then
    // the rest); over once every guest paid, or nothing is due any more.
    const left = this.splitLeft === null ? null : this.splitLeft - 1;
    if (left === null || left <= 0 || this.due === 0) this.endSplit();
    else this.splitLeft = left;
    this.amountText = null;
    // The next guest's amount is not acted on yet.
    this.seen = null;
    this.holdAfterRecord();
    return true;
  }

  private recordedStillApplied(): boolean {
    return this.ticketNow()?.payments.some((p) => p.paymentId === this.recordedPaymentId && p.state === 'applied') ?? false;
  }

  private formKey(): string {
    return JSON.stringify([this.method, this.amountText, this.tenderedText, this.tipText, this.lineIds, this.splitOf, this.splitLeft]);
  }

  private holdAfterRecord(): void {
    this.recordedForm = this.formKey();
    this.holding = true;
    if (this.recordedTimer !== null) clearTimeout(this.recordedTimer);
    this.recordedTimer = setTimeout(() => {
      this.recordedTimer = null;
      this.holding = false;
    }, RECORD_HOLD_MS);
  }

  /** Forgets what was typed (another ticket, or back to the menu). */
  reset(): void {
    if (this.recordedTimer !== null) clearTimeout(this.recordedTimer);
    this.recordedTimer = null;
    this.recordedForm = null;
    this.recordedChange = null;
    this.recordedPaymentId = null;
    this.holding = false;
    this.checkedNewer = null;
    this.method = 'card';
    this.amountText = null;
    this.tenderedText = '';
    this.tipText = '';
    this.lineIds = [];
    this.endSplit();
    this.seen = null;
  }
}
