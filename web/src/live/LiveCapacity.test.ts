// The live layer against a fake hub connection: the contract's gap-free
// start sequence, version gating, catch-up after reconnects and resync.
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { QueryClient } from '@tanstack/react-query';
import type { Availability, CapacityChanges, Day } from '../api/types';

// ----- a fake @microsoft/signalr -------------------------------------------
type Handler = (...args: unknown[]) => void;

class FakeConnection {
  state = 'Disconnected';
  handlers = new Map<string, Handler>();
  reconnecting?: () => void;
  reconnected?: () => void;
  closed?: () => void;
  invocations: [string, unknown[]][] = [];
  changes: CapacityChanges = { version: 0, resync: false, days: [] };

  on(target: string, handler: Handler) {
    this.handlers.set(target, handler);
  }
  onreconnecting(cb: () => void) {
    this.reconnecting = cb;
  }
  onreconnected(cb: () => void) {
    this.reconnected = cb;
  }
  onclose(cb: () => void) {
    this.closed = cb;
  }
  async start() {
    this.state = 'Connected';
  }
  async stop() {
    this.state = 'Disconnected';
  }
  async invoke(name: string, ...args: unknown[]) {
    this.invocations.push([name, args]);
    return this.changes;
  }
  /** The server sends an event. */
  emit(target: string, arg: unknown) {
    this.handlers.get(target)?.(arg);
  }
  dropAndReconnect() {
    this.state = 'Reconnecting';
    this.reconnecting?.();
  }
  finishReconnect() {
    this.state = 'Connected';
    this.reconnected?.();
  }
}

let connection: FakeConnection;
/** The options of every connection built, and the connections to hand out (else `connection`). */
const built: Record<string, unknown>[] = [];
const queued: FakeConnection[] = [];

vi.mock('@microsoft/signalr', () => ({
  HubConnectionState: { Connected: 'Connected', Disconnected: 'Disconnected', Disconnecting: 'Disconnecting' },
  LogLevel: { Warning: 3, None: 6 },
  HttpTransportType: { WebSockets: 1, ServerSentEvents: 2, LongPolling: 4 },
  HubConnectionBuilder: class {
    withUrl(url: string, options: Record<string, unknown>) {
      built.push({ url, ...options });
      return this;
    }
    withAutomaticReconnect() {
      return this;
    }
    configureLogging() {
      return this;
    }
    build() {
      return queued.shift() ?? connection;
    }
  },
}));

const availability = vi.fn<(from: string, to: string) => Promise<Availability>>();
vi.mock('../api/client', () => ({ api: { availability: (from: string, to: string) => availability(from, to) } }));

// a browser-ish global environment for the module
const win = Object.assign(new EventTarget(), {} as Record<string, unknown>);
vi.stubGlobal('window', win);
vi.stubGlobal('navigator', { onLine: true });

const { LiveCapacity } = await import('./LiveCapacity');

// ----- helpers --------------------------------------------------------------
function day(date: string, used: number, version: number): Day {
  return { date, capacity: 10, used, held: 0, remaining: 10 - used, percent: used * 10, status: 'available', reason: null, note: null, version };
}

function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

const flush = () => new Promise((r) => setTimeout(r, 0));
const catchUpCalls = () => connection.invocations.filter(([name]) => name === 'GetCapacityChangesSince');

async function loadRange(queryClient: QueryClient, live: InstanceType<typeof LiveCapacity>) {
  return queryClient.fetchQuery({
    queryKey: ['availability', '2026-05-01', '2026-05-03'],
    queryFn: () => live.fetchAvailability('2026-05-01', '2026-05-03'),
  });
}

const cached = (queryClient: QueryClient) =>
  queryClient.getQueryData<Availability>(['availability', '2026-05-01', '2026-05-03'])!;

beforeEach(() => {
  connection = new FakeConnection();
  built.length = 0;
  queued.length = 0;
  availability.mockReset();
});

