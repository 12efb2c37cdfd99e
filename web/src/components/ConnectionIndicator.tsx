// Connected / reconnecting / offline, by colour, symbol and word.
import { useI18n } from '../i18n/I18nProvider';
import { useConnectionState } from '../live/LiveProvider';

const SYMBOL = { connected: '●', connecting: '◌', reconnecting: '◌', offline: '○' } as const;

export function ConnectionIndicator() {
  const { t } = useI18n();
  const state = useConnectionState();
  const word = t(`conn.${state}`);
  return (
    <span
      className={`connection connection-${state}`}
      role="status"
      aria-label={t('conn.label', { state: word })}
      data-testid="connection"
      data-state={state}
    >
      <span aria-hidden="true" className="connection-dot">
        {SYMBOL[state]}
      </span>{' '}
      <span aria-hidden="true" className="connection-word">{word}</span>
    </span>
  );
}
