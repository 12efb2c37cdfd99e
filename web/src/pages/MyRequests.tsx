// My requests: Upcoming, Past and Cancelled. A request is edited (moved to
// another date on the same live calendar) right below its own row, and
// cancelled after a confirmation; focus never falls back to the page.
import { useEffect, useRef, useState } from 'react';
import type { FormEvent } from 'react';
import { useSearchParams } from 'react-router-dom';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { ApiError, api } from '../api/client';
import type { WorkRequest } from '../api/types';
import { useAuth } from '../auth/AuthProvider';
import { Calendar, bookable } from '../components/Calendar';
import { RequestFields, type FieldErrors, type RequestDraft } from '../components/RequestFields';
import { SelectedDay, isUnavailable } from '../components/SelectedDay';
import { fullByViewer } from '../calendar/reasons';
import { describeError } from '../i18n/errors';
import { knownFreesAt, refusalOf, type Refusal } from '../i18n/fullDay';
import { useI18n } from '../i18n/I18nProvider';
import { useOwnChanges } from '../live/LiveFeedback';
import { useLatestDay } from '../live/LiveProvider';
import { keys } from '../live/queryKeys';
import { useSettings } from '../live/useAvailability';
import { focusFirstProblem } from '../components/focus';
import { PriorityBadge } from '../components/PriorityBadge';

const PAGE_SIZE = 100;

export type RequestGroup = 'upcoming' | 'past' | 'cancelled';
const GROUPS: RequestGroup[] = ['upcoming', 'past', 'cancelled'];

/** Which list a request belongs in, seen on `today`. */
export function requestGroup(request: WorkRequest, today: string): RequestGroup {
  if (request.status === 'cancelled') return 'cancelled';
  if (request.status === 'completed' || request.status === 'rejected') return 'past';
  return request.dueDate < today ? 'past' : 'upcoming';
}

