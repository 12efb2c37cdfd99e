import { describe, expect, it } from 'vitest';
import type { Notification } from '../api/types';
import { en, type MessageKey } from './en';
import { fa } from './fa';
import { formatDate, interpolate, type Lang } from './format';
import { notificationLink, notificationText } from './notifications';

function i18n(lang: Lang) {
  const messages = lang === 'en' ? en : fa;
  return {
    t: (key: MessageKey, params?: Record<string, string | number>) => interpolate(messages[key], params, lang),
    date: (d: string) => formatDate(d, lang),
  };
}

/** A payload the document does not allow (an older or a newer server): the client must still cope. */
const offDocument = (n: Record<string, unknown>) => n as unknown as Notification;

const status: Notification = {
  id: 1,
  requestId: 7,
  kind: 'StatusChanged',
  params: { title: 'Poster', dueDate: '2026-05-15', status: 'in_progress' },
  message: 'Your request "Poster" is now in_progress',
  read: false,
  createdAt: '2026-05-01T10:00:00Z',
};

describe('notificationText', () => {
  it('words a status change in the reader’s language, with a localized date and status', () => {
    expect(notificationText(status, i18n('en'))).toBe('“Poster” (due May 15, 2026) is now In progress.');
    const persian = notificationText(status, i18n('fa'));
    expect(persian).toBe('«Poster» (سررسید ۲۵ اردیبهشت ۱۴۰۵) اکنون در حال انجام است.');
    expect(persian).not.toMatch(/in_progress|[0-9]/);
  });
  it('adds the reason of a rejection, and words a new request', () => {
    const rejected = { ...status, params: { ...status.params!, status: 'rejected' as const, reason: 'duplicate' } };
    expect(notificationText(rejected, i18n('en'))).toBe('“Poster” (due May 15, 2026) is now Rejected. Reason: duplicate');
    const created: Notification = { ...status, kind: 'NewRequest', params: { title: 'Poster', dueDate: '2026-05-15' } };
    expect(notificationText(created, i18n('fa'))).toBe('درخواست تازهٔ «Poster»، سررسید ۲۵ اردیبهشت ۱۴۰۵.');
  });
  it('falls back to the server’s message without params or with an unknown kind', () => {
    expect(notificationText(offDocument({ ...status, params: undefined }), i18n('fa'))).toBe(status.message);
    expect(notificationText(offDocument({ ...status, kind: 'Other' }), i18n('fa'))).toBe(status.message);
  });
});

describe('notificationLink', () => {
  it('leads requesters to My requests and staff to the queue for new requests', () => {
    expect(notificationLink(status, 'requester')).toBe('/requests?request=7');
    expect(notificationLink({ ...status, kind: 'NewRequest' }, 'designer')).toBe('/queue?request=7');
    expect(notificationLink(offDocument({ ...status, requestId: null }), 'designer')).toBeNull();
  });
});
