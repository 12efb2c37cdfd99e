// Admin: the capacity settings and per-date capacity overrides.
import { useState } from 'react';
import type { FormEvent } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api } from '../api/client';
import { WEEKDAYS, type Settings, type Weekday } from '../api/types';
import { addDays } from '../calendar/dates';
import { Calendar } from '../components/Calendar';
import { Field } from '../components/Field';
import { describeError } from '../i18n/errors';
import { toAsciiDigits } from '../i18n/format';
import { useI18n } from '../i18n/I18nProvider';
import { useLatestDay } from '../live/LiveProvider';
import { keys } from '../live/queryKeys';
import { useSettings } from '../live/useAvailability';

type Errors = Record<string, string | undefined>;

/** The IANA zones the browser knows, with UTC and the current one always in the list. */
function timeZones(current: string): string[] {
  let zones: string[] = [];
  try {
    zones = (Intl as unknown as { supportedValuesOf?: (key: string) => string[] }).supportedValuesOf?.('timeZone') ?? [];
  } catch {
    zones = [];
  }
  return [...new Set(['UTC', current, ...zones])].sort((a, b) => (a === 'UTC' ? -1 : b === 'UTC' ? 1 : a.localeCompare(b)));
}

/** A whole number typed with ASCII or Persian digits; NaN when it is not one. */
function parseWhole(text: string): number {
  const ascii = toAsciiDigits(text.trim());
  return /^\d+$/.test(ascii) ? Number(ascii) : NaN;
}

export function Admin() {
  const { t } = useI18n();
  const settings = useSettings();
  return (
    <div className="page page-admin">
      <h1>{t('admin.title')}</h1>
      {settings.data ? (
        <>
          <SettingsForm settings={settings.data} />
          <Overrides settings={settings.data} />
        </>
      ) : (
        <p>{t('app.loading')}</p>
      )}
    </div>
  );
}

/** Starts from the settings as loaded; later changes do not overwrite what the admin is typing. */
function SettingsForm({ settings }: { settings: Settings }) {
  const i18n = useI18n();
  const { t } = i18n;
  const queryClient = useQueryClient();
  const users = useQuery({ queryKey: keys.users, queryFn: api.users, staleTime: 60_000 });
  const designers = (users.data ?? []).filter((u) => u.role === 'designer' || u.role === 'admin');

  const [capacity, setCapacity] = useState(String(settings.dailyCapacity));
  const [threshold, setThreshold] = useState(String(settings.limitedThresholdPercent));
  const [windowDays, setWindowDays] = useState(String(settings.bookingWindowDays));
  const [closed, setClosed] = useState<Weekday[]>(settings.closedWeekdays);
  const [timezone, setTimezone] = useState(settings.timezone);
  const [designer, setDesigner] = useState(settings.defaultDesignerId == null ? '' : String(settings.defaultDesignerId));
  const [errors, setErrors] = useState<Errors>({});
  const [general, setGeneral] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);

  const save = useMutation({
    mutationFn: api.updateSettings,
    onSuccess: (next) => {
      setSaved(true);
      queryClient.setQueryData(keys.settings, next);
      void queryClient.invalidateQueries({ queryKey: keys.availabilityAll });
    },
    onError: (e) => {
      const { field, message } = describeError(e, i18n, 'settings');
      if (field) setErrors({ [field]: message });
      else setGeneral(message);
    },
  });

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setSaved(false);
    setGeneral(null);
    const values = {
      dailyCapacity: parseWhole(capacity),
      limitedThresholdPercent: parseWhole(threshold),
      bookingWindowDays: parseWhole(windowDays),
    };
    const local: Errors = {};
    for (const [field, value] of Object.entries(values)) {
      if (Number.isNaN(value)) local[field] = t(`error.field.${field}` as 'error.field.dailyCapacity');
    }
    setErrors(local);
    if (Object.keys(local).length) return;
    save.mutate({
      ...values,
      closedWeekdays: closed,
      timezone: timezone.trim() || 'UTC',
      defaultDesignerId: designer ? Number(designer) : null,
    });
  };

  // Weekdays in the order of the language's week.
  const weekOrder = Array.from({ length: 7 }, (_, i) => (i18n.locale.weekStart + i) % 7);

  return (
    <form className="admin-settings card" onSubmit={submit} noValidate data-testid="settings-form">
      <Field label={t('admin.dailyCapacity')} error={errors.dailyCapacity}>
        <input inputMode="numeric" value={capacity} onChange={(e) => setCapacity(e.target.value)} data-testid="daily-capacity" />
      </Field>
      <Field label={t('admin.threshold')} error={errors.limitedThresholdPercent}>
        <input inputMode="numeric" value={threshold} onChange={(e) => setThreshold(e.target.value)} data-testid="threshold" />
      </Field>
      <Field label={t('admin.window')} error={errors.bookingWindowDays}>
        <input inputMode="numeric" value={windowDays} onChange={(e) => setWindowDays(e.target.value)} data-testid="window-days" />
      </Field>
      <fieldset className={`field${errors.closedWeekdays ? ' field-invalid' : ''}`}>
        <legend>{t('admin.closedWeekdays')}</legend>
        <div className="weekday-list">
          {weekOrder.map((index) => {
            const name = WEEKDAYS[index];
            return (
              <label key={name} className="checkbox">
                <input
                  type="checkbox"
                  checked={closed.includes(name)}
                  onChange={(e) =>
                    setClosed(e.target.checked ? [...closed, name] : closed.filter((d) => d !== name))
                  }
                  data-testid={`closed-${name}`}
                />{' '}
                {i18n.weekday(index)}
              </label>
            );
          })}
        </div>
        {errors.closedWeekdays && <p className="field-error">{errors.closedWeekdays}</p>}
      </fieldset>
      <Field label={t('admin.timezone')} error={errors.timezone}>
        <select value={timezone} onChange={(e) => setTimezone(e.target.value)} dir="ltr" data-testid="timezone">
          {timeZones(timezone).map((zone) => (
            <option key={zone} value={zone}>
              {zone.replace(/_/g, ' ')}
            </option>
          ))}
        </select>
      </Field>
      <Field label={t('admin.defaultDesigner')} error={errors.defaultDesignerId}>
        <select value={designer} onChange={(e) => setDesigner(e.target.value)} data-testid="default-designer">
          <option value="">{t('admin.none')}</option>
          {designers.map((u) => (
            <option key={u.id} value={u.id}>
              {u.displayName} ({u.email})
            </option>
          ))}
        </select>
      </Field>
      {general && (
        <p role="alert" className="error">
          {general}
        </p>
      )}
      {saved && (
        <p role="status" className="success" data-testid="settings-saved">
          {t('admin.saved')}
        </p>
      )}
      <button type="submit" className="primary" disabled={save.isPending} data-testid="save-settings">
        {t('admin.save')}
      </button>
    </form>
  );
}

