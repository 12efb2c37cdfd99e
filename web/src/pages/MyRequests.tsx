// My requests: move one to another date (the same live calendar) or cancel it.
import { useEffect, useRef, useState } from 'react';
import type { FormEvent } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api } from '../api/client';
import type { WorkRequest } from '../api/types';
import { useAuth } from '../auth/AuthProvider';
import { Calendar, bookable } from '../components/Calendar';
import { RequestFields, type FieldErrors, type RequestDraft } from '../components/RequestFields';
import { SelectedDay } from '../components/SelectedDay';
import { describeError } from '../i18n/errors';
import { useI18n } from '../i18n/I18nProvider';
import { useLatestDay } from '../live/LiveProvider';
import { keys } from '../live/queryKeys';
import { useSettings } from '../live/useAvailability';

const PAGE_SIZE = 100;

export function MyRequests() {
  const i18n = useI18n();
  const { t } = i18n;
  const { user } = useAuth();
  const queryClient = useQueryClient();
  const [editing, setEditing] = useState<WorkRequest | null>(null);
  const [confirming, setConfirming] = useState<number | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  const requests = useQuery({
    queryKey: keys.requests('mine', '', 1),
    queryFn: () => api.requests({ page: 1, pageSize: PAGE_SIZE }),
  });
  const mine = (requests.data?.items ?? []).filter((r) => r.requesterId === user?.id);

  const cancel = useMutation({
    mutationFn: (request: WorkRequest) => api.cancelRequest(request.id),
    onSuccess: (request) => {
      setConfirming(null);
      setNotice(t('mine.cancelled', { title: request.title }));
      void queryClient.invalidateQueries({ queryKey: keys.requestsAll });
    },
    onError: (e) => setError(describeError(e, i18n, 'status').message),
  });

  return (
    <div className="page page-mine">
      <h1>{t('mine.title')}</h1>
      {notice && (
        <p role="status" className="success" data-testid="mine-notice">
          {notice}
        </p>
      )}
      {error && (
        <p role="alert" className="error" data-testid="mine-error">
          {error}
        </p>
      )}
      {requests.isPending && <p>{t('app.loading')}</p>}
      {requests.isError && <p role="alert">{describeError(requests.error, i18n).message}</p>}
      {requests.isSuccess && mine.length === 0 && <p>{t('mine.empty')}</p>}
      {mine.length > 0 && (
        <table className="table" data-testid="my-requests">
          <thead>
            <tr>
              <th scope="col">{t('table.title')}</th>
              <th scope="col">{t('table.due')}</th>
              <th scope="col">{t('table.priority')}</th>
              <th scope="col">{t('table.status')}</th>
              <th scope="col">{t('table.actions')}</th>
            </tr>
          </thead>
          <tbody>
            {mine.map((request) => (
              <tr key={request.id} data-testid={`request-${request.id}`}>
                <td>{request.title}</td>
                <td>{i18n.date(request.dueDate)}</td>
                <td>{t(`priority.${request.priority}`)}</td>
                <td>
                  <span className={`badge badge-${request.status}`}>{t(`request.${request.status}`)}</span>
                </td>
                <td className="actions">
                  {request.status === 'pending' && (
                    <button
                      type="button"
                      onClick={() => {
                        setNotice(null);
                        setError(null);
                        setEditing(request);
                      }}
                      data-testid={`edit-${request.id}`}
                    >
                      {t('mine.edit')}
                    </button>
                  )}
                  {(request.status === 'pending' || request.status === 'in_progress') &&
                    (confirming === request.id ? (
                      <>
                        <button
                          type="button"
                          className="danger"
                          onClick={() => cancel.mutate(request)}
                          disabled={cancel.isPending}
                          data-testid={`confirm-cancel-${request.id}`}
                        >
                          {t('mine.confirmCancel')}
                        </button>
                        <button type="button" onClick={() => setConfirming(null)}>
                          {t('mine.keep')}
                        </button>
                      </>
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
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {editing && (
        <EditRequest
          key={editing.id}
          request={editing}
          onClose={() => setEditing(null)}
          onSaved={(saved) => {
            setEditing(null);
            setNotice(t('mine.saved', { title: saved.title, date: i18n.longDate(saved.dueDate) }));
          }}
        />
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
  const [draft, setDraft] = useState<RequestDraft>({
    title: request.title,
    description: request.description ?? '',
    priority: request.priority,
  });
  const [dueDate, setDueDate] = useState(request.dueDate);
  const [errors, setErrors] = useState<FieldErrors>({});
  const [general, setGeneral] = useState<string | null>(null);
  const selectedDay = useLatestDay(dueDate);
  const heading = useRef<HTMLHeadingElement>(null);

  // Opening the panel takes the reader to it.
  useEffect(() => {
    heading.current?.focus();
  }, []);

  const save = useMutation({
    mutationFn: () =>
      api.updateRequest(request.id, {
        title: draft.title.trim(),
        description: draft.description,
        priority: draft.priority,
        dueDate,
      }),
    onSuccess: (saved) => {
      void queryClient.invalidateQueries({ queryKey: keys.requestsAll });
      onSaved(saved);
    },
    onError: (e) => {
      const { field, message } = describeError(e, i18n, 'request');
      if (field === 'title' || field === 'description' || field === 'dueDate') setErrors({ [field]: message });
      else setGeneral(message);
    },
  });

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setGeneral(null);
    if (!draft.title.trim()) {
      setErrors({ title: t('error.field.title') });
      return;
    }
    setErrors({});
    save.mutate();
  };

  return (
    <section className="edit-panel" aria-labelledby="edit-heading" data-testid="edit-panel">
      <h2 id="edit-heading" ref={heading} tabIndex={-1}>
        {t('mine.editTitle', { title: request.title })}
      </h2>
      {settings.data && (
        <div className="new-layout">
          <Calendar
            minDate={settings.data.minDate}
            maxDate={settings.data.maxDate}
            today={settings.data.today}
            selected={dueDate}
            onSelect={setDueDate}
            isSelectable={(day, date) => date === request.dueDate || bookable(day, date)}
          />
          <form className="request-form" onSubmit={submit} noValidate>
            <SelectedDay date={dueDate} day={selectedDay} ownDate={request.dueDate} error={errors.dueDate} />
            <RequestFields draft={draft} onChange={setDraft} errors={errors} />
            {general && (
              <p role="alert" className="error" data-testid="form-error">
                {general}
              </p>
            )}
            <div className="button-row">
              <button type="submit" className="primary" disabled={save.isPending} data-testid="save-request">
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
