// Turns live events into calm feedback: a brief highlight on the changed
// days, and at most one notice per burst of changes — never for the page's
// own action, and only about days a calendar on the page shows. Nothing here
// moves focus or scroll.
import { createContext, useContext, useEffect, useMemo, useRef, useState } from 'react';
import type { ReactNode } from 'react';
import { useToasts } from '../components/Toasts';
import { useI18n } from '../i18n/I18nProvider';
import { notificationLink, notificationText } from '../i18n/notifications';
import { useAuth } from '../auth/AuthProvider';
import { OwnChanges, VisibleRanges, summarize, type Change } from './feedback';
import { useLive } from './LiveProvider';

const HIGHLIGHT_MS = 2000;
/** Changes closer together than this make one notice. */
const BURST_MS = 500;

interface Feedback {
  own: OwnChanges;
  visible: VisibleRanges;
}

const HighlightContext = createContext<ReadonlySet<string>>(new Set());
const FeedbackContext = createContext<Feedback | null>(null);

export function LiveFeedback({ children }: { children: ReactNode }) {
  const live = useLive();
  const i18n = useI18n();
  const { user } = useAuth();
  const toasts = useToasts();
  const [highlighted, setHighlighted] = useState<ReadonlySet<string>>(new Set());
  const timers = useRef(new Map<string, ReturnType<typeof setTimeout>>());
  const feedback = useMemo<Feedback>(() => ({ own: new OwnChanges(), visible: new VisibleRanges() }), []);

  // latest translators without resubscribing
  const i18nRef = useRef({ i18n, role: user?.role });
  i18nRef.current = { i18n, role: user?.role };

  useEffect(() => {
    let burst: { changes: Change[]; caughtUp: number } = { changes: [], caughtUp: 0 };
    let burstTimer: ReturnType<typeof setTimeout> | undefined;

    const unhighlight = (day: string) => {
      timers.current.delete(day);
      setHighlighted((set) => {
        const next = new Set(set);
        next.delete(day);
        return next;
      });
    };

    const flush = () => {
      const { i18n: tr } = i18nRef.current;
      const { changes, caughtUp } = burst;
      burst = { changes: [], caughtUp: 0 };
      if (caughtUp > 0) {
        toasts.push(tr.plural('toast.caughtUp', caughtUp));
        return;
      }
      const summary = summarize(changes);
      if (!summary) return;
      if (summary.kind === 'many') {
        toasts.push(
          tr.t('toast.many', { days: tr.list(summary.dates.map((d) => tr.shortDate(d))) }),
          summary.full > 0 ? 'warning' : 'info',
        );
      } else {
        const date = tr.shortDate(summary.date);
        const warn = summary.kind === 'full' || summary.kind === 'closed';
        toasts.push(tr.t(`toast.${summary.kind}`, { date, n: summary.remaining }), warn ? 'warning' : 'info');
      }
    };

    return live.subscribeEvents((event) => {
      const { i18n: tr, role } = i18nRef.current;
      if (event.kind === 'days') {
        setHighlighted((set) => new Set([...set, ...event.changes.map((c) => c.after.date)]));
        for (const change of event.changes) {
          const day = change.after.date;
          clearTimeout(timers.current.get(day));
          timers.current.set(day, setTimeout(() => unhighlight(day), HIGHLIGHT_MS));
        }
        let news = 0;
        for (const change of event.changes) {
          // back from the back-forward cache: the days update in place (and flash), without a notice
          if (change.source === 'restore') continue;
          // claimed even when not shown, so a later event is not taken for it
          if (change.source === 'event' && feedback.own.claim(change.after.date)) continue;
          if (!feedback.visible.shows(change.after.date)) continue;
          if (change.source === 'catch-up') burst.caughtUp += 1;
          else burst.changes.push(change);
          news += 1;
        }
        if (news > 0) {
          clearTimeout(burstTimer);
          burstTimer = setTimeout(flush, BURST_MS);
        }
      } else if (event.kind === 'settings') {
        if (feedback.visible.any) toasts.push(tr.t('toast.settings'));
      } else {
        const n = event.notification;
        const link = notificationLink(n, role);
        toasts.push(notificationText(n, tr), 'info', link ? { to: link, label: tr.t('bell.open') } : undefined);
      }
    });
  }, [live, toasts, feedback]);

  useEffect(() => {
    const pending = timers.current;
    return () => pending.forEach((timer) => clearTimeout(timer));
  }, []);

  return (
    <FeedbackContext.Provider value={feedback}>
      <HighlightContext.Provider value={highlighted}>{children}</HighlightContext.Provider>
    </FeedbackContext.Provider>
  );
}

export function useHighlightedDates(): ReadonlySet<string> {
  return useContext(HighlightContext);
}

/** The page's own changes: call `expect(dates)` before a booking, move or cancel. */
export function useOwnChanges(): OwnChanges {
  const value = useContext(FeedbackContext);
  if (!value) throw new Error('useOwnChanges outside LiveFeedback');
  return value.own;
}

/** A calendar announces the range it shows, so changes there may be told. */
export function useVisibleRange(from: string, to: string): void {
  const value = useContext(FeedbackContext);
  useEffect(() => value?.visible.add(from, to), [value, from, to]);
}
