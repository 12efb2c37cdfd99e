// The capacity view (designers and admins): the coming weeks at a glance.
// Each day is a cell of a week grid, tinted by its status like the picker's
// days, with a bar of what is booked (solid) and held (hatched) of its
// capacity; closed days and days with their own capacity are marked. Below
// or beside it, the designers' open requests by due date. Both are drawn by
// hand (CSS); the grid has a table of the same numbers, and the queue's bars
// are decoration beside the counts they show.
//
// Live like the picker: the days are an availability range of the query
// cache, which the session's one hub connection keeps current in place; a
// change of a day's bookings refetches the open requests.
import { useEffect, useId, useMemo, useState } from 'react';
import { Link } from 'react-router-dom';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { api } from '../api/client';
import type { Day, Settings } from '../api/types';
import { calendarParts } from '../calendar/months';
import { closedReason, opensOn } from '../calendar/reasons';
import { reasonText } from '../components/DayCell';
import { PriorityBadge } from '../components/PriorityBadge';
import { StatusLegend } from '../components/Calendar';
import { StatusIcon } from '../components/StatusIcon';
import { describeError } from '../i18n/errors';
import { bookedText } from '../i18n/fullDay';
import { useI18n, type I18n } from '../i18n/I18nProvider';
import { useHighlightedDates } from '../live/LiveFeedback';
import { useConnectionState, useLive } from '../live/LiveProvider';
import { keys } from '../live/queryKeys';
import { useAvailability, useSettings } from '../live/useAvailability';
import {
  QUEUE_PAGE_SIZE,
  WEEK_CHOICES,
  dayLoad,
  fetchOpenRequests,
  groupQueue,
  hasOverride,
  openByDate,
  queueBar,
  summarizeRange,
  viewRange,
  type QueueGroup,
  type Weeks,
} from './capacityView';
import './CapacityView.css';

/** Open requests are refetched when a day's bookings change; this catches status changes, which the hub does not announce to staff. */
const QUEUE_REFRESH_MS = 60_000;

const monthFormats = new Map<string, Intl.DateTimeFormat>();

/** The month's short name in the language's calendar ("Dec" / "آذر"). */
function monthShort(date: string, i18n: I18n): string {
  const key = `${i18n.locale.tag}|${i18n.locale.calendar}`;
  let format = monthFormats.get(key);
  if (!format) {
    format = new Intl.DateTimeFormat(i18n.locale.tag, { month: 'short', calendar: i18n.locale.calendar, timeZone: 'UTC' });
    monthFormats.set(key, format);
  }
  return format.format(new Date(`${date}T00:00:00Z`));
}

export function CapacityView() {
  const { t } = useI18n();
  const settings = useSettings();
  return (
    <div className="page page-capacity" data-testid="capacity-page">
      <h1>{t('capacity.title')}</h1>
      {settings.data ? <Overview settings={settings.data} /> : <p>{t('app.loading')}</p>}
    </div>
  );
}

function Overview({ settings }: { settings: Settings }) {
  const i18n = useI18n();
  const { t, locale } = i18n;
  const [weeks, setWeeks] = useState<Weeks>(WEEK_CHOICES[0]);
  const range = useMemo(() => viewRange(settings.today, weeks, locale.weekStart), [settings.today, weeks, locale.weekStart]);
  const availability = useAvailability(range.from, range.to);
  const open = useOpenRequests(range.to);
  const groups = useMemo(() => groupQueue(open.data?.items ?? [], settings.today), [open.data, settings.today]);

  return (
    <>
      <div className="segmented" role="group" aria-label={t('capacity.weeksLabel')}>
        {WEEK_CHOICES.map((w) => (
          <button key={w} type="button" aria-pressed={weeks === w} onClick={() => setWeeks(w)} data-testid={`capacity-weeks-${w}`}>
            {t('capacity.weeks', { n: w })}
          </button>
        ))}
      </div>
      <p className="muted capacity-range" data-testid="capacity-range">
        {t('capacity.range', { from: i18n.date(range.from), to: i18n.date(range.to) })}
      </p>
      <div className="capacity-layout">
        <LoadByDay
          settings={settings}
          weeks={range.weeks}
          days={availability.data?.days}
          failed={availability.isError}
          retry={() => void availability.refetch()}
          openCounts={open.data ? openByDate(groups) : undefined}
        />
        <QueueByDate
          to={range.to}
          groups={groups}
          loading={open.isPending}
          error={open.isError ? describeError(open.error, i18n).message : null}
          shown={open.data?.items.length ?? 0}
          total={open.data?.total ?? 0}
        />
      </div>
    </>
  );
}

