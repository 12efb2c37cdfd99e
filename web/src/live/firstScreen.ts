// What a signed-in session's first screen needs, asked for as the session's
// hub starts rather than once the app has rendered: the settings, and the
// month the picker will most likely open on (today's, by this browser's
// clock; if the server's today is in another month, the picker fetches that
// one as usual). Both go out at once, in parallel; the screens' own queries
// then find them in the cache (or on their way).
import type { QueryClient } from '@tanstack/query-core';
import { api } from '../api/client';
import { monthDates, monthStart, type CalendarSystem } from '../calendar/months';
import type { LiveCapacity } from './LiveCapacity';
import { keys } from './queryKeys';

/** How long the settings count as fresh (`useSettings` asks with the same). */
export const SETTINGS_STALE_MS = 60_000;

export function prefetchFirstScreen(queryClient: QueryClient, live: LiveCapacity, calendar: CalendarSystem): void {
  void queryClient.prefetchQuery({ queryKey: keys.settings, queryFn: api.settings, staleTime: SETTINGS_STALE_MS });
  const start = monthStart(new Date().toISOString().slice(0, 10), calendar);
  const dates = monthDates(start, calendar);
  const [from, to] = [dates[0], dates[dates.length - 1]];
  void queryClient.prefetchQuery({
    queryKey: keys.availability(from, to),
    queryFn: () => live.fetchAvailability(from, to),
    staleTime: Infinity,
  });
}
