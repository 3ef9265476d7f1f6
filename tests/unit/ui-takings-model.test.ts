import { describe, expect, it } from 'vitest';
import { cleanUpAfterEach, model, nowMod, till } from '../helpers/ui-models';
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

  it('[APP31][SRV25] a day with a reopened close: its tax per rate in its own rows, taken off (negative), beside the day\'s sales; none where no close was reopened', async () => {
    const { taxFigures } = await model<TakingsMod>('takings-model');
    const reopenedDay: DayTakings = {
      ...report({ sales: [{ basisPoints: 1000, grossCents: 500, taxCents: 45, netCents: 455 }], refunds: [] }),
      reopened: { ...dayTakings([], day).reopened, count: 1, amountCents: 1500, taxes: [{ basisPoints: 1000, grossCents: 1200, taxCents: 109, netCents: 1091 }, { basisPoints: 2000, grossCents: 300, taxCents: 50, netCents: 250 }] },
    };
    expect(read(taxFigures([reopenedDay]), reopenedDay)).toEqual([
      ['tax-sales-1000', 'Tax at 10 % in sales', '0.45 of 5.00'],
      ['tax-reopened-1000', 'Tax at 10 % in reopened closes', '−1.09 of −12.00'],
      ['tax-reopened-2000', 'Tax at 20 % in reopened closes', '−0.50 of −3.00'],
    ]);
    // Only a reopening, of a close at no rate: nothing taxed, no tax rows.
    const untaxedReopening = { ...reopenedDay, taxes: { sales: [], refunds: [] }, reopened: { ...reopenedDay.reopened, taxes: [{ basisPoints: null, grossCents: 1500, taxCents: 0, netCents: 1500 }] } };
    expect(taxFigures([untaxedReopening])).toEqual([]);
  });
});

describe('takings: the closes reopened this day (TakingsModel reopenedFigures)', () => {
  type TakingsMod = typeof import('../../client/ui/models/takings-model.svelte');
  const day = { from: 0, to: 1 };
  const none = dayTakings([], day);

  it('[APP20][SRV25] how many and what they came to, taken off (negative); their guests and discounts where they had any; the net sales; no rows on a day without one, unless the other report has one', async () => {
    const { reopenedFigures } = await model<TakingsMod>('takings-model');
    const withReopening: DayTakings = {
      ...none,
      closed: { count: 1, amountCents: 500 },
      guests: { count: 2, amountCents: 500 },
      reopened: { ...none.reopened, count: 2, amountCents: 2300, guests: { count: 2, amountCents: 1500 } },
    };
    const read = (r: DayTakings, ...reports: DayTakings[]) => reopenedFigures(reports).map((f) => [f.key, f.label, f.of(r)]);
    expect(read(withReopening, withReopening)).toEqual([
      ['reopened', 'Reopened closes (taken off)', '2 · −23.00'],
      ['reopened-guests', 'Guests on reopened closes', '2'],
      ['net-sales', 'Net sales (closed less reopened)', '−18.00'],
    ]);
    expect(reopenedFigures([none])).toEqual([]);
    // The server counted a reopening this device has not seen yet: the device reads none, and the rows compare.
    expect(read(none, none, withReopening)).toEqual([
      ['reopened', 'Reopened closes (taken off)', '0 · 0.00'],
      ['reopened-guests', 'Guests on reopened closes', '0'],
      ['net-sales', 'Net sales (closed less reopened)', '0.00'],
    ]);
  });
});

describe('the Takings screen (TakingsModel)', () => {
  type TakingsMod = typeof import('../../client/ui/models/takings-model.svelte');
  /** The Takings screen of a manager's till owing the server nothing; `server` answers "Check with the server". */
  async function takingsScreen(server: object = {}) {
    const { TakingsModel } = await model<TakingsMod>('takings-model');
    const t = await till({ role: 'manager' });
    return { t, takings: new TakingsModel(t.log, { status: { owed: 0 } } as never, server as never, new nowMod.Now()) };
  }

  it('[APP20] "Check with the server" marks each figure that differs: none before it is asked; a reopened close only the server counts gets its rows, flagged', async () => {
    const { takings } = await takingsScreen({
      of: async () => ({ takings: { ...takings.local, reopened: { ...takings.local.reopened, count: 1, amountCents: 500 } }, serverTime: 1 }),
    });
    expect([takings.figures.filter((f) => f.differs), takings.differences]).toEqual([[], 0]);
    expect(takings.figures.some((f) => f.key === 'reopened')).toBe(false);
    await takings.checkWithServer();
    expect(takings.figures.find((f) => f.key === 'reopened')).toMatchObject({ local: '0 · 0.00', server: '1 · −5.00', differs: true });
  });

  it('[APP20] the server\'s answer for a day no longer shown is dropped', async () => {
    let answer!: (figures: unknown) => void;
    const { takings } = await takingsScreen({ of: () => new Promise((resolve) => (answer = resolve)) });
    const asking = takings.checkWithServer();
    takings.previousDay();
    answer({ takings: takings.local, serverTime: 1 });
    await asking;
    expect(takings.server).toBeNull();
  });

  it('[APP20] today is the last day shown: "next day" on it stays on today', async () => {
    const { takings } = await takingsScreen();
    const today = takings.day;
    takings.nextDay();
    expect([takings.day, takings.isToday]).toEqual([today, true]);
  });

  it('[APP33] the spend per guest is rounded to the nearest cent (10.01 over 3 guests: 3.34)', async () => {
    const { t, takings } = await takingsScreen();
    const id = await t.commands.openTicket({ covers: 3 });
    await t.commands.addItem(id, { id: 'x', name: 'Set menu', priceCents: 1001 });
    await t.commands.recordPayment(id, { method: 'cash', amountCents: 1001 });
    await t.commands.close(id);
    expect(takings.figures.find((f) => f.key === 'guests')?.local).toBe('3 · 3.34');
  });
});
