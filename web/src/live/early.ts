// The hub connection of a stored session is started before React renders the
// first screen (from start.ts): its WebSocket handshake then overlaps the
// first render instead of following it. The session's LiveProvider adopts it.
import type { QueryClient } from '@tanstack/react-query';
import { LiveCapacity } from './LiveCapacity';
import { configuredTransport } from './transport';

let early: { token: string; live: LiveCapacity } | null = null;

export function startLiveEarly(queryClient: QueryClient, token: string, accessToken: () => string | null): LiveCapacity {
  const live = new LiveCapacity(queryClient, accessToken, configuredTransport());
  void live.start();
  early = { token, live };
  // never adopted (the first render did not sign this session in): close it
  setTimeout(() => {
    if (early?.live !== live) return;
    early = null;
    void live.stop();
  }, 5000);
  return live;
}

/** The connection started early for this token, once. */
export function adoptEarlyLive(token: string | null): LiveCapacity | null {
  if (!early || early.token !== token) return null;
  const { live } = early;
  early = null;
  return live;
}
