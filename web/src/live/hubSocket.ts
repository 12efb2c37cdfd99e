// The hub's WebSocket, opened by the page's entry (boot.ts) as the page
// starts: before the hub client's code (the official @microsoft/signalr
// client, in the next chunk) has arrived, let alone run. When that client
// connects straight to the hub (skipping negotiation), it constructs its
// WebSocket through the `WebSocket` option; `adoptingWebSocket()` hands it the
// socket already open (or opening) for the same URL — same hub, same token —
// and a new one otherwise. Nothing can be missed meanwhile: a SignalR server
// says nothing before the client's handshake, which the client sends itself.
import { apiUrl } from '../api/base';

export const HUB_PATH = '/hubs/notifications';
/** An opened socket that no client adopts by then is closed. */
export const UNADOPTED_CLOSE_MS = 5000;

let waiting: WebSocket | null = null;

/**
 * The URL the official client opens for `token` when it skips negotiation,
 * by its own rules: the hub's absolute URL with `http` → `ws`, and the token
 * as `access_token` in the query.
 */
export function hubSocketUrl(token: string): string {
  const url = new URL(apiUrl(HUB_PATH), location.href).href.replace(/^http/, 'ws');
  return `${url}${url.includes('?') ? '&' : '?'}access_token=${encodeURIComponent(token)}`;
}

/** Opens the hub's WebSocket for `token` now, for the hub client to adopt. */
export function preconnectHub(token: string): void {
  waiting?.close();
  const socket = new WebSocket(hubSocketUrl(token));
  waiting = socket;
  performance.mark('hub-preconnect');
  setTimeout(() => {
    if (waiting !== socket) return;
    waiting = null;
    socket.close();
  }, UNADOPTED_CLOSE_MS);
}

/** The waiting socket, once, if it was opened for `url` and is opening or open (else it is closed). */
function adopt(url: string): WebSocket | null {
  const socket = waiting;
  if (!socket) return null;
  waiting = null;
  const usable = socket.readyState === WebSocket.CONNECTING || socket.readyState === WebSocket.OPEN;
  if (usable && sameUrl(socket.url, url)) {
    // The client listens for `open` right after constructing; an open socket
    // has had its event already, so it gets it again (its handlers are set
    // by the time a microtask runs).
    if (socket.readyState === WebSocket.OPEN) queueMicrotask(() => socket.dispatchEvent(new Event('open')));
    return socket;
  }
  socket.close();
  return null;
}

function sameUrl(a: string, b: string): boolean {
  try {
    return new URL(a).href === new URL(b).href;
  } catch {
    return false;
  }
}

let hubWebSocket: typeof WebSocket | undefined;

/**
 * `WebSocket`, but `new` first adopts the socket `preconnectHub` opened for
 * that URL (undefined where there is no `WebSocket`: the client's default).
 */
export function adoptingWebSocket(): typeof WebSocket | undefined {
  if (typeof WebSocket === 'undefined') return undefined;
  hubWebSocket ??= new Proxy(WebSocket, {
    construct(target, args: ConstructorParameters<typeof WebSocket>) {
      return adopt(String(args[0])) ?? Reflect.construct(target, args);
    },
  });
  return hubWebSocket;
}
