// The page's entry, tiny on purpose (no React, no hub client): for a stored
// session it opens the hub's WebSocket at once (live/hubSocket.ts), so the
// connection is up by the time the hub client has loaded and adopts it; then
// it imports the rest (start.ts), which index.html has the browser fetching
// already.
import { currentAccessToken } from './auth/session';
import { preconnectHub } from './live/hubSocket';
import { configuredTransport } from './live/transport';

const token = currentAccessToken();
if (token && configuredTransport() === 'auto') preconnectHub(token);

void import('./start');
