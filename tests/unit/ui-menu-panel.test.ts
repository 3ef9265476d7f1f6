import { describe, expect, it } from 'vitest';
import { render } from 'svelte/server';
import { component, textOf } from '../helpers/ui-components';

/** The till's menu panel with no menu, rendered on a device that has received the room or not, for a manager or not. */
async function emptyMenu(tickets: { roomReceived: boolean; manager: boolean }): Promise<{ text: string; html: string }> {
  const MenuPanel = await component('MenuPanel');
  const props = { tickets: { ...tickets, menu: [], nextQuantity: 1, nextNote: '', menuError: null }, disabled: true };
  const html = render(MenuPanel, { props: props as never }).body;
  return { text: textOf(html).replace(/\s+/g, ' '), html };
}

describe('menu panel (MenuPanel)', () => {
  it('[APP45] an empty menu is "on its way" until the room first came from the relay; after it, a manager adds it on the Menu screen (a link for a manager)', async () => {
    const before = await emptyMenu({ roomReceived: false, manager: false });
    expect(before.text).toMatch(/No menu yet: it arrives with the first sync from the server\./);
    const till = await emptyMenu({ roomReceived: true, manager: false });
    expect(till.text).toMatch(/No menu yet: a manager adds it on the Menu screen\./);
    expect(till.text).not.toMatch(/first sync/);
    expect(till.html).not.toContain('href="#/menu"');
    const manager = await emptyMenu({ roomReceived: true, manager: true });
    expect(manager.text).toMatch(/No menu yet: a manager adds it on the Menu screen\./);
    expect(manager.html).toMatch(/<a href="#\/menu">Menu screen<\/a>/);
  });
});