function Overrides({ settings }: { settings: Settings }) {
  const i18n = useI18n();
  const { t } = i18n;
  const [date, setDate] = useState<string | null>(null);
  const [capacity, setCapacity] = useState('');
  const [note, setNote] = useState('');
  const [through, setThrough] = useState<string>('');
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const day = useLatestDay(date);

  const done = (result: { date: string; capacity: number }) => {
    setError(null);
    setNotice(t('admin.overrideSaved', { date: i18n.longDate(result.date), n: result.capacity }));
  };
  const fail = (e: unknown) => {
    setNotice(null);
    setError(describeError(e, i18n, 'settings').message);
  };
  const set = useMutation({
    // one date, or each date of the range in turn (the contract sets one date per call)
    mutationFn: async ({ d, c, last }: { d: string; c: number; last: string }) => {
      let result = await api.setOverride(d, c, note.trim());
      for (let next = addDays(d, 1); next <= last; next = addDays(next, 1)) {
        result = await api.setOverride(next, c, note.trim());
      }
      return { first: d, last, capacity: result.capacity };
    },
    onSuccess: ({ first, last, capacity: c }) => {
      setError(null);
      setNotice(
        first === last
          ? t('admin.overrideSaved', { date: i18n.longDate(first), n: c })
          : t('admin.rangeSaved', { from: i18n.date(first), to: i18n.date(last), n: c }),
      );
    },
    onError: fail,
  });
  const remove = useMutation({ mutationFn: api.removeOverride, onSuccess: done, onError: fail });

  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!date) return;
    const value = parseWhole(capacity);
    if (Number.isNaN(value)) {
      setNotice(null);
      setError(t('error.field.capacity'));
      return;
    }
    set.mutate({ d: date, c: value, last: through && through > date ? through : date });
  };

  return (
    <section className="admin-overrides card" aria-labelledby="overrides-heading">
      <h2 id="overrides-heading">{t('admin.overrides')}</h2>
      <p className="hint">{t('admin.overridesHint')}</p>
      <div className="new-layout">
        <Calendar
          minDate={settings.minDate}
          maxDate={settings.maxDate}
          today={settings.today}
          selected={date}
          isSelectable={() => true}
          markOverridesFrom={settings.dailyCapacity}
          onSelect={(d) => {
            setDate(d);
            setNotice(null);
            setError(null);
            setCapacity('');
            setThrough('');
          }}
        />
        {date && (
          <form className="request-form" onSubmit={submit} noValidate data-testid="override-form">
            <p>
              <strong>{i18n.longDate(date)}</strong>
              {day && (
                <>
                  <br />
                  {t('admin.current', { used: day.used, capacity: day.capacity })} — {t(`status.${day.status}`)}
                  {(day.capacity !== settings.dailyCapacity || day.note) && (
                    <>
                      <br />
                      <span className="muted">
                        {day.note ? t('admin.overrideNote', { note: day.note }) : t('admin.overrideSet')}
                      </span>
                    </>
                  )}
                </>
              )}
            </p>
            <Field label={t('admin.capacityFor', { date: i18n.date(date) })} error={error ?? undefined}>
              <input
                inputMode="numeric"
                value={capacity}
                placeholder={day ? i18n.number(day.capacity) : ''}
                onChange={(e) => setCapacity(e.target.value)}
                data-testid="override-capacity"
              />
            </Field>
            <Field label={t('admin.note')}>
              <input value={note} onChange={(e) => setNote(e.target.value)} data-testid="override-note" />
            </Field>
            <Field label={t('admin.through')} hint={t('admin.throughHint')}>
              <select value={through} onChange={(e) => setThrough(e.target.value)} data-testid="override-through">
                <option value="">{t('admin.throughNone')}</option>
                {Array.from({ length: 30 }, (_, i) => addDays(date, i + 1))
                  .filter((d) => d <= settings.maxDate)
                  .map((d) => (
                    <option key={d} value={d}>
                      {i18n.date(d)}
                    </option>
                  ))}
              </select>
            </Field>
            {notice && (
              <p role="status" className="success" data-testid="override-notice">
                {notice}
              </p>
            )}
            <div className="button-row">
              <button type="submit" className="primary" disabled={set.isPending} data-testid="set-override">
                {t('admin.setOverride')}
              </button>
              <button type="button" onClick={() => remove.mutate(date)} disabled={remove.isPending} data-testid="remove-override">
                {t('admin.removeOverride')}
              </button>
            </div>
          </form>
        )}
      </div>
    </section>
  );
}
