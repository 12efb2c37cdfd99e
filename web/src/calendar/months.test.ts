import { describe, expect, it } from 'vitest';
import { addDays, daysBetween, weekdayIndex } from './dates';
import {
  calendarParts,
  monthDates,
  monthGrid,
  monthStart,
  nextMonthStart,
  previousMonthStart,
} from './months';

describe('dates', () => {
  it('adds days across months, years and leap days', () => {
    expect(addDays('2024-02-28', 1)).toBe('2024-02-29');
    expect(addDays('2024-02-29', 1)).toBe('2024-03-01');
    expect(addDays('2026-12-31', 1)).toBe('2027-01-01');
    expect(addDays('2026-03-01', -1)).toBe('2026-02-28');
    expect(daysBetween('2026-01-01', '2026-03-01')).toBe(59);
  });

  it('knows the weekday', () => {
    expect(weekdayIndex('2026-05-15')).toBe(5); // a Friday
  });
});

describe('Gregorian months', () => {
  it('finds the month around a date', () => {
    expect(monthStart('2026-02-17', 'gregory')).toBe('2026-02-01');
    expect(monthDates('2026-02-01', 'gregory')).toHaveLength(28);
    expect(nextMonthStart('2026-12-01', 'gregory')).toBe('2027-01-01');
    expect(previousMonthStart('2026-01-01', 'gregory')).toBe('2025-12-01');
  });

  it('lays a month out in weeks starting on Sunday', () => {
    const grid = monthGrid('2026-11-01', 'gregory', 0); // 1 Nov 2026 is a Sunday
    expect(grid[0][0]).toBe('2026-11-01');
    expect(grid.every((week) => week.length === 7)).toBe(true);
    expect(grid.flat().filter(Boolean)).toHaveLength(30);
  });
});

describe('Persian (Jalali) months', () => {
  it('maps Nowruz to 1 Farvardin', () => {
    expect(calendarParts('2025-03-21', 'persian')).toEqual({ year: 1404, month: 1, day: 1 });
    expect(calendarParts('2026-03-21', 'persian')).toEqual({ year: 1405, month: 1, day: 1 });
  });

  it('finds Jalali month boundaries', () => {
    expect(monthStart('2025-04-10', 'persian')).toBe('2025-03-21');
    expect(monthDates('2025-03-21', 'persian')).toHaveLength(31); // Farvardin
    expect(nextMonthStart('2025-03-21', 'persian')).toBe('2025-04-21'); // 1 Ordibehesht
    expect(monthDates('2025-09-23', 'persian')).toHaveLength(30); // Mehr
    expect(previousMonthStart('2025-03-21', 'persian')).toBe(monthStart('2025-03-20', 'persian'));
  });

  it('lays a Jalali month out in weeks starting on Saturday', () => {
    const grid = monthGrid('2025-03-21', 'persian', 6); // 21 Mar 2025 is a Friday
    expect(grid[0].slice(0, 6)).toEqual([null, null, null, null, null, null]);
    expect(grid[0][6]).toBe('2025-03-21');
    expect(grid.flat().filter(Boolean)).toHaveLength(31);
  });
});
