// The `I18n` of one language, as plain functions: the provider's value, and
// what the unit tests word messages with (no React needed).
import { en, type MessageKey } from './en';
import { fa } from './fa';
import {
  LOCALES,
  formatClock,
  formatDate,
  formatDayOfMonth,
  formatLongDate,
  formatMonthTitle,
  formatNumber,
  formatPercent,
  formatShortDate,
  formatTimestamp,
  interpolate,
  weekdayName,
  weekdayNames,
  type Lang,
} from './format';
import type { I18n } from './I18nProvider';

const DICTIONARIES = { en, fa } as const;

export function createI18n(lang: Lang, setLang: (lang: Lang) => void = () => {}): I18n {
  const messages = DICTIONARIES[lang];
  return {
    lang,
    locale: LOCALES[lang],
    setLang,
    t: (key, params) => interpolate(messages[key] ?? en[key] ?? key, params, lang),
    number: (v) => formatNumber(v, lang),
    percent: (v) => formatPercent(v, lang),
    date: (d) => formatDate(d, lang),
    shortDate: (d) => formatShortDate(d, lang),
    plural: (key, n, params) => {
      const form = new Intl.PluralRules(LOCALES[lang].tag).select(n) === 'one' ? 'one' : 'other';
      const full = `${key}.${form}` as MessageKey;
      return interpolate(messages[full] ?? en[full], { n, ...params }, lang);
    },
    sep: lang === 'fa' ? '، ' : ', ',
    dot: lang === 'fa' ? '، ' : ' · ',
    visibleSep: lang === 'fa' ? ' – ' : ', ',
    list: (items) => new Intl.ListFormat(LOCALES[lang].tag, { type: 'conjunction' }).format(items),
    longDate: (d) => formatLongDate(d, lang),
    dayOfMonth: (d) => formatDayOfMonth(d, lang),
    monthTitle: (d) => formatMonthTitle(d, lang),
    timestamp: (ts) => formatTimestamp(ts, lang),
    clock: (ts) => formatClock(ts, lang),
    weekdays: (width) => weekdayNames(lang, width),
    weekday: (index) => weekdayName(index, lang),
  };
}
