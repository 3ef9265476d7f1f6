/** A confirming tap sooner than this after the asking one is the second half of a double tap. */
export const CONFIRM_AFTER_MS = 600;

/**
 * An action for good (an item off the menu, a table off the floor) asked for by one tap and
 * done by a second, deliberate one: the tap that asked relabels the same button, so the
 * second half of a double tap (within CONFIRM_AFTER_MS, while `armed` is false) is not one.
 */
export class SecondTap {
  /** What the last tap asked about (an item's or a table's id); null when nothing waits. */
  asking = $state<string | null>(null);
  /** Whether a tap now confirms (CONFIRM_AFTER_MS after asking: until then the button is disabled). */
  armed = $state(false);
  private timer: ReturnType<typeof setTimeout> | undefined;

  /** True when this tap confirms what an earlier one asked about `id`. */
  tap(id: string): boolean {
    if (this.asking !== id) {
      this.asking = id;
      this.armed = false;
      clearTimeout(this.timer);
      this.timer = setTimeout(() => (this.armed = true), CONFIRM_AFTER_MS);
      return false;
    }
    if (!this.armed) return false;
    this.asking = null;
    return true;
  }
}