/**
 * The open requests due by `to` (and the overdue ones), kept fresh: a day
 * whose bookings change (a booking, move, cancellation or rejection — what
 * the hub announces) refetches them, so do the app's own request changes
 * (every `requests` query is invalidated), and a slow refresh catches
 * status changes made elsewhere.
 */
function useOpenRequests(to: string) {
  const live = useLive();
  const queryClient = useQueryClient();
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const unsubscribe = live.subscribeEvents((event) => {
      if (event.kind !== 'days') return;
      if (!event.changes.some((c) => c.after.date <= to && c.before?.used !== c.after.used)) return;
      // one refetch for a burst (a move touches two days)
      clearTimeout(timer);
      timer = setTimeout(() => void queryClient.invalidateQueries({ queryKey: keys.openRequests(to) }), 150);
    });
    return () => {
      unsubscribe();
      clearTimeout(timer);
    };
  }, [live, queryClient, to]);
  return useQuery({
    queryKey: keys.openRequests(to),
    queryFn: () => fetchOpenRequests((status, page) => api.requests({ status, to, page, pageSize: QUEUE_PAGE_SIZE })),
    refetchInterval: QUEUE_REFRESH_MS,
  });
}

interface LoadProps {
  settings: Settings;
  weeks: string[][];
  days: Day[] | undefined;
  failed: boolean;
  retry: () => void;
  openCounts: Map<string, number> | undefined;
}

