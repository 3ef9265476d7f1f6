import { describe, expect, it } from 'vitest';
import { componentModule } from '../helpers/ui-components';

type DiscountFormModule = { wholePercent(text: string): number | null };

describe('discount form (DiscountForm)', () => {
  it('[APP29] a percentage is whole digits, with or without "%": "20 %" is 20; "1e1", "0x32", "12.5" and "-5" are no percentage', async () => {
    const { wholePercent } = await componentModule<DiscountFormModule>('DiscountForm');
    expect(['20', ' 20% ', '20 %', '100', '7'].map(wholePercent)).toEqual([20, 20, 20, 100, 7]);
    expect(['1e1', '0x32', '12.5', '-5', '', '%', '20 %%', '1000'].map(wholePercent)).toEqual(Array(8).fill(null));
  });
});
