import { describe, expect, it } from 'vitest';
import { StaffOnDuty } from '../../client/app/staff-on-duty';
import { model } from '../helpers/ui-models';

type StaffMod = typeof import('../../client/ui/models/staff-model.svelte');
const { StaffModel } = await model<StaffMod>('staff-model');

describe('"Serving" on the status bar (StaffModel)', () => {
  it('[APP23] signing in closes the panel and shows who serves; a refused name keeps it open, typed, with the reason', () => {
    // Node has no localStorage: the names are kept in memory.
    const staff = new StaffModel(StaffOnDuty.forLocation('ui-staff-model'));
    staff.toggle();
    expect(staff.open).toBe(true);
    staff.name = '  ';
    staff.signIn();
    expect(staff).toMatchObject({ open: true, name: '  ', error: 'Type your name to sign in.', current: null });
    staff.name = 'Ana';
    staff.signIn();
    expect(staff).toMatchObject({ open: false, name: '', error: null, current: 'Ana', recent: ['Ana'] });
  });
});
