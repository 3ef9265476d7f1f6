/** Display helpers shared by the screens. Money is integer cents everywhere. */
import { carriedRefundCents, keptAboveSaleCents, ticketTaxes, type TicketLine, type TicketPayment, type TicketRefund, type TicketView } from '../../shared/projection/views';
import type { TaxLine } from '../../shared/domain/tax';
import { Note, PositiveCents, ShortText, formatCents } from '../../shared/domain/common';
import { Address } from '../../shared/domain/location-events';

/** Longest ticket, item and resolution note the events accept (shared/domain Note): the inputs' maxlength. */
export const NOTE_MAX = Note.maxLength ?? 500;
/** Longest void or comp reason, menu item name or category the events accept (ShortText). */
export const SHORT_TEXT_MAX = ShortText.maxLength ?? 120;
/** Longest address the location's details accept (location-events Address). */
export const ADDRESS_MAX = Address.maxLength ?? 300;
/** Largest amount an event accepts (PositiveCents): 1,000,000.00. */
export const AMOUNT_MAX_CENTS = PositiveCents.maxValue ?? 100_000_000;

/** A refusal (a command's own words, lower case) as a form shows it: "Say why", "At most …". */
export function sentence(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** Cents as staff read money (shared/domain/common.ts formatCents). */
export const money = formatCents;

/**
 * "12", "12.5", "12,50", ".5", "5." → cents; null when it is not an amount (a sign, an exponent,
 * hex, a currency symbol, three decimals). Any number of whole digits: a caller says "at most …"
 * of one too large (AMOUNT_MAX_CENTS), not "enter an amount".
 */
export function parseMoney(text: string): number | null {
  const m = /^\s*(?:(\d+)(?:[.,](\d{0,2}))?|[.,](\d{1,2}))\s*$/.exec(text);
  if (!m) return null;
  return Number(m[1] ?? '0') * 100 + Number((m[2] ?? m[3] ?? '').padEnd(2, '0'));
}

/** "1 guest", "4 guests". */
export function guests(count: number): string {
  return `${count} guest${count === 1 ? '' : 's'}`;
}

/** A tax rate as staff type it: 2000 basis points → "20", 550 → "5.5", 1025 → "10.25". */
export function taxPercent(basisPoints: number): string {
  const hundredths = basisPoints % 100;
  return `${Math.floor(basisPoints / 100)}${hundredths === 0 ? '' : `.${String(hundredths).padStart(2, '0').replace(/0$/, '')}`}`;
}

/** A tax rate as staff read it: "20 %", "5.5 %". */
export function taxRate(basisPoints: number): string {
  return `${taxPercent(basisPoints)} %`;
}

/** The tax in what a ticket charges (its closed total once sold), rate by rate, as a bill shows it: rates that charge something (no line without a rate). */
export function includedTaxes(ticket: Pick<TicketView, 'lines' | 'totalCents' | 'closedTotalCents'>): (TaxLine & { basisPoints: number })[] {
  return ticketTaxes(ticket).filter((t): t is TaxLine & { basisPoints: number } => t.basisPoints !== null && t.grossCents > 0);
}

/**
 * What a ticket keeps above what it sells (an over-payment a manager kept), owed back to the
 * guest by a refund (keptAboveSaleCents, the projection's rule). 0 while a payment is held: a
 * manager settles that first.
 */
export function keptOverSaleCents(ticket: Pick<TicketView, 'paidCents' | 'totalCents' | 'closedTotalCents' | 'payments' | 'lines' | 'refunds'>): number {
  return ticket.payments.some((p) => p.state === 'held') ? 0 : keptAboveSaleCents(ticket);
}

/** " for the Cheeseburger" when a refund was for a line of the ticket (named as it was then); "" for the whole ticket. */
export function refundFor(refund: Pick<TicketRefund, 'line'>): string {
  return refund.line?.name == null ? '' : ` for the ${refund.line.name}`;
}

/**
 * " for Burger, Cola" when a payment was for lines of the ticket (a guest paying for their own
 * dishes), by their names now; a line since taken off the ticket is counted, not named. "" for an amount.
 */
export function paymentFor(payment: Pick<TicketPayment, 'lineIds'>, ticket: Pick<TicketView, 'lines' | 'cancelledLines'>): string {
  if (payment.lineIds.length === 0) return '';
  const byId = new Map([...ticket.cancelledLines, ...ticket.lines].map((l) => [l.lineId, l.name]));
  const named = payment.lineIds.flatMap((id) => byId.get(id) ?? []);
  const gone = payment.lineIds.length - named.length;
  return ` for ${[...named, ...(gone === 0 ? [] : [gone === 1 ? 'a line since removed' : `${gone} lines since removed`])].join(', ')}`;
}

const ordinal = (k: number): string => `${k}${k % 10 === 1 && k % 100 !== 11 ? 'st' : k % 10 === 2 && k % 100 !== 12 ? 'nd' : k % 10 === 3 && k % 100 !== 13 ? 'rd' : 'th'}`;

/**
 * How buttons name a ticket's lines: by item, numbered when the ticket has several lines of
 * the same item ("Cola (2nd line)"), so a screen reader's "Remove Cola" is never ambiguous.
 */
export function lineNames(lines: readonly Pick<TicketLine, 'lineId' | 'name'>[]): Map<string, string> {
  const total = new Map<string, number>();
  for (const l of lines) total.set(l.name, (total.get(l.name) ?? 0) + 1);
  const seen = new Map<string, number>();
  const names = new Map<string, string>();
  for (const l of lines) {
    const k = (seen.get(l.name) ?? 0) + 1;
    seen.set(l.name, k);
    names.set(l.lineId, (total.get(l.name) ?? 0) > 1 ? `${l.name} (${ordinal(k)} line)` : l.name);
  }
  return names;
}

/** A percentage typed by staff ("20", "5.5", "7,7 %") → basis points; null when it is not one (0–100, two decimals at most). */
export function parseTaxPercent(text: string): number | null {
  // A percentage with two decimals is read like an amount with cents: "5.5" → 550 hundredths.
  const basisPoints = parseMoney(text.replace(/\s*%\s*$/, ''));
  return basisPoints !== null && basisPoints <= 10_000 ? basisPoints : null;
}

/** A whole percentage as typed, with or without "%" ("20", "20 %"); null when it is not digits (Number() would read "1e1" and "0x32"). */
export function wholePercent(text: string): number | null {
  const digits = /^\s*(\d{1,3})\s*%?\s*$/.exec(text)?.[1];
  return digits === undefined ? null : Number(digits);
}

/**
 * A total a manager types to accept (ConflictCard), as cents; nothing typed is the lines' total
 * (`cents` null). A typing slip or an absurd total is said (`problem`), never read as an amount.
 */
export function acceptedTotal(text: string): { cents: number | null; problem: string | null } {
  if (text.trim() === '') return { cents: null, problem: null };
  const cents = parseMoney(text);
  if (cents === null) return { cents: null, problem: 'Enter the total as an amount (e.g. 12.50)' };
  return cents > AMOUNT_MAX_CENTS ? { cents: null, problem: `At most ${money(AMOUNT_MAX_CENTS)} a total` } : { cents, problem: null };
}

/**
 * A figure a manager's reopened close takes off the day, read as a negative: a quantity 3 →
 * "−3"; with `as` money, 2300 cents → "−23.00". Nothing taken off reads "0" ("0.00").
 */
export function takenOff(n: number, as: (n: number) => string = String): string {
  return `${n > 0 ? '−' : ''}${as(Math.abs(n))}`;
}

/** Whole elapsed time as "45s", "3m 05s", "1h 02m". */
export function age(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
}

/** The order staff read names in: numbers in numeric order ("T2" before "T10", "Dessert 2" before "Dessert 10"). */
export function compareNames(a: string, b: string): number {
  return a.localeCompare(b, undefined, { numeric: true });
}

export function clockTime(ms: number): string {
  return new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
}

export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return '—';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 * 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MB`;
  return `${(n / 1024 / 1024 / 1024).toFixed(2)} GB`;
}

/**
 * An error as staff read it. A payload the event schema refuses (EventValidationError:
 * `ticket.item_added v2: payload.note: Too big…`) is said in words, naming the field; the
 * raw text stays in the console's inspector and the browser log.
 */
export function message(err: unknown): string {
  if (isValidationError(err)) return validationMessage(err.field, err.issues[0]?.message ?? '');
  return err instanceof Error ? err.message : String(err);
}

const FIELD_LABEL: Record<string, string> = {
  note: 'note',
  reason: 'reason',
  name: 'name',
  quantity: 'quantity',
  amountCents: 'amount',
  priceCents: 'price',
  unitPriceCents: 'price',
  tenderedCents: 'cash handed over',
  totalCents: 'total',
  covers: 'number of guests',
  tableId: 'table',
};

function isValidationError(err: unknown): err is Error & { field: string; issues: { path: string; message: string }[] } {
  return err instanceof Error && err.name === 'EventValidationError' && typeof (err as { field?: unknown }).field === 'string' && Array.isArray((err as { issues?: unknown }).issues);
}

function validationMessage(field: string, problem: string): string {
  const key = field.split('.').pop() ?? field;
  const label = FIELD_LABEL[key] ?? key;
  const cents = key.endsWith('Cents');
  const limit = /<=\s*(\d+)/.exec(problem)?.[1];
  if (/too big/i.test(problem) && limit !== undefined) {
    if (/string/i.test(problem)) return `The ${label} is too long: at most ${limit} characters.`;
    return `The ${label} is too large: at most ${cents ? money(Number(limit)) : limit}.`;
  }
  if (/too small/i.test(problem)) return /string/i.test(problem) ? `The ${label} is empty.` : `The ${label} is too small.`;
  if (key === 'tenderedCents' && /at least/i.test(problem)) return 'Less cash handed over than the amount.';
  return `This ${label} cannot be saved (${problem || 'not valid'}).`;
}

const STATUS_LABEL: Record<string, string> = {
  open: 'Open',
  sent: 'In kitchen',
  paid: 'Paid',
  closed: 'Closed',
  voided: 'Voided',
};

/**
 * A ticket's status as staff read it: "sent" once the kitchen bumped every line sent is "Served";
 * with lines whose send has not left this device (`sending`: TicketsModel.notInKitchenYet), "Sending to kitchen…",
 * also on a ticket paid or closed meanwhile ("Paid · sending to kitchen…"): the kitchen has not got them (APP42).
 */
export function statusLabel(ticket: Pick<TicketView, 'status' | 'lines'>, sending = false): string {
  if (sending && ticket.status === 'sent') return 'Sending to kitchen…';
  const served = ticket.status === 'sent' && ticket.lines.every((l) => l.sentAt === null || l.bumpedAt !== null);
  const label = served ? 'Served' : (STATUS_LABEL[ticket.status] ?? ticket.status);
  // A voided ticket's lines are cancelled: nothing is on its way to be made.
  return sending && ticket.status !== 'voided' ? `${label} · sending to kitchen…` : label;
}

const RESOLUTION_LABEL: Record<string, string> = {
  accept_payment: 'Accept the payment',
  refund_payment: 'Refund the payment',
  accept_refund: 'Accept the refund',
  keep_void: 'Keep the void',
  keep_closed: 'Keep it closed',
  discard_change: 'Discard the change',
  reopen: 'Reopen the ticket',
  accept_total: 'Accept this total',
};

/**
 * What a resolution does, said for the conflict it settles: the same choice reads differently
 * per conflict ("Reopen" is how a voided ticket keeps its payment). Falls back to the general label.
 */
const RESOLUTION_IN_CONTEXT: Record<string, string> = {
  'payment_after_void.refund_payment': 'Refund the payment, keep the void',
  'payment_after_void.reopen': 'Reopen the ticket, keep the payment',
  'over_payment.accept_payment': 'Keep the payment (then refund what is over)',
  'over_payment.refund_payment': 'Refund the payment that does not fit',
  'over_refund.accept_refund': 'Accept the refund (the money was handed back)',
  'over_refund.discard_change': 'Discard the refund (it was not given)',
  'change_after_close.discard_change': 'Discard the change, keep the ticket as it was',
  'change_after_close.reopen': 'Reopen the ticket and apply the change',
  'closed_and_voided.keep_void': 'Keep the void (payments then wait for refund or reopen)',
  'closed_and_voided.keep_closed': 'Keep it closed (the void is dropped)',
};

export function resolutionLabel(conflictKind: string, resolutionKind: string): string {
  return RESOLUTION_IN_CONTEXT[`${conflictKind}.${resolutionKind}`] ?? RESOLUTION_LABEL[resolutionKind] ?? resolutionKind;
}

/** The same choices for a card holding several payments together. */
const FOR_SEVERAL_PAYMENTS: Record<string, string> = {
  'payment_after_void.refund_payment': 'Refund the payments, keep the void',
  'payment_after_void.reopen': 'Reopen the ticket, keep the payments',
  'over_payment.accept_payment': 'Keep the payments (then refund what is over)',
  'over_payment.refund_payment': 'Refund the payments that do not fit',
};

/**
 * A choice as a card offers it: for several payments held together, in the plural; a hand-back
 * says how much goes back, and how ("…: hand back 6.00 in cash"): the payments and their tips
 * less the refunds the card carries (or carried), which were given already.
 */
export function choiceLabel(ticket: Pick<TicketView, 'payments' | 'refunds'>, conflict: { conflictId: string; kind: string }, resolutionKind: string): string {
  const payments = ticket.payments.filter((p) => p.conflictId === conflict.conflictId);
  const key = `${conflict.kind}.${resolutionKind}`;
  const label = (payments.length > 1 ? FOR_SEVERAL_PAYMENTS[key] : undefined) ?? resolutionLabel(conflict.kind, resolutionKind);
  if (resolutionKind !== 'refund_payment' || payments.length === 0) return label;
  const taken = payments.reduce((n, p) => n + p.amountCents + p.tipCents, 0);
  const refunded = carriedRefundCents(ticket.refunds, conflict.conflictId);
  const methods = new Set(payments.map((p) => p.method));
  const how = methods.size > 1 ? '' : methods.has('cash') ? ' in cash' : ' to the card';
  return `${label}: hand back ${money(Math.max(0, taken - refunded))}${how}`;
}

export const CONFLICT_LABEL: Record<string, string> = {
  payment_after_void: 'Payment on a voided ticket',
  over_payment: 'Payments exceed the total',
  over_refund: 'Refunds exceed the money taken',
  change_after_close: 'Changed after close or void',
  close_total_mismatch: 'Closing totals differ',
  // Two terminals, or one terminal that closed and later voided: the label must fit both.
  closed_and_voided: 'Both closed and voided',
};
