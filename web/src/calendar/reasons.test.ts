import { describe, expect, it } from 'vitest';
import type { Day } from '../api/types';
import { closedReason, nearestBookable, opensOn } from './reasons';

const settings = { minDate: '2026-05-10', maxDate: '2026-07-09', closedWeekdays: ['friday' as const], bookingWindowDays: 60 };

function day(date: string, status: Day['status'], reason: Day['reason'] = null, remaining = 5): Day {
  return { date, capacity: 10, used: 10 - remaining, held: 0, remaining, percent: 50, status, reason, note: null, version: 1 };
}

describe('closedReason', () => {
  it('takes the server’s reason when it sends one', () => {
    expect(closedReason(day('2026-05-20', 'closed', 'no_capacity'), settings)).toBe('no_capacity');
  });
  it('works it out from the settings for a server that does not send it yet', () => {
    expect(closedReason(day('2026-05-09', 'closed'), settings)).toBe('past');
    expect(closedReason(day('2026-07-10', 'closed'), settings)).toBe('not_open_yet');
    expect(closedReason(day('2026-05-15', 'closed'), settings)).toBe('closed_weekday'); // a Friday
    expect(closedReason(day('2026-05-14', 'closed'), settings)).toBe('no_capacity');
  });
  it('is null for a day that is not closed', () => {
    expect(closedReason(day('2026-05-09', 'full'), settings)).toBeNull();
    expect(closedReason(undefined, settings)).toBeNull();
  });
  it('a day beyond the window opens when it enters the window', () => {
    expect(opensOn('2026-07-10', settings)).toBe('2026-05-11');
  });
});

describe('nearestBookable', () => {
  it('offers the nearest days with room on either side, in date order, never full or closed ones', () => {
    const days = [
      day('2026-05-11', 'available'),
      day('2026-05-12', 'full', null, 0),
      day('2026-05-13', 'closed'),
      day('2026-05-14', 'limited', null, 1),
      day('2026-05-15', 'full', null, 0),
      day('2026-05-16', 'available'),
      day('2026-05-20', 'available'),
    ];
    expect(nearestBookable('2026-05-15', days, 3).map((d) => d.date)).toEqual(['2026-05-11', '2026-05-14', '2026-05-16']);
    expect(nearestBookable('2026-05-15', days, 1).map((d) => d.date)).toEqual(['2026-05-16']); // a tie goes to the later day
    expect(nearestBookable('2026-05-15', [day('2026-05-12', 'full', null, 0)])).toEqual([]);
  });
});
