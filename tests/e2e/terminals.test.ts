import { describe, expect, it } from 'vitest';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import {
  SCREENSHOTS,
  useAppAndBrowser,
  openTerminal,
  skipBrowserTests,
  waitUntil,
} from '../helpers/browser';
import { addItem, idle, openTicket } from '../helpers/till-actions';

/** Browser tests wait on real sync; generous bounds, they end as soon as the condition holds. */
const TEST_TIMEOUT_MS = 120_000;

/** Staff app end to end: several terminals (browser contexts) of the demo location, one real server. */
describe.skipIf(skipBrowserTests)('staff app: terminals of one location', () => {
  const fixture = useAppAndBrowser();

  async function terminal(id: string, role: 'terminal' | 'manager' = 'terminal'): Promise<Page> {
    const t = await openTerminal(fixture.browser(), fixture.app(), id, role);
    fixture.closeAfter(t.context);
    return t.page;
  }

  it('an item added on one terminal appears on the other without a reload', async () => {
    const a = await terminal('till-live-a');
    const b = await terminal('till-live-b');
    const number = await openTicket(a, 'T3');
    await b.getByRole('button', { name: new RegExp(`^Ticket ${number},`) }).click();
    await expect.poll(() => b.getByTestId('line').count()).toBe(0);

    await addItem(a, 'Cheeseburger');
    await addItem(a, 'Lemonade');
    await expect.poll(() => b.getByTestId('line').count(), { timeout: 15_000 }).toBe(2);
    await expect.poll(() => b.getByTestId('total').textContent()).toBe('18.00');
  }, TEST_TIMEOUT_MS);

  it('one terminal offline takes a full order and payment while another edits the note; back online they converge, the note by LWW, the server holds every event once', async () => {
    const a = await terminal('till-off-a');
    const b = await terminal('till-off-b');
    const number = await openTicket(a, 'T5');
    await selectTicket(b, number);

    await a.context().setOffline(true);
    await expect.poll(() => a.getByTestId('connection').textContent(), { timeout: 15_000 }).toMatch(/^Offline/);

    // Offline on A: a whole order, the kitchen, a note, a split payment with change, close.
    await addItem(a, 'Ribeye steak'); // 26.50
    await addItem(a, 'House red \\(glass\\)'); // 7.50
    await a.getByRole('button', { name: /^Send to kitchen/ }).click();
    await idle(a);
    // The send is on A only: no kitchen screen has it yet, and the ticket does not say "in kitchen" (APP42).
    await expect.poll(() => a.getByTestId('ticket-status').textContent()).toBe('Sending to kitchen…');
    expect(await a.getByTestId('kitchen-tag').allTextContents()).toEqual(['sending to kitchen…', 'sending to kitchen…']);
    await setNote(a, 'window seat');
    await a.getByRole('button', { name: 'Take payment' }).click();
    await a.getByRole('textbox', { name: 'Amount' }).fill('20.00');
    await a.getByRole('button', { name: /^Record card payment/ }).click();
    await idle(a);
    await a.getByRole('button', { name: 'Cash', exact: true }).click();
    await expect.poll(() => a.getByTestId('pay-due').textContent()).toBe('14.00');
    await a.getByRole('textbox', { name: 'Cash handed over' }).fill('20');
    await a.getByRole('button', { name: /^Record cash payment 14.00/ }).click();
    await expect.poll(() => a.getByTestId('change-due').textContent()).toBe('Change due: 6.00');
    await a.getByRole('button', { name: 'Close ticket' }).click();
    await idle(a);
    await expect.poll(() => a.getByTestId('ticket-status').textContent()).toBe('Closed · sending to kitchen…');
    // Nothing of it reached B while A is offline.
    expect(await b.getByTestId('line').count()).toBe(0);

    // B, online, edits the same ticket's note after A did (a later hybrid-clock stamp).
    await setNote(b, 'birthday, bring candles');

    await a.context().setOffline(false);
    for (const page of [a, b]) {
      await expect.poll(() => page.getByTestId('ticket-status').textContent(), { timeout: 30_000 }).toBe('Closed');
      await expect.poll(() => page.getByRole('textbox', { name: 'Ticket note' }).inputValue()).toBe('birthday, bring candles');
      await expect.poll(() => page.getByTestId('line').count()).toBe(2);
      await expect.poll(() => page.getByTestId('paid').textContent()).toBe('34.00');
      await expect.poll(() => page.getByTestId('kitchen-tag').allTextContents()).toEqual(['in kitchen', 'in kitchen']);
    }
    // The overwritten note stays in the history, marked as having lost the race.
    await b.getByRole('button', { name: 'History' }).click();
    const notes = b.getByTestId('history').locator('li').filter({ hasText: 'ticket.note_set' });
    await expect.poll(() => notes.count()).toBe(2);
    expect(await notes.filter({ hasText: 'superseded' }).count()).toBe(1);

    // The server's canonical log: every event of the ticket exactly once.
    const expected = { 'ticket.opened': 1, 'ticket.item_added': 2, 'ticket.sent_to_kitchen': 1, 'ticket.note_set': 2, 'ticket.payment_recorded': 2, 'ticket.closed': 1, 'sale.recorded': 1 };
    const total = Object.values(expected).reduce((x, y) => x + y, 0);
    let ofTicket: { id: string; type: string; origin: { terminal: string; n: number } }[] = [];
    await waitUntil(async () => {
      const all = await fixture.app().canonicalEvents();
      const opened = all.find((e) => e.type === 'ticket.opened' && (e.payload as { number?: string }).number === number);
      ofTicket = opened ? all.filter((e) => e.aggregate.id === opened.aggregate.id) : [];
      return ofTicket.length >= total;
    }, 'the server holds the whole ticket', 30_000);
    const all = await fixture.app().canonicalEvents();
    expect(new Set(all.map((e) => e.id)).size).toBe(all.length);
    expect(new Set(all.map((e) => `${e.origin.terminal}#${e.origin.n}`)).size).toBe(all.length);
    const counts: Record<string, number> = {};
    for (const e of ofTicket) counts[e.type] = (counts[e.type] ?? 0) + 1;
    expect(counts).toEqual(expected);
  }, TEST_TIMEOUT_MS);

  it('pay on one terminal and void on the other, both offline: the conflict shows and a manager resolves it', async () => {
    const till = await terminal('till-conflict');
    const manager = await terminal('manager-conflict', 'manager');
    const number = await openTicket(till, 'T7');
    await addItem(till, 'Fish and chips'); // 16.50
    await till.getByRole('button', { name: /^Send to kitchen/ }).click();
    await idle(till);
    await selectTicket(manager, number);
    await expect.poll(() => manager.getByTestId('line').count(), { timeout: 15_000 }).toBe(1);
    // Only managers are offered a void.
    expect(await till.getByRole('button', { name: 'Void…' }).count()).toBe(0);

    await till.context().setOffline(true);
    await manager.context().setOffline(true);
    await expect.poll(() => till.getByTestId('connection').textContent(), { timeout: 15_000 }).toMatch(/^Offline/);
    await expect.poll(() => manager.getByTestId('connection').textContent(), { timeout: 15_000 }).toMatch(/^Offline/);

    await manager.getByRole('button', { name: 'Void…' }).click();
    await manager.getByRole('textbox', { name: 'Reason' }).fill('guest left');
    await manager.getByRole('button', { name: `Void ticket ${number}` }).click();
    await idle(manager);
    await expect.poll(() => manager.getByTestId('ticket-status').textContent()).toBe('Voided');

    await till.getByRole('button', { name: 'Take payment' }).click();
    await till.getByRole('button', { name: /^Record card payment 16.50/ }).click();
    await idle(till);
    await expect.poll(() => till.getByTestId('ticket-status').textContent()).toBe('Paid');

    await till.context().setOffline(false);
    await manager.context().setOffline(false);

    // Both see the escalated conflict on the ticket; the till may not resolve it.
    for (const page of [till, manager]) {
      await expect.poll(() => page.getByTestId('conflict').count(), { timeout: 30_000 }).toBe(1);
      await expect.poll(() => page.getByTestId('conflict').textContent()).toContain('Payment on a voided ticket');
    }
    await expect.poll(() => till.getByTestId('conflict').textContent()).toContain('A manager must resolve this');
    expect(await till.getByRole('button', { name: 'Refund the payment' }).count()).toBe(0);

    // The manager resolves it from the conflicts list.
    await manager.getByRole('link', { name: /^Conflicts/ }).click();
    await manager.getByRole('heading', { name: 'Conflicts', level: 1 }).waitFor();
    const card = manager.getByTestId('conflict').filter({ hasText: 'Payment on a voided ticket' }).filter({ has: manager.getByRole('button', { name: 'Refund the payment' }) });
    await card.getByRole('textbox', { name: /Note/ }).fill('card refunded at the door');
    // By keyboard: the card goes with the focus in it, which comes to the page's heading, not the page (APP39).
    await card.getByRole('button', { name: 'Refund the payment' }).focus();
    await manager.keyboard.press('Enter');
    await expect.poll(() => manager.evaluate(() => document.activeElement?.tagName)).toBe('H1');

    await manager.getByRole('button', { name: `Open ticket ${number}` }).click();
    for (const page of [manager, till]) {
      await expect.poll(() => page.locator('[data-testid="conflict"].open').count(), { timeout: 15_000 }).toBe(0);
      await expect.poll(() => page.getByTestId('ticket-status').textContent()).toBe('Voided');
      await expect.poll(() => page.getByTestId('paid').textContent()).toBe('0.00');
    }
    await till.getByText(/1 resolved conflict/).click();
    await expect.poll(() => till.getByTestId('conflict-resolution').textContent()).toContain('Refund the payment');
  }, TEST_TIMEOUT_MS);

  it('every screen has landmarks and a heading, and every control is a real, labelled button; screenshots for the README', async () => {
    const page = await terminal('manager-tour', 'manager');
    // Signed in, as a manager on shift would be (the screenshots show who is serving).
    await page.getByTestId('serving').click();
    await page.getByRole('textbox', { name: 'Your name' }).fill('Sam');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    const kitchenA = await openTicket(page, 'T1');
    await addItem(page, 'Mushroom risotto');
    await addItem(page, 'Sparkling water');
    await page.getByRole('button', { name: /^Send to kitchen/ }).click();
    await idle(page);
    await openTicket(page, 'T4');
    await page.getByRole('button', { name: 'More' }).click();
    await page.getByRole('textbox', { name: 'Item note' }).fill('medium rare');
    await addItem(page, 'Ribeye steak');
    await addItem(page, 'Caesar salad');
    await page.getByRole('button', { name: /^Send to kitchen/ }).click();
    await idle(page);
    // More of a line the kitchen has is a new line, sent like any other (a bigger quantity on
    // the sent line was charged and never cooked).
    await page.getByRole('button', { name: 'One more Caesar salad, as a new line for the kitchen' }).click();
    await idle(page);
    expect(await page.getByTestId('line').filter({ hasText: 'Caesar salad' }).count()).toBe(2);
    // [APP27] two lines of one item: their buttons say which line (a screen reader's "Remove Caesar salad" would be ambiguous).
    expect(await page.getByRole('button', { name: 'Remove Caesar salad', exact: true }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Remove Caesar salad (1st line)', exact: true }).count()).toBe(1);
    expect(await page.getByRole('button', { name: 'Remove Caesar salad (2nd line)', exact: true }).count()).toBe(1);
    await addItem(page, 'House red \\(glass\\)');
    await setNote(page, 'anniversary — dessert on the house');

    const screens = [
      { link: 'Tickets', heading: 'Tickets', shot: 'payment.png' },
      { link: 'Kitchen', heading: /^Kitchen/, shot: 'kitchen.png' },
      { link: 'Conflicts', heading: 'Conflicts', shot: null },
      { link: 'Menu', heading: 'Menu', shot: null },
      { link: 'Takings', heading: 'Takings', shot: null },
      { link: 'Console', heading: 'Technical console', shot: 'console-inspector.png' },
    ] as const;
    for (const screen of screens) {
      await page.getByRole('link', { name: new RegExp(`^${screen.link}`) }).click();
      await page.getByRole('heading', { level: 1, name: screen.heading }).waitFor();
      expect(await page.getByRole('banner').count()).toBe(1);
      expect(await page.getByRole('main').count()).toBe(1);
      expect(await page.getByRole('navigation', { name: 'Screens' }).count()).toBe(1);
      expect(await page.getByRole('region', { name: 'Sync status' }).count()).toBe(1);
      // Controls are <button>s (no div role=button), and every button has an accessible name.
      expect(await page.locator('[role="button"]').count()).toBe(0);
      const snapshot = await page.locator('body').ariaSnapshot();
      if (screen.link !== 'Conflicts') expect(snapshot).toMatch(/- button "/);
      expect(snapshot.split('\n').filter((line) => /^\s*- button(\s*\[[^\]]*\])?:?\s*$/.test(line))).toEqual([]);
      // No two buttons share a name: a screen reader could not tell them apart.
      const names = snapshot.split('\n').flatMap((line) => /^\s*- button "(.*?)"/.exec(line)?.[1] ?? []);
      expect(names.filter((name, i) => names.indexOf(name) !== i), screen.link).toEqual([]);

      if (screen.link === 'Kitchen') {
        await expect.poll(() => page.getByTestId('kitchen-ticket').count()).toBeGreaterThanOrEqual(2);
        const age = page.getByTestId('kitchen-ticket').filter({ hasText: kitchenA }).getByTestId('kitchen-age');
        const first = await age.textContent();
        await expect.poll(() => age.textContent(), { timeout: 5_000 }).not.toBe(first); // the age ticks
      }
      if (screen.link === 'Console') {
        await expect.poll(() => page.getByTestId('console-owed').textContent(), { timeout: 15_000 }).toBe('0');
        await page.screenshot({ path: join(SCREENSHOTS, 'console.png') });
        await page.getByRole('combobox', { name: 'Type' }).selectOption('ticket.note_set');
        await page.getByRole('button', { name: /^Inspect ticket\.note_set / }).first().click();
        await expect.poll(() => page.getByTestId('raw-event').textContent()).toContain('anniversary');
        await expect.poll(() => page.getByTestId('delivery').first().textContent(), { timeout: 15_000 }).toBe('acknowledged');
        await page.getByRole('combobox', { name: 'Type' }).selectOption('');
        // Manual compaction from the console reports what it did (nothing is old enough here).
        await page.getByRole('button', { name: 'Compact now' }).click();
        await expect.poll(() => page.getByTestId('last-compaction').textContent()).toMatch(/\(manual\): 0 tickets/);
      }
      if (screen.link === 'Tickets') {
        mkdirSync(SCREENSHOTS, { recursive: true });
        await page.screenshot({ path: join(SCREENSHOTS, 'tickets.png') });
        await page.getByRole('button', { name: new RegExp(`^Ticket ${kitchenA},`) }).click();
        await page.getByRole('button', { name: 'Take payment' }).click();
        await page.getByRole('button', { name: 'Cash', exact: true }).click();
        await page.getByRole('textbox', { name: 'Cash handed over' }).fill('25');
        for (const name of ['Send to kitchen', 'Take payment', 'Close ticket', 'History', 'Void…', 'Card', 'Cash']) {
          expect(await page.getByRole('button', { name: new RegExp(`^${name}`) }).count(), name).toBeGreaterThan(0);
        }
      }
      if (screen.shot) {
        mkdirSync(SCREENSHOTS, { recursive: true });
        await page.screenshot({ path: join(SCREENSHOTS, screen.shot) });
      }
    }
  }, TEST_TIMEOUT_MS);

  it('[APP19] the kitchen marks an item sold out: the till shows it sold out and cannot add it, live; marked available again, the till adds it', async () => {
    const kitchen = await terminal('kitchen-86');
    const till = await terminal('till-86');
    await openTicket(till, 'T2');

    await kitchen.getByRole('link', { name: 'Kitchen' }).click();
    await kitchen.getByRole('group', { name: 'Station' }).getByRole('button', { name: 'Grill' }).click();
    await kitchen.getByRole('button', { name: /^Sold out/ }).click();
    const list = kitchen.getByRole('region', { name: 'Sold out' });
    // The grill's items only: no drinks on the grill's list.
    expect(await list.getByRole('button', { name: 'Mark Lemonade sold out' }).count()).toBe(0);
    await list.getByRole('button', { name: 'Mark Calamari sold out' }).click();
    await list.getByRole('button', { name: 'Mark Calamari available' }).waitFor();

    const soldOut = till.getByRole('button', { name: 'Calamari, sold out' });
    await soldOut.waitFor({ timeout: 15_000 });
    expect(await soldOut.isDisabled()).toBe(true);
    expect(await till.getByRole('button', { name: /^Add Calamari,/ }).count()).toBe(0);
    // The till's own list says the same, and nothing on the menu itself marks an item.
    expect(await till.getByRole('button', { name: /^Mark Calamari/ }).count()).toBe(0);
    await till.getByRole('button', { name: 'Sold out (1)…' }).click();
    expect(await till.getByRole('region', { name: 'Sold out' }).getByRole('button', { name: 'Mark Calamari available' }).count()).toBe(1);

    await list.getByRole('button', { name: 'Mark Calamari available' }).click();
    const add = till.getByRole('button', { name: 'Add Calamari, 9.50' });
    await add.waitFor({ timeout: 15_000 });
    await expect.poll(() => add.isEnabled()).toBe(true);
    await addItem(till, 'Calamari');
    await expect.poll(() => till.getByTestId('line').filter({ hasText: 'Calamari' }).count()).toBe(1);
  }, TEST_TIMEOUT_MS);

  it('[APP35] courses: the till holds the steak back and sends the soup; the kitchen cooks the soup, told the steak is to come; fired, the steak reaches the kitchen live', async () => {
    const kitchen = await terminal('kitchen-courses');
    const till = await terminal('till-courses');
    const number = await openTicket(till, 'T3');
    await addItem(till, 'Tomato soup');
    await addItem(till, 'Ribeye steak');
    await till.getByRole('button', { name: 'Hold Ribeye steak' }).click();
    await idle(till);
    expect(await till.getByRole('button', { name: 'Hold Ribeye steak' }).getAttribute('aria-pressed')).toBe('true');
    await till.getByRole('button', { name: 'Send to kitchen (1)' }).click();
    await idle(till);

    await kitchen.getByRole('link', { name: 'Kitchen' }).click();
    const card = kitchen.getByTestId('kitchen-ticket').filter({ has: kitchen.getByRole('heading', { name: number }) });
    await expect.poll(() => card.locator('li .name').allTextContents(), { timeout: 15_000 }).toEqual(['Tomato soup']);
    expect(await card.getByTestId('kitchen-held').textContent()).toBe('Held, to come: 1× Ribeye steak');

    await till.getByRole('button', { name: 'Fire held (1)' }).click();
    await idle(till);
    await expect.poll(() => card.locator('li .name').allTextContents(), { timeout: 15_000 }).toEqual(['Tomato soup', 'Ribeye steak']);
    expect(await card.getByTestId('kitchen-held').count()).toBe(0);
    expect(await till.getByRole('button', { name: /^Fire held/ }).count()).toBe(0);
  }, TEST_TIMEOUT_MS);

  it('[APP23] a waiter signs in on a till: the ticket list, the kitchen card, the history and the other terminals\' consoles say who; a colleague switches with one tap', async () => {
    const till = await terminal('till-staff');
    const kitchen = await terminal('kitchen-staff');
    expect(await till.getByTestId('serving').textContent()).toBe('Sign in…');
    await till.getByTestId('serving').click();
    const panel = till.getByRole('region', { name: 'Who is serving' });
    await panel.getByRole('textbox', { name: 'Your name' }).fill('   ');
    await panel.getByRole('button', { name: 'Sign in', exact: true }).click();
    expect(await panel.getByRole('alert').textContent()).toBe('Type your name to sign in.');
    await panel.getByRole('textbox', { name: 'Your name' }).fill('Ana');
    await panel.getByRole('button', { name: 'Sign in', exact: true }).click();
    await expect.poll(() => till.getByTestId('serving').textContent()).toBe('Serving: Ana');

    const number = await openTicket(till, 'T6');
    await addItem(till, 'Cheeseburger');
    await till.getByRole('button', { name: /^Send to kitchen/ }).click();
    await idle(till);

    // The kitchen's terminal: the ticket list and the kitchen card name the waiter; its console shows who is on the till.
    await kitchen.getByRole('button', { name: new RegExp(`^Ticket ${number}, T6, .*, Ana, `) }).waitFor({ timeout: 15_000 });
    await kitchen.getByRole('link', { name: 'Kitchen' }).click();
    const card = kitchen.getByTestId('kitchen-ticket').filter({ has: kitchen.getByRole('heading', { name: number }) });
    await expect.poll(async () => (await card.getByTestId('kitchen-server').textContent())?.trim()).toBe('· Ana');
    await kitchen.getByRole('link', { name: 'Console' }).click();
    const row = kitchen.getByRole('region', { name: 'Connected terminals' }).locator('tr').filter({ hasText: 'till-staff' });
    await expect.poll(() => row.locator('td').nth(2).textContent(), { timeout: 15_000 }).toBe('Ana');

    // Ben takes over the till: one tap after his first sign-in; what he writes is his.
    await till.getByTestId('serving').click();
    await panel.getByRole('textbox', { name: 'Your name' }).fill('Ben');
    await panel.getByRole('button', { name: 'Sign in', exact: true }).click();
    await expect.poll(() => row.locator('td').nth(2).textContent(), { timeout: 15_000 }).toBe('Ben');
    await addItem(till, 'Lemonade');
    await till.getByTestId('serving').click();
    await panel.getByRole('button', { name: 'Sign in as Ana' }).click();
    await expect.poll(() => till.getByTestId('serving').textContent()).toBe('Serving: Ana');
    await expect.poll(() => row.locator('td').nth(2).textContent(), { timeout: 15_000 }).toBe('Ana');
    await till.getByRole('button', { name: 'History' }).click();
    const added = till.getByTestId('history').locator('li').filter({ hasText: 'ticket.item_added' });
    await expect.poll(() => added.count()).toBe(2);
    expect(await added.nth(0).textContent()).toContain('· Ana');
    expect(await added.nth(1).textContent()).toContain('· Ben');
  }, TEST_TIMEOUT_MS);

  it('[APP26][APP40] a manager adds a dish, changes its price and takes it off the menu from the tablet: a till\'s menu follows live, its ticket keeps the price it took; a till has no Menu screen; a table added is offered, one taken off is not', async () => {
    const manager = await terminal('manager-menu', 'manager');
    const till = await terminal('till-menu');
    expect(await till.getByRole('link', { name: 'Menu' }).count()).toBe(0);

    await manager.getByRole('link', { name: 'Menu' }).click();
    const add = manager.getByRole('form', { name: 'Add a menu item' });
    await add.getByRole('textbox', { name: 'Name' }).fill('Soup of the day');
    await add.getByRole('combobox', { name: 'Category' }).fill('Starters');
    expect(await add.getByRole('button', { name: 'Add to the menu' }).isDisabled()).toBe(true);
    expect(await manager.getByTestId('menu-add-problem').textContent()).toMatch(/enter its price/i);
    await add.getByRole('textbox', { name: 'Price' }).fill('7.50');
    await add.getByRole('button', { name: 'Add to the menu' }).click();
    await manager.getByRole('row', { name: /Soup of the day/ }).waitFor();

    const addSoup = till.getByRole('button', { name: /^Add Soup of the day,/ });
    await expect.poll(() => addSoup.getAttribute('aria-label'), { timeout: 15_000 }).toBe('Add Soup of the day, 7.50');
    await openTicket(till, 'T8');
    await addItem(till, 'Soup of the day');

    const price = manager.getByRole('textbox', { name: 'New price of Soup of the day' });
    await price.fill('8.25');
    await manager.getByRole('button', { name: 'Save the price of Soup of the day' }).click();
    await expect.poll(() => addSoup.getAttribute('aria-label'), { timeout: 15_000 }).toBe('Add Soup of the day, 8.25');
    // The soup already on the ticket was sold at 7.50.
    expect(await till.getByTestId('total').textContent()).toBe('7.50');

    await manager.getByRole('button', { name: 'Take Soup of the day off the menu…', exact: true }).click();
    await manager.getByRole('button', { name: 'Take Soup of the day off the menu', exact: true }).click();
    await expect.poll(() => addSoup.count(), { timeout: 15_000 }).toBe(0);
    expect(await manager.getByRole('row', { name: /Soup of the day/ }).count()).toBe(0);
    expect(await till.getByTestId('line').filter({ hasText: 'Soup of the day' }).count()).toBe(1);

    // The floor plan (APP40): a table added on the tablet is offered on the till, with its seats as the guests; one taken off is not, and its ticket keeps it.
    const addTable = manager.getByRole('form', { name: 'Add a table' });
    await addTable.getByRole('textbox', { name: 'Table' }).fill('Terrace 1');
    await addTable.getByRole('textbox', { name: 'Seats' }).fill('6');
    await addTable.getByRole('button', { name: 'Add the table' }).click();
    await manager.getByRole('textbox', { name: 'Name of table Terrace 1' }).waitFor();
    // The screen scrolled to its Tables, the app's bars in place.
    await manager.getByRole('heading', { name: 'Tables' }).evaluate((heading) => {
      heading.scrollIntoView({ block: 'start' });
      window.scrollTo(0, 0);
    });
    mkdirSync(SCREENSHOTS, { recursive: true });
    await manager.screenshot({ path: join(SCREENSHOTS, 'menu-tables.png') });
    // Its open ticket (the till's) stays at it, and the tablet says so before it goes (APP40).
    await manager.getByRole('button', { name: 'Take table T8 off the floor (1 open ticket stays at it)…', exact: true }).click();
    await manager.getByRole('button', { name: 'Take table T8 off the floor (1 open ticket stays at it)', exact: true }).click();
    await expect.poll(() => manager.getByRole('textbox', { name: 'Name of table T8' }).count()).toBe(0);
    await till.getByRole('button', { name: '+ New ticket' }).click();
    await expect.poll(() => till.getByRole('button', { name: 'New ticket for table Terrace 1' }).count(), { timeout: 15_000 }).toBe(1);
    expect(await till.getByRole('button', { name: /^New ticket for table T8/ }).count()).toBe(0);
    await till.getByRole('button', { name: 'New ticket for table Terrace 1' }).click();
    await expect.poll(() => till.getByTestId('covers').textContent()).toBe('6 guests');
    expect(await till.getByRole('button', { name: /^Ticket [A-Z0-9]+-\d+, T8/ }).count()).toBe(1);
  }, TEST_TIMEOUT_MS);
});

// ---------------------------------------------------------------------------------------

async function selectTicket(page: Page, number: string): Promise<void> {
  await page.getByRole('link', { name: 'Tickets' }).click();
  await page.getByRole('button', { name: new RegExp(`^Ticket ${number},`) }).click({ timeout: 15_000 });
  await expect.poll(() => page.getByTestId('ticket-number').textContent()).toBe(number);
}

async function setNote(page: Page, note: string): Promise<void> {
  await page.getByRole('textbox', { name: 'Ticket note' }).fill(note);
  await page.getByRole('button', { name: 'Save note' }).click();
  await idle(page);
  await expect.poll(() => page.getByRole('button', { name: 'Save note' }).isDisabled()).toBe(true);
}
