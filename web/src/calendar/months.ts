// Months of the Gregorian or the Persian (Jalali) calendar, computed from the
// browser's Intl data: a month is the run of consecutive dates whose
// (year, month) in that calendar is the same.
import { addDays, weekdayIndex } from './dates';

export type CalendarSystem = 'gregory' | 'persian';

export interface CalendarParts {
  year: number;
  month: number;
  day: number;
}

const partsFormatters = new Map<CalendarSystem, Intl.DateTimeFormat>();

function partsFormatter(system: CalendarSystem): Intl.DateTimeFormat {
  let formatter = partsFormatters.get(system);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat(`en-US-u-ca-${system}-nu-latn`, {
      timeZone: 'UTC',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
    });
    partsFormatters.set(system, formatter);
  }
  return formatter;
}

/** The date's year, month and day in the given calendar. */
export function calendarParts(date: string, system: CalendarSystem): CalendarParts {
  if (system === 'gregory') {
    const [year, month, day] = date.split('-').map(Number);
    return { year, month, day };
  }
  const parts = partsFormatter(system).formatToParts(new Date(`${date}T00:00:00Z`));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? NaN);
  // Some engines label the calendar year "relatedYear"; the Persian year is "year".
  return { year: get('year'), month: get('month'), day: get('day') };
}

/** The first date of the month that contains `date`. */
export function monthStart(date: string, system: CalendarSystem): string {
  return addDays(date, -(calendarParts(date, system).day - 1));
}

/** Every date of the month that starts at `start`. */
export function monthDates(start: string, system: CalendarSystem): string[] {
  const { month } = calendarParts(start, system);
  const dates = [start];
  for (;;) {
    const next = addDays(dates[dates.length - 1], 1);
    if (calendarParts(next, system).month !== month) return dates;
    dates.push(next);
  }
}

export function nextMonthStart(start: string, system: CalendarSystem): string {
  const dates = monthDates(start, system);
  return addDays(dates[dates.length - 1], 1);
}

export function previousMonthStart(start: string, system: CalendarSystem): string {
  return monthStart(addDays(start, -1), system);
}

/**
 * The month as weeks of seven cells, starting on `weekStart` (0 = Sunday,
 * 6 = Saturday); cells outside the month are null.
 */
export function monthGrid(
  start: string,
  system: CalendarSystem,
  weekStart: number,
): (string | null)[][] {
  const dates = monthDates(start, system);
  const lead = (weekdayIndex(start) - weekStart + 7) % 7;
  const cells: (string | null)[] = [...Array<null>(lead).fill(null), ...dates];
  while (cells.length % 7 !== 0) cells.push(null);
  const weeks: (string | null)[][] = [];
  for (let i = 0; i < cells.length; i += 7) weeks.push(cells.slice(i, i + 7));
  return weeks;
}
