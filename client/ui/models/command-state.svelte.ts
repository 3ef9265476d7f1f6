import { NotSavedError } from '../../store/event-store';
import { message } from '../format';

/**
 * A view-model that runs staff commands: `busy` while one runs (the screen disables its
 * controls), and a refusal or failure said in `error`, never thrown at the screen.
 */
export class CommandState {
  busy = $state(false);
  error = $state<string | null>(null);

  /**
   * Runs one command; true when it was written. A change this device could not save (a full
   * disk) is said, and the command counts as written: its events are held and synced
   * (NotSavedError), so the screen moves on rather than invite a second tap that would write
   * them twice.
   */
  protected async run(action: () => Promise<unknown>): Promise<boolean> {
    this.busy = true;
    this.error = null;
    try {
      await action();
      return true;
    } catch (err) {
      this.error = message(err);
      return err instanceof NotSavedError;
    } finally {
      this.busy = false;
    }
  }
}
