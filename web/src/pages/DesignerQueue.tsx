// The designer queue: every request, filterable by status and priority,
// sortable, with the allowed status changes (pending → in progress →
// completed; pending or in progress → rejected). Rejecting asks first.
// Each request names its requester (`requesterName`), so designers see
// names without the admin-only user list.
import { useRef, useState } from 'react';
import { useSearchParams } from 'react-router-dom';
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api } from '../api/client';
import { PRIORITIES, REQUEST_STATUSES, type Priority, type RequestStatus, type WorkRequest } from '../api/types';
import { describeError } from '../i18n/errors';
import { useI18n } from '../i18n/I18nProvider';
import type { MessageKey } from '../i18n/en';
import { keys } from '../live/queryKeys';
import { PriorityBadge } from '../components/PriorityBadge';

const PAGE_SIZE = 20;
const PRIORITY_RANK: Record<Priority, number> = { urgent: 0, high: 1, normal: 2, low: 3 };

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

export type QueueSort = 'due' | 'priority' | 'newest';

export function sortRequests(items: readonly WorkRequest[], sort: QueueSort): WorkRequest[] {
  const list = [...items];
  if (sort === 'due') list.sort((a, b) => a.dueDate.localeCompare(b.dueDate) || PRIORITY_RANK[a.priority] - PRIORITY_RANK[b.priority]);
  if (sort === 'priority') list.sort((a, b) => PRIORITY_RANK[a.priority] - PRIORITY_RANK[b.priority] || a.dueDate.localeCompare(b.dueDate));
  if (sort === 'newest') list.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  return list;
}

export function DesignerQueue() {
  const i18n = useI18n();
  const { t } = i18n;
  const queryClient = useQueryClient();
  const [params] = useSearchParams();
  const linked = Number(params.get('request')) || null;
  const [status, setStatus] = useState<RequestStatus | ''>(linked ? '' : 'pending');
  const [priority, setPriority] = useState<Priority | ''>('');
  const [sort, setSort] = useState<QueueSort>('due');
  const [page, setPage] = useState(1);
  const [notice, setNotice] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [rejecting, setRejecting] = useState<number | null>(null);
  const [reason, setReason] = useState('');
  const noticeRef = useRef<HTMLParagraphElement>(null);

  const requests = useQuery({
    queryKey: keys.requests('queue', status, page),
    queryFn: () => api.requests({ status: status || undefined, page, pageSize: PAGE_SIZE }),
    placeholderData: keepPreviousData,
  });

  const change = useMutation({
    mutationFn: ({ request, to, why }: { request: WorkRequest; to: RequestStatus; why?: string }) =>
      api.setRequestStatus(request.id, to, why?.trim() || undefined),
    onSuccess: (saved) => {
      setError(null);
      setRejecting(null);
      setNotice(t('queue.changed', { title: saved.title, status: t(`request.${saved.status}`) }));
      // the row's buttons change (or the row leaves the filter): keep focus on the page's news
      requestAnimationFrame(() => noticeRef.current?.focus());
      void queryClient.invalidateQueries({ queryKey: keys.requestsAll });
    },
    onError: (e) => {
      setNotice(null);
      setError(describeError(e, i18n, 'status').message);
    },
  });

  const total = requests.data?.total ?? 0;
  const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
  const items = sortRequests(
    (requests.data?.items ?? []).filter((r) => !priority || r.priority === priority),
    sort,
  );

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
        <label>
          {t('table.priority')}{' '}
          <select value={priority} onChange={(e) => setPriority(e.target.value as Priority | '')} data-testid="queue-priority">
            <option value="">{t('queue.anyPriority')}</option>
            {PRIORITIES.map((p) => (
              <option key={p} value={p}>
                {t(`priority.${p}`)}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t('queue.sort')}{' '}
          <select value={sort} onChange={(e) => setSort(e.target.value as QueueSort)} data-testid="queue-sort">
            <option value="due">{t('queue.sortDue')}</option>
            <option value="priority">{t('queue.sortPriority')}</option>
            <option value="newest">{t('queue.sortNewest')}</option>
          </select>
        </label>
      </div>
      <p
        ref={noticeRef}
        tabIndex={-1}
        role="status"
        className={notice ? 'success' : 'visually-hidden'}
        data-testid={notice ? 'queue-notice' : undefined}
      >
        {notice}
      </p>
      {error && (
        <p role="alert" className="error" data-testid="queue-error">
          {error}
        </p>
      )}
      {requests.isPending && <p>{t('app.loading')}</p>}
      {requests.isError && <p role="alert">{describeError(requests.error, i18n).message}</p>}
      {requests.data && items.length === 0 && <p>{t('queue.empty')}</p>}
      {requests.data && items.length > 0 && (
        <ul className="request-list" data-testid="queue">
          {items.map((request) => (
            <li
              key={request.id}
              className={`request-item${request.id === linked ? ' request-linked' : ''}`}
              data-testid={`queue-${request.id}`}
            >
              <div className="request-row">
                <div className="request-main">
                  <span className="request-title">{request.title}</span>
                  {request.description && <span className="muted small request-description">{request.description}</span>}
                  <span className="request-meta">
                    <span className="request-due">{i18n.date(request.dueDate)}</span>
                    <PriorityBadge priority={request.priority} />
                    <span className={`badge badge-${request.status}`}>{t(`request.${request.status}`)}</span>
                    <span className="muted small" data-testid="requester">
                      {request.requesterName || t('queue.requester', { n: request.requesterId })}
                    </span>
                  </span>
                </div>
                <div className="actions">
                  {rejecting === request.id ? (
                    <span className="confirm" role="group" aria-label={t('queue.confirmReject', { title: request.title })}>
                      <span className="confirm-text">{t('queue.confirmReject', { title: request.title })}</span>
                      <label className="reject-reason">
                        {t('queue.rejectReason')}
                        <input
                          autoFocus
                          value={reason}
                          maxLength={500}
                          onChange={(e) => setReason(e.target.value)}
                          data-testid={`reject-reason-${request.id}`}
                        />
                      </label>
                      <button
                        type="button"
                        className="danger"
                        aria-disabled={change.isPending || undefined}
                        onClick={() => !change.isPending && change.mutate({ request, to: 'rejected', why: reason })}
                        data-testid={`confirm-reject-${request.id}`}
                      >
                        {t('queue.rejectYes')}
                      </button>
                      <button
                        type="button"
                        onClick={() => {
                          setRejecting(null);
                          requestAnimationFrame(() =>
                            document.querySelector<HTMLElement>(`[data-testid="status-${request.id}-rejected"]`)?.focus(),
                          );
                        }}
                      >
                        {t('queue.rejectNo')}
                      </button>
                    </span>
                  ) : (
                    ACTIONS[request.status].map(({ to, label }) => (
                      <button
                        key={to}
                        type="button"
                        className={to === 'rejected' ? 'danger' : undefined}
                        aria-disabled={change.isPending || undefined}
                        onClick={() => {
                          if (change.isPending) return;
                          if (to === 'rejected') {
                            setReason('');
                            setRejecting(request.id);
                          }
                          else change.mutate({ request, to });
                        }}
                        data-testid={`status-${request.id}-${to}`}
                      >
                        {t(label)}
                      </button>
                    ))
                  )}
                </div>
              </div>
            </li>
          ))}
        </ul>
      )}
      {pages > 1 && (
        <nav className="pager" aria-label={t('queue.pages')}>
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
