// One hub connection per session token, whoever asks for it first: start.ts
// for a stored session (before React has loaded, so the WebSocket handshake
// overlaps the first render instead of following it), or the session's
// LiveProvider after a sign-in. Asking again for the same token gives the
// same connection until the provider releases it — as a first render does
// when React interrupts it and runs it again, which would otherwise start a
// second connection and leak the first.
import type { QueryClient } from '@tanstack/react-query';
import { LiveCapacity } from './LiveCapacity';
import { configuredTransport } from './transport';

/** A connection started before the app rendered and not claimed by then is stopped. */
export const UNCLAIMED_STOP_MS = 5000;

interface Session {
  live: LiveCapacity;
  claimed: boolean;
}

const sessions = new Map<string, Session>();

/** The session's connection, started now if it has none yet. */
export function liveFor(queryClient: QueryClient, token: string, accessToken: () => string | null): LiveCapacity {
  let session = sessions.get(token);
  if (!session) {
    const live = new LiveCapacity(queryClient, accessToken, configuredTransport());
    void live.start();
    session = { live, claimed: false };
    sessions.set(token, session);
  }
  return session.live;
}

/** Starts a stored session's connection before the app renders; stopped if no provider claims it in time. */
export function startLiveEarly(queryClient: QueryClient, token: string, accessToken: () => string | null): LiveCapacity {
  const live = liveFor(queryClient, token, accessToken);
  setTimeout(() => {
    const session = sessions.get(token);
    if (session?.live !== live || session.claimed) return;
    sessions.delete(token);
    void live.stop();
  }, UNCLAIMED_STOP_MS);
  return live;
}

/** The provider has committed with `live`: it is its to stop. */
export function claimLive(token: string, live: LiveCapacity): void {
  const session = sessions.get(token);
  if (session?.live === live) session.claimed = true;
}

/** The provider is gone: the connection stops, and the token's next ask starts a new one. */
export function releaseLive(token: string, live: LiveCapacity): void {
  if (sessions.get(token)?.live === live) sessions.delete(token);
  void live.stop();
}
