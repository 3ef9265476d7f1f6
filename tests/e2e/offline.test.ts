import { describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import {
  copyOfBuild,
  LOCATION,
  logLoadedMode,
  storedCheckpoint,
  VIEWPORT,
  browserPidFor,
  useAppAndBrowser,
  launchOptions,
  makeProfileDir,
  openTerminal,
  pair,
  skipBrowserTests,
  startAppServer,
  waitForOfflineShell,
  waitUntil,
  type AppServer,
} from '../helpers/browser';
import { addItem, countPrints, idle, onPaper, openTicket } from '../helpers/till-actions';

/** Browser tests wait on real sync; generous bounds, they end as soon as the condition holds. */
const TEST_TIMEOUT_MS = 120_000;

/** The offline shell (service worker) and the durability of the local log (IndexedDB). */
describe.skipIf(skipBrowserTests)('staff app: offline shell and durability', () => {
  const fixture = useAppAndBrowser();

  it('a reload with no network loads the app from the service worker, with all local data', async () => {
    const { context, page } = await openTerminal(fixture.browser(), fixture.app(), 'till-reload');
    try {
      await waitForOfflineShell(page);
      const number = await takeOrder(page, 'T2', ['Tomato soup', 'Espresso']);

      await context.setOffline(true);
      await page.reload();
      await page.getByRole('navigation', { name: 'Screens' }).waitFor({ timeout: 15_000 });
      await expect.poll(() => page.getByTestId('connection').textContent(), { timeout: 15_000 }).toMatch(/^Offline/);
      await page.getByRole('button', { name: new RegExp(`^Ticket ${number},`) }).click();
      await expect.poll(() => page.getByTestId('line').count()).toBe(2);
      // The menu and tables (synced earlier) are local data too: the till keeps selling.
      await page.getByRole('button', { name: /^Add Lemonade,/ }).click();
      await expect.poll(() => page.getByTestId('line').count()).toBe(3);
      await context.setOffline(false);
    } finally {
      await context.close();
    }
  }, TEST_TIMEOUT_MS);

  it('[APP21] with no network the till prints the bill (lines, amount due) and, once paid, the receipt (payments, change): only it goes on paper', async () => {
    const { context, page } = await openTerminal(fixture.browser(), fixture.app(), 'till-print');
    try {
      const prints = await countPrints(page);
      const number = await takeOrder(page, 'T5', ['Tomato soup', 'Espresso']);
      const total = (await page.getByTestId('total').textContent())!;
      await context.setOffline(true);
      const receipt = page.getByTestId('receipt');
      expect(await receipt.isVisible()).toBe(false);

      await page.getByRole('button', { name: 'Print bill' }).click();
      await expect.poll(prints).toBe(1);
      const bill = await onPaper(page, 'receipt');
      expect(await receipt.isVisible()).toBe(true);
      expect(await page.getByRole('navigation', { name: 'Screens' }).isVisible()).toBe(false);
      // The business first (the demo location's receipt details), then the bill.
      expect(bill).toMatch(/^RMS Demo Bistro .* Bill Ticket /i);
      expect(bill).toContain(`Ticket ${number}`);
      expect(bill).toContain('T5');
      expect(bill).toMatch(/1× Tomato soup [\d.]+ A 1× Espresso [\d.]+ B/);
      expect(bill).toContain(`Total ${total}`);
      expect(bill).toContain(`Amount due ${total}`);

      await page.emulateMedia({ media: 'screen' });
      await page.getByRole('button', { name: 'Take payment' }).click();
      await page.getByRole('button', { name: 'Cash', exact: true }).click();
      await page.getByRole('textbox', { name: 'Cash handed over' }).fill('100');
      await page.getByRole('button', { name: /^Record cash payment/ }).click();
      await idle(page);
      await page.getByRole('button', { name: 'Print receipt' }).click();
      await expect.poll(prints).toBe(2);
      const paid = await onPaper(page, 'receipt');
      expect(paid).toMatch(/^RMS Demo Bistro .* Receipt Ticket /i);
      expect(paid).toContain(`Cash (tendered 100.00) ${total}`);
      expect(paid).toContain(`Change ${money(10_000 - Math.round(Number(total) * 100))}`);
      expect(paid).not.toContain('Amount due');
      await page.emulateMedia({ media: 'screen' });
      await context.setOffline(false);
    } finally {
      await context.close();
    }
  }, TEST_TIMEOUT_MS);

  it('after a reload the open tickets come from the checkpoint at once and the closed ones follow', async () => {
    const { context, page } = await openTerminal(fixture.browser(), fixture.app(), 'till-settled');
    try {
      await waitForOfflineShell(page);
      const closed = await takeOrder(page, 'T3', ['Espresso']);
      await page.getByRole('button', { name: 'Take payment' }).click();
      await page.getByRole('button', { name: /^Record card payment/ }).click();
      await idle(page);
      await page.getByRole('button', { name: 'Close ticket' }).click();
      await expect.poll(() => page.getByTestId('ticket-status').textContent()).toBe('Closed');
      const open = await takeOrder(page, 'T4', ['Lemonade']);

      // Offline, nothing changes the log any more: wait for the till's last checkpoint.
      await context.setOffline(true);
      let last: string | undefined;
      let steadySince = Date.now();
      await waitUntil(async () => {
        const now = await storedCheckpoint(page, LOCATION);
        if (now?.signature !== last) [last, steadySince] = [now?.signature, Date.now()];
        // Written ~2 s after the last change; the closed ticket in a bucket of its own (16 and up).
        return now !== null && now.buckets.some((b) => b >= 16) && Date.now() - steadySince > 3_000;
      }, 'a steady checkpoint with the closed ticket apart', 30_000);

      await page.reload();
      await page.getByRole('button', { name: new RegExp(`^Ticket ${open},`) }).waitFor({ timeout: 15_000 });
      expect(await logLoadedMode(page)).toBe('restored');
      await page.getByRole('checkbox', { name: 'Show closed and voided' }).check();
      await page.getByRole('button', { name: new RegExp(`^Ticket ${closed},`) }).click({ timeout: 15_000 });
      await expect.poll(() => page.getByTestId('ticket-status').textContent()).toBe('Closed');
      await expect.poll(() => page.getByTestId('line').count()).toBe(1);
      await context.setOffline(false);
    } finally {
      await context.close();
    }
  }, TEST_TIMEOUT_MS);

  it('an order survives the browser being killed (SIGKILL) right after it was taken', async () => {
    const profile = makeProfileDir();
    let context: BrowserContext | null = null;
    try {
      context = await chromium.launchPersistentContext(profile, { ...launchOptions(), viewport: VIEWPORT });
      let page = context.pages()[0] ?? (await context.newPage());
      await pair(page, fixture.app(), 'till-crash');
      await waitForOfflineShell(page);
      // Offline from here on: what comes back after the crash can only come from this device.
      await context.setOffline(true);
      await expect.poll(() => page.getByTestId('connection').textContent(), { timeout: 15_000 }).toMatch(/^Offline/);
      const number = await takeOrder(page, 'T6', ['Cheeseburger', 'Calamari', 'Sparkling water']);

      // It never left this device: the server has no trace of it.
      expect(await ticketOnServer(fixture.app(), number)).toBe(0);

      const pid = browserPidFor(profile);
      expect(pid).not.toBeNull();
      process.kill(pid!, 'SIGKILL');
      await waitUntil(() => !isAlive(pid!), 'the browser process is gone');
      await context.close().catch(() => {});

      // Relaunched online: the server still lacks the order, so what shows comes from IndexedDB.
      context = await chromium.launchPersistentContext(profile, { ...launchOptions(), viewport: VIEWPORT });
      page = context.pages()[0] ?? (await context.newPage());
      await page.goto(fixture.app().url);
      await page.getByRole('button', { name: new RegExp(`^Ticket ${number},`) }).click({ timeout: 15_000 });
      await expect.poll(() => page.getByTestId('line').count()).toBe(3);
      await expect.poll(() => page.getByTestId('total').textContent()).toBe(money(1450 + 950 + 300));
      // …and now it is delivered, once.
      await waitUntil(async () => (await ticketOnServer(fixture.app(), number)) === 1, 'the order reaches the server', 30_000);
    } finally {
      await context?.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
    }
  }, TEST_TIMEOUT_MS);

  it('a new build is offered and applied without losing an open ticket', async () => {
    // A copy of the build that this test can turn into "the next release".
    const build = copyOfBuild();
    const release = await startAppServer({ staticDir: build.dir });
    const { context, page } = await openTerminal(fixture.browser(), release, 'till-update');
    try {
      await waitForOfflineShell(page);
      const number = await takeOrder(page, 'T8', ['Garlic bread', 'Lemonade']);

      build.publishNext();
      await page.reload(); // a navigation makes the browser look for a new service worker
      await page.getByText('A new version of the app is ready').waitFor({ timeout: 20_000 });
      // A second tab of the till, with a note half typed: applying the update in the first must not reload it.
      const other = await context.newPage();
      await other.goto(page.url());
      await other.getByText('A new version of the app is ready').waitFor({ timeout: 20_000 });
      await other.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));
      await page.getByRole('button', { name: 'Reload now' }).click();

      await page.waitForFunction(() => document.querySelector('[role="status"]')?.textContent?.includes('new version') !== true);
      await page.getByRole('button', { name: new RegExp(`^Ticket ${number},`) }).click({ timeout: 15_000 });
      await expect.poll(() => page.getByTestId('line').count()).toBe(2);
      const active = await page.evaluate(async () => (await navigator.serviceWorker.getRegistration())?.waiting === null);
      expect(active).toBe(true);
      // The other tab runs on, told an update is ready (its own Reload now).
      // Not waitForFunction: it takes an async predicate's promise as a truthy answer at once.
      await waitUntil(() => other.evaluate(async () => (await navigator.serviceWorker.getRegistration())?.waiting === null), 'the other tab sees the new worker active');
      expect(await other.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
      await other.getByText('A new version of the app is ready').waitFor();
    } finally {
      await context.close();
      await release.close();
      build.remove();
    }
  }, TEST_TIMEOUT_MS);

  it('[APP8] a till never reloaded since its pairing link takes a new build with "Reload now", its typed ticket note saved first', async () => {
    const build = copyOfBuild();
    const release = await startAppServer({ staticDir: build.dir });
    const { context, page } = await openTerminal(fixture.browser(), release, 'till-kiosk');
    try {
      await waitForOfflineShell(page);
      // Opened from the link and never reloaded: no service worker controls this page (no clients.claim()).
      expect(await page.evaluate(() => navigator.serviceWorker.controller === null)).toBe(true);
      const number = await takeOrder(page, 'T1', ['Espresso']);
      await page.locator('#ticket-note').fill('nut allergy, seat 2');
      await page.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));

      build.publishNext();
      // No navigation: the network coming back makes the app look for a new build.
      await context.setOffline(true);
      await context.setOffline(false);
      await page.getByText('A new version of the app is ready').waitFor({ timeout: 30_000 });
      await page.getByRole('button', { name: 'Reload now' }).click();

      await waitUntil(
        () =>
          page
            .evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded === undefined && navigator.serviceWorker.controller !== null)
            .catch(() => false),
        'the page reloaded under the new build',
        30_000,
      );
      expect(await page.evaluate(async () => (await navigator.serviceWorker.getRegistration())?.waiting === null)).toBe(true);
      await page.getByRole('button', { name: new RegExp(`^Ticket ${number},`) }).click({ timeout: 15_000 });
      await expect.poll(() => page.locator('#ticket-note').inputValue()).toBe('nut allergy, seat 2');
      expect(await page.getByRole('button', { name: 'Save note' }).isDisabled()).toBe(true);
    } finally {
      await context.close();
      await release.close();
      build.remove();
    }
  }, TEST_TIMEOUT_MS);

  it('[APP41] a link for another location is held back while the till owes events (running, and on a cold start), and taken once they are sent', async () => {
    const app = fixture.app();
    const { context, page } = await openTerminal(fixture.browser(), app, 'till-owes');
    try {
      await waitForOfflineShell(page);
      await context.setOffline(true);
      const number = await takeOrder(page, 'T7', ['Espresso']);
      await expect.poll(() => page.getByTestId('owed').textContent()).toMatch(/^[1-9]/);
      const token = await app.server.mintToken({ location: 'other', role: 'terminal', terminal: 'till-1', ttlSeconds: 3600 });
      const otherLink = `${app.url}/#/pair?${new URLSearchParams({ token, location: 'other', terminal: 'till-1' })}`;
      const where = page.locator('header .where strong');
      const heldBack = page.getByText(/This till still owes \d+ events? to demo/);

      await page.evaluate((link) => (location.href = link), otherLink);
      await heldBack.waitFor();
      expect(await where.textContent()).toBe('demo');
      expect(await page.getByRole('button', { name: 'Switch anyway' }).isVisible()).toBe(true);

      // A cold start on the link (a kiosk's start page): no session open, the count remembered.
      await page.goto('about:blank');
      await page.goto(otherLink);
      await heldBack.waitFor({ timeout: 15_000 });
      expect(await where.textContent()).toBe('demo');

      // Online, the order goes; then the same link is taken.
      await context.setOffline(false);
      await expect.poll(() => page.getByTestId('owed').textContent(), { timeout: 30_000 }).toBe('0');
      expect(await ticketOnServer(app, number)).toBe(1);
      await page.evaluate((link) => (location.href = link), otherLink);
      await expect.poll(() => where.textContent().catch(() => null), { timeout: 20_000 }).toBe('other');
    } finally {
      await context.close();
    }
  }, TEST_TIMEOUT_MS);

  it('[APP41] a link for another terminal at the same location is taken at once, owing or not: the log it reopens sends what the till owed', async () => {
    const app = fixture.app();
    const { context, page } = await openTerminal(fixture.browser(), app, 'till-leaving');
    try {
      await waitForOfflineShell(page);
      await context.setOffline(true);
      const number = await takeOrder(page, 'T2', ['Espresso']);
      await expect.poll(() => page.getByTestId('owed').textContent()).toMatch(/^[1-9]/);
      const where = page.locator('header .where');
      await page.evaluate((link) => (location.href = link), await app.pairingLink('till-arriving'));
      await expect.poll(() => where.textContent().catch(() => ''), { timeout: 20_000 }).toContain('till-arriving');
      expect(await page.getByText(/This till still owes/).count()).toBe(0);

      // The same location's log, reopened: the order the other writer owed goes from here.
      await context.setOffline(false);
      await expect.poll(() => ticketOnServer(app, number), { timeout: 45_000 }).toBe(1);
    } finally {
      await context.close();
    }
  }, TEST_TIMEOUT_MS);

  it('[APP41] on a cold start whose stored pairing never opens its log, the held link is still offered: "Switch anyway" takes it', async () => {
    const app = fixture.app();
    const { context, page } = await openTerminal(fixture.browser(), app, 'till-stuck');
    try {
      await waitForOfflineShell(page);
      await context.setOffline(true);
      await takeOrder(page, 'T3', ['Espresso']);
      await expect.poll(() => page.getByTestId('owed').textContent()).toMatch(/^[1-9]/);
      const token = await app.server.mintToken({ location: 'elsewhere', role: 'terminal', terminal: 'till-1', ttlSeconds: 3600 });
      const otherLink = `${app.url}/#/pair?${new URLSearchParams({ token, location: 'elsewhere', terminal: 'till-1' })}`;
      // The demo log's database never answers (a wedged IndexedDB): its session stays "Opening…".
      await context.addInitScript(() => {
        const open = IDBFactory.prototype.open;
        IDBFactory.prototype.open = function (this: IDBFactory, name: string, version?: number) {
          return name === 'rms:demo' ? ({} as IDBOpenDBRequest) : open.call(this, name, version);
        };
      });

      await page.goto('about:blank');
      await page.goto(otherLink);
      await page.getByText(/This till still owes \d+ events? to demo/).waitFor({ timeout: 15_000 });
      expect(await page.getByText('Opening the log of').isVisible()).toBe(true);
      await page.getByRole('button', { name: 'Switch anyway' }).click();
      await expect.poll(() => page.locator('header .where strong').textContent().catch(() => null), { timeout: 20_000 }).toBe('elsewhere');
      await context.setOffline(false);
    } finally {
      await context.close();
    }
  }, TEST_TIMEOUT_MS);
});

/** Opens a ticket, adds the items, and waits until the last command is durable. */
async function takeOrder(page: Page, table: string, items: string[]): Promise<string> {
  const number = await openTicket(page, table);
  for (const item of items) await addItem(page, item);
  await expect.poll(() => page.getByTestId('line').count()).toBe(items.length);
  return number;
}

async function ticketOnServer(app: AppServer, number: string): Promise<number> {
  const events = await app.canonicalEvents();
  return events.filter((e) => e.type === 'ticket.opened' && (e.payload as { number?: string }).number === number).length;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function money(cents: number): string {
  return `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;
}
