// The signed-in session: token and user, kept in localStorage so a reload
// or a new tab stays signed in until the token expires.
import { createContext, useCallback, useContext, useEffect, useMemo, useState } from 'react';
import type { ReactNode } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { api, configureApi } from '../api/client';
import type { LoginResponse, User } from '../api/types';
import { STORAGE_KEY, currentAccessToken, loadSession, setCurrentToken, type Session } from './session';

export { currentAccessToken } from './session';

interface Auth {
  user: User | null;
  token: string | null;
  /** Set when the server refused the token (shown on the sign-in screen). */
  expired: boolean;
  signIn: (email: string, password: string) => Promise<User>;
  signOut: () => void;
}

const AuthContext = createContext<Auth | null>(null);

export function AuthProvider({ children }: { children: ReactNode }) {
  const [session, setSession] = useState<Session | null>(loadSession);
  const [expired, setExpired] = useState(false);

  const queryClient = useQueryClient();

  const store = useCallback((next: Session | null) => {
    // another user's (or no user's) data must not linger in the cache
    if (next?.token !== currentAccessToken()) queryClient.clear();
    setCurrentToken(next?.token ?? null);
    if (next) localStorage.setItem(STORAGE_KEY, JSON.stringify(next));
    else localStorage.removeItem(STORAGE_KEY);
    setSession(next);
  }, [queryClient]);

  useEffect(() => {
    configureApi(currentAccessToken, () => {
      store(null);
      setExpired(true);
    });
  }, [store]);

  // Sign out when the token runs out while the page is open.
  useEffect(() => {
    if (!session) return;
    const ms = Date.parse(session.expiresAt) - Date.now();
    const timer = setTimeout(() => {
      store(null);
      setExpired(true);
    }, Math.min(Math.max(ms, 0), 2 ** 31 - 1));
    return () => clearTimeout(timer);
  }, [session, store]);

  const signIn = useCallback(
    async (email: string, password: string) => {
      const response: LoginResponse = await api.login(email, password);
      store({ token: response.token, expiresAt: response.expiresAt, user: response.user });
      setExpired(false);
      return response.user;
    },
    [store],
  );

  const signOut = useCallback(() => store(null), [store]);

  const value = useMemo<Auth>(
    () => ({ user: session?.user ?? null, token: session?.token ?? null, expired, signIn, signOut }),
    [session, expired, signIn, signOut],
  );
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): Auth {
  const value = useContext(AuthContext);
  if (!value) throw new Error('useAuth outside AuthProvider');
  return value;
}
