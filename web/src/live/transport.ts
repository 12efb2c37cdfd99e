// Which transport the hub connection uses (no SignalR code here: the entry
// reads it before the hub client has loaded).

/**
 * How to reach the hub: `auto` (WebSockets without negotiating, then
 * negotiate and let the client pick) or one transport, negotiated — for
 * checking a proxy or a CORS set-up (`localStorage['request-desk.hub-transport']`).
 */
export type HubTransport = 'auto' | 'WebSockets' | 'ServerSentEvents' | 'LongPolling';
export const HUB_TRANSPORT_KEY = 'request-desk.hub-transport';

/** The transport asked for in localStorage, else `auto`. */
export function configuredTransport(): HubTransport {
  try {
    const value = localStorage.getItem(HUB_TRANSPORT_KEY);
    if (value === 'WebSockets' || value === 'ServerSentEvents' || value === 'LongPolling') return value;
  } catch {
    // no storage (private mode, tests): the default
  }
  return 'auto';
}
