// The language context: messages, formatting and direction for the chosen
// language. The choice is remembered and mirrored on <html lang dir>.
import { createContext, useCallback, useContext, useEffect, useMemo, useState } from 'react';
import type { ReactNode } from 'react';
import { en, type MessageKey } from './en';
import { fa } from './fa';
import { LANG_STORAGE_KEY, initialLang } from './lang';
import { LOCALES, type Lang, type LocaleInfo } from './format';
import { createI18n } from './translator';

const DICTIONARIES = { en, fa } as const;

export type PluralKey = {
  [K in MessageKey]: K extends `${infer Base}.one` ? Base : never;
}[MessageKey];

export type Translate = (key: MessageKey, params?: Record<string, string | number>) => string;

export interface I18n {
  lang: Lang;
  locale: LocaleInfo;
  setLang: (lang: Lang) => void;
  t: Translate;
  number: (value: number) => string;
  percent: (value: number) => string;
  date: (date: string) => string;
  /** "Wed, Dec 2" / "چهارشنبه ۱۱ آذر": for notices about the shown month. */
  shortDate: (date: string) => string;
  /** A message with a count: `{key}.one` / `{key}.other` by the language's plural rules. */
  plural: (key: PluralKey, n: number, params?: Record<string, string | number>) => string;
  /** "a, b and c" / "a، b و c". */
  list: (items: string[]) => string;
  /** The separator of a list in running text: ", " / "، ". */
  sep: string;
  /**
   * Between two short facts on one line ("8 left · 1 held"): a middle dot in
   * English; in Persian the Arabic comma, since a dot beside a digit reads as
   * a Persian zero ("۱ ·" looks like "۱۰").
   */
  dot: string;
  /**
   * Between the day's number and what else a day cell writes, in its
   * accessible name: a mark that name-matching tools (and speech input) skip
   * as punctuation in both languages.
   */
  visibleSep: string;
  longDate: (date: string) => string;
  dayOfMonth: (date: string) => string;
  monthTitle: (date: string) => string;
  timestamp: (timestamp: string) => string;
  /** A timestamp's local time of day, "14:32". */
  clock: (timestamp: string) => string;
  weekdays: (width?: 'short' | 'long' | 'narrow') => string[];
  weekday: (index: number) => string;
}

const I18nContext = createContext<I18n | null>(null);

export function I18nProvider({ children }: { children: ReactNode }) {
  const [lang, setLangState] = useState<Lang>(initialLang);

  const setLang = useCallback((next: Lang) => {
    localStorage.setItem(LANG_STORAGE_KEY, next);
    setLangState(next);
  }, []);

  useEffect(() => {
    const root = document.documentElement;
    root.lang = LOCALES[lang].tag;
    root.dir = LOCALES[lang].dir;
    document.title = DICTIONARIES[lang]['app.title'];
  }, [lang]);

  const value = useMemo(() => createI18n(lang, setLang), [lang, setLang]);

  return <I18nContext.Provider value={value}>{children}</I18nContext.Provider>;
}

export function useI18n(): I18n {
  const value = useContext(I18nContext);
  if (!value) throw new Error('useI18n outside I18nProvider');
  return value;
}
