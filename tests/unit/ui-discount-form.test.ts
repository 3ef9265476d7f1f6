import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { component } from '../helpers/ui-components';
import { ROOT, compiledDir, compiledPath } from '../helpers/svelte-compiled';

type DiscountFormModule = { wholePercent(text: string): number | null };

/** DiscountForm's module script, from the compiled component (its default export is the form). */
async function discountForm(): Promise<DiscountFormModule> {
  await component('DiscountForm');
  const components = join(ROOT, 'client', 'ui', 'components');
  return (await import(/* @vite-ignore */ compiledPath(compiledDir('ui-components', components), join(components, 'DiscountForm.svelte')))) as DiscountFormModule;
}

describe('discount form (DiscountForm)', () => {
  it('[APP29] a percentage is whole digits, with or without "%": "20 %" is 20; "1e1", "0x32", "12.5" and "-5" are no percentage', async () => {
    const { wholePercent } = await discountForm();
    expect(['20', ' 20% ', '20 %', '100', '7'].map(wholePercent)).toEqual([20, 20, 20, 100, 7]);
    expect(['1e1', '0x32', '12.5', '-5', '', '%', '20 %%', '1000'].map(wholePercent)).toEqual(Array(8).fill(null));
  });
});
