import { NotSavedError } from '../../store/event-store';
import { message } from '../format';

/**
 * A view-model that runs staff commands, one after another in the order staff gave them:
 * `busy` while any waits or runs, and a refusal or failure said in `error`, never thrown at
 * the screen. The till's repeatable controls (add an item, a quantity, the guests, hold) stay
 * enabled meanwhile: a button disabled under the finger loses the keyboard's focus (a second
 * Enter on "Add …" added nothing). One-shot actions (send, fire, close, void, comp, a payment,
 * a refund) still wait for `busy`: their second tap would repeat the money, or be refused.
 */
export class CommandState {
  busy = $state(false);
  error = $state<string | null>(null);
  private last: Promise<unknown> = Promise.resolve();
  private pending = 0;

  /**
   * Runs one command after those before it; true when it was written. A change this device
   * could not save (a full disk) is said, and the command counts as written: its events are
   * held and synced (NotSavedError), so the screen moves on rather than invite a second tap
   * that would write them twice.
   */
  protected run(action: () => Promise<unknown>): Promise<boolean> {
    this.pending += 1;
    this.busy = true;
    const result = this.last.then(() => this.runNow(action));
    this.last = result;
    return result.finally(() => {
      this.pending -= 1;
      if (this.pending === 0) this.busy = false;
    });
  }

  private async runNow(action: () => Promise<unknown>): Promise<boolean> {
    this.error = null;
    try {
      await action();
      return true;
    } catch (err) {
      this.error = message(err);
      return err instanceof NotSavedError;
    }
  }
}
