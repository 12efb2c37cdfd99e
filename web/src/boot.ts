// The page's entry: small on purpose (the hub client, the query cache, the
// live layer — no React). A stored session's hub connection starts here, as
// soon as this module has loaded, while the app's code (React, the pages,
// preloaded by index.html) is still arriving; then the app is imported.
import { QueryClient } from '@tanstack/query-core';
import { currentAccessToken } from './auth/session';
import { startLiveEarly } from './live/early';

export const queryClient = new QueryClient({
  defaultOptions: {
    queries: { refetchOnWindowFocus: false, retry: 1 },
  },
});

const token = currentAccessToken();
if (token) startLiveEarly(queryClient, token, currentAccessToken);

void import('./main');
