import { describe, expect, it } from 'vitest';
import type { Availability, Day } from '../api/types';
import { DayJournal, describeChange, mergeDays, toDay } from './days';

function day(date: string, used: number, version: number, capacity = 10): Day {
  const remaining = Math.max(capacity - used, 0);
  return {
    date,
    capacity,
    used,
    held: 0,
    remaining,
    percent: Math.round((used * 100) / capacity),
    status: remaining === 0 ? 'full' : used * 100 >= 60 * capacity ? 'limited' : 'available',
    reason: null,
    note: null,
    version,
  };
}

const range: Availability = {
  version: 7,
  days: [day('2026-05-14', 0, 0), day('2026-05-15', 2, 5), day('2026-05-16', 1, 7)],
};

describe('mergeDays', () => {
  it('applies a newer event to its day, in place of the old numbers', () => {
    const merged = mergeDays(range, [day('2026-05-15', 3, 8)])!;
    expect(merged.days[1]).toEqual(day('2026-05-15', 3, 8));
    expect(merged.version).toBe(8);
    // the other days are the very same objects
    expect(merged.days[0]).toBe(range.days[0]);
    expect(merged.days[2]).toBe(range.days[2]);
  });

  it('ignores an event that is not newer (duplicate or stale)', () => {
    expect(mergeDays(range, [day('2026-05-15', 9, 5)])).toBe(range);
    expect(mergeDays(range, [day('2026-05-15', 1, 4)])).toBe(range);
  });

  it('is order-safe: out-of-order events end on the newest', () => {
    const a = mergeDays(mergeDays(range, [day('2026-05-15', 4, 10)]), [day('2026-05-15', 3, 9)])!;
    const b = mergeDays(mergeDays(range, [day('2026-05-15', 3, 9)]), [day('2026-05-15', 4, 10)])!;
    expect(a).toEqual(b);
    expect(a.days[1].used).toBe(4);
  });

  it('takes the newest of several changes for one date in a batch', () => {
    const merged = mergeDays(range, [day('2026-05-14', 2, 12), day('2026-05-14', 1, 11)])!;
    expect(merged.days[0].used).toBe(2);
    expect(merged.days[0].version).toBe(12);
  });

  it('ignores dates outside the range and tolerates an empty cache', () => {
    expect(mergeDays(range, [day('2026-06-01', 1, 99)])).toBe(range);
    expect(mergeDays(undefined, [day('2026-05-15', 1, 99)])).toBeUndefined();
  });

  it('keeps what the cache adds to a range (such as the version it was fetched at)', () => {
    const cached = { ...range, fetchedVersion: 7 };
    expect(mergeDays(cached, [day('2026-05-15', 3, 8)])).toMatchObject({ fetchedVersion: 7, version: 8 });
  });

  it('strips event-only fields such as timestamp', () => {
    const event = { ...day('2026-05-15', 3, 8), timestamp: '2026-05-15T09:30:00Z' };
    const merged = mergeDays(range, [event])!;
    expect(merged.days[1]).not.toHaveProperty('timestamp');
    expect(toDay(event)).toEqual(day('2026-05-15', 3, 8));
  });

  it('gives fields an older server does not send (held, reason, note) their neutral values', () => {
    const { held: _h, reason: _r, note: _n, ...old } = day('2026-05-15', 3, 8);
    expect(toDay(old)).toEqual(day('2026-05-15', 3, 8));
    const closed = { ...day('2026-05-15', 0, 9), status: 'closed' as const, reason: 'past' as const, note: 'x', held: 2 };
    expect(toDay(closed)).toMatchObject({ reason: 'past', note: 'x', held: 2 });
    // a reason only ever goes with a closed day
    expect(toDay({ ...day('2026-05-15', 0, 9), reason: 'past' as const })).toMatchObject({ reason: null });
  });
});

describe('DayJournal (events buffered while a range is fetched)', () => {
  it('applies buffered events newer than the fetched days, and only those', () => {
    const journal = new DayJournal();
    expect(journal.record(day('2026-05-15', 3, 8))).toBe(true);
    expect(journal.record(day('2026-05-16', 0, 6))).toBe(true); // older than the fetch
    expect(journal.record(day('2026-05-15', 3, 8))).toBe(false); // duplicate
    const merged = journal.apply(range);
    expect(merged.days[1].used).toBe(3);
    expect(merged.days[2]).toBe(range.days[2]);
  });

  it('keeps the newest per date whatever the arrival order', () => {
    const journal = new DayJournal();
    journal.record(day('2026-05-15', 4, 10));
    expect(journal.record(day('2026-05-15', 3, 9))).toBe(false);
    expect(journal.get('2026-05-15')?.used).toBe(4);
  });
});

describe('describeChange', () => {
  it('tells bookings, freed slots and capacity changes apart', () => {
    expect(describeChange(day('d', 1, 1), day('d', 2, 2))).toBe('booked');
    expect(describeChange(day('d', 2, 1), day('d', 1, 2))).toBe('freed');
    expect(describeChange(day('d', 2, 1), day('d', 2, 2, 5))).toBe('capacity');
  });
});
