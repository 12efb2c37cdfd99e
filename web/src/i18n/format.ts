// Locale-aware formatting through the browser's Intl: English with the
// Gregorian calendar, Persian with the Persian (Jalali) calendar and Persian
// digits. Dates are plain "YYYY-MM-DD" strings, formatted at UTC midnight so
// no time zone can shift them.
import type { CalendarSystem } from '../calendar/months';

export type Lang = 'en' | 'fa';

export interface LocaleInfo {
  lang: Lang;
  tag: string;
  dir: 'ltr' | 'rtl';
  calendar: CalendarSystem;
  /** 0 = Sunday, 6 = Saturday. */
  weekStart: number;
}

export const LOCALES: Record<Lang, LocaleInfo> = {
  en: { lang: 'en', tag: 'en-US', dir: 'ltr', calendar: 'gregory', weekStart: 0 },
  fa: { lang: 'fa', tag: 'fa-IR', dir: 'rtl', calendar: 'persian', weekStart: 6 },
};

const PERSIAN_DIGITS = '۰۱۲۳۴۵۶۷۸۹';

/** Replaces ASCII digits with Persian ones (leaves everything else alone). */
export function toPersianDigits(text: string): string {
  return text.replace(/[0-9]/g, (d) => PERSIAN_DIGITS[Number(d)]);
}

/** Reads Persian or Arabic-Indic digits back as ASCII (for number inputs). */
export function toAsciiDigits(text: string): string {
  return text
    .replace(/[۰-۹]/g, (d) => String(d.charCodeAt(0) - 0x06f0))
    .replace(/[٠-٩]/g, (d) => String(d.charCodeAt(0) - 0x0660));
}

const cache = new Map<string, Intl.DateTimeFormat | Intl.NumberFormat>();

function dateFormat(lang: Lang, options: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  const key = `d|${lang}|${JSON.stringify(options)}`;
  let format = cache.get(key) as Intl.DateTimeFormat | undefined;
  if (!format) {
    const locale = LOCALES[lang];
    format = new Intl.DateTimeFormat(locale.tag, {
      ...options,
      calendar: locale.calendar,
      timeZone: 'UTC',
    });
    cache.set(key, format);
  }
  return format;
}

function numberFormat(lang: Lang): Intl.NumberFormat {
  const key = `n|${lang}`;
  let format = cache.get(key) as Intl.NumberFormat | undefined;
  if (!format) {
    format = new Intl.NumberFormat(LOCALES[lang].tag, { maximumFractionDigits: 0 });
    cache.set(key, format);
  }
  return format;
}

function utc(date: string): Date {
  return new Date(`${date}T00:00:00Z`);
}

function parts(date: string, lang: Lang, options: Intl.DateTimeFormatOptions) {
  const list = dateFormat(lang, options).formatToParts(utc(date));
  return (type: Intl.DateTimeFormatPartTypes) => list.find((p) => p.type === type)?.value ?? '';
}

/** A whole number in the language's digits ("1,234" / "۱٬۲۳۴"). */
export function formatNumber(value: number, lang: Lang): string {
  const text = numberFormat(lang).format(value);
  return lang === 'fa' ? toPersianDigits(text) : text;
}

export function formatPercent(value: number, lang: Lang): string {
  return lang === 'fa' ? `${formatNumber(value, lang)}٪` : `${formatNumber(value, lang)}%`;
}

/** "May 2026" / "اردیبهشت ۱۴۰۵" — the calendar's own month name. */
export function formatMonthTitle(date: string, lang: Lang): string {
  const get = parts(date, lang, { year: 'numeric', month: 'long' });
  const text = `${get('month')} ${get('year')}`;
  return lang === 'fa' ? toPersianDigits(text) : text;
}

/** The day of the month in the language's calendar and digits. */
export function formatDayOfMonth(date: string, lang: Lang): string {
  const text = parts(date, lang, { day: 'numeric' })('day');
  return lang === 'fa' ? toPersianDigits(text) : text;
}

/** "Friday, May 15, 2026" / "جمعه ۲۵ اردیبهشت ۱۴۰۵". */
export function formatLongDate(date: string, lang: Lang): string {
  if (lang === 'en') return dateFormat(lang, { dateStyle: 'full' }).format(utc(date));
  const get = parts(date, lang, { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' });
  return toPersianDigits(`${get('weekday')} ${get('day')} ${get('month')} ${get('year')}`);
}

/** "May 15, 2026" / "۲۵ اردیبهشت ۱۴۰۵". */
export function formatDate(date: string, lang: Lang): string {
  if (lang === 'en') return dateFormat(lang, { dateStyle: 'medium' }).format(utc(date));
  const get = parts(date, lang, { day: 'numeric', month: 'long', year: 'numeric' });
  return toPersianDigits(`${get('day')} ${get('month')} ${get('year')}`);
}

/** "Wed, Dec 2" / "چهارشنبه ۱۱ آذر": weekday, day and month, no year. */
export function formatShortDate(date: string, lang: Lang): string {
  if (lang === 'en') return dateFormat(lang, { weekday: 'short', month: 'short', day: 'numeric' }).format(utc(date));
  const get = parts(date, lang, { weekday: 'long', day: 'numeric', month: 'long' });
  return toPersianDigits(`${get('weekday')} ${get('day')} ${get('month')}`);
}

/** A timestamp (RFC 3339) as a short local date and time. */
export function formatTimestamp(timestamp: string, lang: Lang): string {
  const locale = LOCALES[lang];
  const text = new Intl.DateTimeFormat(locale.tag, {
    calendar: locale.calendar,
    dateStyle: 'short',
    timeStyle: 'short',
  }).format(new Date(timestamp));
  return lang === 'fa' ? toPersianDigits(text).replace(/, /g, '، ') : text;
}

/** A timestamp's local time of day: "14:32" / "۱۴:۳۲". */
export function formatClock(timestamp: string, lang: Lang): string {
  const text = new Intl.DateTimeFormat(LOCALES[lang].tag, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(
    new Date(timestamp),
  );
  return lang === 'fa' ? toPersianDigits(text) : text;
}

/** Short weekday names for the calendar header, starting on the week's first day. */
export function weekdayNames(lang: Lang, width: 'short' | 'long' | 'narrow' = 'short'): string[] {
  const { weekStart } = LOCALES[lang];
  // 2026-11-01 is a Sunday.
  return Array.from({ length: 7 }, (_, i) => {
    const day = String(1 + ((weekStart + i) % 7)).padStart(2, '0');
    return dateFormat(lang, { weekday: width }).format(utc(`2026-11-${day}`));
  });
}

/** The weekday name of a weekday index (0 = Sunday). */
export function weekdayName(index: number, lang: Lang): string {
  return dateFormat(lang, { weekday: 'long' }).format(utc(`2026-11-0${1 + index}`));
}

/**
 * Fills `{name}` placeholders; numbers are written in the language's digits.
 * Unknown placeholders stay as they are, so a missing value is visible.
 */
export function interpolate(
  template: string,
  params: Record<string, string | number> | undefined,
  lang: Lang,
): string {
  if (!params) return template;
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => {
    const value = params[name];
    if (value === undefined) return whole;
    return typeof value === 'number' ? formatNumber(value, lang) : value;
  });
}
