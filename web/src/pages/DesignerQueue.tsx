// The designer queue: every request, filterable by status, with the allowed
// status changes (pending → in progress → completed; pending or in progress → rejected).
import { useState } from 'react';
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api } from '../api/client';
import { REQUEST_STATUSES, type RequestStatus, type WorkRequest } from '../api/types';
import { describeError } from '../i18n/errors';
import { useI18n } from '../i18n/I18nProvider';
import type { MessageKey } from '../i18n/en';
import { keys } from '../live/queryKeys';

const PAGE_SIZE = 20;

const ACTIONS: Record<RequestStatus, { to: RequestStatus; label: MessageKey }[]> = {
  pending: [
    { to: 'in_progress', label: 'queue.start' },
    { to: 'rejected', label: 'queue.reject' },
  ],
  in_progress: [
    { to: 'completed', label: 'queue.complete' },
    { to: 'rejected', label: 'queue.reject' },
  ],
  completed: [],
  rejected: [],
  cancelled: [],
};

export function DesignerQueue() {
  const i18n = useI18n();
  const { t } = i18n;
  const queryClient = useQueryClient();
  const [status, setStatus] = useState<RequestStatus | ''>('pending');
  const [page, setPage] = useState(1);
  const [notice, setNotice] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  const requests = useQuery({
    queryKey: keys.requests('queue', status, page),
    queryFn: () => api.requests({ status: status || undefined, page, pageSize: PAGE_SIZE }),
    placeholderData: keepPreviousData,
  });

  const change = useMutation({
    mutationFn: ({ request, to }: { request: WorkRequest; to: RequestStatus }) => api.setRequestStatus(request.id, to),
    onSuccess: (saved) => {
      setError(null);
      setNotice(t('queue.changed', { title: saved.title, status: t(`request.${saved.status}`) }));
      void queryClient.invalidateQueries({ queryKey: keys.requestsAll });
    },
    onError: (e) => {
      setNotice(null);
      setError(describeError(e, i18n, 'status').message);
    },
  });

  const total = requests.data?.total ?? 0;
  const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));

  return (
    <div className="page page-queue">
      <h1>{t('queue.title')}</h1>
      <div className="toolbar">
        <label>
          {t('queue.filter')}{' '}
          <select
            value={status}
            onChange={(e) => {
              setStatus(e.target.value as RequestStatus | '');
              setPage(1);
            }}
            data-testid="queue-filter"
          >
            <option value="">{t('queue.all')}</option>
            {REQUEST_STATUSES.map((s) => (
              <option key={s} value={s}>
                {t(`request.${s}`)}
              </option>
            ))}
          </select>
        </label>
      </div>
      {notice && (
        <p role="status" className="success" data-testid="queue-notice">
          {notice}
        </p>
      )}
      {error && (
        <p role="alert" className="error" data-testid="queue-error">
          {error}
        </p>
      )}
      {requests.isPending && <p>{t('app.loading')}</p>}
      {requests.isError && <p role="alert">{describeError(requests.error, i18n).message}</p>}
      {requests.data && requests.data.items.length === 0 && <p>{t('queue.empty')}</p>}
      {requests.data && requests.data.items.length > 0 && (
        <table className="table" data-testid="queue">
          <thead>
            <tr>
              <th scope="col">{t('table.title')}</th>
              <th scope="col">{t('table.due')}</th>
              <th scope="col">{t('table.priority')}</th>
              <th scope="col">{t('table.requester')}</th>
              <th scope="col">{t('table.status')}</th>
              <th scope="col">{t('table.actions')}</th>
            </tr>
          </thead>
          <tbody>
            {requests.data.items.map((request) => (
              <tr key={request.id} data-testid={`queue-${request.id}`}>
                <td>
                  <div>{request.title}</div>
                  {request.description && <div className="muted small">{request.description}</div>}
                </td>
                <td>{i18n.date(request.dueDate)}</td>
                <td>
                  <span className={`badge priority-${request.priority}`}>{t(`priority.${request.priority}`)}</span>
                </td>
                <td>#{i18n.number(request.requesterId)}</td>
                <td>
                  <span className={`badge badge-${request.status}`}>{t(`request.${request.status}`)}</span>
                </td>
                <td className="actions">
                  {ACTIONS[request.status].map(({ to, label }) => (
                    <button
                      key={to}
                      type="button"
                      className={to === 'rejected' ? 'danger' : undefined}
                      disabled={change.isPending}
                      onClick={() => change.mutate({ request, to })}
                      data-testid={`status-${request.id}-${to}`}
                    >
                      {t(label)}
                    </button>
                  ))}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {pages > 1 && (
        <nav className="pager" aria-label={t('queue.page', { page, pages })}>
          <button type="button" disabled={page <= 1} onClick={() => setPage(page - 1)}>
            {t('queue.prevPage')}
          </button>
          <span>{t('queue.page', { page, pages })}</span>
          <button type="button" disabled={page >= pages} onClick={() => setPage(page + 1)}>
            {t('queue.nextPage')}
          </button>
        </nav>
      )}
    </div>
  );
}