export function MyRequests() {
  const i18n = useI18n();
  const { t } = i18n;
  const { user } = useAuth();
  const queryClient = useQueryClient();
  const own = useOwnChanges();
  const settings = useSettings();
  const [params] = useSearchParams();
  const linked = Number(params.get('request')) || null;
  const [group, setGroup] = useState<RequestGroup>('upcoming');
  const [editing, setEditing] = useState<number | null>(null);
  const [confirming, setConfirming] = useState<number | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const noticeRef = useRef<HTMLParagraphElement>(null);
  const focusNotice = useRef(false);

  const requests = useQuery({
    queryKey: keys.requests('mine', '', 1),
    queryFn: () => api.requests({ page: 1, pageSize: PAGE_SIZE }),
  });
  const today = settings.data?.today ?? new Date().toISOString().slice(0, 10);
  const mine = (requests.data?.items ?? [])
    .filter((r) => r.requesterId === user?.id)
    .sort((a, b) => (a.dueDate < b.dueDate ? -1 : a.dueDate > b.dueDate ? 1 : a.id - b.id));
  const counts = Object.fromEntries(GROUPS.map((g) => [g, mine.filter((r) => requestGroup(r, today) === g).length]));
  const shown = mine.filter((r) => requestGroup(r, today) === group);
  if (group === 'past') shown.reverse();

  // A link to one request (from a notification) opens its list and shows it.
  const linkedRequest = linked ? mine.find((r) => r.id === linked) : undefined;
  useEffect(() => {
    if (!linkedRequest) return;
    setGroup(requestGroup(linkedRequest, today));
    requestAnimationFrame(() => {
      const row = document.querySelector<HTMLElement>(`[data-testid="request-${linkedRequest.id}"]`);
      row?.scrollIntoView({ block: 'center' });
      row?.focus();
    });
  }, [linkedRequest?.id, today]); // eslint-disable-line react-hooks/exhaustive-deps

  useEffect(() => {
    if (notice && focusNotice.current) {
      focusNotice.current = false;
      noticeRef.current?.focus();
    }
  }, [notice]);

  const cancel = useMutation({
    mutationFn: ({ request }: { request: WorkRequest; token: number }) => api.cancelRequest(request.id),
    onSuccess: (request) => {
      setConfirming(null);
      focusNotice.current = true;
      setNotice(t('mine.cancelled', { title: request.title }));
      void queryClient.invalidateQueries({ queryKey: keys.requestsAll });
    },
    onError: (e, { token }) => {
      own.release(token);
      setError(describeError(e, i18n, 'status').message);
    },
  });

  return (
    <div className="page page-mine">
      <h1>{t('mine.title')}</h1>
      <p
        ref={noticeRef}
        tabIndex={-1}
        role="status"
        className={notice ? 'success' : 'visually-hidden'}
        data-testid={notice ? 'mine-notice' : undefined}
      >
        {notice}
      </p>
      {error && (
        <p role="alert" className="error" data-testid="mine-error">
          {error}
        </p>
      )}
      <div className="segmented" role="group" aria-label={t('mine.show')}>
        {GROUPS.map((g) => (
          <button
            key={g}
            type="button"
            aria-pressed={group === g}
            onClick={() => {
              setGroup(g);
              setEditing(null);
            }}
            data-testid={`group-${g}`}
          >
            {t(`mine.group.${g}`)} <span className="count">{i18n.number(counts[g] ?? 0)}</span>
          </button>
        ))}
      </div>
      {requests.isPending && <p>{t('app.loading')}</p>}
      {requests.isError && <p role="alert">{describeError(requests.error, i18n).message}</p>}
      {requests.isSuccess && shown.length === 0 && <p>{t(mine.length === 0 ? 'mine.empty' : `mine.empty.${group}`)}</p>}
      {shown.length > 0 && (
        <ul className="request-list" data-testid="my-requests">
          {shown.map((request) => (
            <li
              key={request.id}
              className={`request-item${request.id === linked ? ' request-linked' : ''}`}
              data-testid={`request-${request.id}`}
              tabIndex={-1}
            >
              <div className="request-row">
                <div className="request-main">
                  <span className="request-title">{request.title}</span>
                  <span className="request-meta">
                    <span className="request-due">{i18n.date(request.dueDate)}</span>
                    <PriorityBadge priority={request.priority} />
                    <span className={`badge badge-${request.status}`}>{t(`request.${request.status}`)}</span>
                  </span>
                </div>
                <div className="actions">
                  {request.status === 'pending' && editing !== request.id && (
                    <button
                      type="button"
                      aria-expanded={false}
                      onClick={() => {
                        setNotice(null);
                        setError(null);
                        setConfirming(null);
                        setEditing(request.id);
                      }}
                      data-testid={`edit-${request.id}`}
                    >
                      {t('mine.edit')}
                    </button>
                  )}
                  {(request.status === 'pending' || request.status === 'in_progress') &&
                    (confirming === request.id ? (
                      <span className="confirm" role="group" aria-label={t('mine.confirmLabel', { title: request.title })}>
                        <button
                          type="button"
                          className="danger"
                          onClick={() => cancel.mutate({ request, token: own.expect([request.dueDate]) })}
                          aria-disabled={cancel.isPending || undefined}
                          data-testid={`confirm-cancel-${request.id}`}
                          autoFocus
                        >
                          {t('mine.confirmCancel')}
                        </button>
                        <button
                          type="button"
                          onClick={() => {
                            setConfirming(null);
                            requestAnimationFrame(() =>
                              document.querySelector<HTMLElement>(`[data-testid="cancel-${request.id}"]`)?.focus(),
                            );
                          }}
                        >
                          {t('mine.keep')}
                        </button>
                      </span>
                    ) : (
                      <button
                        type="button"
                        onClick={() => {
                          setNotice(null);
                          setError(null);
                          setConfirming(request.id);
                        }}
                        data-testid={`cancel-${request.id}`}
                      >
                        {t('mine.cancel')}
                      </button>
                    ))}
                </div>
              </div>
              {editing === request.id && (
                <EditRequest
                  key={request.id}
                  request={request}
                  onClose={() => {
                    setEditing(null);
                    requestAnimationFrame(() =>
                      document.querySelector<HTMLElement>(`[data-testid="edit-${request.id}"]`)?.focus(),
                    );
                  }}
                  onSaved={(saved) => {
                    setEditing(null);
                    focusNotice.current = true;
                    setNotice(t('mine.saved', { title: saved.title, date: i18n.longDate(saved.dueDate) }));
                  }}
                />
              )}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

function EditRequest({
  request,
  onClose,
  onSaved,
}: {
  request: WorkRequest;
  onClose: () => void;
  onSaved: (request: WorkRequest) => void;
}) {
  const i18n = useI18n();
  const { t } = i18n;
  const queryClient = useQueryClient();
  const settings = useSettings();
  const own = useOwnChanges();
  const [draft, setDraft] = useState<RequestDraft>({
    title: request.title,
    description: request.description ?? '',
    priority: request.priority,
  });
  const [dueDate, setDueDate] = useState(request.dueDate);
  const [blocked, setBlocked] = useState(false);
  const [errors, setErrors] = useState<FieldErrors>({});
  const [general, setGeneral] = useState<string | null>(null);
  /** The day this panel's own save is moving the request to (sent, no answer yet). */
  const [moving, setMoving] = useState<string | null>(null);
  /** The server's last 409 capacity_full: when the holds filling the day may free up. */
  const [refusal, setRefusal] = useState<Refusal | null>(null);
  const selectedDay = useLatestDay(dueDate);
  const heading = useRef<HTMLHeadingElement>(null);
  const form = useRef<HTMLFormElement>(null);
  const messageId = `edit-${request.id}-day`;

  // Opening the panel takes the reader to it.
  useEffect(() => {
    heading.current?.focus();
  }, []);

  const save = useMutation({
    mutationFn: (_token: number) =>
      api.updateRequest(request.id, {
        title: draft.title.trim(),
        description: draft.description,
        priority: draft.priority,
        dueDate,
      }),
    onSuccess: (saved) => {
      setMoving(null);
      void queryClient.invalidateQueries({ queryKey: keys.requestsAll });
      onSaved(saved);
    },
    onError: (e, token) => {
      own.release(token);
      setMoving(null);
      setRefusal(e instanceof ApiError && e.code === 'capacity_full' ? refusalOf(e.details) : null);
      const { field, message } = describeError(e, i18n, 'request');
      if (field === 'title' || field === 'description' || field === 'dueDate') setErrors({ [field]: message });
      else setGeneral(message);
      focusFirstProblem(form.current);
    },
  });

  // the move on its way fills the day: its live update may come before the answer, and is no news
  const ownFull = fullByViewer(selectedDay, { holding: false, booking: moving === dueDate });
  const dayProblem = dueDate !== request.dueDate && isUnavailable(selectedDay) && !ownFull;

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setGeneral(null);
    if (save.isPending || dayProblem) return;
    if (!draft.title.trim()) {
      setErrors({ title: t('error.field.title') });
      focusFirstProblem(form.current);
      return;
    }
    setErrors({});
    setMoving(dueDate === request.dueDate ? null : dueDate);
    save.mutate(own.expect(dueDate === request.dueDate ? [] : [request.dueDate, dueDate]));
  };

  return (
    <section className="edit-panel" aria-labelledby={`edit-heading-${request.id}`} data-testid="edit-panel">
      <h2 id={`edit-heading-${request.id}`} ref={heading} tabIndex={-1}>
        {t('mine.editTitle', { title: request.title })}
      </h2>
      {settings.data && (
        <div className="new-layout">
          <Calendar
            minDate={settings.data.minDate}
            maxDate={settings.data.maxDate}
            today={settings.data.today}
            selected={dueDate}
            initialDate={request.dueDate}
            onSelect={(d) => {
              setDueDate(d);
              setBlocked(false);
            }}
            onBlocked={(d) => {
              setDueDate(d);
              setBlocked(true);
            }}
            isSelectable={(day, date) => date === request.dueDate || bookable(day, date)}
          />
          <form ref={form} className="request-form" onSubmit={submit} noValidate>
            <SelectedDay
              date={dueDate}
              day={selectedDay}
              ownDate={ownFull ? dueDate : request.dueDate}
              blocked={blocked}
              error={errors.dueDate}
              freesAt={knownFreesAt(selectedDay, refusal)}
              onPick={(d) => {
                setDueDate(d);
                setBlocked(false);
              }}
              messageId={messageId}
            />
            <RequestFields draft={draft} onChange={setDraft} errors={errors} />
            {general && (
              <p role="alert" className="error" data-testid="form-error">
                {general}
              </p>
            )}
            <div className="button-row">
              <button
                type="submit"
                className="primary"
                aria-disabled={save.isPending || dayProblem || undefined}
                aria-describedby={dayProblem ? messageId : undefined}
                data-testid="save-request"
              >
                {t('mine.save')}
              </button>
              <button type="button" onClick={onClose}>
                {t('mine.close')}
              </button>
            </div>
          </form>
        </div>
      )}
    </section>
  );
}