describe('LiveCapacity', () => {
  it('connects straight over WebSockets, and negotiates when that fails', async () => {
    const direct = new FakeConnection();
    direct.start = async () => {
      throw new Error('WebSocket failed to connect');
    };
    queued.push(direct);
    const live = new LiveCapacity(new QueryClient(), () => 'token');
    await live.start();
    await flush();
    expect(built[0]).toMatchObject({ url: '/hubs/notifications', skipNegotiation: true, transport: 1 });
    expect(built[1]).not.toHaveProperty('skipNegotiation');
    expect(live.getState()).toBe('connected');
    // events now come through the negotiated connection
    expect(connection.handlers.has('CapacityUpdated')).toBe(true);
  });

  it('negotiates one transport when asked to (a proxy or CORS check)', async () => {
    const live = new LiveCapacity(new QueryClient(), () => 'token', 'LongPolling');
    await live.start();
    expect(built).toHaveLength(1);
    expect(built[0]).toMatchObject({ url: '/hubs/notifications', transport: 4 });
    expect(built[0]).not.toHaveProperty('skipNegotiation');
    expect(live.getState()).toBe('connected');
  });

  it('starts gap-free: buffers events during the fetch, applies the newer ones, then catches up once', async () => {
    const queryClient = new QueryClient();
    const live = new LiveCapacity(queryClient, () => 'token');
    await live.start(); // the hub first
    expect(live.getState()).toBe('connected');

    const response = deferred<Availability>();
    availability.mockReturnValueOnce(response.promise);
    const loading = loadRange(queryClient, live);

    // an event overtakes the fetch: newer than what the fetch will return
    connection.emit('CapacityUpdated', { ...day('2026-05-02', 4, 12), timestamp: 't' });
    // and one that is older than the fetched day
    connection.emit('CapacityUpdated', { ...day('2026-05-03', 1, 5), timestamp: 't' });
    response.resolve({
      version: 11,
      days: [day('2026-05-01', 0, 0), day('2026-05-02', 3, 11), day('2026-05-03', 2, 9)],
    });
    await loading;
    await flush();

    expect(cached(queryClient).days.map((d) => d.used)).toEqual([0, 4, 2]);
    expect(catchUpCalls()).toEqual([['GetCapacityChangesSince', [11]]]);
  });

  it('applies events in place, only when newer, and reports the change', async () => {
    const queryClient = new QueryClient();
    const live = new LiveCapacity(queryClient, () => 'token');
    await live.start();
    availability.mockResolvedValueOnce({ version: 3, days: [day('2026-05-01', 0, 0), day('2026-05-02', 1, 3)] });
    await loadRange(queryClient, live);
    await flush();
    const seen = vi.fn();
    live.subscribeEvents(seen);
    const before = cached(queryClient);

    connection.emit('CapacityUpdated', { ...day('2026-05-02', 2, 4), timestamp: 't' });
    const after = cached(queryClient);
    expect(after.days[1].used).toBe(2);
    expect(after.days[0]).toBe(before.days[0]); // untouched days keep their identity
    expect(seen).toHaveBeenCalledTimes(1);

    connection.emit('CapacityUpdated', { ...day('2026-05-02', 2, 4), timestamp: 't' }); // duplicate
    connection.emit('CapacityUpdated', { ...day('2026-05-02', 1, 3), timestamp: 't' }); // stale
    expect(cached(queryClient)).toBe(after);
    expect(seen).toHaveBeenCalledTimes(1);
    expect(availability).toHaveBeenCalledTimes(1); // never refetched
  });

  it('after a reconnect asks for the changes since the last complete version, not since what it heard meanwhile', async () => {
    const queryClient = new QueryClient();
    const live = new LiveCapacity(queryClient, () => 'token');
    await live.start();
    availability.mockResolvedValueOnce({ version: 3, days: [day('2026-05-01', 0, 0), day('2026-05-02', 1, 3)] });
    connection.changes = { version: 3, resync: false, days: [] };
    await loadRange(queryClient, live);
    await flush();

    connection.emit('CapacityUpdated', { ...day('2026-05-01', 1, 5), timestamp: 't' }); // live: complete up to 5
    connection.dropAndReconnect();
    expect(live.getState()).toBe('reconnecting');
    // heard on the new connection before the catch-up answered: must not move the starting point
    connection.emit('CapacityUpdated', { ...day('2026-05-01', 2, 9), timestamp: 't' });
    connection.changes = { version: 9, resync: false, days: [day('2026-05-02', 3, 7), day('2026-05-01', 2, 9)] };
    connection.finishReconnect();
    await flush();

    expect(catchUpCalls().map(([, args]) => args[0])).toEqual([3, 5]);
    expect(cached(queryClient).days.map((d) => d.used)).toEqual([2, 3]);
    expect(live.getState()).toBe('connected');
  });

  it('refetches on resync and on a settings change, once per settings version', async () => {
    const queryClient = new QueryClient();
    const live = new LiveCapacity(queryClient, () => 'token');
    await live.start();
    availability.mockResolvedValue({ version: 3, days: [day('2026-05-01', 0, 0)] });
    await loadRange(queryClient, live);
    await flush();
    const invalidate = vi.spyOn(queryClient, 'invalidateQueries');

    connection.emit('CapacitySettingsChanged', { timestamp: 't', version: 6 });
    connection.emit('CapacitySettingsChanged', { timestamp: 't', version: 6 }); // heard twice
    const availabilityInvalidations = () =>
      invalidate.mock.calls.filter(([filters]) => JSON.stringify(filters?.queryKey) === '["availability"]').length;
    expect(availabilityInvalidations()).toBe(1);

    connection.changes = { version: 8, resync: true, days: [] };
    connection.dropAndReconnect();
    connection.finishReconnect();
    await flush();
    expect(availabilityInvalidations()).toBe(2);
  });

  it('goes offline when the browser does, and catches up when it is back', async () => {
    const queryClient = new QueryClient();
    const live = new LiveCapacity(queryClient, () => 'token');
    await live.start();
    availability.mockResolvedValueOnce({ version: 3, days: [day('2026-05-01', 0, 0)] });
    connection.changes = { version: 3, resync: false, days: [] };
    await loadRange(queryClient, live);
    await flush();

    win.dispatchEvent(new Event('offline'));
    expect(live.getState()).toBe('offline');
    await flush();
    connection.changes = { version: 4, resync: false, days: [day('2026-05-01', 5, 4)] };
    win.dispatchEvent(new Event('online'));
    await flush();
    await flush();
    expect(live.getState()).toBe('connected');
    expect(cached(queryClient).days[0].used).toBe(5);
    await live.stop();
  });

  it('back from the back-forward cache: catches up once, quietly (the changes come as `restore`), then as usual', async () => {
    const queryClient = new QueryClient();
    const live = new LiveCapacity(queryClient, () => 'token');
    await live.start();
    availability.mockResolvedValueOnce({ version: 3, days: [day('2026-05-01', 0, 0), day('2026-05-02', 0, 0)] });
    connection.changes = { version: 3, resync: false, days: [] };
    await loadRange(queryClient, live);
    await flush();
    const seen: string[] = [];
    live.subscribeEvents((event) => {
      if (event.kind === 'days') for (const c of event.changes) seen.push(`${c.after.date} ${c.source}`);
    });
    const pageshow = (persisted: boolean) => Object.assign(new Event('pageshow'), { persisted });

    // a page shown afresh is not a restore
    win.dispatchEvent(pageshow(false));
    await flush();
    expect(catchUpCalls()).toHaveLength(1);

    // the browser closed the hub when it froze the page; restored, it reconnects and catches up quietly
    connection.dropAndReconnect();
    win.dispatchEvent(pageshow(true));
    connection.changes = { version: 5, resync: false, days: [day('2026-05-01', 1, 5)] };
    connection.finishReconnect();
    await flush();
    expect(catchUpCalls().map(([, args]) => args[0])).toEqual([3, 3]);
    expect(seen).toEqual(['2026-05-01 restore']);
    expect(cached(queryClient).days[0].used).toBe(1);

    // restored while the connection is still up: a catch-up at once, quiet too
    connection.changes = { version: 6, resync: false, days: [day('2026-05-02', 2, 6)] };
    win.dispatchEvent(pageshow(true));
    await flush();
    expect(seen).toEqual(['2026-05-01 restore', '2026-05-02 restore']);

    // the next drop is an ordinary one: its catch-up is announced
    connection.dropAndReconnect();
    connection.changes = { version: 7, resync: false, days: [day('2026-05-02', 3, 7)] };
    connection.finishReconnect();
    await flush();
    expect(seen.at(-1)).toBe('2026-05-02 catch-up');
    await live.stop();
  });
});
