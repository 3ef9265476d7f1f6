import { describe, expect, it } from 'vitest';
import { fieldOf } from '../helpers/validation';
import { MANAGER_EVENT_TYPES, validatePayload } from '../../shared/events/catalog';
import { LOCATION_DETAILS_ID } from '../../shared/domain/location-events';
import { LOCATION_MERGE_POLICY } from '../../shared/projection/merge-policy';
import { projectAggregate } from '../../shared/projection/project-aggregate';
import { LocationProjection } from '../../shared/projection/location-projection';
import type { AggregateRef } from '../../shared/events/envelope';
import { FixedClockTerminal, foldedAs } from '../helpers/test-writer';

const LOCATION: AggregateRef = { id: LOCATION_DETAILS_ID, type: 'location' };
const details = { name: 'The Harbour Bistro', address: '1 Harbour Street\nSpringfield', taxNumber: 'GB 123 4567 89', receiptFooter: 'See you soon!' };

describe('what a receipt says about the business (location.details_set)', () => {
  it('[EVT12][CMD2] any of the fields, bounded, at least one; null takes one off but never the name; only a manager writes it; each field is an LWW register', () => {
    expect(validatePayload('location.details_set', { name: 'Bistro' }).v).toBe(1);
    expect(validatePayload('location.details_set', { taxNumber: null }).v).toBe(1);
    expect(fieldOf(() => validatePayload('location.details_set', {}))).toBe('payload');
    expect(fieldOf(() => validatePayload('location.details_set', { name: null }))).toBe('payload.name');
    expect(fieldOf(() => validatePayload('location.details_set', { ...details, address: 'x'.repeat(301) }))).toBe('payload.address');
    expect(fieldOf(() => validatePayload('location.details_set', { ...details, taxNumber: '' }))).toBe('payload.taxNumber');
    expect(fieldOf(() => validatePayload('location.details_set', { ...details, logo: 'png' }))).toBe('payload.logo');
    expect(MANAGER_EVENT_TYPES.has('location.details_set')).toBe(true);
    expect(LOCATION_MERGE_POLICY['location.details_set']).toMatchObject({ merge: 'lww', fields: ['name', 'address', 'taxNumber', 'receiptFooter'] });
  });

  it('[PRJ20][PRJ4] per field, the latest write holds, folded one by one in any order; a field a write leaves out keeps its value, null takes it off; an older concurrent write is superseded', () => {
    const a = new FixedClockTerminal('manager-1');
    const b = new FixedClockTerminal('manager-2', -60_000);
    const c = new FixedClockTerminal('manager-3');
    const first = a.write(LOCATION, 'location.details_set', details);
    // A tablet a minute slow that had seen nothing: the older stamp.
    const stale = b.write(LOCATION, 'location.details_set', { name: 'Old name', taxNumber: 'OLD' });
    c.see(first);
    // Two managers at once, on different fields: both hold.
    const moved = a.write(LOCATION, 'location.details_set', { address: '2 Quay Road\nSpringfield' });
    const noFooter = c.write(LOCATION, 'location.details_set', { receiptFooter: null });
    const expected = { kind: 'location', name: 'The Harbour Bistro', address: '2 Quay Road\nSpringfield', taxNumber: 'GB 123 4567 89', receiptFooter: null };
    for (const order of [
      [first, stale, moved, noFooter],
      [noFooter, moved, stale, first],
      [stale, moved, first, noFooter, moved],
    ]) {
      const projection = new LocationProjection();
      for (const e of order) projection.apply([e]);
      expect(projection.get(LOCATION_DETAILS_ID)).toMatchObject(expected);
    }
    expect(foldedAs(projectAggregate([first, stale, moved, noFooter]), stale).status).toBe('superseded');
  });

  it('[PRJ20] only location events fold into it', () => {
    const a = new FixedClockTerminal('manager-1');
    const wrong = a.write(LOCATION, 'table.defined', { tableId: 't1', label: 'T1', seats: 2 });
    const v = projectAggregate([a.write(LOCATION, 'location.details_set', details), wrong]);
    expect(foldedAs(v, wrong).status).toBe('invalid');
    expect(v).toMatchObject({ name: 'The Harbour Bistro' });
  });
});
