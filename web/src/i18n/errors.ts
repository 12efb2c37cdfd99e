// Turns an API failure into a message in the user's language, plus the form
// field it belongs to (for inline display next to that field).
import { ApiError } from '../api/client';
import type { MessageKey } from './en';
import { fullDayText, refusalOf } from './fullDay';
import type { I18n } from './I18nProvider';

export type ErrorContext = 'login' | 'register' | 'request' | 'status' | 'settings' | 'generic';

export interface FieldedError {
  field?: string;
  message: string;
}

const FIELD_KEYS: Record<string, MessageKey> = {
  title: 'error.field.title',
  description: 'error.field.description',
  email: 'error.field.email',
  password: 'error.field.password',
  displayName: 'error.field.displayName',
  dueDate: 'error.field.dueDate',
  dailyCapacity: 'error.field.dailyCapacity',
  limitedThresholdPercent: 'error.field.limitedThresholdPercent',
  bookingWindowDays: 'error.field.bookingWindowDays',
  closedWeekdays: 'error.field.closedWeekdays',
  timezone: 'error.field.timezone',
  defaultDesignerId: 'error.field.defaultDesignerId',
  capacity: 'error.field.capacity',
  note: 'error.field.note',
  role: 'error.field.role',
};

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function num(value: unknown): number | undefined {
  return typeof value === 'number' ? value : undefined;
}

export function describeError(error: unknown, i18n: I18n, context: ErrorContext = 'generic'): FieldedError {
  const { t } = i18n;
  if (!(error instanceof ApiError)) return { message: t('error.internal') };
  const d = error.details;
  const date = str(d.date);
  const shownDate = date ? i18n.date(date) : '';
  switch (error.code) {
    case 'unauthorized':
      return { message: t(context === 'login' ? 'error.loginFailed' : 'error.unauthorized') };
    case 'validation_failed': {
      const field = error.field;
      if (field && FIELD_KEYS[field]) return { field, message: t(FIELD_KEYS[field]) };
      if (field) return { field, message: t('error.field.other', { field, message: error.message }) };
      return { message: t('error.validation_failed') };
    }
    case 'conflict':
      if (context === 'register') return { field: 'email', message: t('error.emailTaken') };
      if (context === 'request') return { message: t('error.notPending') };
      return { message: t('error.conflict') };
    case 'capacity_full': {
      // booked out, or (details.held, details.freesAt) taken for now by holds that may free up
      const refusal = refusalOf(d) ?? { date: '', capacity: num(d.capacity) ?? 0, used: num(d.used) ?? 0, held: 0, freesAt: null };
      return {
        field: 'dueDate',
        message: fullDayText(refusal, 'refused', i18n, { date: shownDate, freesAt: refusal.freesAt }),
      };
    }
    case 'date_closed':
      return { field: 'dueDate', message: t('error.date_closed', { date: shownDate }) };
    case 'date_out_of_window': {
      const min = str(d.minDate);
      const max = str(d.maxDate);
      return {
        field: 'dueDate',
        message: t('error.date_out_of_window', {
          date: shownDate,
          min: min ? i18n.date(min) : '…',
          max: max ? i18n.date(max) : '…',
        }),
      };
    }
    case 'invalid_transition': {
      const status = (s: string | undefined) =>
        s ? t(`request.${s}` as MessageKey) : '…';
      return { message: t('error.invalid_transition', { from: status(str(d.from)), to: status(str(d.to)) }) };
    }
    case 'hold_expired':
    case 'bad_request':
    case 'forbidden':
    case 'not_found':
    case 'payload_too_large':
    case 'service_unavailable':
    case 'internal':
    case 'network':
      return { message: t(`error.${error.code}`) };
    default:
      return { message: t('error.internal') };
  }
}
