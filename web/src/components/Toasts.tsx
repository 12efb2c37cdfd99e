// Non-blocking notices: a polite live region in a corner that never takes
// focus by itself. Each notice leaves after a while — not while the pointer
// or the keyboard is on it — and can be dismissed with its button (in the
// tab order) or with Escape. The same message twice is shown once.
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState } from 'react';
import type { ReactNode } from 'react';
import { Link } from 'react-router-dom';
import { useI18n } from '../i18n/I18nProvider';

export type ToastTone = 'info' | 'warning' | 'success';

interface Toast {
  id: number;
  message: string;
  tone: ToastTone;
  link?: { to: string; label: string };
}

interface Toaster {
  push: (message: string, tone?: ToastTone, link?: Toast['link']) => void;
}

const ToastContext = createContext<Toaster | null>(null);
export const TOAST_LIFETIME_MS = 6000;
const MAX_VISIBLE = 3;

export function ToastProvider({ children }: { children: ReactNode }) {
  const { t } = useI18n();
  const [toasts, setToasts] = useState<Toast[]>([]);
  const nextId = useRef(1);
  const timers = useRef(new Map<number, ReturnType<typeof setTimeout>>());
  const paused = useRef(false);
  const region = useRef<HTMLDivElement>(null);

  const dismiss = useCallback((id: number) => {
    clearTimeout(timers.current.get(id));
    timers.current.delete(id);
    setToasts((list) => list.filter((toast) => toast.id !== id));
  }, []);

  const arm = useCallback(
    (id: number) => {
      clearTimeout(timers.current.get(id));
      timers.current.set(
        id,
        setTimeout(() => {
          if (paused.current) return; // re-armed when the pause ends
          dismiss(id);
        }, TOAST_LIFETIME_MS),
      );
    },
    [dismiss],
  );

  const push = useCallback(
    (message: string, tone: ToastTone = 'info', link?: Toast['link']) => {
      setToasts((list) => {
        const same = list.find((toast) => toast.message === message);
        if (same) {
          arm(same.id);
          return list;
        }
        const id = nextId.current++;
        arm(id);
        const next = [...list, { id, message, tone, link }];
        for (const old of next.slice(0, Math.max(0, next.length - MAX_VISIBLE))) {
          clearTimeout(timers.current.get(old.id));
          timers.current.delete(old.id);
        }
        return next.slice(-MAX_VISIBLE);
      });
    },
    [arm],
  );

  const pause = () => {
    paused.current = true;
  };
  const resume = () => {
    paused.current = false;
    for (const id of [...timers.current.keys()]) arm(id);
  };

  // Escape dismisses the newest notice, wherever the focus is, unless
  // something else (a menu, the bell) used the key first.
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.key !== 'Escape' || event.defaultPrevented) return;
      setToasts((list) => {
        const last = list[list.length - 1];
        if (!last) return list;
        clearTimeout(timers.current.get(last.id));
        timers.current.delete(last.id);
        return list.slice(0, -1);
      });
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, []);

  useEffect(() => {
    const pending = timers.current;
    return () => pending.forEach((timer) => clearTimeout(timer));
  }, []);

  const value = useMemo(() => ({ push }), [push]);

  return (
    <ToastContext.Provider value={value}>
      {children}
      <div
        ref={region}
        className="toasts"
        role="status"
        aria-live="polite"
        aria-label={t('toast.region')}
        data-testid="toasts"
        onMouseEnter={pause}
        onMouseLeave={resume}
        onFocus={pause}
        onBlur={(event) => {
          if (!region.current?.contains(event.relatedTarget as Node | null)) resume();
        }}
      >
        {toasts.map((toast) => (
          <div key={toast.id} className={`toast toast-${toast.tone}`} data-testid="toast">
            <span className="toast-text">
              {toast.message}
              {toast.link && (
                <>
                  {' '}
                  <Link to={toast.link.to} className="toast-link" onClick={() => dismiss(toast.id)}>
                    {toast.link.label}
                  </Link>
                </>
              )}
            </span>
            <button
              type="button"
              className="toast-close"
              aria-label={t('toast.dismiss')}
              title={t('toast.dismiss')}
              onClick={() => dismiss(toast.id)}
              data-testid="toast-close"
            >
              <span aria-hidden="true">×</span>
            </button>
          </div>
        ))}
      </div>
    </ToastContext.Provider>
  );
}

export function useToasts(): Toaster {
  const value = useContext(ToastContext);
  if (!value) throw new Error('useToasts outside ToastProvider');
  return value;
}
