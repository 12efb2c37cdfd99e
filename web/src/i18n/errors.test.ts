import { describe, expect, it } from 'vitest';
import { ApiError } from '../api/client';
import { en, type MessageKey } from './en';
import { describeError } from './errors';
import { fa } from './fa';
import { formatDate, interpolate, type Lang } from './format';
import type { I18n } from './I18nProvider';

function i18n(lang: Lang): I18n {
  const messages = lang === 'en' ? en : fa;
  return {
    lang,
    t: (key: MessageKey, params?: Record<string, string | number>) => interpolate(messages[key], params, lang),
    date: (d: string) => formatDate(d, lang),
  } as unknown as I18n;
}

const full = new ApiError(409, {
  error: 'capacity_full',
  message: 'full',
  details: { date: '2026-05-15', capacity: 10, used: 10 },
});

describe('describeError', () => {
  it('puts capacity_full on the due date, with the numbers, in both languages', () => {
    expect(describeError(full, i18n('en'), 'request')).toEqual({
      field: 'dueDate',
      message: 'May 15, 2026 is full (10 of 10 booked). Pick another day.',
    });
    expect(describeError(full, i18n('fa'), 'request').message).toBe(
      '۲۵ اردیبهشت ۱۴۰۵ پر است (۱۰ از ۱۰ رزرو شده). روز دیگری برگزینید.',
    );
  });

  it('maps validation_failed to the named field', () => {
    const error = new ApiError(422, { error: 'validation_failed', message: 'title: must not be empty', details: { field: 'title' } });
    expect(describeError(error, i18n('en'), 'request')).toEqual({ field: 'title', message: en['error.field.title'] });
  });

  it('reads conflict and unauthorized by context', () => {
    const conflict = new ApiError(409, { error: 'conflict', message: 'taken' });
    expect(describeError(conflict, i18n('en'), 'register')).toEqual({ field: 'email', message: en['error.emailTaken'] });
    const unauthorized = new ApiError(401, { error: 'unauthorized', message: 'no' });
    expect(describeError(unauthorized, i18n('en'), 'login').message).toBe(en['error.loginFailed']);
  });

  it('names both statuses of an invalid transition', () => {
    const error = new ApiError(409, { error: 'invalid_transition', message: 'no', details: { from: 'completed', to: 'rejected' } });
    expect(describeError(error, i18n('en')).message).toBe('A request cannot go from “Completed” to “Rejected”.');
  });

  it('has a message for every error code of the contract', () => {
    const codes = [
      'bad_request', 'validation_failed', 'unauthorized', 'forbidden', 'not_found', 'conflict', 'capacity_full',
      'date_closed', 'date_out_of_window', 'invalid_transition', 'payload_too_large', 'service_unavailable',
      'internal', 'network', 'hold_expired',
    ] as const;
    for (const code of codes) {
      const { message } = describeError(new ApiError(400, { error: code, message: 'x', details: { date: '2026-05-15' } }), i18n('fa'));
      expect(message).not.toBe('');
      expect(message).not.toMatch(/\{\w+\}/);
    }
  });
});

describe('dictionaries', () => {
  it('Persian has every English key, none empty', () => {
    expect(Object.keys(fa).sort()).toEqual(Object.keys(en).sort());
    expect(Object.values(fa).every((v) => v.trim().length > 0)).toBe(true);
  });
});
