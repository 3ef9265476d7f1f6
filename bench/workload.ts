/**
 * The benchmark workload: realistic ticket traffic. A ticket is opened, gets 3–6 items,
 * a note, is sent to the kitchen, has every item bumped as it is cooked, is paid and
 * closed, and its sale is recorded — about 15 events of ~200 bytes of JSON each. Deterministic (seeded), so every
 * run and every compared system sees the same commands.
 */
export interface Command {
  type: string;
  payload: unknown;
  aggregate: { id: string; type: string };
  key?: string;
}

const MENU = [
  ['burger', 'Cheeseburger', 1250],
  ['fries', 'Fries', 450],
  ['salad', 'Caesar salad', 990],
  ['soup', 'Soup of the day', 690],
  ['steak', 'Ribeye steak', 2890],
  ['cola', 'Cola', 350],
  ['ipa', 'IPA draught', 620],
  ['cake', 'Chocolate cake', 750],
] as const;

const NOTES = ['no onions', 'allergy: nuts', 'birthday, bring candle', 'extra crispy', 'sauce on the side'];

/** A small deterministic PRNG (mulberry32), so workloads are identical across runs. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** At least `count` commands (whole tickets), as a generator so 100k never sit in memory twice. */
export function* ticketCommands(count: number, seed = 7, prefix = 'A'): Generator<Command> {
  const rand = prng(seed);
  let emitted = 0;
  for (let t = 1; emitted < count; t++) {
    const aggregate = { id: `ticket-${prefix}-${t}`, type: 'ticket' };
    const cmds: Command[] = [];
    cmds.push({ type: 'ticket.opened', payload: { number: `${prefix}-${String(t).padStart(3, '0')}`, tableId: `table-${1 + (t % 12)}`, covers: 1 + Math.floor(rand() * 6) }, aggregate });
    const lines = 3 + Math.floor(rand() * 4);
    let total = 0;
    for (let l = 1; l <= lines; l++) {
      const [menuItemId, name, unitPriceCents] = MENU[Math.floor(rand() * MENU.length)]!;
      const quantity = 1 + Math.floor(rand() * 3);
      total += unitPriceCents * quantity;
      cmds.push({ type: 'ticket.item_added', payload: { lineId: `line-${l}`, menuItemId, name, unitPriceCents, quantity }, aggregate });
    }
    cmds.push({ type: 'ticket.note_set', payload: { note: NOTES[Math.floor(rand() * NOTES.length)]! }, aggregate });
    cmds.push({ type: 'ticket.sent_to_kitchen', payload: { lineIds: Array.from({ length: lines }, (_, i) => `line-${i + 1}`) }, aggregate });
    for (let l = 1; l <= lines; l++) cmds.push({ type: 'ticket.kitchen_item_bumped', payload: { lineId: `line-${l}` }, aggregate });
    cmds.push({ type: 'ticket.payment_recorded', payload: { paymentId: `pay-${t}`, method: rand() < 0.5 ? 'card' : 'cash', amountCents: total }, aggregate });
    cmds.push({ type: 'ticket.closed', payload: { totalCents: total }, aggregate });
    cmds.push({ type: 'sale.recorded', payload: { ticketId: aggregate.id, totalCents: total, paidCents: total, closedAt: 1_764_000_000_000 + t }, aggregate, key: `sale-${aggregate.id}` });
    for (const c of cmds) {
      if (emitted >= count) return;
      emitted++;
      yield c;
    }
  }
}
