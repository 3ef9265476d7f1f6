import { describe, expect, it } from 'vitest';
import { HybridClock } from '../../shared/clock/hybrid-clock';
import { statusLabel } from '../../client/ui/format';
import { burger, cleanUpAfterEach, ticketOf, ticketsMod, till } from '../helpers/ui-models';

cleanUpAfterEach();

describe('tickets list: a ticket left open from an earlier day', () => {
  it('[APP48] a ticket left open from an earlier business day (they turn at 04:00) says since when: "since yesterday", "since Wed 25"; tonight\'s say nothing', () => {
    const { openedSince } = ticketsMod;
    const at = (day: number, hour: number, minute = 0) => new Date(2026, 10, day, hour, minute).getTime();
    // Friday 27 November 2026, 01:30: still Thursday's business day.
    const now = at(27, 1, 30);
    expect([at(26, 18), at(26, 4), at(27, 1)].map((t) => openedSince(t, now))).toEqual([null, null, null]);
    expect(openedSince(null, now)).toBeNull();
    expect([at(26, 3, 59), at(25, 12)].map((t) => openedSince(t, now))).toEqual(['since yesterday', 'since yesterday']);
    // Opened at 02:00 on Thursday: Wednesday's business day.
    expect([at(25, 3), at(26, 2)].map((t) => openedSince(t, at(27, 20)))).toEqual(['since Tue 24', 'since Wed 25']);
  });

  it('[APP48] judged by the server-corrected time, as the ticket was stamped: a tablet whose clock runs a day behind does not take yesterday\'s ticket for tonight\'s; an ended one says nothing', async () => {
    const day = 24 * 3_600_000;
    // Noon on a business day, by the server; the tablet's own clock says the day before.
    const serverNoon = new Date(2026, 10, 26, 12).getTime();
    let wall = serverNoon - day;
    const clock = new HybridClock({ wallNow: () => wall, offsetMs: day });
    const t = await till({ clock, role: 'manager' });
    const id = await t.commands.openTicket();
    const ticket = () => ticketOf(t.store, id);
    expect(t.tickets.openSince(ticket(), 0)).toBeNull();
    // The next noon, by the server: yesterday's ticket, though the tablet's clock says it is the day it was opened.
    wall += day;
    expect(t.tickets.openSince(ticket(), 1)).toBe('since yesterday');
    await t.commands.void(id, 'left');
    expect(t.tickets.openSince(ticket(), 2)).toBeNull();
  });
});

describe('tickets list: what a ticket says of its state', () => {
  it('[PRJ10] a ticket whose dishes were all sent and made is still a sent one: it says "Served", not "Open"', async () => {
    const t = await till();
    const id = await t.commands.openTicket();
    await t.commands.addItem(id, burger);
    await t.commands.sendToKitchen(id);
    await t.commands.bumpItem(id, ticketOf(t.store, id).lines[0]!.lineId);
    const listed = t.tickets.tickets.find((x) => x.id === id)!;
    expect(listed.status).toBe('sent');
    expect(statusLabel(listed, t.tickets.notInKitchenYet(listed).size > 0)).toBe('Served');
  });
});
