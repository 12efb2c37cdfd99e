// The bell: unread count kept live by InboxUpdated, a list that opens below.
import { useEffect, useRef, useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link } from 'react-router-dom';
import { api } from '../api/client';
import type { Inbox } from '../api/types';
import { useAuth } from '../auth/AuthProvider';
import { useI18n } from '../i18n/I18nProvider';
import { notificationLink, notificationText } from '../i18n/notifications';
import { keys } from '../live/queryKeys';

export function NotificationBell() {
  const i18n = useI18n();
  const { t } = i18n;
  const queryClient = useQueryClient();
  const { user } = useAuth();
  const [open, setOpen] = useState(false);
  const wrapper = useRef<HTMLDivElement>(null);
  const button = useRef<HTMLButtonElement>(null);
  const inbox = useQuery({ queryKey: keys.notifications, queryFn: api.notifications, staleTime: 60_000 });
  const unread = inbox.data?.unreadCount ?? 0;

  const markRead = useMutation({
    mutationFn: api.markRead,
    onMutate: (id: number) =>
      queryClient.setQueryData<Inbox>(keys.notifications, (old) =>
        old
          ? {
              unreadCount: Math.max(0, old.unreadCount - (old.items.some((n) => n.id === id && !n.read) ? 1 : 0)),
              items: old.items.map((n) => (n.id === id ? { ...n, read: true } : n)),
            }
          : old,
      ),
  });
  const markAll = useMutation({
    mutationFn: api.markAllRead,
    onMutate: () =>
      queryClient.setQueryData<Inbox>(keys.notifications, (old) =>
        old ? { unreadCount: 0, items: old.items.map((n) => ({ ...n, read: true })) } : old,
      ),
  });

  useEffect(() => {
    if (!open) return;
    const close = (event: MouseEvent | KeyboardEvent) => {
      if (event instanceof KeyboardEvent) {
        if (event.key !== 'Escape') return;
        // the key closes the panel, not a notice as well
        event.preventDefault();
        setOpen(false);
        button.current?.focus();
      } else if (!wrapper.current?.contains(event.target as Node)) {
        setOpen(false);
      }
    };
    document.addEventListener('mousedown', close);
    document.addEventListener('keydown', close, true);
    return () => {
      document.removeEventListener('mousedown', close);
      document.removeEventListener('keydown', close, true);
    };
  }, [open]);

  return (
    <div className="bell" ref={wrapper}>
      <button
        ref={button}
        type="button"
        className="bell-button"
        aria-expanded={open}
        aria-controls="bell-panel"
        aria-label={unread ? t('bell.labelUnread', { n: unread }) : t('bell.label')}
        onClick={() => setOpen(!open)}
        data-testid="bell"
      >
        <svg aria-hidden="true" viewBox="0 0 24 24" width="18" height="18" className="bell-icon">
          <path
            fill="currentColor"
            d="M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22Zm7-6V11a7 7 0 0 0-5.5-6.84V3.5a1.5 1.5 0 0 0-3 0v.66A7 7 0 0 0 5 11v5l-2 2v1h18v-1l-2-2Z"
          />
        </svg>
        {unread > 0 && (
          <span className="bell-count" data-testid="bell-count" data-count={unread} aria-hidden="true">
            {i18n.number(unread)}
          </span>
        )}
      </button>
      {open && (
        <div id="bell-panel" className="bell-panel card" data-testid="bell-panel">
          <div className="bell-head">
            <strong>{t('bell.label')}</strong>
            {unread > 0 && (
              <button type="button" className="link" onClick={() => markAll.mutate()}>
                {t('bell.markAll')}
              </button>
            )}
          </div>
          {(inbox.data?.items ?? []).length === 0 ? (
            <p className="muted">{t('bell.empty')}</p>
          ) : (
            <ul className="bell-list">
              {inbox.data!.items.slice(0, 30).map((n) => {
                const link = notificationLink(n, user?.role);
                const text = notificationText(n, i18n);
                return (
                <li key={n.id} className={n.read ? 'read' : 'unread'} data-testid="bell-item">
                  {!n.read && <span className="visually-hidden">{t('bell.unread')}: </span>}
                  {link ? (
                    <Link
                      to={link}
                      className="bell-link"
                      onClick={() => {
                        setOpen(false);
                        if (!n.read) markRead.mutate(n.id);
                      }}
                    >
                      {text}
                    </Link>
                  ) : (
                    <div>{text}</div>
                  )}
                  <div className="muted small">
                    {i18n.timestamp(n.createdAt)}
                    {!n.read && (
                      <>
                        {i18n.dot}
                        <button type="button" className="link" onClick={() => markRead.mutate(n.id)}>
                          {t('bell.markRead')}
                        </button>
                      </>
                    )}
                  </div>
                </li>
                );
              })}
            </ul>
          )}
        </div>
      )}
    </div>
  );
}
