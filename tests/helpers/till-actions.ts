import type { Page } from 'playwright-core';
import { waitUntil } from './browser';

/** What the e2e tests do at a till, as staff do it: through the screen's labelled controls. */

/** Opens a new ticket for the table; resolves with its number once it is the ticket on screen. */
export async function openTicket(page: Page, table: string): Promise<string> {
  await page.getByRole('link', { name: 'Tickets' }).click();
  const number = page.getByTestId('ticket-number');
  // The ticket shown before is not the one opened: wait for the number to change.
  const before = (await number.count()) > 0 ? await number.textContent() : null;
  await page.getByRole('button', { name: '+ New ticket' }).click();
  await page.getByRole('button', { name: `New ticket for table ${table}` }).click();
  await waitUntil(async () => {
    const text = (await number.textContent()) ?? '';
    return /^[A-Z0-9]+-\d+$/.test(text) && text !== before;
  }, 'ticket opened');
  return (await number.textContent())!;
}

/** Adds one of the menu item (by its name) to the ticket on screen, durably. */
export async function addItem(page: Page, name: string): Promise<void> {
  await page.getByRole('button', { name: new RegExp(`^Add ${name},`) }).click();
  await idle(page);
}

export async function sendToKitchen(page: Page): Promise<void> {
  await page.getByRole('button', { name: /^Send to kitchen/ }).click();
  await idle(page);
}

/** The last command is durable: each resolves only once IndexedDB committed it, and the ticket section is aria-busy until then. */
export async function idle(page: Page): Promise<void> {
  await page.locator('section[aria-label="Ticket"][aria-busy="false"]').waitFor();
}

/** The browser's print dialog cannot be driven: count the app's calls to window.print instead. */
export async function countPrints(page: Page): Promise<() => Promise<number>> {
  await page.evaluate(() => {
    const counted = window as unknown as { printed: number };
    counted.printed = 0;
    window.print = () => void counted.printed++;
  });
  return () => page.evaluate(() => (window as unknown as { printed: number }).printed);
}

/** What goes on paper: the page in print media (left so), and the print sheet's text with whitespace collapsed. */
export async function onPaper(page: Page, testid: string): Promise<string> {
  await page.emulateMedia({ media: 'print' });
  return (await page.getByTestId(testid).innerText()).replace(/\s+/g, ' ');
}
