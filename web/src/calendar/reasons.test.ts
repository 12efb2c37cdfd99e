import { describe, expect, it } from 'vitest';
import type { Day } from '../api/types';
import { closedReason, daySummary, fullByViewer, heldForViewer, nearestBookable, opensOn } from './reasons';

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

const dayOf = (over: Partial<Day>): Day => ({
  date: '2026-12-02',
  capacity: 1,
  used: 0,
  held: 0,
  remaining: 1,
  percent: 0,
  status: 'available',
  version: 1,
  reason: null,
  note: null,
  ...over,
});

describe('a day full only because of one’s own hold', () => {
  const lastSlotHeld = dayOf({ held: 1, remaining: 0, status: 'full' });

  it('is bookable for its holder, and reads "Held for you" in the sticky bar', () => {
    expect(heldForViewer(lastSlotHeld, true)).toBe(true);
    expect(daySummary(lastSlotHeld, true)).toEqual({ key: 'day.heldForYou' });
  });

  it('is full for everyone else, and for a holder whose hold is gone', () => {
    expect(heldForViewer(lastSlotHeld, false)).toBe(false);
    expect(daySummary(lastSlotHeld, false)).toEqual({ key: 'status.full' });
    const booked = dayOf({ used: 1, remaining: 0, status: 'full' });
    expect(heldForViewer(booked, true)).toBe(false);
    expect(daySummary(booked, true)).toEqual({ key: 'status.full' });
  });

  it('a day with room still says how much is left', () => {
    expect(daySummary(dayOf({ capacity: 3, held: 1, remaining: 2 }), true)).toEqual({ key: 'day.leftHeld', params: { n: 2, held: 1 } });
    expect(daySummary(dayOf({ capacity: 3, remaining: 3 }), false)).toEqual({ key: 'day.left', params: { n: 3 } });
    expect(daySummary(dayOf({ capacity: 0, remaining: 0, status: 'closed', reason: 'no_capacity' }), true)).toEqual({ key: 'status.closed' });
  });
});

describe('a day full because of the viewer is no news to them', () => {
  const lastSlotHeld = dayOf({ held: 1, remaining: 0, percent: 100, status: 'full' });
  // their hold became their booking in one transaction: nothing held any more
  const lastSlotBooked = dayOf({ used: 1, remaining: 0, percent: 100, status: 'full', version: 2 });

  it('their own hold on the last slot', () => {
    expect(fullByViewer(lastSlotHeld, { holding: true, booking: false })).toBe(true);
  });

  it('their own booking on its way: its live update before the answer, with the hold still kept or already forgotten', () => {
    // the case that read "has just become full (1 of 1 booked)" to the person booking it
    expect(heldForViewer(lastSlotBooked, true)).toBe(false);
    expect(fullByViewer(lastSlotBooked, { holding: true, booking: true })).toBe(true);
    // the answer has come: the hold is forgotten, the form not reset yet
    expect(fullByViewer(lastSlotHeld, { holding: false, booking: true })).toBe(true);
    expect(fullByViewer(lastSlotBooked, { holding: false, booking: true })).toBe(true);
  });

  it('is news when someone else filled it, or it closed, or it is not full', () => {
    expect(fullByViewer(lastSlotBooked, { holding: true, booking: false })).toBe(false); // their hold is gone (another tab)
    expect(fullByViewer(lastSlotHeld, { holding: false, booking: false })).toBe(false); // someone else's hold
    expect(fullByViewer(dayOf({ capacity: 0, remaining: 0, status: 'closed', reason: 'no_capacity' }), { holding: true, booking: true })).toBe(false);
    expect(fullByViewer(dayOf({}), { holding: true, booking: true })).toBe(false);
    expect(fullByViewer(undefined, { holding: true, booking: true })).toBe(false);
  });
});
