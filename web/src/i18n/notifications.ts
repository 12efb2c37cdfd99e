// A notification in the reader's language, from the contract's
// `Notification.params` ({title, dueDate, status?, reason?}); the server's
// English `message` is the fallback for a notification without params.
import type { Notification, RequestStatus, Role } from '../api/types';
import { REQUEST_STATUSES } from '../api/types';
import type { I18n } from './I18nProvider';

function isStatus(value: unknown): value is RequestStatus {
  return typeof value === 'string' && (REQUEST_STATUSES as string[]).includes(value);
}

export function notificationText(n: Notification, i18n: Pick<I18n, 't' | 'date'>): string {
  const p = n.params;
  if (!p || typeof p.title !== 'string' || typeof p.dueDate !== 'string') return n.message;
  const { t } = i18n;
  const date = i18n.date(p.dueDate);
  if (n.kind === 'NewRequest') return t('notify.new', { title: p.title, date });
  if (n.kind === 'StatusChanged' && isStatus(p.status)) {
    const text = t('notify.status', { title: p.title, date, status: t(`request.${p.status}`) });
    return p.reason ? `${text} ${t('notify.reason', { reason: p.reason })}` : text;
  }
  return n.message;
}

/** Where a notification leads: the request in My requests, or in the queue for staff. */
export function notificationLink(n: Notification, role: Role | undefined): string | null {
  if (n.requestId == null) return null;
  const staff = role === 'designer' || role === 'admin';
  if (n.kind === 'NewRequest' && staff) return `/queue?request=${n.requestId}`;
  return `/requests?request=${n.requestId}`;
}
