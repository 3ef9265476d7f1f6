import type { Acknowledgements } from '../../shared/log/acknowledgements';
import type { Watermarks } from '../../shared/protocol/rest-events';

/** Acknowledgements of these watermarks alone: no range stored above them. */
export function marksOnly(marks: Readonly<Watermarks>): Acknowledgements {
  return { marks, above: {} };
}
