// The language context: messages, formatting and direction for the chosen
// language. The choice is remembered and mirrored on <html lang dir>.
import { createContext, useCallback, useContext, useEffect, useMemo, useState } from 'react';
import type { ReactNode } from 'react';
import { en, type MessageKey } from './en';
import { fa } from './fa';
import {
  LOCALES,
  formatDate,
  formatDayOfMonth,
  formatLongDate,
  formatMonthTitle,
  formatNumber,
  formatPercent,
  formatTimestamp,
  interpolate,
  weekdayName,
  weekdayNames,
  type Lang,
  type LocaleInfo,
} from './format';

const DICTIONARIES = { en, fa } as const;
const STORAGE_KEY = 'request-desk.lang';

export type Translate = (key: MessageKey, params?: Record<string, string | number>) => string;

export interface I18n {
  lang: Lang;
  locale: LocaleInfo;
  setLang: (lang: Lang) => void;
  t: Translate;
  number: (value: number) => string;
  percent: (value: number) => string;
  date: (date: string) => string;
  longDate: (date: string) => string;
  dayOfMonth: (date: string) => string;
  monthTitle: (date: string) => string;
  timestamp: (timestamp: string) => string;
  weekdays: (width?: 'short' | 'long') => string[];
  weekday: (index: number) => string;
}

const I18nContext = createContext<I18n | null>(null);

function initialLang(): Lang {
  const stored = localStorage.getItem(STORAGE_KEY);
  if (stored === 'en' || stored === 'fa') return stored;
  return navigator.language?.toLowerCase().startsWith('fa') ? 'fa' : 'en';
}

export function I18nProvider({ children }: { children: ReactNode }) {
  const [lang, setLangState] = useState<Lang>(initialLang);

  const setLang = useCallback((next: Lang) => {
    localStorage.setItem(STORAGE_KEY, next);
    setLangState(next);
  }, []);

  useEffect(() => {
    const root = document.documentElement;
    root.lang = LOCALES[lang].tag;
    root.dir = LOCALES[lang].dir;
    document.title = DICTIONARIES[lang]['app.title'];
  }, [lang]);

  const value = useMemo<I18n>(() => {
    const messages = DICTIONARIES[lang];
    return {
      lang,
      locale: LOCALES[lang],
      setLang,
      t: (key, params) => interpolate(messages[key] ?? en[key] ?? key, params, lang),
      number: (v) => formatNumber(v, lang),
      percent: (v) => formatPercent(v, lang),
      date: (d) => formatDate(d, lang),
      longDate: (d) => formatLongDate(d, lang),
      dayOfMonth: (d) => formatDayOfMonth(d, lang),
      monthTitle: (d) => formatMonthTitle(d, lang),
      timestamp: (ts) => formatTimestamp(ts, lang),
      weekdays: (width) => weekdayNames(lang, width),
      weekday: (index) => weekdayName(index, lang),
    };
  }, [lang, setLang]);

  return <I18nContext.Provider value={value}>{children}</I18nContext.Provider>;
}

export function useI18n(): I18n {
  const value = useContext(I18nContext);
  if (!value) throw new Error('useI18n outside I18nProvider');
  return value;
}
