import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiError } from '../api/client';
import { en } from './en';
import { describeError } from './errors';
import { fa } from './fa';
import { formatClock, type Lang } from './format';
import { createI18n } from './translator';

const i18n = (lang: Lang) => createI18n(lang);

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

  describe('a day its holds fill', () => {
    afterEach(() => {
      vi.useRealTimers();
    });
    const held = (details: Record<string, unknown>) =>
      new ApiError(409, { error: 'capacity_full', message: 'held', details: { date: '2026-12-12', capacity: 1, used: 0, held: 1, ...details } });

    it('says the slot is held for someone filling in a request, and when it may free up (local time), in both languages', () => {
      vi.useFakeTimers();
      vi.setSystemTime(new Date('2026-12-12T10:00:00Z'));
      const freesAt = '2026-12-12T10:09:30.000Z';
      const error = held({ freesAt });
      const english = describeError(error, i18n('en'), 'request');
      expect(english).toEqual({
        field: 'dueDate',
        message: `Dec 12, 2026 is taken for now: its last slot is held for someone who is filling in a request (0 booked and 1 being booked, of 1). It may free up at ${formatClock(freesAt, 'en')}, if they have not booked it by then. Pick another day.`,
      });
      expect(english.message).not.toMatch(/is full|0 of 1 booked/);
      const persian = describeError(error, i18n('fa'), 'request').message;
      expect(persian).toContain('آخرین جای آن برای کسی نگه داشته شده که در حال پر کردن درخواستی است');
      expect(persian).toContain(`ممکن است در ${formatClock(freesAt, 'fa')} آزاد شود`);
      expect(persian).not.toMatch(/[0-9]/);
    });

    it('without freesAt: held, and no time', () => {
      const { message } = describeError(held({ freesAt: null }), i18n('en'), 'request');
      expect(message).toBe(
        'Dec 12, 2026 is taken for now: its last slot is held for someone who is filling in a request (0 booked and 1 being booked, of 1). Pick another day.',
      );
    });

    it('booked out though some slot is held (capacity lowered below what is booked): full', () => {
      const { message } = describeError(held({ capacity: 1, used: 1, held: 1, freesAt: '2026-12-12T10:09:30Z' }), i18n('en'), 'request');
      expect(message).toBe('Dec 12, 2026 is full (1 of 1 booked). Pick another day.');
    });
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
