// The React glue of `HoldKeeper` (holds.ts): one keeper per form, its state
// as React state, the page's `pagehide`/`pageshow` (the back-forward cache)
// and unmounting wired to it, and the countdown in the hold's last minute.
import { useEffect, useState, useSyncExternalStore } from 'react';
import { api, currentToken, releaseHoldOnExit } from '../api/client';
import { HOLD_WARNING_MS, HoldKeeper, msUntil, type HoldServer, type HoldState } from './holds';
import { useOwnChanges } from './LiveFeedback';

export { HOLD_WARNING_MS, msUntil, type HoldState };

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

const server: HoldServer = {
  take: (date) => api.takeHold(date),
  release: (id) => api.releaseHold(id),
  releaseOnExit: (id, token) => releaseHoldOnExit(id, token),
  token: currentToken,
};

export function useHold(): HoldControls {
  const own = useOwnChanges();
  const [keeper] = useState(() => new HoldKeeper(server, own));
  const state = useSyncExternalStore(keeper.subscribe, keeper.getState);
  const [now, setNow] = useState(() => Date.now());

  // Leaving the page (navigation inside the app, or closing the tab) releases
  // the hold; a page restored from the back-forward cache takes it again.
  useEffect(() => {
    keeper.attach();
    const onPageHide = () => keeper.pageHidden();
    const onPageShow = (event: PageTransitionEvent) => keeper.pageShown(event.persisted);
    window.addEventListener('pagehide', onPageHide);
    window.addEventListener('pageshow', onPageShow);
    return () => {
      window.removeEventListener('pagehide', onPageHide);
      window.removeEventListener('pageshow', onPageShow);
      keeper.detach();
    };
  }, [keeper]);

  // The countdown: a tick per second in the last minute, and the end of the hold.
  const held = state.kind === 'held' ? state.hold : null;
  useEffect(() => {
    if (!held) return;
    const tick = () => {
      const t = Date.now();
      setNow(t);
      const left = msUntil(held.expiresAt, t);
      if (left <= 0) {
        // kept: the server judges it (our clock may be off); a booking with it then gets hold_expired
        keeper.expired(held.id);
        return;
      }
      timer = setTimeout(tick, left > HOLD_WARNING_MS ? left - HOLD_WARNING_MS : Math.min(1000, left));
    };
    let timer: ReturnType<typeof setTimeout> | undefined;
    tick();
    return () => clearTimeout(timer);
  }, [held, keeper]);

  return {
    state,
    covers: keeper.covers,
    msLeft: held ? Math.max(msUntil(held.expiresAt, now), 0) : null,
    take: keeper.take,
    release: keeper.release,
    idFor: keeper.idFor,
    consumed: keeper.consumed,
  };
}