function LoadByDay({ settings, weeks, days, failed, retry, openCounts }: LoadProps) {
  const i18n = useI18n();
  const { t } = i18n;
  const headingId = useId();
  const summaryId = useId();
  const captionId = useId();
  const highlighted = useHighlightedDates();
  const connection = useConnectionState();
  const stale = connection === 'offline' || connection === 'reconnecting';
  const byDate = useMemo(() => new Map((days ?? []).map((d) => [d.date, d])), [days]);
  const dates = weeks.flat();
  const summary = days ? summarizeRange(days, settings.today) : null;

  let summaryText = t('app.loading');
  if (summary) {
    summaryText = t('capacity.summary', {
      booked: summary.booked,
      capacity: summary.capacity,
      held: summary.held,
      free: summary.free,
      full: summary.fullDays,
      closed: summary.closedDays,
    });
    if (summary.busiest) {
      summaryText += ` ${t('capacity.busiest', { date: i18n.shortDate(summary.busiest.date), booked: bookedText(summary.busiest, i18n) })}`;
    }
  }

  return (
    <section className="card capacity-load" aria-labelledby={headingId}>
      <h2 id={headingId}>{t('capacity.load')}</h2>
      {stale && (
        <p className="stale-note" role="status" data-testid="capacity-stale">
          <span aria-hidden="true">⟳ </span>
          {t(connection === 'offline' ? 'calendar.staleOffline' : 'calendar.staleReconnecting')}
        </p>
      )}
      {failed && (
        <p role="alert" className="error">
          {t('capacity.loadError')}{' '}
          <button type="button" onClick={retry}>
            {t('app.retry')}
          </button>
        </p>
      )}
      <p id={summaryId} className="capacity-summary" data-testid="capacity-summary">
        {summaryText}
      </p>
      <div
        className={`cap-grid${stale ? ' cap-grid-stale' : ''}`}
        role="img"
        aria-labelledby={`${headingId} ${summaryId}`}
        aria-busy={!days}
        data-testid="capacity-chart"
      >
        {i18n.weekdays('short').map((name, i) => (
          <span key={`h${i}`} className="cap-weekday">
            <span className="weekday-short">{name}</span>
            <span className="weekday-narrow">{i18n.weekdays('narrow')[i]}</span>
          </span>
        ))}
        {dates.map((date, i) => (
          <DayBar
            key={date}
            date={date}
            day={byDate.get(date)}
            settings={settings}
            monthLabel={i === 0 || calendarParts(date, i18n.locale.calendar).day === 1 ? monthShort(date, i18n) : null}
            highlighted={highlighted.has(date)}
          />
        ))}
      </div>
      <Legend />
      <details className="cap-details" data-testid="capacity-table-details">
        <summary>{t('capacity.showTable')}</summary>
        <div className="table-scroll" role="region" aria-labelledby={captionId} tabIndex={0}>
          <table className="data-table" data-testid="capacity-table">
            <caption id={captionId}>
              {t('capacity.tableCaption', { from: i18n.date(dates[0]), to: i18n.date(dates[dates.length - 1]) })}
            </caption>
            <thead>
              <tr>
                <th scope="col">{t('capacity.col.date')}</th>
                <th scope="col">{t('capacity.col.status')}</th>
                <th scope="col">{t('capacity.col.booked')}</th>
                <th scope="col">{t('capacity.col.held')}</th>
                <th scope="col">{t('capacity.col.capacity')}</th>
                <th scope="col">{t('capacity.col.free')}</th>
                <th scope="col">{t('capacity.col.open')}</th>
                <th scope="col">{t('capacity.col.note')}</th>
              </tr>
            </thead>
            <tbody>
              {dates.map((date) => (
                <DayRow key={date} date={date} day={byDate.get(date)} settings={settings} open={openCounts ? (openCounts.get(date) ?? 0) : undefined} />
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </section>
  );
}

/** What a closed day says: its reason in a word or two (the cell), or a phrase (the table). */
function closedWords(day: Day, settings: Settings, i18n: I18n): { word: string; phrase: string } {
  const reason = closedReason(day, settings);
  const opens = reason === 'not_open_yet' ? opensOn(day.date, settings) : null;
  const phrase = reasonText(reason, opens, day, i18n);
  const word =
    reason === 'past'
      ? ''
      : reason === 'not_open_yet'
        ? i18n.t('day.notOpenYet')
        : day.note && reason === 'no_capacity'
          ? day.note
          : i18n.t('status.closed');
  return { word, phrase };
}

function DayBar({
  date,
  day,
  settings,
  monthLabel,
  highlighted,
}: {
  date: string;
  day: Day | undefined;
  settings: Settings;
  monthLabel: string | null;
  highlighted: boolean;
}) {
  const i18n = useI18n();
  const { t } = i18n;
  const status = day?.status;
  const reason = closedReason(day, settings);
  const override = day !== undefined && reason !== 'past' && hasOverride(day, settings.dailyCapacity);
  const load = day ? dayLoad(day) : null;
  const takes = status === 'available' || status === 'limited' || status === 'full';
  return (
    <div
      className={[
        'cap-day',
        status ? `cap-${status}` : 'cap-loading',
        reason ? `cap-reason-${reason}` : '',
        date === settings.today ? 'cap-today' : '',
        load?.over ? 'cap-over' : '',
        highlighted ? 'day-flash' : '',
      ].join(' ')}
      data-testid={`cap-day-${date}`}
      data-date={date}
      data-status={status ?? 'loading'}
      data-reason={reason ?? undefined}
      data-used={day?.used}
      data-held={day?.held}
      data-capacity={day?.capacity}
      data-override={override || undefined}
      data-highlighted={highlighted || undefined}
    >
      <span className="cap-top">
        <span className="cap-date">
          <span className="cap-num">{i18n.dayOfMonth(date)}</span>
          {monthLabel && <span className="cap-month">{` ${monthLabel}`}</span>}
        </span>
        {override && <span className="day-override-mark" />}
        {status && reason !== 'past' && <StatusIcon status={status} />}
      </span>
      {day && load && takes && (
        <>
          <span className="cap-figure" data-testid="cap-figure">
            {t('capacity.figure', { used: day.used, capacity: day.capacity })}
          </span>
          <span className="cap-bar">
            <span className="cap-bar-booked" style={{ inlineSize: `${load.bookedPct}%` }} />
            {load.heldPct > 0 && <span className="cap-bar-held" style={{ inlineSize: `${load.heldPct}%` }} />}
          </span>
          {day.held > 0 && <span className="cap-held">{`${i18n.number(day.held)} ${t('day.heldUnit')}`}</span>}
        </>
      )}
      {day && !takes && <span className="cap-word">{closedWords(day, settings, i18n).word}</span>}
    </div>
  );
}

function DayRow({ date, day, settings, open }: { date: string; day: Day | undefined; settings: Settings; open: number | undefined }) {
  const i18n = useI18n();
  const { t } = i18n;
  if (!day) {
    return (
      <tr>
        <th scope="row">{i18n.date(date)}</th>
        <td colSpan={7}>{t('app.loading')}</td>
      </tr>
    );
  }
  const reason = closedReason(day, settings);
  const notes: string[] = [];
  if (day.status === 'closed') notes.push(closedWords(day, settings, i18n).phrase);
  if (reason !== 'past' && hasOverride(day, settings.dailyCapacity) && !(reason === 'no_capacity' && day.note)) {
    notes.push(day.note ? t('capacity.overrideNote', { note: day.note }) : t('capacity.override'));
  }
  if (day.used > day.capacity && day.status !== 'closed') notes.push(t('capacity.over'));
  if (date === settings.today) notes.push(t('day.ariaToday'));
  const past = reason === 'past';
  return (
    <tr data-testid={`cap-row-${date}`} data-used={day.used} data-held={day.held} data-capacity={day.capacity} data-status={day.status}>
      <th scope="row">{i18n.date(date)}</th>
      <td>{t(`status.${day.status}`)}</td>
      <td>{past ? '' : i18n.number(day.used)}</td>
      <td>{past ? '' : i18n.number(day.held)}</td>
      <td>{past ? '' : i18n.number(day.capacity)}</td>
      <td>{past ? '' : i18n.number(day.remaining)}</td>
      <td>{open === undefined ? '' : i18n.number(open)}</td>
      <td dir="auto">{notes.join(i18n.sep)}</td>
    </tr>
  );
}

function Legend() {
  const { t } = useI18n();
  return (
    <StatusLegend className="cap-legend">
      <li className="legend-item">
        <span className="cap-swatch cap-swatch-booked" aria-hidden="true" /> {t('capacity.bookedLegend')}
      </li>
      <li className="legend-item">
        <span className="cap-swatch cap-swatch-held" aria-hidden="true" /> {t('capacity.heldLegend')}
      </li>
      <li className="legend-item">
        <span className="day-override-mark" aria-hidden="true" /> {t('capacity.overrideLegend')}
      </li>
    </StatusLegend>
  );
}

interface QueueProps {
  to: string;
  groups: QueueGroup[];
  loading: boolean;
  error: string | null;
  shown: number;
  total: number;
}

function QueueByDate({ to, groups, loading, error, shown, total }: QueueProps) {
  const i18n = useI18n();
  const { t } = i18n;
  const headingId = useId();
  const pending = groups.reduce((n, g) => n + g.pending, 0);
  const inProgress = groups.reduce((n, g) => n + g.inProgress, 0);
  const overdue = groups.filter((g) => g.overdue).reduce((n, g) => n + g.pending + g.inProgress, 0);
  const busiest = Math.max(0, ...groups.map((g) => g.pending + g.inProgress));
  return (
    <section className="card capacity-queue" aria-labelledby={headingId}>
      <h2 id={headingId}>{t('capacity.queue')}</h2>
      {loading && <p>{t('app.loading')}</p>}
      {error && <p role="alert" className="error">{error}</p>}
      {!loading && !error && (
        <p data-testid="capacity-queue-summary">
          {t('capacity.queueSummary', { to: i18n.date(to), n: pending + inProgress, pending, inProgress })}
          {overdue > 0 && ` ${t('capacity.queueOverdueCount', { n: overdue })}`}
        </p>
      )}
      {shown < total && <p className="muted small">{t('capacity.queuePartial', { shown, total })}</p>}
      {!loading && !error && groups.length === 0 && <p>{t('capacity.queueEmpty')}</p>}
      {groups.length > 0 && (
        <ol className="cap-queue" data-testid="capacity-queue">
          {groups.map((group) => {
            const bar = queueBar(group, busiest);
            const counts = [
              group.pending > 0 ? t('capacity.queuePending', { n: group.pending }) : null,
              group.inProgress > 0 ? t('capacity.queueInProgress', { n: group.inProgress }) : null,
            ].filter((c): c is string => c !== null);
            return (
              <li
                key={group.dueDate}
                className={`cap-queue-date${group.overdue ? ' cap-queue-overdue' : ''}`}
                data-testid={`cap-queue-${group.dueDate}`}
                data-pending={group.pending}
                data-in-progress={group.inProgress}
              >
                <details>
                  <summary>
                    <span className="cap-queue-head">
                      <span className="cap-queue-when">
                        {i18n.shortDate(group.dueDate)}
                        {group.overdue && <span className="cap-queue-late">{` ${t('capacity.queueOverdue')}`}</span>}
                      </span>
                      <span className="cap-queue-counts">{counts.join(i18n.dot)}</span>
                    </span>
                    <span className="cap-queue-bar" aria-hidden="true">
                      <span className="cap-queue-pending" style={{ inlineSize: `${bar.pendingPct}%` }} />
                      <span className="cap-queue-in-progress" style={{ inlineSize: `${bar.inProgressPct}%` }} />
                    </span>
                  </summary>
                  <ul className="cap-queue-requests">
                    {group.requests.map((request) => (
                      <li key={request.id} data-testid={`cap-request-${request.id}`}>
                        <Link to={`/queue?request=${request.id}`} className="cap-request-title">
                          {request.title}
                        </Link>{' '}
                        <span className="request-meta">
                          <PriorityBadge priority={request.priority} />
                          <span className={`badge badge-${request.status}`}>{t(`request.${request.status}`)}</span>
                          <span className="muted small">{request.requesterName}</span>
                        </span>
                      </li>
                    ))}
                  </ul>
                </details>
              </li>
            );
          })}
        </ol>
      )}
    </section>
  );
}
