import { describe, expect, it } from 'vitest';
import { EventValidationError, MANAGER_EVENT_TYPES, validatePayload } from '../../shared/events/catalog';
import { LOCATION_DETAILS_ID } from '../../shared/domain/location-events';
import { LOCATION_MERGE_POLICY } from '../../shared/projection/merge-policy';
import { projectAggregate } from '../../shared/projection/project-aggregate';
import type { AggregateRef } from '../../shared/events/envelope';
import { FixedClockTerminal, foldedAs } from '../helpers/test-writer';

const LOCATION: AggregateRef = { id: LOCATION_DETAILS_ID, type: 'location' };
const details = { name: 'The Harbour Bistro', address: '1 Harbour Street\nSpringfield', taxNumber: 'GB 123 4567 89', receiptFooter: 'See you soon!' };

function fieldOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(EventValidationError);
    return (err as EventValidationError).field;
  }
  throw new Error('expected an EventValidationError');
}

describe('what a receipt says about the business (location.details_set)', () => {
  it('[EVT12][CMD2] a name is required, the rest optional and bounded; only a manager writes it; each field is an LWW register', () => {
    expect(validatePayload('location.details_set', { name: 'Bistro' }).v).toBe(1);
    expect(fieldOf(() => validatePayload('location.details_set', { address: 'x' }))).toBe('payload.name');
    expect(fieldOf(() => validatePayload('location.details_set', { ...details, address: 'x'.repeat(301) }))).toBe('payload.address');
    expect(fieldOf(() => validatePayload('location.details_set', { ...details, taxNumber: '' }))).toBe('payload.taxNumber');
    expect(fieldOf(() => validatePayload('location.details_set', { ...details, logo: 'png' }))).toBe('payload.logo');
    expect(MANAGER_EVENT_TYPES.has('location.details_set')).toBe(true);
    expect(LOCATION_MERGE_POLICY['location.details_set']).toMatchObject({ merge: 'lww', fields: ['name', 'address', 'taxNumber', 'receiptFooter'] });
  });

  it('[PRJ20][PRJ4] the latest write holds in any order; a field it leaves out is cleared; an older concurrent write is superseded', () => {
    const a = new FixedClockTerminal('manager-1');
    const b = new FixedClockTerminal('manager-2', -60_000);
    const first = a.write(LOCATION, 'location.details_set', details);
    // A tablet a minute slow that had seen nothing: the older stamp.
    const stale = b.write(LOCATION, 'location.details_set', { name: 'Old name', taxNumber: 'OLD' });
    const moved = a.write(LOCATION, 'location.details_set', { name: 'The Harbour Bistro', address: '2 Quay Road\nSpringfield', taxNumber: 'GB 123 4567 89' });
    for (const order of [
      [first, stale, moved],
      [moved, stale, first],
      [stale, moved, first, moved],
    ]) {
      expect(projectAggregate(order)).toMatchObject({ kind: 'location', name: 'The Harbour Bistro', address: '2 Quay Road\nSpringfield', taxNumber: 'GB 123 4567 89', receiptFooter: null });
    }
    expect(foldedAs(projectAggregate([first, stale, moved]), stale).status).toBe('superseded');
  });

  it('[PRJ20] only location events fold into it', () => {
    const a = new FixedClockTerminal('manager-1');
    const wrong = a.write(LOCATION, 'table.defined', { tableId: 't1', label: 'T1', seats: 2 });
    const v = projectAggregate([a.write(LOCATION, 'location.details_set', details), wrong]);
    expect(foldedAs(v, wrong).status).toBe('invalid');
    expect(v).toMatchObject({ name: 'The Harbour Bistro' });
  });
});
