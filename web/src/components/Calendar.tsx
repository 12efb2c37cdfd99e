// The month calendar of capacity. Keyboard: a roving tabindex over the days
// (one day is in the tab order); arrows move by day and week (mirrored in
// right-to-left), Home/End to the week's ends, Page Up/Down by month,
// Enter/Space pick. Months follow the language's calendar (Jalali in Persian).
import { useCallback, useEffect, useId, useMemo, useRef, useState } from 'react';
import type { KeyboardEvent, ReactNode } from 'react';
import type { Day } from '../api/types';
import { addDays, clampDate, weekdayIndex } from '../calendar/dates';
import { calendarParts, monthDates, monthGrid, monthStart, nextMonthStart, previousMonthStart } from '../calendar/months';
import { useI18n } from '../i18n/I18nProvider';
import { closedReason, opensOn } from '../calendar/reasons';
import { useHighlightedDates, useVisibleRange } from '../live/LiveFeedback';
import { useConnectionState } from '../live/LiveProvider';
import { useAvailability, useSettings } from '../live/useAvailability';
import { DayCell } from './DayCell';
import { StatusIcon } from './StatusIcon';

export type SelectablePolicy = (day: Day | undefined, date: string) => boolean;

/** Bookable days: known, and neither closed nor full. */
export const bookable: SelectablePolicy = (day) =>
  day !== undefined && day.status !== 'closed' && day.status !== 'full';

interface Props {
  /** The first and last date the user may browse to (the booking window). */
  minDate: string;
  maxDate: string;
  today: string;
  selected: string | null;
  /** A full day whose last slot is the viewer's own hold: it reads "Held for you" for them. */
  heldForYou?: string | null;
  onSelect: (date: string) => void;
  /** A day that cannot be picked was clicked. */
  onBlocked?: (date: string, day: Day | undefined) => void;
  isSelectable?: SelectablePolicy;
  /** Marks the days whose capacity differs from this (the admin's overrides). */
  markOverridesFrom?: number;
  /** Where the calendar opens when nothing is selected. */
  initialDate?: string;
  label?: string;
}

