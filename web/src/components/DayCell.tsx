// One day of the calendar: number, capacity bar, used/total, percent and the
// status as colour, icon and word. Its accessible name says it all.
import { memo } from 'react';
import type { KeyboardEvent } from 'react';
import type { Day, DayStatus } from '../api/types';
import { useI18n } from '../i18n/I18nProvider';

const ICONS: Record<DayStatus, string> = {
  available: '✓',
  limited: '◔',
  full: '✕',
  closed: '⊘',
};

interface Props {
  date: string;
  day: Day | undefined;
  selected: boolean;
  focusable: boolean;
  selectable: boolean;
  highlighted: boolean;
  today: boolean;
  onSelect: (date: string) => void;
  onFocusDate: (date: string) => void;
  onKeyDown: (event: KeyboardEvent<HTMLButtonElement>, date: string) => void;
}

export const DayCell = memo(function DayCell({
  date,
  day,
  selected,
  focusable,
  selectable,
  highlighted,
  today,
  onSelect,
  onFocusDate,
  onKeyDown,
}: Props) {
  const i18n = useI18n();
  const { t } = i18n;
  const status = day?.status;
  const statusText = status ? t(`status.${status}`) : t('app.loading');

  let label: string;
  if (!day) label = `${i18n.longDate(date)}, ${statusText}`;
  else if (day.status === 'closed') label = t('day.ariaClosed', { date: i18n.longDate(date) });
  else
    label = t('day.aria', {
      date: i18n.longDate(date),
      status: statusText,
      remaining: day.remaining,
      capacity: day.capacity,
    });
  if (today) label += `, ${t('day.ariaToday')}`;

  const shownLabel =
    status === 'limited' ? t('day.left', { n: day!.remaining }) : status ? statusText : '';
  const showNumbers = day !== undefined && status !== 'closed';

  return (
    <td role="gridcell" aria-selected={selected} className="day-cell">
      <button
        type="button"
        className={[
          'day',
          status ? `day-${status}` : 'day-loading',
          selected ? 'day-selected' : '',
          highlighted ? 'day-flash' : '',
          today ? 'day-today' : '',
        ].join(' ')}
        data-testid={`day-${date}`}
        data-date={date}
        data-status={status ?? 'loading'}
        data-used={day?.used}
        data-capacity={day?.capacity}
        data-remaining={day?.remaining}
        data-highlighted={highlighted || undefined}
        tabIndex={focusable ? 0 : -1}
        aria-label={label}
        aria-disabled={!selectable}
        aria-current={today ? 'date' : undefined}
        onClick={() => {
          onFocusDate(date);
          if (selectable) onSelect(date);
        }}
        onKeyDown={(event) => onKeyDown(event, date)}
      >
        <span className="day-number">{i18n.dayOfMonth(date)}</span>
        {showNumbers && (
          <>
            <span className="day-bar" aria-hidden="true">
              <span className="day-bar-fill" style={{ inlineSize: `${Math.min(day.percent, 100)}%` }} />
            </span>
            <span className="day-figures" aria-hidden="true">
              <span className="day-used" data-testid="day-used">
                {t('day.usedOf', { used: day.used, capacity: day.capacity })}
              </span>
              <span className="day-percent">{i18n.percent(day.percent)}</span>
            </span>
          </>
        )}
        {status && (
          <span className="day-status" aria-hidden="true">
            <span className="day-icon">{ICONS[status]}</span> {shownLabel}
          </span>
        )}
      </button>
    </td>
  );
});
