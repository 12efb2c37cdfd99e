// What the page starts before the app (imported by boot.ts): the hub client,
// the query cache, the live layer — no React. A stored session's hub
// connection starts here, as soon as this module has loaded (adopting the
// WebSocket boot.ts opened), while the app's code (React, the pages,
// preloaded by index.html) is still arriving; the first screen's data (the
// settings and this month) is asked for at the same moment; then the app is
// imported.
import { QueryClient } from '@tanstack/query-core';
import { currentAccessToken } from './auth/session';
import { LOCALES } from './i18n/format';
import { initialLang } from './i18n/lang';
import { startLiveEarly } from './live/sessions';
import { prefetchFirstScreen } from './live/firstScreen';

export const queryClient = new QueryClient({
  defaultOptions: {
    queries: { refetchOnWindowFocus: false, retry: 1 },
  },
});

const token = currentAccessToken();
if (token) {
  const live = startLiveEarly(queryClient, token, currentAccessToken);
  prefetchFirstScreen(queryClient, live, LOCALES[initialLang()].calendar);
}

void import('./main');
