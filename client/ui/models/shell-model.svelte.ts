/**
 * The offline shell's state: whether the build is cached, and a waiting update.
 *
 * A new build is applied when staff press "Reload now", or by itself once the terminal has
 * been idle (no touch or key) for UPDATE_IDLE_MS with nothing half-typed: no draft held by
 * the view-models (`drafts`: an item note or quantity, an unsaved ticket note, a payment
 * being typed) and no focused field with text in it. "Reload now" first saves the ticket
 * note typed (as leaving the ticket does); any other typed work left, it asks before the
 * reload drops it. Either way no recorded action is lost: every one is durable in IndexedDB
 * before it shows, and open tickets come back exactly as they were after the reload.
 */
export const UPDATE_IDLE_MS = 3 * 60_000;
const CHECK_EVERY_MS = 15_000;

/** The typed work of the view-models, as a reload would lose it. */
export interface TypedWork {
  /** Whether a view-model holds typed work that a reload would lose. */
  drafts(): boolean;
  /** Saves the ticket note typed and not saved yet, if any. */
  saveTicketNote(): Promise<void>;
}

export class ShellModel {
  offlineReady = $state(false);
  updateWaiting = $state(false);
  /** "Reload now" found typed work it could not save: the banner asks whether to reload anyway. */
  confirmingLoss = $state(false);
  private apply: (() => Promise<void>) | null = null;
  private lastActivity = Date.now();
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(private readonly typed: TypedWork) {
    const touched = (): void => {
      this.lastActivity = Date.now();
    };
    window.addEventListener('pointerdown', touched, { capture: true, passive: true });
    window.addEventListener('keydown', touched, { capture: true, passive: true });
  }

  updateReady(apply: () => Promise<void>): void {
    this.apply = apply;
    this.updateWaiting = true;
    this.timer ??= setInterval(() => {
      if (Date.now() - this.lastActivity >= UPDATE_IDLE_MS && !this.typed.drafts() && !halfTyped()) void this.applyUpdate();
    }, CHECK_EVERY_MS);
  }

  markOfflineReady(): void {
    this.offlineReady = true;
  }

  /** "Reload now": saves the ticket note typed, and reloads unless other typed work would be lost (then asks: confirmingLoss). */
  async reloadNow(): Promise<void> {
    await this.typed.saveTicketNote();
    if (this.typed.drafts()) {
      this.confirmingLoss = true;
      return;
    }
    await this.applyUpdate();
  }

  /** Activates the new build and reloads. */
  async applyUpdate(): Promise<void> {
    this.confirmingLoss = false;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.apply?.();
  }
}

/** A focused text field with something in it (one no model holds: a void reason, a conflict note): someone may come back to finish it. */
function halfTyped(): boolean {
  const el = document.activeElement;
  return (el instanceof HTMLInputElement || el instanceof HTMLTextAreaElement) && el.value.trim() !== '';
}
