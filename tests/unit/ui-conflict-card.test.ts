import { describe, expect, it } from 'vitest';
import { componentModule } from '../helpers/ui-components';

type ConflictCardModule = { acceptedTotalProblem(text: string): string | null };

describe('conflict card (ConflictCard)', () => {
  it('[APP27] a total typed to accept is an amount up to the maximum: a slip or an absurd total is said (a 20-digit one offered "at most 90071992547409.91", a 320-digit one "Accept total Infinity.NaN")', async () => {
    const { acceptedTotalProblem } = await componentModule<ConflictCardModule>('ConflictCard');
    expect(['', ' ', '12.50', '12,5', '1000000'].map(acceptedTotalProblem)).toEqual([null, null, null, null, null]);
    expect(acceptedTotalProblem('twelve')).toBe('Enter the total as an amount (e.g. 12.50)');
    for (const absurd of ['1000000.01', '99999999999999999999', '9'.repeat(320)]) expect(acceptedTotalProblem(absurd), absurd).toBe('At most 1000000.00 a total');
  });
});
