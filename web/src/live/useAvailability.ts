import { useQuery } from '@tanstack/react-query';
import { api } from '../api/client';
import { SETTINGS_STALE_MS } from './firstScreen';
import { keys } from './queryKeys';
import { useLive } from './LiveProvider';

/**
 * One range of days. It never goes stale by time: the hub keeps it current
 * in place, and CapacitySettingsChanged or a `resync` invalidates it.
 */
export function useAvailability(from: string, to: string, enabled = true) {
  const live = useLive();
  return useQuery({
    queryKey: keys.availability(from, to),
    queryFn: () => live.fetchAvailability(from, to),
    staleTime: Infinity,
    enabled,
  });
}

export function useSettings() {
  return useQuery({ queryKey: keys.settings, queryFn: api.settings, staleTime: SETTINGS_STALE_MS });
}
