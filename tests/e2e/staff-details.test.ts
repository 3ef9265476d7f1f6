import { describe, expect, it } from 'vitest';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { newEventId } from '../../shared/events/event-id';
import { validatePayload } from '../../shared/events/catalog';
import { readTokenClaims } from '../../client/app/pairing';
import { pairingLink } from '../../shared/protocol/pairing-link';
import {
  INSECURE_HOST,
  LOCATION,
  VIEWPORT,
  SCREENSHOTS,
  type AppServer,
  openTerminal,
  pair,
  skipBrowserTests,
  useAppAndBrowser,
  waitForOfflineShell,
  waitUntil,
} from '../helpers/browser';
import { addItem, countPrints, idle, onPaper, openTicket, sendToKitchen } from '../helpers/till-actions';

/** Browser tests wait on real sync; generous bounds, they end as soon as the condition holds. */
const TEST_TIMEOUT_MS = 120_000;

/** How long before the business day's turn (04:00 local) a test of one day's takings waits for it. */
const DAY_TURN_MARGIN_MS = 3 * 60_000;

/**
 * A test that reads one business day's takings starts clear of the day's turn at 04:00 (the
 * browser's time zone is this process's): tickets closed on either side of it would be counted in
 * two days. Waits at most DAY_TURN_MARGIN_MS, only when the turn is that close.
 */
async function clearOfTheDayTurn(): Promise<void> {
  const now = new Date();
  const turn = new Date(now);
  turn.setHours(4, 0, 5, 0);
  const wait = turn.getTime() - now.getTime();
  if (wait > 0 && wait <= DAY_TURN_MARGIN_MS) await new Promise((resolve) => setTimeout(resolve, wait));
}

/**
 * Details of the staff app that only a browser shows: what a double tap hits on the kitchen
 * display, how item names wrap on a 1024×768 till, the limits of the inputs, the payment
 * panel's checks, and a running till hearing about a new build. One server (serving a copy of
 * the build, which the last test turns into "the next release") and one browser for them all.
 */
