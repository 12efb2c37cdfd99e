// The hub connection started before the first render: adopted once, by the
// session it was started for; closed if no session adopts it.
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

const { adoptEarlyLive, startLiveEarly } = await import('./early');

beforeEach(() => {
  vi.useFakeTimers();
  started.length = 0;
});
afterEach(() => vi.useRealTimers());

describe('the early hub connection', () => {
  it('is adopted once, by the session it was started for', () => {
    startLiveEarly(new QueryClient(), 'token-a', () => 'token-a');
    expect(started).toHaveLength(1);
    expect(adoptEarlyLive('token-b')).toBeNull();
    const live = adoptEarlyLive('token-a');
    expect(live).not.toBeNull();
    expect(adoptEarlyLive('token-a')).toBeNull();
    vi.advanceTimersByTime(10_000);
    expect(started[0].stopped).toBe(false);
  });

  it('is closed when no session adopts it', () => {
    startLiveEarly(new QueryClient(), 'token-a', () => 'token-a');
    vi.advanceTimersByTime(5000);
    expect(started[0].stopped).toBe(true);
    expect(adoptEarlyLive('token-a')).toBeNull();
  });
});
