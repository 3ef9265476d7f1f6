import { describe, expect, it } from 'vitest';
import { money, statusLabel } from '../../client/ui/format';

const line = (sentAt: number | null, bumpedAt: number | null) => ({ sentAt, bumpedAt }) as never;

describe('what staff read', () => {
  it('money from integer cents', () => {
    expect(money(2650)).toBe('26.50');
    expect(money(-5)).toBe('−0.05');
  });

  it('a sent ticket is "In kitchen" until the kitchen bumped every line sent, then "Served"', () => {
    expect(statusLabel({ status: 'sent', lines: [line(1, null), line(1, 2)] })).toBe('In kitchen');
    expect(statusLabel({ status: 'sent', lines: [line(1, 2), line(null, null)] })).toBe('Served');
    expect(statusLabel({ status: 'paid', lines: [line(1, 2)] })).toBe('Paid');
  });
});
