// What the form says about the slot kept for its user: being taken, held
// until a time, ending (a countdown in the last minute, with an offer to
// take it again), ended, or why it could not be taken.
import { describeError } from '../i18n/errors';
import { useI18n } from '../i18n/I18nProvider';
import { HOLD_WARNING_MS, type HoldControls } from '../live/useHold';

export function HoldStatus({ date, hold }: { date: string; hold: HoldControls }) {
  const i18n = useI18n();
  const { t } = i18n;
  const { state, msLeft } = hold;
  const shown = i18n.shortDate(date);

  if (state.kind === 'taking' && state.date === date) {
    return (
      <p className="hold-status muted small" data-testid="hold-status" data-state="taking">
        {t('hold.taking', { date: shown })}
      </p>
    );
  }
  if (state.kind === 'held' && state.hold.date === date) {
    const ending = msLeft !== null && msLeft <= HOLD_WARNING_MS;
    return (
      <div className="hold-status" data-testid="hold-status" data-state={ending ? 'ending' : 'held'} data-hold-id={state.hold.id}>
        <p role="status">
          <svg className="hold-icon" aria-hidden="true" focusable="false" viewBox="0 0 16 16" width="16" height="16">
            <circle cx="8" cy="9" r="5.75" />
            <path d="M8 6v3l2 1.25M6.25 1.75h3.5" />
          </svg>
          {t('hold.held', { date: shown, time: i18n.clock(state.hold.expiresAt) })}
        </p>
        {ending && (
          <p className="hold-ending">
            <span data-testid="hold-countdown">{t('hold.ending', { seconds: i18n.number(Math.ceil((msLeft ?? 0) / 1000)) })}</span>{' '}
            <button type="button" className="chip" onClick={() => hold.take(date, true)} data-testid="hold-extend">
              {t('hold.extend')}
            </button>
          </p>
        )}
      </div>
    );
  }
  if (state.kind === 'expired' && state.date === date) {
    return (
      <div className="hold-status" data-testid="hold-status" data-state="expired">
        <p role="status">{t('hold.expired', { date: shown })}</p>
        <p>
          <button type="button" className="chip" onClick={() => hold.take(date, true)} data-testid="hold-extend">
            {t('hold.extend')}
          </button>
        </p>
      </div>
    );
  }
  if (state.kind === 'failed' && state.date === date) {
    return (
      <p className="hold-status muted small" data-testid="hold-status" data-state="failed" role="status">
        {t('hold.failed', { reason: describeError(state.error, i18n).message })}
      </p>
    );
  }
  return null;
}
