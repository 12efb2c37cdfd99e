// The day the user picked (or tried to pick), kept live. Exactly one message
// at a time: the day's state, or — when it is full or closed, whether it was
// so when clicked, became so while the user typed, or the server said so on
// submit — why it cannot be booked, with the nearest bookable days to jump to.
import { forwardRef, useMemo } from 'react';
import type { Day } from '../api/types';
import { closedReason, isBookable, nearestBookable, opensOn } from '../calendar/reasons';
import { useI18n } from '../i18n/I18nProvider';
import { useLive } from '../live/LiveProvider';
import { useAvailability, useSettings } from '../live/useAvailability';
import { fullDayText } from '../i18n/fullDay';
import { reasonText } from './DayCell';

interface Props {
  date: string | null;
  day: Day | undefined;
  /** A date the user may keep even though it is full (the request's own date when editing). */
  ownDate?: string;
  /** Set when the user clicked this day although it cannot be booked. */
  blocked?: boolean;
  /** A problem with the due date from validation or the server. */
  error?: string;
  /** When the holds that fill the day may free up, if known (the server's refusal says: `knownFreesAt`). */
  freesAt?: string | null;
  /** Picks another day (the "next available" buttons). */
  onPick: (date: string) => void;
  /** The message's id, for the submit button's aria-describedby. */
  messageId: string;
}

export function isUnavailable(day: Day | undefined): boolean {
  return day !== undefined && (day.status === 'full' || day.status === 'closed');
}

export const SelectedDay = forwardRef<HTMLDivElement, Props>(function SelectedDay(
  { date, day, ownDate, blocked = false, error, freesAt = null, onPick, messageId },
  ref,
) {
  const i18n = useI18n();
  const { t, longDate } = i18n;
  const settings = useSettings().data;

  if (!date) {
    return (
      <div className="selected-day" data-testid="selected-day" ref={ref} tabIndex={-1}>
        <p id={messageId} className={error ? 'field-error' : 'hint'} data-testid={error ? 'dueDate-error' : undefined} role={error ? 'alert' : undefined}>
          {error ?? t('form.noDate')}
        </p>
      </div>
    );
  }
  const shown = longDate(date);
  const unavailable = isUnavailable(day) && date !== ownDate;

  if (unavailable && day) {
    const reason = closedReason(day, settings);
    const why =
      day.status === 'full'
        ? fullDayText(day, blocked ? 'is' : 'became', i18n, { date: shown, freesAt })
        : t(blocked ? 'form.isClosed' : 'form.becameClosed', {
            date: shown,
            reason: reasonText(reason, reason === 'not_open_yet' && settings ? opensOn(date, settings) : null, day, i18n),
          });
    return (
      <div className="selected-day selected-day-problem" data-testid="selected-day" data-date={date} ref={ref} tabIndex={-1}>
        <div id={messageId} role="alert" className="warning" data-testid="selected-day-warning">
          <p>
            <span aria-hidden="true">⚠ </span>
            {why}
          </p>
          <NextAvailable date={date} onPick={onPick} />
        </div>
      </div>
    );
  }

  return (
    <div className="selected-day" data-testid="selected-day" data-date={date} ref={ref} tabIndex={-1}>
      <p className="selected-day-value" id={error ? undefined : messageId}>
        <strong>{t('form.dueDate')}:</strong>{' '}
        {day && isBookable(day) ? t('form.selected', { date: shown, n: day.remaining }) : shown}
        {day && isBookable(day) && day.held > 0 && <span className="muted">{`${i18n.dot}${i18n.number(day.held)} ${t('day.heldUnit')}`}</span>}
      </p>
      {error && (
        <p id={messageId} className="field-error" data-testid="dueDate-error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
});

/** The nearest bookable days in the booking window, as buttons that pick them. */
function NextAvailable({ date, onPick }: { date: string; onPick: (date: string) => void }) {
  const i18n = useI18n();
  const { t } = i18n;
  const settings = useSettings().data;
  const live = useLive();
  // the whole window once (kept live like every range): the nearest free day may be in another month
  const window = useAvailability(settings?.minDate ?? '', settings?.maxDate ?? '', Boolean(settings));
  const options = useMemo(() => {
    const days = (window.data?.days ?? []).map((d) => live.findDay(d.date) ?? d);
    return nearestBookable(date, days, 3);
  }, [window.data, date, live]);

  if (!window.data) return <p className="muted small">{t('app.loading')}</p>;
  if (options.length === 0) return <p>{t('form.noneAvailable')}</p>;
  return (
    <div className="next-available" data-testid="next-available">
      <p className="next-available-label">{t('form.nextAvailable')}</p>
      <ul>
        {options.map((d) => (
          <li key={d.date}>
            <button type="button" className="chip" onClick={() => onPick(d.date)} data-testid={`jump-${d.date}`}>
              {i18n.shortDate(d.date)}
              {i18n.visibleSep}
              {t('day.left', { n: d.remaining })}
            </button>
          </li>
        ))}
      </ul>
    </div>
  );
}
