import { describe, expect, it } from 'vitest';
import {
  formatClock,
  formatDate,
  formatDayOfMonth,
  formatLongDate,
  formatMonthTitle,
  formatNumber,
  formatPercent,
  formatTimestamp,
  interpolate,
  toAsciiDigits,
  toPersianDigits,
  weekdayNames,
} from './format';

const JALALI_MONTHS = [
  'فروردین', 'اردیبهشت', 'خرداد', 'تیر', 'مرداد', 'شهریور',
  'مهر', 'آبان', 'آذر', 'دی', 'بهمن', 'اسفند',
];

describe('Persian digits', () => {
  it('converts both ways', () => {
    expect(toPersianDigits('12/10 — 0%')).toBe('۱۲/۱۰ — ۰%');
    expect(toAsciiDigits('۱۲۳')).toBe('123');
    expect(toAsciiDigits('٤٥')).toBe('45');
  });

  it('formats numbers and percents in the language', () => {
    expect(formatNumber(7, 'en')).toBe('7');
    expect(formatNumber(7, 'fa')).toBe('۷');
    expect(formatNumber(60, 'fa')).toBe('۶۰');
    expect(formatPercent(60, 'en')).toBe('60%');
    expect(formatPercent(60, 'fa')).toBe('۶۰٪');
  });
});

describe('Jalali formatting', () => {
  it('names the Jalali month and year in Persian digits', () => {
    // 15 May 2026 = 25 Ordibehesht 1405
    expect(formatMonthTitle('2026-05-15', 'fa')).toBe('اردیبهشت ۱۴۰۵');
    expect(formatDayOfMonth('2026-05-15', 'fa')).toBe('۲۵');
    expect(formatDate('2026-05-15', 'fa')).toBe('۲۵ اردیبهشت ۱۴۰۵');
    expect(formatLongDate('2026-05-15', 'fa')).toBe('جمعه ۲۵ اردیبهشت ۱۴۰۵');
  });

  it('has a Jalali month name for every month of the year', () => {
    const names = new Set<string>();
    for (let m = 1; m <= 12; m++) {
      names.add(formatMonthTitle(`2026-${String(m).padStart(2, '0')}-10`, 'fa').split(' ')[0]);
    }
    expect([...names].every((n) => JALALI_MONTHS.includes(n))).toBe(true);
    expect(names.size).toBe(12);
  });

  it('starts the Persian week on Saturday and the English one on Sunday', () => {
    expect(weekdayNames('fa', 'long')[0]).toBe('شنبه');
    expect(weekdayNames('en', 'long')[0]).toBe('Sunday');
  });

  it('keeps English Gregorian', () => {
    expect(formatMonthTitle('2026-05-15', 'en')).toBe('May 2026');
    expect(formatDayOfMonth('2026-05-15', 'en')).toBe('15');
    expect(formatLongDate('2026-05-15', 'en')).toBe('Friday, May 15, 2026');
  });
});

describe('timestamps', () => {
  it('uses the Persian comma and digits in Persian', () => {
    const text = formatTimestamp('2026-05-15T09:30:00Z', 'fa');
    expect(text).not.toMatch(/[0-9,]/);
    expect(text).toMatch(/[۰-۹]/);
  });
});

describe('interpolate', () => {
  it('fills placeholders, numbers in the language digits', () => {
    expect(interpolate('{n} left on {date}', { n: 3, date: 'x' }, 'en')).toBe('3 left on x');
    expect(interpolate('{n} جای خالی', { n: 3 }, 'fa')).toBe('۳ جای خالی');
    expect(interpolate('{missing}', {}, 'en')).toBe('{missing}');
  });
});

describe('formatClock (a hold\'s "until 14:32")', () => {
  it('is the local hour and minute, 24-hour, with Persian digits in Persian', () => {
    const ts = '2026-12-01T14:32:10Z';
    const local = new Date(ts);
    const hh = String(local.getHours()).padStart(2, '0');
    const mm = String(local.getMinutes()).padStart(2, '0');
    expect(formatClock(ts, 'en')).toBe(`${hh}:${mm}`);
    expect(toAsciiDigits(formatClock(ts, 'fa'))).toBe(`${hh}:${mm}`);
    expect(formatClock(ts, 'fa')).toMatch(/^[۰-۹]{2}:[۰-۹]{2}$/);
  });
});
