// Owns the LiveCapacity service for the signed-in session and exposes it,
// its connection state and a lookup of the newest state of a date.
import { createContext, useContext, useEffect, useState, useSyncExternalStore } from 'react';
import type { ReactNode } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import type { Day } from '../api/types';
import { currentAccessToken } from '../auth/session';
import { useI18n } from '../i18n/I18nProvider';
import { claimLive, liveFor, releaseLive } from './sessions';
import { prefetchFirstScreen } from './firstScreen';
import type { ConnectionState, LiveCapacity } from './LiveCapacity';

const LiveContext = createContext<LiveCapacity | null>(null);

/** Mount it keyed by the token: a new session gets a new connection. */
export function LiveProvider({ children }: { children: ReactNode }) {
  const queryClient = useQueryClient();
  // Started as soon as the session's tree begins to render, not after it has
  // committed: the hub's negotiate then overlaps the first render and the
  // first availability fetch (the contract's "connect the hub first").
  const { locale } = useI18n();
  const [token] = useState(() => currentAccessToken() ?? '');
  const [live] = useState(() => {
    // started by start.ts for the stored session, or now for a new sign-in;
    // the same one if React runs this first render again
    const service = liveFor(queryClient, token, currentAccessToken);
    // The settings and the month the picker will most likely open on, now
    // and in parallel (for a stored session start.ts has asked already: then
    // they are in the cache or on their way, and nothing is asked twice).
    prefetchFirstScreen(queryClient, service, locale.calendar);
    return service;
  });

  useEffect(() => {
    claimLive(token, live);
    return () => releaseLive(token, live);
  }, [token, live]);

  return <LiveContext.Provider value={live}>{children}</LiveContext.Provider>;
}

export function useLive(): LiveCapacity {
  const live = useContext(LiveContext);
  if (!live) throw new Error('useLive outside LiveProvider');
  return live;
}

export function useConnectionState(): ConnectionState {
  const live = useLive();
  return useSyncExternalStore(
    (cb) => live.subscribeState(cb),
    () => live.getState(),
  );
}

/** The newest known state of a date, re-read whenever the cache changes. */
export function useLatestDay(date: string | null): Day | undefined {
  const live = useLive();
  const queryClient = useQueryClient();
  return useSyncExternalStore(
    (cb) => queryClient.getQueryCache().subscribe(cb),
    () => (date ? live.findDay(date) : undefined),
  );
}