describe.skipIf(skipBrowserTests)('staff app: details at the till and the kitchen', () => {
  const fixture = useAppAndBrowser({ ownBuild: true });

  async function terminal(id: string): Promise<Page> {
    const t = await openTerminal(fixture.browser(), fixture.app(), id);
    fixture.closeAfter(t.context);
    return t.page;
  }

  it('[APP1] kitchen: a double tap on "Bump ticket" bumps that ticket only (the next card does not slide under the finger); the last bumped can be recalled', async () => {
    const page = await terminal('till-kitchen');
    // Two tickets of one line each: their "Bump ticket" buttons sit at the same height.
    const first = await openTicket(page, 'T1');
    await addItem(page, 'Cheeseburger');
    await sendToKitchen(page);
    const second = await openTicket(page, 'T2');
    await addItem(page, 'Lemonade');
    await sendToKitchen(page);

    await page.getByRole('link', { name: 'Kitchen' }).click();
    const cards = page.getByTestId('kitchen-ticket');
    await expect.poll(() => cards.locator('h2').allTextContents()).toEqual([first, second]);
    await page.getByRole('button', { name: `Bump all of ${first}` }).dblclick();
    // The bumped card stays a moment (greyed), then leaves; the other one is still waiting.
    await expect.poll(() => cards.locator('h2').allTextContents(), { timeout: 5_000 }).toEqual([second]);
    expect(await cards.first().getAttribute('data-bumped')).toBeNull();

    await page.getByRole('button', { name: 'Recall last bumped' }).click();
    const recalled = page.getByTestId('kitchen-recalled');
    await expect.poll(() => recalled.locator('h2').textContent()).toBe(first);
    expect(await recalled.textContent()).toContain('Cheeseburger');
    mkdirSync(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: join(SCREENSHOTS, 'kitchen-recall.png') });
    await page.getByRole('button', { name: 'Hide recalled' }).click();
    await expect.poll(() => recalled.count()).toBe(0);
  }, TEST_TIMEOUT_MS);

  it('[APP13] a kitchen screen set to the bar shows the drinks only, bumps them off, and is still the bar screen after a reload', async () => {
    const page = await terminal('till-bar');
    const number = await openTicket(page, 'T2');
    await addItem(page, 'Cheeseburger');
    await addItem(page, 'Lemonade');
    await sendToKitchen(page);
    await page.getByRole('link', { name: 'Kitchen' }).click();
    const card = page.getByTestId('kitchen-ticket').filter({ has: page.getByRole('heading', { name: number }) });
    const stations = page.getByRole('group', { name: 'Station' });
    expect(await stations.getByRole('button').allTextContents()).toEqual(['All stations', 'Bar', 'Grill', 'Kitchen']);
    await stations.getByRole('button', { name: 'Bar' }).click();
    await expect.poll(() => card.locator('li .name').allTextContents()).toEqual(['Lemonade']);
    expect(await stations.getByRole('button', { name: 'Bar' }).getAttribute('aria-pressed')).toBe('true');
    await page.reload();
    await page.getByRole('heading', { name: /^Kitchen · Bar/ }).waitFor();
    await card.getByRole('button', { name: `Bump all of ${number}` }).click();
    await expect.poll(() => card.count(), { timeout: 5_000 }).toBe(0);
    await page.getByRole('group', { name: 'Station' }).getByRole('button', { name: 'Grill' }).click();
    await expect.poll(() => card.locator('li .name').allTextContents()).toEqual(['Cheeseburger']);
  }, TEST_TIMEOUT_MS);

  /** One till for the tickets-screen tests, each on tickets of its own. */
  let tillPage: Page | null = null;
  async function till(): Promise<Page> {
    tillPage ??= await terminal('till-details');
    return tillPage;
  }

  it('[APP7] item names wrap between words at 1024×768 (no "Cheesebu|rger", no "in kit|chen"), the line buttons stay in the panel', async () => {
    const page = await till();
    await openTicket(page, 'T4');
    for (const item of ['Cheeseburger', 'Mushroom risotto', 'House red \\(glass\\)', 'Sparkling water']) await addItem(page, item);
    await sendToKitchen(page);
    await addItem(page, 'Cheeseburger');

    const layout = await page.evaluate(() => {
      const broken: string[] = [];
      for (const el of document.querySelectorAll('[data-testid="line"] .name, [data-testid="line"] .tag')) {
        const text = el.firstChild;
        if (!(text instanceof Text)) continue;
        for (const m of text.data.matchAll(/\S+/g)) {
          const range = document.createRange();
          range.setStart(text, m.index);
          range.setEnd(text, m.index + m[0].length);
          if (range.getClientRects().length > 1) broken.push(m[0]);
        }
      }
      const panel = document.querySelector('section[aria-label="Ticket"]')!.getBoundingClientRect();
      const outside = [...document.querySelectorAll('[data-testid="line"] button')].filter((b) => b.getBoundingClientRect().right > panel.right).length;
      return { broken, outside };
    });
    mkdirSync(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: join(SCREENSHOTS, 'ticket-lines-1024x768.png') });
    expect(layout).toEqual({ broken: [], outside: 0 });
  }, TEST_TIMEOUT_MS);

  it('[APP7] a manager\'s tablet upright (768×1024): the ticket keeps a column its lines fit in, the menu and the payment under it in reach; the header\'s links clear of the role; Tickets and Menu do not pan sideways (the Menu\'s table scrolls in its box); the console\'s Inspect links are 44 px high; turned to 1024×768, the till\'s layout again, and at 1000×700 the menu in reach; on a phone (390×844) Tickets and Menu do not pan either', async () => {
    const tablet = await fixture.browser().newContext({ viewport: { width: 768, height: 1024 }, hasTouch: true });
    fixture.closeAfter(tablet);
    const page = await tablet.newPage();
    await pair(page, fixture.app(), 'manager-upright', 'manager');
    await openTicket(page, 'T5');
    await addItem(page, 'Mushroom risotto');
    const layout = await page.evaluate(() => {
      const box = (selector: string) => document.querySelector(selector)!.getBoundingClientRect();
      const name = box('[data-testid="line"] .name');
      const role = box('header .role');
      const atRole = document.elementFromPoint(role.left + role.width / 2, role.top + role.height / 2);
      return {
        // At 768 px it had 136 px: a line's name one letter a line, "VCC-0" for its number.
        ticketColumnAtLeast400: box('section[aria-label="Ticket"]').width >= 400,
        lineNameWiderThanTall: name.width > name.height,
        roleBadgeHitsItself: atRole?.closest('.role') != null,
      };
    });
    mkdirSync(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: join(SCREENSHOTS, 'ticket-768x1024.png') });
    expect(layout).toEqual({ ticketColumnAtLeast400: true, lineNameWiderThanTall: true, roleBadgeHitsItself: true });
    expect(await pansSideways(page)).toBe(false);
    // The menu, then the payment, under the ticket: their buttons reached in the panel's own scroll.
    const menu = page.getByRole('region', { name: 'Menu' });
    const addFish = menu.getByRole('button', { name: /^Add Fish and chips,/ });
    await addFish.scrollIntoViewIfNeeded();
    expect(await inReach(page, [addFish])).toEqual([expect.stringMatching(/: ok$/)]);
    await page.getByRole('button', { name: 'Take payment', exact: true }).click();
    const record = page.getByRole('button', { name: /^Record card payment/ });
    expect(await inReach(page, [record])).toEqual([expect.stringMatching(/: ok$/)]);
    expect(await notInside(page.getByRole('region', { name: 'Payment' }), { record })).toEqual([]);
    await page.getByRole('button', { name: 'Back to menu' }).click();

    await page.getByRole('link', { name: 'Menu' }).click();
    await page.getByRole('heading', { name: 'Menu', level: 1 }).waitFor();
    await page.screenshot({ path: join(SCREENSHOTS, 'menu-768x1024.png') });
    expect(await pansSideways(page)).toBe(false);
    expect(await page.locator('table.items').evaluate((table) => table.parentElement!.scrollWidth > table.parentElement!.clientWidth)).toBe(true);
    // Its categories and stations whole in their fields ("kitche" when the fields were squeezed).
    const cut = await page.locator('table.items').evaluate((table) => [...table.querySelectorAll('input.category, input.station')].filter((field) => field.scrollWidth > field.clientWidth).map((field) => (field as HTMLInputElement).value));
    expect(cut).toEqual([]);
    // The console's Inspect links are a finger's target (they were 32 px high).
    await page.getByRole('link', { name: 'Console' }).click();
    const inspect = page.getByRole('button', { name: /^Inspect / });
    await inspect.first().waitFor();
    expect(await inspect.evaluateAll((links) => links.filter((link) => link.getBoundingClientRect().height < 44).length)).toBe(0);

    // Turned to 1024×768, the till's layout: the links beside the business's name, the ticket between the list and the menu.
    await page.setViewportSize(VIEWPORT);
    await page.getByRole('link', { name: 'Tickets' }).click();
    await menu.waitFor();
    const landscape = await page.evaluate(() => {
      const box = (selector: string) => document.querySelector(selector)!.getBoundingClientRect();
      return { linksBesideName: box('header nav').top < box('header .brand').bottom, menuBesideTicket: box('section[aria-label="Menu"]').left >= box('section[aria-label="Ticket"]').right };
    });
    await page.screenshot({ path: join(SCREENSHOTS, 'ticket-manager-1024x768.png') });
    expect(landscape).toEqual({ linksBesideName: true, menuBesideTicket: true });
    // A short, wide screen (1000×700) keeps the three columns: stacked, the menu's pinned top took all of its row.
    await page.setViewportSize({ width: 1000, height: 700 });
    await addFish.scrollIntoViewIfNeeded();
    expect(await inReach(page, [addFish])).toEqual([expect.stringMatching(/: ok$/)]);

    const phone = await fixture.browser().newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    fixture.closeAfter(phone);
    const phonePage = await phone.newPage();
    await pair(phonePage, fixture.app(), 'manager-phone', 'manager');
    await openTicket(phonePage, 'T5');
    await addItem(phonePage, 'Cheeseburger');
    await phonePage.locator('main.content').evaluate((main) => main.scrollTo(0, 0));
    await phonePage.screenshot({ path: join(SCREENSHOTS, 'ticket-390x844.png') });
    expect(await pansSideways(phonePage)).toBe(false);
    // Nor the Menu screen, its tables' list included (it scrolls in its own box).
    await phonePage.getByRole('link', { name: 'Menu' }).click();
    await phonePage.getByRole('heading', { name: 'Menu', level: 1 }).waitFor();
    await phonePage.getByTestId('table-row').first().waitFor();
    expect(await pansSideways(phonePage)).toBe(false);
  }, TEST_TIMEOUT_MS);

  it('[APP39] keyboard: Enter twice on "Add …" adds twice, the focus staying on it; a manager\'s line buttons stay inside their cell at 1024×768; a void reason takes the focus and Escape closes the form; Escape closes the sign-in panel', async () => {
    const t = await openTerminal(fixture.browser(), fixture.app(), 'manager-keys', 'manager');
    fixture.closeAfter(t.context);
    const page = t.page;
    await openTicket(page, 'T3');
    const add = page.getByRole('button', { name: /^Add Cheeseburger/ });
    await add.focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByTestId('line').count()).toBe(1);
    // Before, the button was disabled while the command ran: the focus fell to the page, and the second Enter added nothing.
    expect(await add.evaluate((el) => el === document.activeElement)).toBe(true);
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByTestId('line').count()).toBe(2);

    const overflow = await page.evaluate(() => {
      const row = document.querySelector('[data-testid="line"]')!;
      const cell = row.querySelector('td')!.getBoundingClientRect();
      return [...row.querySelectorAll('td:first-child button')].filter((b) => b.getBoundingClientRect().right > cell.right + 0.5).map((b) => b.getAttribute('aria-label'));
    });
    expect(overflow).toEqual([]);

    // A form whose reason must be typed takes the focus there; Escape closes it, the focus back on the ticket.
    await page.getByRole('button', { name: 'Void…' }).click();
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('void-reason');
    await page.keyboard.press('Escape');
    await expect.poll(() => page.locator('#void-reason').count()).toBe(0);
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('ticket-number');

    await page.getByTestId('serving').click();
    const panel = page.getByRole('region', { name: 'Who is serving' });
    await panel.waitFor();
    await page.keyboard.press('Escape');
    await expect.poll(() => panel.count()).toBe(0);
  }, TEST_TIMEOUT_MS);

  it('[APP10] a long ticket keeps Send, Pay and Close on screen and tappable at 1024×768, with its lines scrolled to the top; its payment keeps Record and the change in reach, the cash field clear of them as they grow; Escape gives the focus back to Take payment', async () => {
    const page = await till();
    await openTicket(page, 'T6');
    const items = ['Tomato soup', 'Garlic bread', 'Caesar salad', 'Calamari', 'Espresso', 'House red \\(glass\\)', 'Sparkling water', 'Lemonade', 'Cheeseburger', 'Ribeye steak', 'Mushroom risotto', 'Fish and chips'];
    for (const item of items) await addItem(page, item);
    // The waiter scrolls back up to check the first lines.
    await page.evaluate(() => document.querySelector('section[aria-label="Ticket"]')!.scrollTo(0, 0));
    const reachable = await inReach(page, ['Send to kitchen (12)', 'Take payment', 'Close ticket'].map((name) => page.getByRole('button', { name, exact: true })));
    expect(reachable).toEqual(['Send to kitchen (12): ok', 'Take payment: ok', 'Close ticket: ok']);
    expect(await page.getByTestId('line').first().isVisible()).toBe(true);

    // Its payment: the dozen lines to pay for scroll in their box, under the pinned Record and change.
    const takePayment = page.getByRole('button', { name: 'Take payment', exact: true });
    await takePayment.click();
    await page.getByRole('button', { name: 'Cash', exact: true }).click();
    // The cashier taps the part of the cash field the Record bar leaves, and types: "Change to give"
    // grows the bar, and the field scrolls clear of it (it stayed where it was, half under the bar).
    const cash = page.getByRole('textbox', { name: 'Cash handed over' });
    const recordBar = page.locator('form[aria-label="Record a payment"] .record');
    await page.evaluate(() => document.querySelector('section[aria-label="Payment"]')!.scrollTo(0, 0));
    const field = (await cash.boundingBox())!;
    await page.mouse.click(field.x + 20, Math.min(field.y + 8, (await recordBar.boundingBox())!.y - 4));
    await page.keyboard.type('200');
    await page.getByText(/^Change to give/).waitFor();
    await expect.poll(async () => (await cash.boundingBox())!.y + field.height <= (await recordBar.boundingBox())!.y).toBe(true);
    await page.evaluate(() => document.querySelector('section[aria-label="Payment"]')!.scrollTo(0, 0));
    const payment = await inReach(page, [page.getByRole('button', { name: /^Record cash payment/ }), page.getByText(/^Change to give/)]);
    expect(payment.map((r) => r.replace(/[\d.]+: /, '…: '))).toEqual(['Record cash payment …: ok', 'Change to give: …: ok']);
    // Escape closes it, the focus back on the button that opened it (not lost to the page).
    await page.keyboard.press('Escape');
    await page.getByRole('region', { name: 'Menu' }).waitFor();
    expect(await page.evaluate(() => document.activeElement?.textContent?.trim())).toBe('Take payment');
    // Also when the tap did not focus Take payment (Safari does not focus a tapped button).
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    await takePayment.evaluate((button: HTMLButtonElement) => button.click());
    await page.getByRole('textbox', { name: 'Amount' }).click();
    await page.keyboard.press('Escape');
    await page.getByRole('region', { name: 'Menu' }).waitFor();
    expect(await page.evaluate(() => document.activeElement?.textContent?.trim())).toBe('Take payment');
  }, TEST_TIMEOUT_MS);

  it('[APP11] a menu longer than the panel scrolls under the quantity and the item note: both stay in reach at 1024×768', async () => {
    const page = await till();
    // The back office adds a dessert list: the menu is now twice the panel's height.
    await defineMenuItems(fixture.app(), 'Desserts', 16);
    await openTicket(page, 'T3');
    await page.getByRole('button', { name: /^Add Dessert 16,/ }).waitFor();
    // The waiter scrolls down to the last item (Starters come last, Tomato soup last of them).
    await page.evaluate(() => {
      const menu = document.querySelector('section[aria-label="Menu"]')!;
      menu.scrollTo(0, menu.scrollHeight);
    });
    const last = page.getByRole('button', { name: /^Add Tomato soup,/ });
    expect(await inReach(page, [page.getByRole('button', { name: 'More' }), page.getByRole('textbox', { name: 'Item note' }), last])).toEqual([
      'More: ok',
      'Item note: ok',
      'Add Tomato soup, 6.50: ok',
    ]);
    await page.getByRole('button', { name: 'More' }).click();
    await page.getByRole('textbox', { name: 'Item note' }).fill('no cream');
    await last.click();
    await idle(page);
    const line = page.getByTestId('line').filter({ hasText: 'Tomato soup' });
    expect(await line.textContent()).toMatch(/^2×\s*Tomato soup.*no cream/);
  }, TEST_TIMEOUT_MS);

  it('[APP4] the item note and ticket note inputs take no more than the events accept (500 characters)', async () => {
    const page = await till();
    await openTicket(page, 'T5');
    for (const name of ['Item note', 'Ticket note']) {
      expect(await page.getByRole('textbox', { name }).getAttribute('maxlength'), name).toBe('500');
    }
  }, TEST_TIMEOUT_MS);

  it('[APP5] cash handed over is checked in the payment panel: 99999 for 14.50 is refused with a message, 100 is taken', async () => {
    const page = await till();
    await openTicket(page, 'T6');
    await addItem(page, 'Cheeseburger');
    await page.getByRole('button', { name: 'Take payment' }).click();
    await page.getByRole('button', { name: 'Cash', exact: true }).click();
    const due = (await page.getByTestId('pay-due').textContent())!;
    const record = page.getByRole('button', { name: /^Record cash payment/ });
    await page.getByRole('textbox', { name: 'Cash handed over' }).fill('99999');
    await expect.poll(() => record.isDisabled(), { timeout: 5_000 }).toBe(true);
    expect(await page.getByTestId('pay-problem').textContent()).toMatch(new RegExp(`^More cash than anyone hands over for ${due.replace('.', '\\.')}`));
    await page.getByRole('textbox', { name: 'Cash handed over' }).fill('100');
    await expect.poll(() => record.isDisabled()).toBe(false);
    await page.getByRole('button', { name: 'Back to menu' }).click();
  }, TEST_TIMEOUT_MS);

  it('[APP6] a ticket note typed and not saved is saved, not lost, when the waiter taps another ticket; Enter in the field saves it', async () => {
    const page = await till();
    const other = await openTicket(page, 'T7');
    const number = await openTicket(page, 'T8');
    await page.getByRole('textbox', { name: 'Ticket note' }).fill('allergy: nuts at seat 2');
    await page.getByRole('button', { name: new RegExp(`^Ticket ${other},`) }).click();
    await expect.poll(() => page.getByTestId('ticket-number').textContent()).toBe(other);
    expect(await page.getByRole('textbox', { name: 'Ticket note' }).inputValue()).toBe('');
    await page.getByRole('button', { name: new RegExp(`^Ticket ${number},`) }).click();
    await expect.poll(() => page.getByTestId('ticket-number').textContent()).toBe(number);
    await expect.poll(() => page.getByRole('textbox', { name: 'Ticket note' }).inputValue(), { timeout: 5_000 }).toBe('allergy: nuts at seat 2');
    expect(await page.getByRole('button', { name: 'Save note' }).isDisabled()).toBe(true);
    // Enter in the field saves it, as the button does.
    await page.getByRole('textbox', { name: 'Ticket note' }).fill('allergy: nuts at seat 2, birthday');
    await page.getByRole('textbox', { name: 'Ticket note' }).press('Enter');
    await expect.poll(() => page.getByRole('button', { name: 'Save note' }).isDisabled()).toBe(true);
  }, TEST_TIMEOUT_MS);

  it('[APP15] a till opened over plain http on the network (no secure context) takes orders and says it cannot start offline; on a secure origin nothing is said', async () => {
    const secure = await terminal('till-secure');
    expect(await secure.getByTestId('insecure-origin-warning').count()).toBe(0);
    const context = await fixture.browser().newContext({ viewport: VIEWPORT });
    fixture.closeAfter(context);
    const page = await context.newPage();
    await page.goto((await fixture.app().pairingLink('till-lan')).replace('127.0.0.1', INSECURE_HOST));
    await page.getByRole('button', { name: /^Add Cheeseburger/ }).waitFor({ timeout: 20_000 });
    expect(await page.evaluate(() => window.isSecureContext)).toBe(false);
    await expect.poll(() => page.getByTestId('insecure-origin-warning').textContent()).toMatch(/plain http \(http:\/\/till-lan\.test:\d+\)/);
    await openTicket(page, 'T4');
    await addItem(page, 'Cheeseburger');
    await waitUntil(
      async () => (await fixture.app().canonicalEvents()).some((e) => e.origin.terminal.startsWith('till-lan') && e.type === 'ticket.item_added'),
      'the sale reached the server',
    );
  }, TEST_TIMEOUT_MS);

  it('[APP16] a till renews its token by itself: it keeps syncing past the first token\'s expiry, with no new pairing link', async () => {
    const app = fixture.app();
    const token = await app.server.mintToken({ location: LOCATION, role: 'terminal', terminal: 'till-renew', ttlSeconds: 6 });
    const context = await fixture.browser().newContext({ viewport: VIEWPORT });
    fixture.closeAfter(context);
    const page = await context.newPage();
    await page.goto(pairingLink(app.url, token, LOCATION, 'till-renew'));
    await page.getByRole('button', { name: /^Add Cheeseburger/ }).waitFor({ timeout: 20_000 });
    const storedToken = () => page.evaluate(() => (JSON.parse(localStorage.getItem('rms:pairing') ?? '{}') as { token?: string }).token);
    await waitUntil(async () => (await storedToken()) !== token, 'a renewed token stored with the pairing');
    const firstExpiry = readTokenClaims(token).expiresAt!;
    await waitUntil(() => Date.now() > firstExpiry + 1_000, 'the first token expired');
    await openTicket(page, 'T5');
    await addItem(page, 'Cheeseburger');
    await waitUntil(
      async () => (await app.canonicalEvents()).some((e) => e.origin.terminal.startsWith('till-renew') && e.type === 'ticket.item_added'),
      'the sale reached the server',
    );
    expect(await page.getByText("This terminal's token has expired").count()).toBe(0);
  }, TEST_TIMEOUT_MS);

  it('[APP17] a till a manager revoked says the server refuses it, and keeps what it takes locally', async () => {
    const app = fixture.app();
    const page = await terminal('till-stolen');
    const manager = await app.server.mintToken({ location: LOCATION, role: 'manager', terminal: 'back-office', ttlSeconds: 600 });
    const res = await fetch(`${app.url}/api/tokens/revoke`, {
      method: 'POST',
      headers: { authorization: `Bearer ${manager}`, 'content-type': 'application/json' },
      body: JSON.stringify({ terminal: 'till-stolen' }),
    });
    expect(res.status).toBe(200);
    await expect.poll(() => page.getByTestId('auth-problem').textContent(), { timeout: 15_000 }).toMatch(/refuses this terminal/);
    // Orders still go into the local log; their upload is refused with the server's reason.
    await openTicket(page, 'T6');
    await addItem(page, 'Cheeseburger');
    await expect.poll(() => page.getByTestId('auth-problem').textContent(), { timeout: 15_000 }).toMatch(/cut off; pair it again/);
    expect(await page.getByTestId('owed').textContent()).not.toBe('0');
    expect((await app.canonicalEvents()).some((e) => e.origin.terminal.startsWith('till-stolen') && e.type === 'ticket.item_added')).toBe(false);
  }, TEST_TIMEOUT_MS);

  it('[APP18] a manager pairs a new till from the console and cuts it off again; a bad device name, or the tablet\'s own, is said before asking the server', async () => {
    const t = await openTerminal(fixture.browser(), fixture.app(), 'manager-devices', 'manager');
    fixture.closeAfter(t.context);
    const manager = t.page;
    await manager.getByRole('link', { name: 'Console' }).click();
    const refused = manager.getByRole('alert').filter({ hasText: 'name' }).first();
    for (const [name, said] of [['Till 1', /A device name uses letters a–z, digits, _ - and : \(no spaces, dots or accents\)/], ['till.2', /no spaces, dots or accents/], ['manager-devices', /manager-devices is this tablet's own name/]] as const) {
      await manager.getByLabel('Pair a new terminal').fill(name);
      await manager.getByRole('button', { name: 'Make pairing link' }).click();
      await expect.poll(() => refused.textContent()).toMatch(said);
    }

    await manager.getByLabel('Pair a new terminal').fill('till-new');
    await manager.getByRole('button', { name: 'Make pairing link' }).click();
    const link = await manager.getByTestId('new-pairing-link').inputValue();
    expect(link).toContain('/#/pair?token=');
    const context = await fixture.browser().newContext({ viewport: VIEWPORT });
    fixture.closeAfter(context);
    const till = await context.newPage();
    await till.goto(link);
    await till.getByRole('button', { name: /^Add Cheeseburger/ }).waitFor({ timeout: 20_000 });
    await expect.poll(() => till.getByTestId('relay').textContent(), { timeout: 15_000 }).toBe('connected');

    await manager.getByLabel('Cut a lost or stolen device off').fill('till-new');
    await manager.getByRole('button', { name: 'Revoke…' }).click();
    await manager.getByRole('button', { name: 'Revoke till-new' }).click();
    await expect.poll(() => manager.getByTestId('revoked').textContent()).toMatch(/till-new cut off at .*; 1 live connection closed/);
    await expect.poll(() => till.getByTestId('auth-problem').textContent(), { timeout: 15_000 }).toMatch(/refuses this terminal/);
  }, TEST_TIMEOUT_MS);

  it('[APP20] each screen opens at its top: Takings after a Console scrolled down to its Devices panel shows its figures first', async () => {
    const t = await openTerminal(fixture.browser(), fixture.app(), 'manager-scroll', 'manager');
    fixture.closeAfter(t.context);
    const manager = t.page;
    const content = manager.locator('main.content');
    await manager.getByRole('link', { name: 'Console' }).click();
    await manager.getByRole('heading', { name: 'Console' }).first().waitFor();
    await content.evaluate((main) => main.scrollTo(0, main.scrollHeight));
    expect(await content.evaluate((main) => main.scrollTop)).toBeGreaterThan(0);
    await manager.getByRole('link', { name: 'Takings' }).click();
    await manager.getByRole('heading', { name: 'Takings' }).waitFor();
    expect(await content.evaluate((main) => main.scrollTop)).toBe(0);
  }, TEST_TIMEOUT_MS);

  it('[APP20][APP24][APP25] a manager takes a card payment with a tip and a cash payment and closes both tickets, the second offline: Takings shows the day on the device with what it still owes; offline the server cannot be asked, back online its figures agree', async () => {
    await clearOfTheDayTurn();
    const t = await openTerminal(fixture.browser(), fixture.app(), 'manager-takings', 'manager');
    fixture.closeAfter(t.context);
    const manager = t.page;
    await openTicket(manager, 'T1');
    await addItem(manager, 'Cheeseburger'); // 14.50
    await manager.getByRole('button', { name: 'Take payment' }).click();
    // [APP24] the guest adds 10 % on the card: 1.45, charged with the 14.50, not toward the ticket.
    await manager.getByRole('button', { name: 'Tip 10 percent of the amount' }).click();
    expect(await manager.getByTestId('card-charge').textContent()).toBe('15.95');
    await manager.getByRole('button', { name: 'Record card payment 14.50 + tip 1.45' }).click();
    await idle(manager);
    expect(await manager.getByRole('list', { name: 'Payments' }).textContent()).toMatch(/Card 14\.50\s+\+ tip 1\.45/);
    await manager.getByRole('button', { name: 'Close ticket' }).click();
    await idle(manager);

    await manager.context().setOffline(true);
    await openTicket(manager, 'T2');
    await addItem(manager, 'Ribeye steak'); // 26.50
    await manager.getByRole('button', { name: 'Take payment' }).click();
    await manager.getByRole('button', { name: 'Cash', exact: true }).click();
    await manager.getByRole('textbox', { name: 'Cash handed over' }).fill('30');
    await manager.getByRole('button', { name: /^Record cash payment 26.50/ }).click();
    await expect.poll(() => manager.getByTestId('change-due').textContent()).toBe('Change due: 3.50');
    await manager.getByRole('button', { name: 'Close ticket' }).click();
    await idle(manager);

    await manager.getByRole('link', { name: 'Takings' }).click();
    await manager.getByRole('heading', { name: 'Takings' }).waitFor();
    const figure = (key: string, side: 'local' | 'server') => manager.locator(`tr[data-figure="${key}"] td.${side}`).textContent();
    const expected = { closed: '2 · 41.00', card: '1 · 14.50', cash: '1 · 26.50', change: '3.50', tips: '1 · 1.45', 'cash-expected': '26.50', held: '0 · 0.00' };
    for (const [key, value] of Object.entries(expected)) expect(await figure(key, 'local'), key).toBe(value);
    // What the two tickets sold, dearer first at one each.
    const sold = await manager.getByTestId('items-sold').locator('tbody tr').allInnerTexts();
    expect(sold.map((row) => row.split(/\s+/).join(' '))).toEqual(['Ribeye steak 1 26.50', 'Cheeseburger 1 14.50']);
    expect(await manager.getByTestId('takings-source').textContent()).toMatch(/^\s*Figures on this device\. This device still owes \d+ events? to the server/);
    expect(await manager.getByRole('button', { name: 'Next day →' }).isDisabled()).toBe(true);
    await manager.getByRole('button', { name: 'Check with the server' }).click();
    await expect.poll(() => manager.getByTestId('takings-server-problem').textContent()).toMatch(/server cannot be reached/);
    expect(await figure('cash-expected', 'local')).toBe('26.50');

    await manager.context().setOffline(false);
    await expect.poll(() => manager.getByTestId('takings-source').textContent(), { timeout: 30_000 }).toMatch(/Nothing owed to the server/);
    await manager.getByRole('button', { name: 'Check with the server' }).click();
    await expect.poll(() => manager.getByTestId('takings-comparison').textContent()).toMatch(/server's figures .* agree with this device's/);
    for (const [key, value] of Object.entries(expected)) expect(await figure(key, 'server'), key).toBe(value);
    expect(await manager.locator('tr.differs').count()).toBe(0);
    // [APP25] the end-of-day slip for the cash bag: only it on paper, the device's figures.
    const prints = await countPrints(manager);
    await manager.getByRole('button', { name: 'Print takings' }).click();
    await expect.poll(prints).toBe(1);
    const slip = await onPaper(manager, 'takings-print');
    expect(await manager.getByRole('heading', { name: 'Takings', level: 1 }).isVisible()).toBe(false);
    expect(slip).toMatch(/^Takings /i);
    expect(slip).toContain('Nothing owed to the server');
    expect(slip).toContain('The server agrees');
    expect(slip).toContain('Cash expected in the drawer 26.50');
    expect(slip).toContain('Card tips (for staff) 1 · 1.45');
    await manager.emulateMedia({ media: 'screen' });
    mkdirSync(SCREENSHOTS, { recursive: true });
    await manager.screenshot({ path: join(SCREENSHOTS, 'takings.png') });

    // The day before has none of it, and the server's figures shown were for today only.
    await manager.getByRole('button', { name: '← Previous day' }).click();
    expect(await figure('closed', 'local')).toBe('0 · 0.00');
    expect(await manager.getByTestId('takings-comparison').count()).toBe(0);

    // A till's staff have no Takings screen.
    const till = await terminal('till-no-takings');
    const screens = await till.getByRole('navigation', { name: 'Screens' }).getByRole('link').allTextContents();
    expect(screens.map((name) => name.trim())).toEqual(['Tickets', 'Kitchen', 'Conflicts', 'Console']);
  }, TEST_TIMEOUT_MS + DAY_TURN_MARGIN_MS);

  it('[APP22] a manager comps a line with a reason: the total drops by its price, the line shows comp and why, the bill prints it as (comp) 0.00 and Takings counts it', async () => {
    const t = await openTerminal(fixture.browser(), fixture.app(), 'manager-comps', 'manager');
    fixture.closeAfter(t.context);
    const manager = t.page;
    const prints = await countPrints(manager);
    const number = await openTicket(manager, 'T7');
    await addItem(manager, 'Cheeseburger'); // 14.50
    await addItem(manager, 'Tomato soup'); // 6.50
    expect(await manager.getByTestId('total').textContent()).toBe('21.00');

    await manager.getByRole('button', { name: 'Comp Tomato soup…', exact: true }).click();
    const form = manager.getByRole('form', { name: 'Comp Tomato soup' });
    const reason = form.getByRole('textbox', { name: 'Reason' });
    expect(await reason.getAttribute('maxlength')).toBe('120');
    // The managers' Comp… buttons and the open form stay inside the ticket panel at 1024×768.
    const outside = await manager.evaluate(() => {
      const panel = document.querySelector('section[aria-label="Ticket"]')!.getBoundingClientRect();
      return [...document.querySelectorAll('.lines button')].filter((b) => b.getBoundingClientRect().right > panel.right).length;
    });
    expect(outside).toBe(0);
    await reason.fill('cold, waited too long');
    await form.getByRole('button', { name: 'Comp Tomato soup' }).click();
    await idle(manager);

    await expect.poll(() => manager.getByTestId('total').textContent()).toBe('14.50');
    const soup = manager.getByTestId('line').filter({ hasText: 'Tomato soup' });
    expect(await soup.locator('.tag.comp').textContent()).toBe('comp');
    expect(await soup.getByTestId('comp-reason').textContent()).toContain('cold, waited too long');
    expect((await soup.locator('td.r').innerText()).replace(/\s+/g, ' ').trim()).toBe('6.50 0.00');
    expect(await soup.locator('td.r s').textContent()).toBe('6.50');
    // Comped once: no Comp button on that line any more, the form is closed.
    expect(await manager.getByRole('button', { name: 'Comp Tomato soup' }).count()).toBe(0);
    expect(await form.count()).toBe(0);

    await manager.getByRole('button', { name: 'Print bill' }).click();
    await expect.poll(prints).toBe(1);
    const bill = await onPaper(manager, 'receipt');
    expect(bill).toContain('1× Cheeseburger 14.50 A 1× Tomato soup (comp) 0.00 A');
    expect(bill).toContain('Total 14.50');
    expect(bill).toContain('Amount due 14.50');
    await manager.emulateMedia({ media: 'screen' });

    await manager.getByRole('link', { name: 'Takings' }).click();
    await manager.getByRole('heading', { name: 'Takings' }).waitFor();
    const comped = manager.locator('tr[data-figure="comped"]');
    expect(await comped.locator('th').textContent()).toBe('Comped lines (given away)');
    expect(await comped.locator('td.local').textContent()).toBe('1 · 6.50');

    // A till's staff see the comp (through the relay) and are offered no Comp button.
    const till = await terminal('till-sees-comp');
    await till.getByRole('button', { name: new RegExp(`^Ticket ${number}, .*14\\.50$`) }).click();
    const tillSoup = till.getByTestId('line').filter({ hasText: 'Tomato soup' });
    expect(await tillSoup.getByTestId('comp-reason').textContent()).toContain('cold, waited too long');
    expect(await till.getByTestId('total').textContent()).toBe('14.50');
    expect(await till.getByRole('button', { name: /^Comp / }).count()).toBe(0);
  }, TEST_TIMEOUT_MS);

  it('[APP28] a manager refunds part of a closed ticket in cash with a reason: the ticket and the receipt show it, Takings counts it out of the drawer; a till sees it and is offered no refund', async () => {
    const t = await openTerminal(fixture.browser(), fixture.app(), 'manager-refunds', 'manager');
    fixture.closeAfter(t.context);
    const manager = t.page;
    const number = await openTicket(manager, 'T8');
    await addItem(manager, 'Cheeseburger'); // 14.50
    await addItem(manager, 'Tomato soup'); // 6.50
    await manager.getByRole('button', { name: 'Take payment' }).click();
    await manager.getByRole('button', { name: 'Cash', exact: true }).click();
    await manager.getByRole('button', { name: /^Record cash payment 21.00/ }).click();
    await idle(manager);
    // No refund before the ticket is closed: an open ticket is corrected by removing or comping.
    expect(await manager.getByRole('button', { name: 'Refund…' }).count()).toBe(0);
    await manager.getByRole('button', { name: 'Close ticket' }).click();
    await idle(manager);

    await manager.getByRole('button', { name: 'Refund…' }).click();
    const form = manager.getByRole('form', { name: `Refund on ticket ${number}` });
    // All that was taken, back the way it was paid, unless typed or chosen.
    expect(await form.getByRole('textbox', { name: 'Amount' }).inputValue()).toBe('21.00');
    expect(await form.getByRole('radio', { name: 'in cash' }).isChecked()).toBe(true);
    await form.getByRole('textbox', { name: 'Amount' }).fill('30');
    await form.getByRole('textbox', { name: 'Refund reason' }).fill('soup sent back');
    expect(await form.getByRole('status').textContent()).toBe('At most 21.00 can go back in cash on this ticket');
    expect(await form.getByRole('radio', { name: 'onto the card' }).isDisabled()).toBe(true);
    await form.getByRole('textbox', { name: 'Amount' }).fill('6.50');
    await form.getByRole('button', { name: 'Refund 6.50 in cash' }).click();
    await idle(manager);

    await expect.poll(() => manager.getByTestId('refunded').textContent()).toBe('6.50');
    expect(await manager.getByTestId('refund').textContent()).toMatch(/Refunded 6\.50 in cash: soup sent back/);
    expect(await form.count()).toBe(0);
    // The sale stands: the total, what was paid and the status do not change.
    expect(await manager.getByTestId('total').textContent()).toBe('21.00');
    expect(await manager.getByTestId('paid').textContent()).toBe('21.00');
    expect(await manager.getByTestId('ticket-status').textContent()).toBe('Closed');

    const prints = await countPrints(manager);
    await manager.getByRole('button', { name: 'Print receipt' }).click();
    await expect.poll(prints).toBe(1);
    expect(await onPaper(manager, 'receipt')).toContain('Refund in cash: soup sent back −6.50');
    await manager.emulateMedia({ media: 'screen' });

    await manager.getByRole('link', { name: 'Takings' }).click();
    await manager.getByRole('heading', { name: 'Takings' }).waitFor();
    const refunded = manager.locator('tr[data-figure="refunded-cash"]');
    expect(await refunded.locator('th').textContent()).toBe('Refunded in cash');
    expect(await refunded.locator('td.local').textContent()).toBe('1 · 6.50');

    // A till's staff see the refund (through the relay) and are offered none.
    const till = await terminal('till-sees-refund');
    await till.getByRole('checkbox', { name: /closed/i }).check();
    await till.getByRole('button', { name: new RegExp(`^Ticket ${number}, `) }).click();
    await expect.poll(() => till.getByTestId('refunded').textContent()).toBe('6.50');
    expect(await till.getByRole('button', { name: 'Refund…' }).count()).toBe(0);
  }, TEST_TIMEOUT_MS);

  it('[APP29] a manager gives a 20 % staff-meal discount: subtotal, discount and total on the ticket and the bill, the payment takes the discounted total, Takings counts it; a till is offered no discount', async () => {
    const t = await openTerminal(fixture.browser(), fixture.app(), 'manager-discounts', 'manager');
    fixture.closeAfter(t.context);
    const manager = t.page;
    const number = await openTicket(manager, 'T5');
    await addItem(manager, 'Cheeseburger'); // 14.50
    await addItem(manager, 'Tomato soup'); // 6.50
    await manager.getByRole('button', { name: 'Discount…' }).click();
    const form = manager.getByRole('form', { name: `Discount on ticket ${number}` });
    await form.getByRole('button', { name: '20 percent off' }).click();
    expect(await form.getByRole('status').textContent()).toBe('Say why');
    await form.getByRole('textbox', { name: 'Discount reason' }).fill('staff meal');
    await form.getByRole('button', { name: 'Take 4.20 off' }).click();
    await idle(manager);

    await expect.poll(() => manager.getByTestId('total').textContent()).toBe('16.80');
    expect(await manager.getByTestId('subtotal').textContent()).toBe('21.00');
    expect(await manager.getByTestId('discount').textContent()).toBe('−4.20');
    expect(await form.count()).toBe(0);
    const prints = await countPrints(manager);
    await manager.getByRole('button', { name: 'Print bill' }).click();
    await expect.poll(prints).toBe(1);
    const bill = await onPaper(manager, 'receipt');
    expect(bill).toContain('Subtotal 21.00 Discount 20 %: staff meal −4.20 Total 16.80');
    await manager.emulateMedia({ media: 'screen' });

    await manager.getByRole('button', { name: 'Take payment' }).click();
    await manager.getByRole('button', { name: /^Record card payment 16.80$/ }).click();
    await idle(manager);
    await manager.getByRole('button', { name: 'Close ticket' }).click();
    await idle(manager);
    expect(await manager.getByTestId('ticket-status').textContent()).toBe('Closed');
    await manager.getByRole('link', { name: 'Takings' }).click();
    await manager.getByRole('heading', { name: 'Takings' }).waitFor();
    const discounted = manager.locator('tr[data-figure="discounted"]');
    expect(await discounted.locator('th').textContent()).toBe('Discounts on them');
    expect(await discounted.locator('td.local').textContent()).toBe('1 · 4.20');

    const till = await terminal('till-no-discount');
    await openTicket(till, 'T6');
    await addItem(till, 'Lemonade');
    expect(await till.getByRole('button', { name: 'Discount…' }).count()).toBe(0);
  }, TEST_TIMEOUT_MS);

  it('[APP31][APP33] prices include tax: the ticket and the receipt show the tax in the total rate by rate; a manager changes an item\'s rate for the lines after and refunds one line; Takings counts the tax in the sales and the refund', async () => {
    const t = await openTerminal(fixture.browser(), fixture.app(), 'manager-taxes', 'manager');
    fixture.closeAfter(t.context);
    const manager = t.page;
    const number = await openTicket(manager, 'T7');
    // [APP33] opened for the table's 4 seats; the waiter counts 3 guests.
    expect(await manager.getByTestId('covers').textContent()).toBe('4 guests');
    await manager.getByRole('button', { name: 'Decrease guests' }).click();
    await expect.poll(() => manager.getByTestId('covers').textContent()).toBe('3 guests');
    await addItem(manager, 'Cheeseburger'); // 14.50 at 10 % (the demo menu's food)
    await addItem(manager, 'Espresso'); // 2.80 at 20 % (its drinks)
    await expect.poll(() => manager.getByTestId('total').textContent()).toBe('17.30');
    const taxes = async () => (await manager.getByTestId('tax').allInnerTexts()).map((row) => row.split(/\s+/).join(' '));
    expect(await taxes()).toEqual(['incl. tax 10 % 1.32', 'incl. tax 20 % 0.47']);

    // The lemonade's rate goes to 5.5 %: a lemonade added after carries it, the espresso keeps 20 %.
    await manager.getByRole('link', { name: 'Menu' }).click();
    const rate = manager.getByRole('textbox', { name: 'New tax rate of Lemonade in %' });
    expect(await rate.inputValue()).toBe('20');
    await rate.fill('5,5');
    await manager.getByRole('button', { name: 'Save the tax rate of Lemonade' }).click();
    await expect.poll(() => rate.inputValue()).toBe('5.5');
    await manager.getByRole('link', { name: 'Tickets' }).click();
    await manager.getByRole('button', { name: new RegExp(`^Ticket ${number},`) }).click();
    await addItem(manager, 'Lemonade'); // 3.50 at 5.5 %: 0.18
    await expect.poll(taxes).toEqual(['incl. tax 5.5 % 0.18', 'incl. tax 10 % 1.32', 'incl. tax 20 % 0.47']);

    await manager.getByRole('button', { name: 'Take payment' }).click();
    await manager.getByRole('button', { name: /^Record card payment 20.80$/ }).click();
    await idle(manager);
    await manager.getByRole('button', { name: 'Close ticket' }).click();
    await idle(manager);
    const prints = await countPrints(manager);
    await manager.getByRole('button', { name: 'Print receipt' }).click();
    await expect.poll(prints).toBe(1);
    const receipt = await onPaper(manager, 'receipt');
    // Each line carries its rate's letter, and the tax is told per letter under the total.
    expect(receipt).toContain('1× Cheeseburger 14.50 B 1× Espresso 2.80 C 1× Lemonade 3.50 A');
    expect(receipt).toContain('Total 20.80 A: incl. tax 5.5 % on 3.50 (net 3.32) 0.18 B: incl. tax 10 % on 14.50 (net 13.18) 1.32 C: incl. tax 20 % on 2.80 (net 2.33) 0.47');
    await manager.emulateMedia({ media: 'screen' });

    // The lemonade went back: refunded for its line, all it was sold at, its tax at 5.5 %.
    await manager.getByRole('button', { name: 'Refund…' }).click();
    const form = manager.getByRole('form', { name: `Refund on ticket ${number}` });
    expect(await form.getByRole('textbox', { name: 'Amount' }).inputValue()).toBe('20.80');
    await form.getByRole('combobox', { name: 'Refund for' }).selectOption({ label: '1× Lemonade (up to 3.50)' });
    expect(await form.getByRole('textbox', { name: 'Amount' }).inputValue()).toBe('3.50');
    await form.getByRole('textbox', { name: 'Amount' }).fill('4');
    await form.getByRole('textbox', { name: 'Refund reason' }).fill('flat');
    expect(await form.getByRole('status').textContent()).toBe('At most 3.50 can go back for the Lemonade');
    await form.getByRole('textbox', { name: 'Amount' }).fill('3.50');
    await form.getByRole('button', { name: 'Refund 3.50 to card' }).click();
    await idle(manager);
    expect(await manager.getByTestId('refund').textContent()).toMatch(/^\s*Refunded 3\.50 to card for the Lemonade: flat/);

    await manager.getByRole('link', { name: 'Takings' }).click();
    await manager.getByRole('heading', { name: 'Takings' }).waitFor();
    const figure = (key: string) => manager.locator(`tr[data-figure="${key}"]`).innerText();
    expect((await figure('tax-sales-550')).split(/\s+/).join(' ')).toBe('Tax at 5.5 % in sales 0.18 of 3.50');
    expect((await figure('tax-refunds-550')).split(/\s+/).join(' ')).toBe('Tax at 5.5 % in refunds 0.18 of 3.50');
    // This ticket's 3 guests at least (tickets other tests closed today count too).
    const guests = /^Guests on them · spend per guest (\d+) · \d+\.\d\d$/.exec((await figure('guests')).split(/\s+/).join(' '));
    expect(Number(guests?.[1])).toBeGreaterThanOrEqual(3);
    // Only this ticket has a line at 5.5 %; the other rates also count the tickets other tests closed today.
    expect((await figure('tax-sales-1000')).split(/\s+/).join(' ')).toMatch(/^Tax at 10 % in sales \d+\.\d\d of \d+\.\d\d$/);
    expect((await figure('tax-sales-2000')).split(/\s+/).join(' ')).toMatch(/^Tax at 20 % in sales \d+\.\d\d of \d+\.\d\d$/);
    await manager.getByRole('button', { name: 'Check with the server' }).click();
    await expect.poll(() => manager.getByTestId('takings-comparison').textContent(), { timeout: 30_000 }).toMatch(/server's figures .* agree with this device's/);
  }, TEST_TIMEOUT_MS);

  it('[APP32] the receipt starts with the business\'s name, address and tax number and ends with its last line; a manager changes them on the Menu screen and a till prints the new ones', async () => {
    const t = await openTerminal(fixture.browser(), fixture.app(), 'manager-receipt', 'manager');
    fixture.closeAfter(t.context);
    const manager = t.page;
    const till = await terminal('till-receipt');
    await openTicket(till, 'T3');
    await addItem(till, 'Espresso');
    const printed = async (): Promise<string> => {
      const prints = await countPrints(till);
      const before = await prints();
      await till.getByRole('button', { name: 'Print bill' }).click();
      await expect.poll(prints).toBe(before + 1);
      const paper = await onPaper(till, 'receipt');
      await till.emulateMedia({ media: 'screen' });
      return paper;
    };
    // The demo location's details, seeded with its menu.
    const first = await printed();
    expect(first).toMatch(/^RMS Demo Bistro 1 Harbour Street Springfield Tax no\. DEMO 123 456 789 BILL /);
    expect(first).toMatch(/Thank you, see you soon!$/);

    await manager.getByRole('link', { name: 'Menu' }).click();
    const form = manager.getByRole('form', { name: 'On the receipt' });
    expect(await form.getByRole('textbox', { name: 'Business name' }).inputValue()).toBe('RMS Demo Bistro');
    expect(await form.getByRole('button', { name: 'Save the receipt details' }).isDisabled()).toBe(true);
    await form.getByRole('textbox', { name: 'Business name' }).fill('  ');
    await form.getByRole('button', { name: 'Save the receipt details' }).click();
    await expect.poll(() => form.getByRole('alert').textContent()).toBe('name the business: receipts start with it');
    await form.getByRole('textbox', { name: 'Business name' }).fill('The Harbour Bistro');
    await form.getByRole('textbox', { name: 'Last line' }).fill('');
    await form.getByRole('button', { name: 'Save the receipt details' }).click();
    await expect.poll(() => form.getByRole('button', { name: 'Save the receipt details' }).isDisabled()).toBe(true);

    await expect.poll(printed, { timeout: 15_000 }).toMatch(/^The Harbour Bistro 1 Harbour Street Springfield Tax no\. DEMO 123 456 789 BILL .* Thank you!$/);
  }, TEST_TIMEOUT_MS);

  it('[APP30] a payment held for a manager (a line comped after it was paid) blocks another payment until the conflict is settled', async () => {
    const t = await openTerminal(fixture.browser(), fixture.app(), 'manager-held', 'manager');
    fixture.closeAfter(t.context);
    const manager = t.page;
    await openTicket(manager, 'T7');
    await addItem(manager, 'Cheeseburger'); // 14.50
    await addItem(manager, 'Lemonade'); // 3.50
    await manager.getByRole('button', { name: 'Take payment' }).click();
    await manager.getByRole('button', { name: /^Record card payment 18.00$/ }).click();
    await idle(manager);
    await manager.getByRole('button', { name: 'Comp Lemonade…', exact: true }).click();
    await manager.getByRole('form', { name: 'Comp Lemonade' }).getByRole('textbox').fill('flat');
    await manager.getByRole('button', { name: 'Comp Lemonade', exact: true }).click();
    await idle(manager);
    // 18.00 paid on a 14.50 ticket: the payment is held, 14.50 shows due, and no second payment is offered.
    await expect.poll(() => manager.getByTestId('payment-held').count()).toBe(1);
    expect(await manager.getByTestId('due').textContent()).toBe('14.50');
    expect(await manager.getByRole('button', { name: 'Take payment' }).isDisabled()).toBe(true);
    const card = manager.getByTestId('conflict').filter({ hasText: 'Payments exceed the total' });
    await card.getByRole('button', { name: 'Keep the payment (then refund what is over)' }).click();
    await idle(manager);
    await expect.poll(() => manager.getByTestId('payment-held').count()).toBe(0);
    expect(await manager.getByTestId('paid').textContent()).toBe('18.00');
    expect(await manager.getByRole('button', { name: 'Close ticket' }).isEnabled()).toBe(true);
  }, TEST_TIMEOUT_MS);

  it('[APP34] separate checks: a guest pays for their burger, another for the rest; the ticket and the receipt say what each payment was for', async () => {
    const page = await till();
    await openTicket(page, 'T8');
    await addItem(page, 'Cheeseburger'); // 14.50
    await addItem(page, 'Lemonade'); // 3.50
    await page.getByRole('button', { name: 'Take payment' }).click();
    const forLines = page.getByRole('group', { name: 'Or pay for items' });
    await forLines.getByRole('button', { name: 'Pay for Cheeseburger' }).click();
    expect(await forLines.getByRole('button', { name: 'Pay for Cheeseburger' }).getAttribute('aria-pressed')).toBe('true');
    await page.getByRole('button', { name: /^Record card payment 14.50$/ }).click();
    await idle(page);
    // The burger is paid: it is offered no more, and what is due is the lemonade.
    await expect.poll(() => page.getByTestId('pay-due').textContent()).toBe('3.50');
    expect(await page.getByRole('button', { name: 'Pay for Cheeseburger' }).count()).toBe(0);
    const lines = page.getByTestId('line');
    expect(await lines.filter({ hasText: 'Cheeseburger' }).getByText('paid', { exact: true }).count()).toBe(1);
    expect(await lines.filter({ hasText: 'Lemonade' }).getByText('paid', { exact: true }).count()).toBe(0);
    await page.getByRole('button', { name: 'Cash', exact: true }).click();
    await page.getByRole('button', { name: /^Record cash payment 3.50$/ }).click();
    await idle(page);
    const payments = (await page.getByRole('list', { name: 'Payments' }).getByRole('listitem').allInnerTexts()).map((row) => row.split(/\s+/).join(' '));
    expect(payments).toEqual(['Card 14.50 for Cheeseburger', 'Cash 3.50']);
    await page.getByRole('button', { name: 'Back to menu' }).click();
    await page.getByRole('button', { name: 'Close ticket' }).click();
    await idle(page);
    const prints = await countPrints(page);
    await page.getByRole('button', { name: 'Print receipt' }).click();
    await expect.poll(prints).toBe(1);
    expect(await onPaper(page, 'receipt')).toContain('Card for Cheeseburger 14.50 Cash 3.50');
    await page.emulateMedia({ media: 'screen' });
  }, TEST_TIMEOUT_MS);

  // After the tests that count the day's takings: this one closes a ticket.
  it('[APP39] keyboard: after a one-shot action the focus is on the next thing to do, never the page (a ticket opened from the table picker, Send, Record, Close, a kitchen Bump or recall, a sign-in); Escape closes the payment panel after a record; the status bar says Offline as a status', async () => {
    const page = await terminal('till-focus');
    const press = async (control: Locator) => {
      // A control is disabled while the last action's write is saved (`busy`): focusing it then
      // does nothing, and Enter went to the control before it (a second Lemonade instead of Send).
      await expect.poll(() => control.isEnabled()).toBe(true);
      await control.focus();
      await page.keyboard.press('Enter');
    };
    await press(page.getByRole('link', { name: 'Tickets' }));
    await press(page.getByRole('button', { name: '+ New ticket' }));
    await expect.poll(() => focused(page)).toMatch(/^New ticket for table /);
    await page.keyboard.press('Enter');
    await expect.poll(() => focused(page)).toMatch(/^ticket-number /);
    const number = (await page.getByTestId('ticket-number').textContent())!;
    await press(page.getByRole('button', { name: /^Add Cheeseburger/ }));
    await press(page.getByRole('button', { name: /^Add Lemonade/ }));
    await expect.poll(() => page.getByTestId('line').count()).toBe(2);
    await press(page.getByRole('button', { name: /^Send to kitchen/ }));
    await idle(page);
    await expect.poll(() => focused(page)).toBe(`ticket-number ${number}`);

    await press(page.getByRole('button', { name: 'Take payment' }));
    // A card for part of it: the focus goes to what is still due, never a field whose Enter, late
    // (past the hold after a record), would record the rest of the bill too.
    await page.getByRole('textbox', { name: 'Amount' }).fill('5');
    await press(page.getByRole('button', { name: /^Record card payment/ }));
    await expect.poll(() => focused(page)).toMatch(/^P Due: /);
    // Past the hold after a record (the record button says so), Enter on what is due records nothing.
    await expect.poll(() => page.getByRole('button', { name: /^Record card payment/ }).getAttribute('aria-disabled')).toBe('false');
    await page.keyboard.press('Enter');
    await idle(page);
    await expect.poll(() => page.getByTestId('pay-due').textContent()).toBe('13.00');
    await press(page.getByRole('button', { name: 'Cash', exact: true }));
    await page.getByRole('textbox', { name: 'Cash handed over' }).fill('20');
    await press(page.getByRole('button', { name: /^Record cash payment/ }));
    await expect.poll(() => focused(page)).toBe('change-due Change due: 7.00');
    await page.keyboard.press('Escape');
    await page.getByRole('region', { name: 'Menu' }).waitFor();
    await press(page.getByRole('button', { name: 'Close ticket' }));
    await idle(page);
    await expect.poll(() => focused(page)).toBe(`ticket-number ${number}`);

    await press(page.getByRole('link', { name: 'Kitchen' }));
    await press(page.getByRole('button', { name: `Bump Cheeseburger on ${number}` }));
    expect(await focused(page)).toBe(`Bump Lemonade on ${number}`);
    await page.keyboard.press('Enter');
    expect(await focused(page)).toMatch(/^(Bump all of |H1 Kitchen)/);
    const recall = page.getByRole('button', { name: 'Recall last bumped' });
    await expect.poll(() => recall.isEnabled()).toBe(true);
    await press(recall);
    await expect.poll(() => focused(page)).toMatch(/^(BUTTON Recall earlier|H1 Kitchen)/);
    await press(page.getByRole('button', { name: 'Hide recalled' }));
    await expect.poll(() => focused(page)).toBe('BUTTON Recall last bumped');

    await press(page.getByTestId('serving'));
    await page.getByRole('textbox', { name: 'Your name' }).fill('Ada');
    await page.keyboard.press('Enter');
    await expect.poll(() => focused(page)).toBe('serving Serving: Ada');

    await page.context().setOffline(true);
    await expect.poll(() => page.getByRole('region', { name: 'Sync status' }).getByRole('status').textContent(), { timeout: 15_000 }).toBe('Offline');
    await page.context().setOffline(false);
  }, TEST_TIMEOUT_MS);

  /** A name of one word wider than any column: it must break, never push a button out of its card or panel. */
  const LONG_WORD = 'Supercalifragilisticexpialidociousbutevenlongerwithoutanyspace';
  /** A table's name at its limit (16 characters), of the widest letter and no space. */
  const LONG_TABLE = 'WWWWWWWWWWWWWWWW';

  it('[APP14][APP7] a busy kitchen at 1024×768: with forty tickets sent, "All day" (160 items and notes) scrolls in its box and the first card starts on the first screen; a 16-character table name and an item of one long word stay inside their card with LATE, the waiting time and Bump', async () => {
    const events: BackOfficeEvent[] = [
      { type: 'table.defined', aggregate: { type: 'table', id: 'table-long' }, payload: { tableId: 'table-long', label: LONG_TABLE, seats: 4 } },
    ];
    // Sent 20 minutes ago and on: the first (at the long table) is LATE and the first card.
    const sentFrom = Date.now() - 20 * 60_000;
    for (let k = 0; k < 40; k++) {
      const aggregate = { type: 'ticket', id: `busy-${k}` };
      const at = sentFrom + k * 1000;
      events.push({ type: 'ticket.opened', aggregate, at, payload: { number: `BUSY-${String(k + 1).padStart(3, '0')}`, covers: 2, ...(k === 0 ? { tableId: 'table-long' } : {}) } });
      const lineIds = [0, 1, 2, 3].map((l) => `busy-${k}-line-${l}`);
      lineIds.forEach((lineId, l) => {
        const [menuItemId, name] = k === 1 && l === 0 ? ['long-word', LONG_WORD] : [`busy-item-${k}-${l}`, `Dish of the day number ${k * 4 + l}`];
        events.push({ type: 'ticket.item_added', aggregate, at, payload: { lineId, menuItemId, name, unitPriceCents: 1200, quantity: 1, note: 'no salt, sauce on the side' } });
      });
      events.push({ type: 'ticket.sent_to_kitchen', aggregate, at: at + 1, payload: { lineIds } });
    }
    await postAsBackOffice(fixture.app(), 'back-office-busy', events);

    const page = await terminal('kitchen-busy');
    await page.getByRole('link', { name: 'Kitchen' }).click();
    const cards = page.getByTestId('kitchen-ticket');
    await page.getByRole('heading', { name: 'BUSY-040' }).waitFor();
    // (Other tests' tickets may still be waiting too.)
    expect(await page.getByTestId('all-day-item').count()).toBeGreaterThanOrEqual(160);
    mkdirSync(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: join(SCREENSHOTS, 'kitchen-busy-1024x768.png') });
    // The first card's heading on the first screen, not under a wall of "All day".
    const first = (await cards.first().getByRole('heading').boundingBox())!;
    expect(await cards.first().getByRole('heading').textContent()).toBe('BUSY-001');
    expect(first.y + first.height).toBeLessThanOrEqual(VIEWPORT.height);

    const card = (number: string) => cards.filter({ has: page.getByRole('heading', { name: number, exact: true }) });
    const atLongTable = card('BUSY-001');
    expect(await atLongTable.getByText(LONG_TABLE).count()).toBe(1);
    expect(
      await notInside(atLongTable, {
        number: atLongTable.getByRole('heading'),
        LATE: atLongTable.getByText('LATE', { exact: true }),
        'waiting time': atLongTable.getByTestId('kitchen-age'),
        'Bump ticket': atLongTable.getByRole('button', { name: 'Bump all of BUSY-001' }),
      }),
    ).toEqual([]);
    // The number on one line ("BUSY-001", not "BUSY-" over "001").
    expect(await atLongTable.getByRole('heading').evaluate((h) => h.getBoundingClientRect().height < 1.8 * parseFloat(getComputedStyle(h).fontSize))).toBe(true);
    const withLongWord = card('BUSY-002');
    expect(await notInside(withLongWord, { Bump: withLongWord.getByRole('button', { name: `Bump ${LONG_WORD} on BUSY-002` }), 'waiting time': withLongWord.getByTestId('kitchen-age') })).toEqual([]);
    // Nothing makes the screen scroll sideways.
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth && document.querySelector('main')!.scrollWidth <= document.querySelector('main')!.clientWidth)).toBe(true);
  }, TEST_TIMEOUT_MS);

  it('[APP7][APP11] real names at a 1024×768 till: the table picker fits "Garden 21" and "Room 101" in its buttons; a second ticket open at a table (its name said "(open ticket)" in the table list) leaves the status and both guests buttons in the ticket panel; an item of one long word stays in its menu button and its "pay for items" button, and leaves Price and Off the menu on the Menu screen; a category\'s button brings it up under the menu\'s pinned head', async () => {
    const tables = ['Garden 21', 'Room 101', 'Window 4', 'Patio-3'];
    await postAsBackOffice(fixture.app(), 'back-office-names', [
      ...tables.map((label, i) => ({ type: 'table.defined', aggregate: { type: 'table', id: `table-named-${i}` }, payload: { tableId: `table-named-${i}`, label, seats: 4 } })),
      { type: 'menu.item_defined', aggregate: { type: 'menu_item', id: 'long-word' }, payload: { menuItemId: 'long-word', name: LONG_WORD, category: 'Specials', priceCents: 1200 } },
    ]);
    const t = await openTerminal(fixture.browser(), fixture.app(), 'manager-names', 'manager');
    fixture.closeAfter(t.context);
    const page = t.page;

    await page.getByRole('button', { name: '+ New ticket' }).click();
    await page.getByRole('button', { name: 'New ticket for table Garden 21' }).waitFor();
    const picker = await page.locator('.tables button').evaluateAll((buttons) =>
      buttons.filter((b) => b.scrollWidth > b.clientWidth || b.getBoundingClientRect().height < 44).map((b) => b.textContent?.trim()),
    );
    expect(picker).toEqual([]);
    await page.getByRole('button', { name: 'Cancel' }).click();

    await openTicket(page, 'T1');
    await openTicket(page, 'T2');
    const table = page.locator('label.table select');
    expect(await table.locator('option', { hasText: 'T1 (open ticket)' }).count()).toBe(1);
    await addItem(page, LONG_WORD);
    await addItem(page, 'Lemonade');
    const panel = page.getByRole('region', { name: 'Ticket', exact: true });
    expect(
      await notInside(panel, {
        status: page.getByTestId('ticket-status'),
        'Decrease guests': page.getByRole('button', { name: 'Decrease guests' }),
        'Increase guests': page.getByRole('button', { name: 'Increase guests' }),
        table,
      }),
    ).toEqual([]);
    await page.screenshot({ path: join(SCREENSHOTS, 'ticket-head-1024x768.png') });

    // The menu: the long name stays in its button; the category's button brings Specials up under the pinned head, the focus on it.
    const menu = page.getByRole('region', { name: 'Menu', exact: true });
    const addLongWord = page.getByRole('button', { name: `Add ${LONG_WORD}, 12.00` });
    await addLongWord.scrollIntoViewIfNeeded();
    expect(await notInside(menu, { [LONG_WORD]: addLongWord })).toEqual([]);
    expect(await menu.evaluate((m) => m.scrollWidth <= m.clientWidth)).toBe(true);
    await menu.evaluate((m) => m.scrollTo(0, 0));
    await page.getByRole('navigation', { name: 'Menu categories' }).getByRole('button', { name: 'Specials', exact: true }).click();
    const specials = menu.getByRole('heading', { name: 'Specials', exact: true });
    expect(await inReach(page, [specials])).toEqual(['Specials: ok']);
    expect(await focused(page)).toBe('H3 Specials');

    await page.getByRole('button', { name: 'Take payment', exact: true }).click();
    const payForLongWord = page.getByRole('button', { name: `Pay for ${LONG_WORD}` });
    expect(await notInside(page.getByRole('region', { name: 'Payment' }), { 'pay for the long word': payForLongWord })).toEqual([]);
    expect((await payForLongWord.textContent())?.replace(/\s+/g, ' ')).toContain(LONG_WORD);
    expect(await payForLongWord.evaluate((b) => b.scrollWidth <= b.clientWidth)).toBe(true);
    await page.keyboard.press('Escape');

    await page.getByRole('link', { name: 'Menu' }).click();
    const row = page.getByTestId('menu-row').filter({ hasText: LONG_WORD });
    const onScreen = await Promise.all(
      [row.getByRole('textbox').first(), row.getByRole('button', { name: `Take ${LONG_WORD} off the menu…` })].map(async (control) => {
        const box = (await control.boundingBox())!;
        return box.x + box.width <= VIEWPORT.width;
      }),
    );
    expect(onScreen).toEqual([true, true]);
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
  }, TEST_TIMEOUT_MS);

  it('[APP26] Menu screen: a price that is none is said under its field (marked invalid, described by it) and goes as it is corrected; a rename that re-sorts the menu keeps the focus in the renamed item\'s name field', async () => {
    const tart = (id: string, name: string) => ({ type: 'menu.item_defined', aggregate: { type: 'menu_item', id }, payload: { menuItemId: id, name, category: 'Tarts', priceCents: 650 } });
    await postAsBackOffice(fixture.app(), 'back-office-tarts', [tart('tart-apple', 'Apple tart'), tart('tart-bakewell', 'Bakewell tart')]);
    const t = await openTerminal(fixture.browser(), fixture.app(), 'manager-tarts', 'manager');
    fixture.closeAfter(t.context);
    const page = t.page;
    await page.getByRole('link', { name: 'Menu' }).click();

    const price = page.getByRole('textbox', { name: 'New price of Bakewell tart' });
    await price.fill('0');
    await price.press('Enter');
    const problem = page.getByTestId('menu-row').filter({ has: price }).getByRole('alert');
    await expect.poll(() => problem.textContent()).toBe('Enter a price (e.g. 7.50)');
    expect([await price.getAttribute('aria-invalid'), await price.getAttribute('aria-describedby')]).toEqual(['true', await problem.getAttribute('id')]);
    const [field, said] = [(await price.boundingBox())!, (await problem.boundingBox())!];
    expect(said.y >= field.y + field.height && said.y < field.y + field.height + 40).toBe(true);
    await price.fill('6.50');
    await expect.poll(() => problem.count()).toBe(0);
    expect(await price.getAttribute('aria-invalid')).toBe('false');

    // Renamed "Zz…" with Enter: its row moves after the Bakewell tart's, the focus (and the next keys) stay in its name field.
    const name = page.getByRole('textbox', { name: 'New name of Apple tart' });
    await name.fill('Zz apple tart');
    await name.press('Enter');
    const renamed = page.getByRole('textbox', { name: 'New name of Zz apple tart' });
    await renamed.waitFor();
    expect(await page.getByTestId('menu-row').filter({ hasText: 'tart' }).locator('input.name').evaluateAll((inputs) => inputs.map((i) => (i as HTMLInputElement).value))).toEqual(['Bakewell tart', 'Zz apple tart']);
    expect(await focused(page)).toBe('New name of Zz apple tart');
    await page.keyboard.type('s');
    expect(await renamed.inputValue()).toBe('Zz apple tarts');
  }, TEST_TIMEOUT_MS);

  it('[APP8] a running till hears about a new build without a navigation (when the network comes back)', async () => {
    const page = await terminal('till-update-check');
    await waitForOfflineShell(page);
    fixture.release().publishNext();
    await page.context().setOffline(true);
    await expect.poll(() => page.getByTestId('connection').textContent(), { timeout: 15_000 }).toMatch(/^Offline/);
    await page.context().setOffline(false);
    // Installing the new worker precaches the whole build: give a busy machine time.
    await page.getByText('A new version of the app is ready').waitFor({ timeout: 45_000 });
  }, TEST_TIMEOUT_MS);
});

