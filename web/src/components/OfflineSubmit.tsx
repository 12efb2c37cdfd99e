// What a form shows when it is submitted without a network: nothing was
// sent; send it when the network is back, or do not send it at all.
import { useEffect, useRef, useState } from 'react';
import { useI18n } from '../i18n/I18nProvider';

/** True while the browser has no network. */
export function useOffline(): boolean {
  const [online, setOnline] = useState(() => navigator.onLine);
  useEffect(() => {
    const up = () => setOnline(true);
    const down = () => setOnline(false);
    window.addEventListener('online', up);
    window.addEventListener('offline', down);
    return () => {
      window.removeEventListener('online', up);
      window.removeEventListener('offline', down);
    };
  }, []);
  return !online;
}

interface Props {
  /** The user asked to send it when the network is back. */
  waiting: boolean;
  offline: boolean;
  onWait: () => void;
  onSendNow: () => void;
  onDiscard: () => void;
}

export function OfflineSubmit({ waiting, offline, onWait, onSendNow, onDiscard }: Props) {
  const { t } = useI18n();
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    box.current?.focus();
  }, []);
  return (
    <div className="offline-submit warning" role="alert" tabIndex={-1} ref={box} data-testid="offline-submit" data-waiting={waiting || undefined}>
      <p>
        {offline
          ? t(waiting ? 'offline.waiting' : 'offline.notSent')
          : t('offline.back')}
      </p>
      <div className="button-row">
        {offline && !waiting && (
          <button type="button" className="primary" onClick={onWait} data-testid="offline-send-later">
            {t('offline.sendLater')}
          </button>
        )}
        {!offline && (
          <button type="button" className="primary" onClick={onSendNow} data-testid="offline-send-now">
            {t('offline.sendNow')}
          </button>
        )}
        <button type="button" onClick={onDiscard} data-testid="offline-discard">
          {t(waiting ? 'offline.cancelSending' : 'offline.discard')}
        </button>
      </div>
    </div>
  );
}
