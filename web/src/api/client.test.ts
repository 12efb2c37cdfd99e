// The client sends the stored session's token from a page's first request:
// start.ts and the first render ask for data before the auth provider has
// wired the client up (configureApi runs in an effect, after the first commit).
import { afterEach, describe, expect, it, vi } from 'vitest';
import { setCurrentToken } from '../auth/session';
import { api } from './client';

afterEach(() => {
  vi.unstubAllGlobals();
  setCurrentToken(null);
});

describe('the API client before the auth provider has configured it', () => {
  it('sends the stored token', async () => {
    const fetch = vi.fn(async () => new Response(JSON.stringify({ version: 1, days: [] }), { status: 200 }));
    vi.stubGlobal('fetch', fetch);
    setCurrentToken('stored-token');
    await api.availability('2026-12-01', '2026-12-31');
    const [, init] = fetch.mock.calls[0] as unknown as [string, RequestInit];
    expect((init.headers as Record<string, string>).Authorization).toBe('Bearer stored-token');
  });

  it('sends none without a session', async () => {
    const fetch = vi.fn(async () => new Response('{}', { status: 200 }));
    vi.stubGlobal('fetch', fetch);
    await api.settings();
    const [, init] = fetch.mock.calls[0] as unknown as [string, RequestInit];
    expect((init.headers as Record<string, string>).Authorization).toBeUndefined();
  });
});