// ---------------------------------------------------------------------------------------

/**
 * For each control, whether a finger at its centre would touch it: on screen, and nothing
 * (a sticky bar, the lines scrolled under it) on top of it: "<its name>: ok" or "…: out of reach".
 */
async function inReach(page: Page, controls: readonly Locator[]): Promise<string[]> {
  return Promise.all(
    controls.map((control) =>
      control.evaluate((el) => {
        const r = el.getBoundingClientRect();
        const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
        const reached = r.top >= 0 && r.bottom <= window.innerHeight && hit !== null && el.contains(hit);
        const name = el.getAttribute('aria-label') ?? (el instanceof HTMLInputElement ? el.labels?.[0]?.textContent : null) ?? el.textContent ?? '';
        return `${name.trim().replace(/\s+/g, ' ')}: ${reached ? 'ok' : 'out of reach'}`;
      }),
    ),
  );
}

/** What has the keyboard's focus: "body" when it fell to the page, else its id, test id, label or tag, and its text. */
async function focused(page: Page): Promise<string> {
  return page.evaluate(() => {
    const el = document.activeElement;
    if (el === null || el === document.body) return 'body';
    const name = el.id || el.getAttribute('data-testid') || el.getAttribute('aria-label') || el.tagName;
    return el.getAttribute('aria-label') === name ? name : `${name} ${el.textContent?.trim().replace(/\s+/g, ' ')}`;
  });
}

