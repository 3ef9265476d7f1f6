import { NotSavedError } from '../../store/storage-errors';
import { message } from '../format';

/**
 * A view-model that runs staff commands: `busy` while any runs, and a refusal or failure said
 * in `error`, never thrown at the screen. Each starts at once (an append shows before it is
 * saved, so taps apply in their order and the next one reads what the last did). The till's
 * repeatable controls (add an item, a quantity, the guests, hold) stay enabled while one is
 * saved: a button disabled under the finger loses the keyboard's focus (a second Enter on
 * "Add …" added nothing). One-shot actions (send, fire, close, void, comp, a payment, a
 * refund) still wait for `busy`: their second tap would repeat the money, or be refused.
 */
export class CommandState {
  busy = $state(false);
  error = $state<string | null>(null);
  private running = 0;

  /**
   * Runs one command; true when it was written. A change this device could not save (a full
   * disk) is said, and the command counts as written: its events are held and synced
   * (NotSavedError), so the screen moves on rather than invite a second tap that would write
   * them twice.
   */
  protected async run(action: () => Promise<unknown>): Promise<boolean> {
    this.running += 1;
    this.busy = true;
    this.error = null;
    try {
      await action();
      return true;
    } catch (err) {
      this.error = message(err);
      return err instanceof NotSavedError;
    } finally {
      this.running -= 1;
      this.busy = this.running > 0;
    }
  }
}
