// One day of the calendar. An open day's main figure is "N left"; a bar
// shows how much is booked (and held); the status is a shape and a colour;
// a closed day says why in its name (and in a word when there is room).
// The accessible name starts with exactly what is written in the cell, so
// speech input ("click 12") and the visible label agree.
import { memo } from 'react';
import type { KeyboardEvent } from 'react';
import type { ClosedReason, Day } from '../api/types';
import { bookedText } from '../i18n/fullDay';
import { useI18n } from '../i18n/I18nProvider';
import { StatusIcon } from './StatusIcon';

interface Props {
  date: string;
  day: Day | undefined;
  /** Why it is closed, when it is (from the day, or worked out from the settings). */
  reason: ClosedReason | null;
  /** For a day beyond the window: the date it opens. */
  opens: string | null;
  /** An override sets this day's capacity (marked for the admin). */
  override?: boolean;
  selected: boolean;
  /** Full, but its last slot is the viewer's own hold: "Held for you" rather than "Full". */
  heldForYou?: boolean;
  focusable: boolean;
  selectable: boolean;
  highlighted: boolean;
  today: boolean;
  onSelect: (date: string) => void;
  /** A day that cannot be picked was clicked: say why (instead of nothing). */
  onBlocked?: (date: string) => void;
  onFocusDate: (date: string) => void;
  onKeyDown: (event: KeyboardEvent<HTMLButtonElement>, date: string) => void;
}

export const DayCell = memo(function DayCell({
  date,
  day,
  reason,
  opens,
  override = false,
  selected,
  heldForYou = false,
  focusable,
  selectable,
  highlighted,
  today,
  onSelect,
  onBlocked,
  onFocusDate,
  onKeyDown,
}: Props) {
  const i18n = useI18n();
  const { t } = i18n;
  const status = day?.status;
  const number = i18n.dayOfMonth(date);
  const open = status === 'available' || status === 'limited';

  // What the cell writes after the day's number, and the rest of its name.
  let shown = '';
  let count = '';
  let unit = '';
  let details: string;
  const longDate = i18n.longDate(date);
  if (!day) {
    details = `${longDate}${i18n.sep}${t('app.loading')}`;
  } else if (open) {
    count = i18n.number(day.remaining);
    unit = t('day.leftUnit');
    shown = `${count} ${unit}`;
    if (day.held > 0) shown += `${i18n.dot}${i18n.number(day.held)} ${t('day.heldUnit')}`;
    details = t('day.aria', {
      date: longDate,
      status: t(`status.${day.status}`),
      booked: bookedText(day, i18n),
    });
  } else if (status === 'full' && heldForYou) {
    shown = t('day.heldForYou');
    details = `${longDate}${i18n.sep}${t('day.heldForYouAria')}${i18n.sep}${bookedText(day, i18n)}`;
  } else if (status === 'full') {
    shown = t('status.full');
    details = `${longDate}${i18n.sep}${bookedText(day, i18n)}`;
  } else {
    shown =
      reason === 'past'
        ? ''
        : reason === 'not_open_yet'
          ? t('day.notOpenYet')
          : day.note && reason === 'no_capacity'
            ? day.note
            : t('status.closed');
    details = `${longDate}${i18n.sep}${reasonText(reason, opens, day, i18n)}`;
  }
  const visible = shown ? `${number}${i18n.visibleSep}${shown}` : number;
  let label = `${visible}: ${details}`;
  if (today) label += `${i18n.sep}${t('day.ariaToday')}`;
  if (override) label += `${i18n.sep}${t('day.ariaOverride')}`;

  const booked = day ? Math.min(day.used, day.capacity) : 0;
  const held = day ? Math.min(day.held, Math.max(day.capacity - booked, 0)) : 0;
  const usedPct = day && day.capacity > 0 ? (booked * 100) / day.capacity : status === 'full' ? 100 : 0;
  const heldPct = day && day.capacity > 0 ? (held * 100) / day.capacity : 0;

  return (
    <td role="gridcell" aria-selected={selected} className="day-cell">
      <button
        type="button"
        className={[
          'day',
          status ? `day-${status}` : 'day-loading',
          reason ? `day-reason-${reason}` : '',
          selected ? 'day-selected' : '',
          highlighted ? 'day-flash' : '',
          today ? 'day-today' : '',
          override ? 'day-override' : '',
          heldForYou && status === 'full' ? 'day-held-for-you' : '',
        ].join(' ')}
        data-testid={`day-${date}`}
        data-date={date}
        data-status={status ?? 'loading'}
        data-reason={reason ?? undefined}
        data-used={day?.used}
        data-held={day?.held}
        data-capacity={day?.capacity}
        data-remaining={day?.remaining}
        data-highlighted={highlighted || undefined}
        data-override={override || undefined}
        data-held-for-you={(heldForYou && status === 'full') || undefined}
        tabIndex={focusable ? 0 : -1}
        aria-label={label}
        data-selectable={selectable}
        aria-current={today ? 'date' : undefined}
        onClick={() => {
          onFocusDate(date);
          if (selectable) onSelect(date);
          else onBlocked?.(date);
        }}
        onKeyDown={(event) => onKeyDown(event, date)}
      >
        <span className="day-top">
          <span className="day-number">{number}</span>
          {override && <span className="day-override-mark" aria-hidden="true" />}
          {status && reason !== 'past' && <StatusIcon status={status} />}
        </span>{' '}
        {open && (
          <span className="day-main" data-testid="day-left">
            <span className="day-count">{count}</span> <span className="day-unit">{unit}</span>
          </span>
        )}
        {!open && shown && <span className="day-word" dir="auto">{shown}</span>}{' '}
        {(open || status === 'full') && (
          <span className="day-bar" aria-hidden="true">
            <span className="day-bar-fill" style={{ inlineSize: `${Math.min(usedPct, 100)}%` }} />
            {heldPct > 0 && <span className="day-bar-held" style={{ inlineSize: `${Math.min(heldPct, 100)}%` }} />}
          </span>
        )}
      </button>
      {open && day && day.held > 0 && (
        // drawn over the cell; the button's name already says it (a line inside the
        // button trips axe's icon-ligature heuristic on Persian words)
        <span className={`day-held day-held-${status}`} aria-hidden="true" data-testid="day-held">
          {`· ${i18n.number(day.held)} ${t('day.heldUnit')}`}
        </span>
      )}
    </td>
  );
});

type Words = Pick<ReturnType<typeof useI18n>, 't' | 'date' | 'weekday' | 'number'>;

/** Why a closed day is closed, in a sentence fragment. */
export function reasonText(reason: ClosedReason | null, opens: string | null, day: Day | undefined, i18n: Words): string {
  switch (reason) {
    case 'past':
      return i18n.t('reason.past');
    case 'not_open_yet':
      return opens ? i18n.t('reason.opens', { date: i18n.date(opens) }) : i18n.t('reason.notOpenYet');
    case 'closed_weekday':
      return i18n.t('reason.weekday', { weekday: i18n.weekday(new Date(`${day?.date ?? '2026-01-01'}T00:00:00Z`).getUTCDay()) });
    case 'no_capacity':
      return day?.note ? i18n.t('reason.note', { note: day.note }) : i18n.t('reason.noCapacity');
    default:
      return i18n.t('status.closed');
  }
}
