// The slot the form keeps for its user while they type (`/api/holds`).
// Picking a day takes a hold, picking another moves it (the server releases
// the old one in the same transaction), submitting uses it, and leaving the
// page releases it — best effort: the hold's expiry is the guarantee.
// Takes and releases go one after another, so the server sees them in the
// order the user made them. Each is announced to `OwnChanges` first, so the
// page's own hold makes no notice for its own user.
import { useCallback, useEffect, useRef, useState } from 'react';
import { api, currentToken, releaseHoldOnExit } from '../api/client';
import type { Hold } from '../api/types';
import { useOwnChanges } from './LiveFeedback';

/** The countdown (and the offer to extend) shows in the hold's last minute. */
export const HOLD_WARNING_MS = 60_000;

export type HoldState =
  | { kind: 'none' }
  | { kind: 'taking'; date: string }
  | { kind: 'held'; hold: Hold }
  | { kind: 'expired'; date: string }
  | { kind: 'failed'; date: string; error: unknown };

export interface HoldControls {
  state: HoldState;
  /** Milliseconds left on a held hold (ticks every second in its last minute). */
  msLeft: number | null;
  /** Takes a hold on `date`, releasing the previous one; `extend` takes it again on the same day. */
  take: (date: string, extend?: boolean) => void;
  /** Releases the current hold (if any). */
  release: () => void;
  /** True while a hold on `date` is being taken or is held: the day's last slot may be ours. */
  covers: (date: string | null) => boolean;
  /** The hold id to book `date` with, if we have one (the server judges whether it is still live). */
  idFor: (date: string) => number | undefined;
  /** The booking used the hold: forget it without releasing. */
  consumed: () => void;
}

/** Milliseconds until `expiresAt` (by this device's clock). */
export function msUntil(expiresAt: string, now = Date.now()): number {
  return Date.parse(expiresAt) - now;
}

export function useHold(): HoldControls {
  const own = useOwnChanges();
  const [state, setState] = useState<HoldState>({ kind: 'none' });
  const [now, setNow] = useState(() => Date.now());
  // the hold the server has for us, as far as we know — read by the queue and on exit
  const current = useRef<Hold | null>(null);
  // the session the hold belongs to: signing out clears the session before the page unmounts
  const holder = useRef<string | null>(null);
  const queue = useRef<Promise<void>>(Promise.resolve());
  const latest = useRef(0);
  const mounted = useRef(true);

  const enqueue = useCallback((job: () => Promise<void>) => {
    queue.current = queue.current.then(job, job);
  }, []);

  const take = useCallback(
    (date: string, extend = false) => {
      const seq = ++latest.current;
      setState({ kind: 'taking', date });
      enqueue(async () => {
        if (seq !== latest.current || !mounted.current) return; // a newer pick superseded this one
        const previous = current.current;
        if (!extend && previous && previous.date === date && msUntil(previous.expiresAt) > HOLD_WARNING_MS) {
          setState({ kind: 'held', hold: previous });
          return;
        }
        const token = own.expect(previous && previous.date !== date ? [date, previous.date] : [date]);
        try {
          const hold = await api.takeHold(date);
          current.current = hold;
          holder.current = currentToken();
          if (!mounted.current) {
            releaseHoldOnExit(hold.id, holder.current);
            return;
          }
          if (seq === latest.current) setState({ kind: 'held', hold });
        } catch (error) {
          own.release(token);
          // the server released the previous hold only if the new one was taken
          if (seq === latest.current && mounted.current) setState({ kind: 'failed', date, error });
        }
      });
    },
    [enqueue, own],
  );

  const release = useCallback(() => {
    latest.current += 1;
    setState({ kind: 'none' });
    enqueue(async () => {
      const hold = current.current;
      current.current = null;
      if (!hold) return;
      const token = own.expect([hold.date]);
      try {
        await api.releaseHold(hold.id);
      } catch {
        // 404: already gone (expired or used); otherwise its expiry frees it
        own.release(token);
      }
    });
  }, [enqueue, own]);

  const consumed = useCallback(() => {
    latest.current += 1;
    current.current = null;
    setState({ kind: 'none' });
  }, []);

  const idFor = useCallback((date: string) => {
    const hold = current.current;
    return hold && hold.date === date ? hold.id : undefined;
  }, []);

  // Leaving the page (navigation inside the app, or closing the tab) releases the hold.
  useEffect(() => {
    mounted.current = true;
    const onPageHide = () => {
      const hold = current.current;
      if (hold) releaseHoldOnExit(hold.id, holder.current);
    };
    window.addEventListener('pagehide', onPageHide);
    return () => {
      mounted.current = false;
      window.removeEventListener('pagehide', onPageHide);
      const hold = current.current;
      current.current = null;
      if (hold) releaseHoldOnExit(hold.id, holder.current);
    };
  }, []);

  // The countdown: a tick per second in the last minute, and the end of the hold.
  const held = state.kind === 'held' ? state.hold : null;
  useEffect(() => {
    if (!held) return;
    const tick = () => {
      const t = Date.now();
      setNow(t);
      if (msUntil(held.expiresAt, t) <= 0) {
        // kept: the server judges it (our clock may be off); a booking with it then gets hold_expired
        setState((s) => (s.kind === 'held' && s.hold.id === held.id ? { kind: 'expired', date: held.date } : s));
        return;
      }
      const left = msUntil(held.expiresAt, t);
      timer = setTimeout(tick, left > HOLD_WARNING_MS ? left - HOLD_WARNING_MS : Math.min(1000, left));
    };
    let timer: ReturnType<typeof setTimeout> | undefined;
    tick();
    return () => clearTimeout(timer);
  }, [held]);

  const covers = (date: string | null) =>
    date !== null && ((state.kind === 'taking' && state.date === date) || (state.kind === 'held' && state.hold.date === date));

  return {
    state,
    covers,
    msLeft: held ? Math.max(msUntil(held.expiresAt, now), 0) : null,
    take,
    release,
    idFor,
    consumed,
  };
}
