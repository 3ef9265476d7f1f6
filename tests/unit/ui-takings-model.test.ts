import { describe, expect, it } from 'vitest';
import { cleanUpAfterEach, model } from '../helpers/ui-models';
import { dayTakings, type DayTakings } from '../../shared/reports/day-takings';

cleanUpAfterEach();

describe('takings: the tax figures (TakingsModel taxFigures)', () => {
  type TakingsMod = typeof import('../../client/ui/models/takings-model.svelte');
  const day = { from: 0, to: 1 };
  const report = (taxes: DayTakings['taxes']): DayTakings => ({ ...dayTakings([], day), taxes });
  const read = (figures: ReturnType<TakingsMod['taxFigures']>, r: DayTakings) => figures.map((f) => [f.key, f.label, f.of(r)]);

  it('[APP31] a rate per line, sales first; sales at no rate only beside taxed ones; none where nothing is taxed; refunds on a day without taxed sales still show', async () => {
    const { taxFigures } = await model<TakingsMod>('takings-model');
    const untaxed = report({ sales: [{ basisPoints: null, grossCents: 900, taxCents: 0, netCents: 900 }], refunds: [] });
    expect(taxFigures([untaxed])).toEqual([]);

    const mixed = report({
      sales: [
        { basisPoints: 1000, grossCents: 1450, taxCents: 132, netCents: 1318 },
        { basisPoints: null, grossCents: 300, taxCents: 0, netCents: 300 },
      ],
      refunds: [],
    });
    expect(read(taxFigures([mixed]), mixed)).toEqual([
      ['tax-sales-1000', 'Tax at 10 % in sales', '1.32 of 14.50'],
      ['tax-sales-none', 'Sales with no tax rate', '3.00'],
    ]);

    // Early on the next day: only yesterday's wine handed back.
    const refundOnly = report({ sales: [], refunds: [{ basisPoints: 2000, grossCents: 750, taxCents: 125, netCents: 625 }] });
    expect(read(taxFigures([refundOnly]), refundOnly)).toEqual([['tax-refunds-2000', 'Tax at 20 % in refunds', '1.25 of 7.50']]);
    // Compared with a server that has a rate the device has not: the device reads zero there.
    expect(read(taxFigures([untaxed, mixed]), untaxed)).toEqual([
      ['tax-sales-1000', 'Tax at 10 % in sales', '0.00 of 0.00'],
      ['tax-sales-none', 'Sales with no tax rate', '9.00'],
    ]);
  });
});
