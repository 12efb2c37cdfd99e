// The stored session (no React here: the boot module reads it before the
// app's code has loaded).
import type { User } from '../api/types';

export const STORAGE_KEY = 'request-desk.session';

export interface Session {
  token: string;
  expiresAt: string;
  user: User;
}

export function loadSession(): Session | null {
  try {
    const raw = localStorage.getItem(STORAGE_KEY);
    if (!raw) return null;
    const session = JSON.parse(raw) as Session;
    if (!session.token || Date.parse(session.expiresAt) <= Date.now()) return null;
    return session;
  } catch {
    return null;
  }
}

// The API client and the hub read the token from here, synchronously, on every call.
let currentToken: string | null = loadSession()?.token ?? null;
export const currentAccessToken = () => currentToken;
export function setCurrentToken(token: string | null): void {
  currentToken = token;
}
