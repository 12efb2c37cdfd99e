// Turns live events into feedback: a brief highlight on the changed days and
// a toast. Nothing here moves focus or scroll.
import { createContext, useContext, useEffect, useRef, useState } from 'react';
import type { ReactNode } from 'react';
import { useToasts } from '../components/Toasts';
import { useI18n } from '../i18n/I18nProvider';
import { describeChange } from './days';
import { useLive } from './LiveProvider';

const HIGHLIGHT_MS = 2000;
const HighlightContext = createContext<ReadonlySet<string>>(new Set());

export function LiveFeedback({ children }: { children: ReactNode }) {
  const live = useLive();
  const { t, date } = useI18n();
  const toasts = useToasts();
  const [highlighted, setHighlighted] = useState<ReadonlySet<string>>(new Set());
  const timers = useRef(new Map<string, ReturnType<typeof setTimeout>>());

  // latest translators without resubscribing
  const i18nRef = useRef({ t, date });
  i18nRef.current = { t, date };

  useEffect(() => {
    const unhighlight = (day: string) => {
      timers.current.delete(day);
      setHighlighted((set) => {
        const next = new Set(set);
        next.delete(day);
        return next;
      });
    };
    return live.subscribeEvents((event) => {
      const { t: tr, date: fmt } = i18nRef.current;
      if (event.kind === 'days') {
        setHighlighted((set) => new Set([...set, ...event.changes.map((c) => c.after.date)]));
        for (const change of event.changes) {
          const day = change.after.date;
          clearTimeout(timers.current.get(day));
          timers.current.set(day, setTimeout(() => unhighlight(day), HIGHLIGHT_MS));
        }
        const fromEvents = event.changes.filter((c) => c.source === 'event');
        for (const { before, after } of fromEvents) {
          const shown = fmt(after.date);
          if (after.status === 'full' && before?.status !== 'full') {
            toasts.push(tr('toast.full', { date: shown }), 'warning');
          } else {
            const kind = describeChange(before, after);
            toasts.push(tr(`toast.${kind}`, { date: shown, n: after.remaining }));
          }
        }
        const caughtUp = event.changes.length - fromEvents.length;
        if (caughtUp > 0) toasts.push(tr('toast.caughtUp', { n: caughtUp }));
      } else if (event.kind === 'settings') {
        toasts.push(tr('toast.settings'));
      } else {
        toasts.push(event.notification.message);
      }
    });
  }, [live, toasts]);

  useEffect(() => {
    const pending = timers.current;
    return () => pending.forEach((timer) => clearTimeout(timer));
  }, []);

  return <HighlightContext.Provider value={highlighted}>{children}</HighlightContext.Provider>;
}

export function useHighlightedDates(): ReadonlySet<string> {
  return useContext(HighlightContext);
}
