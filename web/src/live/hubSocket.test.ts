// The hub's WebSocket opened by the entry: adopted once by the hub client when
// it asks for the same URL, opened anew otherwise, closed when nobody adopts it.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

class FakeSocket extends EventTarget {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;
  static made: FakeSocket[] = [];
  readyState = FakeSocket.CONNECTING;
  closed = false;
  onopen: ((event: Event) => void) | null = null;
  readonly url: string;
  constructor(url: string) {
    super();
    this.url = new URL(url).href;
    this.addEventListener('open', (event) => this.onopen?.(event));
    FakeSocket.made.push(this);
  }
  close() {
    this.closed = true;
    this.readyState = FakeSocket.CLOSED;
  }
}

vi.stubGlobal('WebSocket', FakeSocket);
vi.stubGlobal('location', new URL('https://desk.example/new'));
const { adoptingWebSocket, hubSocketUrl, preconnectHub, UNADOPTED_CLOSE_MS } = await import('./hubSocket');
const HubWebSocket = adoptingWebSocket()!;

beforeEach(() => {
  vi.useFakeTimers();
  FakeSocket.made = [];
});
afterEach(() => vi.useRealTimers());

describe('the hub socket opened by the entry', () => {
  it('has the URL the official client opens when it skips negotiation', () => {
    expect(hubSocketUrl('a.b-c_d')).toBe('wss://desk.example/hubs/notifications?access_token=a.b-c_d');
  });

  it('is handed to the client asking for the same URL, once; the next one gets a new socket', () => {
    preconnectHub('token-a');
    const [opened] = FakeSocket.made;
    expect(new HubWebSocket(hubSocketUrl('token-a'))).toBe(opened);
    const again = new HubWebSocket(hubSocketUrl('token-a'));
    expect(again).not.toBe(opened);
    expect(FakeSocket.made).toHaveLength(2);
    vi.advanceTimersByTime(UNADOPTED_CLOSE_MS);
    expect(opened.closed).toBe(false);
  });

  it('tells a client that adopts it open that it is open (a socket still connecting says so itself)', async () => {
    preconnectHub('token-a');
    const [opened] = FakeSocket.made;
    opened.readyState = FakeSocket.OPEN;
    const adopted = new HubWebSocket(hubSocketUrl('token-a')) as unknown as FakeSocket;
    const heard = vi.fn();
    adopted.onopen = heard;
    await Promise.resolve();
    expect(heard).toHaveBeenCalledOnce();

    preconnectHub('token-a');
    const connecting = new HubWebSocket(hubSocketUrl('token-a')) as unknown as FakeSocket;
    connecting.onopen = heard;
    await Promise.resolve();
    expect(heard).toHaveBeenCalledOnce();
  });

  it('is closed, not handed over, when the client asks for another URL or it has failed', () => {
    preconnectHub('token-a');
    const [first] = FakeSocket.made;
    const other = new HubWebSocket(hubSocketUrl('token-b'));
    expect(other).not.toBe(first);
    expect(first.closed).toBe(true);

    preconnectHub('token-a');
    const failed = FakeSocket.made[2];
    failed.readyState = FakeSocket.CLOSED;
    expect(new HubWebSocket(hubSocketUrl('token-a'))).not.toBe(failed);
  });

  it('is closed when no client adopts it in time', () => {
    preconnectHub('token-a');
    const [opened] = FakeSocket.made;
    vi.advanceTimersByTime(UNADOPTED_CLOSE_MS - 1);
    expect(opened.closed).toBe(false);
    vi.advanceTimersByTime(1);
    expect(opened.closed).toBe(true);
    expect(new HubWebSocket(hubSocketUrl('token-a'))).not.toBe(opened);
  });
});
