// A session's hub connection: one per token, however often it is asked for
// before the provider claims it; stopped when released, or when one started
// before the first render is never claimed.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { QueryClient } from '@tanstack/react-query';

const started: { token: () => string | null; stopped: boolean }[] = [];
vi.mock('./LiveCapacity', () => ({
  LiveCapacity: class {
    record: { token: () => string | null; stopped: boolean };
    constructor(_q: unknown, token: () => string | null) {
      this.record = { token, stopped: false };
      started.push(this.record);
    }
    async start() {}
    async stop() {
      this.record.stopped = true;
    }
  },
}));

const { claimLive, liveFor, releaseLive, startLiveEarly, UNCLAIMED_STOP_MS } = await import('./sessions');

beforeEach(() => {
  vi.useFakeTimers();
  started.length = 0;
});
afterEach(() => vi.useRealTimers());

describe('a session’s hub connection', () => {
  it('is started once per token: asking again (a first render React ran again) gives the same one', () => {
    const queryClient = new QueryClient();
    const early = startLiveEarly(queryClient, 'token-a', () => 'token-a');
    expect(liveFor(queryClient, 'token-a', () => 'token-a')).toBe(early);
    expect(liveFor(queryClient, 'token-a', () => 'token-a')).toBe(early);
    expect(started).toHaveLength(1);
    const other = liveFor(queryClient, 'token-b', () => 'token-b');
    expect(other).not.toBe(early);
    expect(started).toHaveLength(2);
    releaseLive('token-a', early);
    releaseLive('token-b', other);
  });

  it('started early, is kept once claimed and stopped when released; the token then gets a new one', () => {
    const queryClient = new QueryClient();
    const live = startLiveEarly(queryClient, 'token-a', () => 'token-a');
    claimLive('token-a', live);
    vi.advanceTimersByTime(UNCLAIMED_STOP_MS * 2);
    expect(started[0].stopped).toBe(false);
    releaseLive('token-a', live);
    expect(started[0].stopped).toBe(true);
    expect(liveFor(queryClient, 'token-a', () => 'token-a')).not.toBe(live);
    releaseLive('token-a', liveFor(queryClient, 'token-a', () => 'token-a'));
  });

  it('started early and never claimed, is stopped in time', () => {
    const queryClient = new QueryClient();
    const live = startLiveEarly(queryClient, 'token-a', () => 'token-a');
    vi.advanceTimersByTime(UNCLAIMED_STOP_MS - 1);
    expect(started[0].stopped).toBe(false);
    vi.advanceTimersByTime(1);
    expect(started[0].stopped).toBe(true);
    const next = liveFor(queryClient, 'token-a', () => 'token-a');
    expect(next).not.toBe(live);
    releaseLive('token-a', next);
  });
});