/** Whether the page, or the app's one scroll box (main), is wider than the screen: the staff would pan sideways to reach a part. */
function pansSideways(page: Page): Promise<boolean> {
  return page.evaluate(() => {
    const content = document.querySelector('main.content')!;
    return document.documentElement.scrollWidth > innerWidth || content.scrollWidth > content.clientWidth;
  });
}

/** Which of `parts` (by name) do not lie wholly inside `container`'s box (half a pixel of rounding allowed). */
async function notInside(container: Locator, parts: Record<string, Locator>): Promise<string[]> {
  const box = (await container.boundingBox())!;
  const outside: string[] = [];
  for (const [name, part] of Object.entries(parts)) {
    const b = (await part.boundingBox())!;
    if (b.x < box.x - 0.5 || b.y < box.y - 0.5 || b.x + b.width > box.x + box.width + 0.5 || b.y + b.height > box.y + box.height + 0.5) outside.push(name);
  }
  return outside;
}

/** An event the back office writes: its type, aggregate and payload, stamped `at` (default now). */
interface BackOfficeEvent {
  type: string;
  aggregate: { type: string; id: string };
  payload: unknown;
  at?: number;
}

/** Posts `events` as written by the back-office manager `terminal` (one call per terminal: its origin counter starts at 1); all accepted. */
async function postAsBackOffice(app: AppServer, terminal: string, events: readonly BackOfficeEvent[]): Promise<void> {
  const token = await app.server.mintToken({ location: LOCATION, role: 'manager', terminal, ttlSeconds: 600 });
  const seqs = new Map<string, number>();
  const envelopes = events.map((e, i) => {
    const seq = (seqs.get(e.aggregate.id) ?? 0) + 1;
    seqs.set(e.aggregate.id, seq);
    const at = e.at ?? Date.now();
    return { id: newEventId(at), seq, at, type: e.type, v: validatePayload(e.type, e.payload).v, aggregate: e.aggregate, origin: { terminal, n: i + 1 }, payload: e.payload };
  });
  const res = await fetch(`${app.url}/api/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ events: envelopes }),
  });
  const body = (await res.json()) as { results: { status: string }[] };
  expect(body.results.map((r) => r.status)).toEqual(envelopes.map(() => 'accepted'));
}

/** `count` menu items of `category` ("Dessert 1" … at 6.00), posted by a back-office manager token. */
async function defineMenuItems(app: AppServer, category: string, count: number): Promise<void> {
  const singular = category.replace(/s$/, '');
  await postAsBackOffice(
    app,
    'back-office',
    Array.from({ length: count }, (_, i) => {
      const menuItemId = `${singular.toLowerCase()}-${i + 1}`;
      return { type: 'menu.item_defined', aggregate: { type: 'menu_item', id: menuItemId }, payload: { menuItemId, name: `${singular} ${i + 1}`, category, priceCents: 600 } };
    }),
  );
}

