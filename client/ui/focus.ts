/**
 * Keyboard focus for forms that open and close on the till: one whose first field must be
 * typed anyway (a reason) takes the focus there (a screen reader says where it is; a field
 * prefilled or chosen by a button does not, so a tablet's keyboard does not cover the screen
 * for nothing), and Escape closes it.
 */

/** Svelte action: focuses the element once it is mounted. */
export function autofocus(node: HTMLElement): void {
  node.focus();
}

/** Svelte action: Escape pressed within the element calls `close`. */
export function closesOnEscape(node: HTMLElement, close: () => void): { update(next: () => void): void; destroy(): void } {
  let current = close;
  const onKey = (e: KeyboardEvent): void => {
    if (e.key !== 'Escape') return;
    e.preventDefault();
    current();
  };
  node.addEventListener('keydown', onKey);
  return {
    update: (next) => (current = next),
    destroy: () => node.removeEventListener('keydown', onKey),
  };
}

/** The focus fell to the page: the element holding it went, or was disabled (a screen reader loses its place). */
export function focusLost(): boolean {
  return document.activeElement === null || document.activeElement === document.body;
}
