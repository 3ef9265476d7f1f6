import type { StaffOnDuty } from '../../app/staff-on-duty';
import { message } from '../format';

/** Signing in on the device (StaffOnDuty): the status bar's "Serving" control. */
export class StaffModel {
  current = $state<string | null>(null);
  recent = $state<readonly string[]>([]);
  /** The sign-in panel is open. */
  open = $state(false);
  name = $state('');
  error = $state<string | null>(null);

  constructor(private readonly onDuty: StaffOnDuty) {
    this.read();
    onDuty.onChange(() => this.read());
  }

  toggle(): void {
    this.open = !this.open;
    this.name = '';
    this.error = null;
  }

  /** Signs in `name` (the typed one by default) and closes the panel; a refused name stays typed, with the reason. */
  signIn(name = this.name): void {
    try {
      this.onDuty.signIn(name);
      this.open = false;
      this.name = '';
      this.error = null;
    } catch (err) {
      this.error = message(err);
    }
  }

  signOut(): void {
    this.onDuty.signOut();
    this.open = false;
  }

  private read(): void {
    this.current = this.onDuty.current;
    this.recent = [...this.onDuty.recent];
  }
}
