// What the user picked, kept live: if the picked day fills up or closes
// while they are still typing, this says so at once (before they submit).
import type { Day } from '../api/types';
import { useI18n } from '../i18n/I18nProvider';

interface Props {
  date: string | null;
  day: Day | undefined;
  /** A date the user may keep even though it is full (the request's own date when editing). */
  ownDate?: string;
  error?: string;
}

export function isUnavailable(day: Day | undefined): boolean {
  return day !== undefined && (day.status === 'full' || day.status === 'closed');
}

export function SelectedDay({ date, day, ownDate, error }: Props) {
  const { t, longDate } = useI18n();
  if (!date) {
    return (
      <div className="selected-day" data-testid="selected-day">
        <p className={error ? 'field-error' : 'hint'} data-testid={error ? 'dueDate-error' : undefined}>
          {error ?? t('form.noDate')}
        </p>
      </div>
    );
  }
  const shown = longDate(date);
  const warn = isUnavailable(day) && date !== ownDate;
  return (
    <div className="selected-day" data-testid="selected-day" data-date={date}>
      <p className="selected-day-value">
        <strong>{t('form.dueDate')}:</strong>{' '}
        {day && day.status !== 'full' && day.status !== 'closed'
          ? t('form.selected', { date: shown, n: day.remaining })
          : day?.status === 'full'
            ? t('form.selectedFull', { date: shown })
            : shown}
      </p>
      {warn && (
        <p role="alert" className="warning" data-testid="selected-day-warning">
          <span aria-hidden="true">⚠ </span>
          {t(day!.status === 'full' ? 'form.becameFull' : 'form.becameClosed', { date: shown })}
        </p>
      )}
      {error && (
        <p className="field-error" data-testid="dueDate-error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}