export function Calendar({
  minDate,
  maxDate,
  today,
  selected,
  heldForYou = null,
  onSelect,
  onBlocked,
  isSelectable = bookable,
  markOverridesFrom,
  initialDate,
  label,
}: Props) {
  const i18n = useI18n();
  const { t, locale } = i18n;
  const system = locale.calendar;
  const headingId = useId();
  const helpId = useId();
  const highlighted = useHighlightedDates();

  const [focusDate, setFocusDate] = useState(() => clampDate(selected ?? initialDate ?? today, minDate, maxDate));
  const wantsFocus = useRef(false);
  const gridRef = useRef<HTMLTableElement>(null);

  const start = monthStart(focusDate, system);
  const dates = useMemo(() => monthDates(start, system), [start, system]);
  const weeks = useMemo(() => monthGrid(start, system, locale.weekStart), [start, system, locale.weekStart]);
  const from = dates[0];
  const to = dates[dates.length - 1];
  const { data, isError, refetch } = useAvailability(from, to);
  const settings = useSettings().data;
  const connection = useConnectionState();
  const stale = connection === 'offline' || connection === 'reconnecting';
  useVisibleRange(from, to);

  // A selection made elsewhere (a "next available" day) brings its month into view.
  useEffect(() => {
    if (selected && !dates.includes(selected)) setFocusDate(selected);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [selected]);

  const byDate = useMemo(() => {
    const map = new Map<string, Day>();
    for (const day of data?.days ?? []) map.set(day.date, day);
    return map;
  }, [data]);

  const canGoBack = start > monthStart(minDate, system);
  const canGoForward = nextMonthStart(start, system) <= maxDate;

  // Move DOM focus only after a keyboard move inside the grid, never because
  // data changed: live updates must not steal focus from the form.
  useEffect(() => {
    if (!wantsFocus.current) return;
    wantsFocus.current = false;
    gridRef.current?.querySelector<HTMLButtonElement>(`[data-date="${focusDate}"]`)?.focus();
  }, [focusDate, start]);

  const moveFocus = useCallback(
    (date: string) => {
      wantsFocus.current = true;
      const lastBrowsable = addDays(nextMonthStart(monthStart(maxDate, system), system), -1);
      setFocusDate(clampDate(date, monthStart(minDate, system), lastBrowsable));
    },
    [minDate, maxDate, system],
  );

  const sameDayOtherMonth = useCallback(
    (date: string, direction: 1 | -1) => {
      const s = monthStart(date, system);
      const target = direction === 1 ? nextMonthStart(s, system) : previousMonthStart(s, system);
      const length = monthDates(target, system).length;
      return addDays(target, Math.min(calendarParts(date, system).day, length) - 1);
    },
    [system],
  );

  const onKeyDown = useCallback(
    (event: KeyboardEvent<HTMLButtonElement>, date: string) => {
      const rtl = locale.dir === 'rtl';
      const column = (weekdayIndex(date) - locale.weekStart + 7) % 7;
      let target: string | null = null;
      switch (event.key) {
        case 'ArrowRight':
          target = addDays(date, rtl ? -1 : 1);
          break;
        case 'ArrowLeft':
          target = addDays(date, rtl ? 1 : -1);
          break;
        case 'ArrowDown':
          target = addDays(date, 7);
          break;
        case 'ArrowUp':
          target = addDays(date, -7);
          break;
        case 'Home':
          target = addDays(date, -column);
          break;
        case 'End':
          target = addDays(date, 6 - column);
          break;
        case 'PageDown':
          target = sameDayOtherMonth(date, 1);
          break;
        case 'PageUp':
          target = sameDayOtherMonth(date, -1);
          break;
        default:
          return;
      }
      event.preventDefault();
      moveFocus(target);
    },
    [locale.dir, locale.weekStart, moveFocus, sameDayOtherMonth],
  );

  const goMonth = (direction: 1 | -1) => {
    const target = direction === 1 ? nextMonthStart(start, system) : previousMonthStart(start, system);
    setFocusDate(clampDate(target, minDate, maxDate));
  };

  // The day in the tab order: the focused one if shown, else the selection, else the first bookable.
  const tabDate = dates.includes(focusDate)
    ? focusDate
    : selected && dates.includes(selected)
      ? selected
      : dates[0];

  const blocked = useCallback(
    (date: string) => onBlocked?.(date, byDate.get(date)),
    [onBlocked, byDate],
  );

  return (
    <section
      className={`calendar${stale ? ' calendar-stale' : ''}`}
      data-testid="calendar"
      data-stale={stale || undefined}
      aria-labelledby={headingId}
    >
      <div className="calendar-header">
        <button
          type="button"
          className="calendar-nav"
          onClick={() => goMonth(-1)}
          disabled={!canGoBack}
          aria-label={t('calendar.prev')}
          data-testid="calendar-prev"
        >
          <span aria-hidden="true">{locale.dir === 'rtl' ? '→' : '←'}</span>
        </button>
        <h2 id={headingId} className="calendar-title" aria-live="polite" data-testid="calendar-title">
          {i18n.monthTitle(start)}
        </h2>
        <button
          type="button"
          className="calendar-nav"
          onClick={() => goMonth(1)}
          disabled={!canGoForward}
          aria-label={t('calendar.next')}
          data-testid="calendar-next"
        >
          <span aria-hidden="true">{locale.dir === 'rtl' ? '←' : '→'}</span>
        </button>
      </div>
      <p id={helpId} className="visually-hidden">
        {t('calendar.keys')}
      </p>
      {stale && (
        <p className="stale-note" role="status" data-testid="calendar-stale">
          <span aria-hidden="true">⟳ </span>
          {t(connection === 'offline' ? 'calendar.staleOffline' : 'calendar.staleReconnecting')}
        </p>
      )}
      {isError && (
        <p role="alert" className="error">
          {t('calendar.loadError')}{' '}
          <button type="button" onClick={() => void refetch()}>
            {t('app.retry')}
          </button>
        </p>
      )}
      <table
        ref={gridRef}
        role="grid"
        className="calendar-grid"
        aria-label={`${label ?? t('calendar.label')}, ${i18n.monthTitle(start)}`}
        aria-describedby={helpId}
        aria-busy={!data}
      >
        <thead>
          <tr>
            {i18n.weekdays('short').map((name, i) => (
              <th key={i} scope="col" abbr={i18n.weekdays('long')[i]}>
                <span className="weekday-short">{name}</span>
                <span className="weekday-narrow" aria-hidden="true">
                  {i18n.weekdays('narrow')[i]}
                </span>
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {weeks.map((week, w) => (
            <tr key={w}>
              {week.map((date, d) =>
                date ? (
                  <DayCell
                    key={date}
                    date={date}
                    day={byDate.get(date)}
                    reason={closedReason(byDate.get(date), settings)}
                    opens={settings && closedReason(byDate.get(date), settings) === 'not_open_yet' ? opensOn(date, settings) : null}
                    override={
                      markOverridesFrom !== undefined &&
                      byDate.get(date) !== undefined &&
                      (byDate.get(date)!.capacity !== markOverridesFrom || byDate.get(date)!.note !== null)
                    }
                    selected={date === selected}
                    heldForYou={date === heldForYou}
                    focusable={date === tabDate}
                    selectable={isSelectable(byDate.get(date), date)}
                    highlighted={highlighted.has(date)}
                    today={date === today}
                    onSelect={onSelect}
                    onBlocked={blocked}
                    onFocusDate={setFocusDate}
                    onKeyDown={onKeyDown}
                  />
                ) : (
                  <td key={`blank-${d}`} role="gridcell" className="day-blank" aria-hidden="true" />
                ),
              )}
            </tr>
          ))}
        </tbody>
      </table>
      <StatusLegend />
    </section>
  );
}

/** The four statuses' icons and names; `children`: more items (other views' marks). */
export function StatusLegend({ className, children }: { className?: string; children?: ReactNode }) {
  const { t } = useI18n();
  return (
    <ul className={className ? `legend ${className}` : 'legend'} aria-label={t('calendar.legend')}>
      {(['available', 'limited', 'full', 'closed'] as const).map((status) => (
        <li key={status} className={`legend-item legend-${status}`}>
          <span className="legend-swatch" aria-hidden="true">
            <StatusIcon status={status} />
          </span>{' '}
          {t(`status.${status}`)}
        </li>
      ))}
      {children}
    </ul>
  );
}
