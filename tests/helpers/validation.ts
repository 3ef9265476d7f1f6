import { expect } from 'vitest';
import { EventValidationError } from '../../shared/events/catalog';

/** The field an EventValidationError thrown by `fn` names (fails the test if `fn` throws nothing, or something else). */
export function fieldOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(EventValidationError);
    return (err as EventValidationError).field;
  }
  throw new Error('expected an EventValidationError');
}
