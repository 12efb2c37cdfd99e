import { describe, expect, it } from 'vitest';
import { apiUrl, joinUrl } from './base';

describe('joinUrl', () => {
  it('keeps the path as it is without a base (same origin)', () => {
    expect(joinUrl('', '/api/requests')).toBe('/api/requests');
    expect(joinUrl('  ', '/hubs/notifications')).toBe('/hubs/notifications');
  });

  it('puts exactly one slash between the base and the path', () => {
    expect(joinUrl('http://127.0.0.1:8080', '/api/requests?page=2')).toBe('http://127.0.0.1:8080/api/requests?page=2');
    expect(joinUrl('http://127.0.0.1:8080/', '/api/requests')).toBe('http://127.0.0.1:8080/api/requests');
    expect(joinUrl('https://api.example.com//', 'hubs/notifications')).toBe('https://api.example.com/hubs/notifications');
  });

  it('keeps a path prefix in the base', () => {
    expect(joinUrl('https://example.com/desk', '/api/auth/login')).toBe('https://example.com/desk/api/auth/login');
    expect(joinUrl('https://example.com/desk/', '/hubs/notifications')).toBe('https://example.com/desk/hubs/notifications');
  });

  it('ignores surrounding spaces in the base', () => {
    expect(joinUrl(' https://api.example.com ', '/api/users')).toBe('https://api.example.com/api/users');
  });
});

describe('apiUrl', () => {
  it.skipIf(Boolean(import.meta.env.VITE_API_BASE_URL))('is same-origin when VITE_API_BASE_URL is not set', () => {
    expect(apiUrl('/api/settings/public')).toBe('/api/settings/public');
  });
});
