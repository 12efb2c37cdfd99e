// The live layer: one SignalR connection to /hubs/notifications that keeps
// the query cache's availability ranges current, gap-free and order-safe.
//
// Start (API.md): the hub is started before the first range is fetched and
// buffers what it hears in a journal; every fetched range is merged with the
// journal's newer days; once the hub is connected and the first range is
// known, GetCapacityChangesSince(thatVersion) is called once. After every
// reconnect (automatic, or after the browser was offline) the same call is
// made with the last version known to be complete; `resync` refetches.
import {
  HubConnectionBuilder,
  HubConnectionState,
  HttpTransportType,
  LogLevel,
  type HubConnection,
  type IHttpConnectionOptions,
  type IRetryPolicy,
} from '@microsoft/signalr';
import type { QueryClient } from '@tanstack/react-query';
import { api } from '../api/client';
import { apiUrl } from '../api/base';
import type {
  Availability,
  CapacitySettingsChangedEvent,
  CapacityUpdatedEvent,
  Day,
  Inbox,
  InboxUpdatedEvent,
  Notification,
  WireChanges,
} from '../api/types';
import { DayJournal, isNewer, mergeDays, toDay } from './days';
import { HUB_PATH, adoptingWebSocket } from './hubSocket';
import { keys } from './queryKeys';
import type { HubTransport } from './transport';

export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'offline';

export interface DayChange {
  before: Day | undefined;
  after: Day;
  /**
   * `restore`: caught up after the page came back from the back-forward
   * cache — shown in place like any change, but not announced (the user was
   * not offline, and their own hold was released and taken again meanwhile).
   */
  source: 'event' | 'catch-up' | 'restore';
}

/** A cached range remembers the version it was fetched at: every settings change up to it is in it. */
export interface CachedRange extends Availability {
  fetchedVersion: number;
}

export type LiveEvent =
  | { kind: 'days'; changes: DayChange[] }
  | { kind: 'settings' }
  | { kind: 'notification'; notification: Notification };

/** Retries for as long as the page is open: 0, 1, 2, 5 s, then every 10 s. */
const retryForever: IRetryPolicy = {
  nextRetryDelayInMilliseconds: ({ previousRetryCount }) =>
    [0, 1000, 2000, 5000][previousRetryCount] ?? 10_000,
};

declare global {
  interface Window {
    /** Read by the end-to-end tests and handy in the console. */
    __requestDesk?: { hubState: ConnectionState; lastVersion: number | null; catchUps: number };
  }
}

export class LiveCapacity {
  private readonly journal = new DayJournal();
  private connection: HubConnection;
  /**
   * WebSockets straight to the hub first (`skipNegotiation`: one round trip
   * less before the picker is live); if that fails — a proxy without
   * WebSockets — the connection is rebuilt to negotiate, which can fall back
   * to Server-Sent Events or long polling.
   */
  private direct: boolean;
  private state: ConnectionState = 'connecting';
  private readonly stateListeners = new Set<(state: ConnectionState) => void>();
  private readonly eventListeners = new Set<(event: LiveEvent) => void>();

  /** Every change up to this version is in the cache (null before the first fetch). */
  private baseline: number | null = null;
  /** True while changes may have been missed: before the first catch-up and after a drop. */
  private gapOpen = true;
  /** The newest version heard while the gap was open. */
  private heardDuringGap = 0;
  private catchUpRunning = false;
  private catchUpAgain = false;

  private stopped = false;
  private restartTimer: ReturnType<typeof setTimeout> | undefined;
  private restartAttempts = 0;
  private catchUps = 0;
  /** The page came back from the back-forward cache: the next catch-up is a quiet one. */
  private restored = false;
  /** The newest CapacitySettingsChanged acted on (duplicates are ignored). */
  private settingsVersion = 0;

  constructor(
    private readonly queryClient: QueryClient,
    private readonly accessToken: () => string | null,
    private readonly transport: HubTransport = 'auto',
  ) {
    this.direct = transport === 'auto';
    this.connection = this.build(this.direct);
    this.publishDebug();
  }

  private build(direct: boolean): HubConnection {
    const accessTokenFactory = () => this.accessToken() ?? '';
    const connection = new HubConnectionBuilder()
      .withUrl(
        apiUrl(HUB_PATH),
        direct
          ? ({
              accessTokenFactory,
              skipNegotiation: true,
              transport: HttpTransportType.WebSockets,
              // The socket boot.ts opened for this token, if it is still
              // waiting. `WebSocket` is an option the client reads but marks
              // internal (absent from its typings); were it ever ignored, the
              // client would open its own socket, as before. The e2e suite
              // checks that a page opens one socket.
              WebSocket: adoptingWebSocket(),
            } as IHttpConnectionOptions)
          : this.transport === 'auto'
            ? { accessTokenFactory }
            : { accessTokenFactory, transport: HttpTransportType[this.transport] },
      )
      .withAutomaticReconnect(retryForever)
      .configureLogging(LogLevel.Warning)
      .build();

    connection.on('CapacityUpdated', (event: CapacityUpdatedEvent) => this.onCapacityUpdated(event));
    connection.on('CapacitySettingsChanged', (event: CapacitySettingsChangedEvent) => this.onSettingsChanged(event));
    connection.on('InboxUpdated', (event: InboxUpdatedEvent) => this.onInboxUpdated(event));
    connection.on('NotificationReceived', (n: Notification) => this.onNotification(n));

    connection.onreconnecting(() => {
      this.gapOpen = true;
      this.setState('reconnecting');
    });
    connection.onreconnected(() => this.onConnected());
    connection.onclose(() => {
      if (connection !== this.connection) return; // a replaced connection
      this.gapOpen = true;
      if (this.stopped) return;
      this.setState('offline');
      if (navigator.onLine) this.scheduleRestart();
    });
    return connection;
  }

  // ----- lifecycle -------------------------------------------------------

  async start(): Promise<void> {
    this.stopped = false;
    // the same listener added twice is one listener
    window.addEventListener('offline', this.handleOffline);
    window.addEventListener('online', this.handleOnline);
    window.addEventListener('pageshow', this.handlePageShow);
    clearTimeout(this.restartTimer);
    if (this.connection.state === HubConnectionState.Disconnecting) {
      // still closing after going offline: try again in a moment
      this.restartTimer = setTimeout(() => void this.start(), 100);
      return;
    }
    if (this.connection.state !== HubConnectionState.Disconnected) return;
    if (!navigator.onLine) {
      this.setState('offline');
      return;
    }
    this.setState(this.baseline === null ? 'connecting' : 'reconnecting');
    if (!performance.getEntriesByName('hub-start').length) performance.mark('hub-start');
    try {
      await this.connection.start();
      this.restartAttempts = 0;
      this.onConnected();
    } catch {
      if (this.stopped) return;
      if (this.direct && navigator.onLine) {
        // no WebSockets on the way: negotiate from now on, and try again at once
        this.direct = false;
        this.connection = this.build(false);
        void this.start();
        return;
      }
      this.setState('offline');
      this.scheduleRestart();
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    window.removeEventListener('offline', this.handleOffline);
    window.removeEventListener('online', this.handleOnline);
    window.removeEventListener('pageshow', this.handlePageShow);
    await this.connection.stop();
  }

  private scheduleRestart(): void {
    clearTimeout(this.restartTimer);
    const delay = [1000, 2000, 5000][this.restartAttempts] ?? 10_000;
    this.restartAttempts += 1;
    this.restartTimer = setTimeout(() => void this.start(), delay);
  }

  private readonly handleOffline = () => {
    // The browser knows the network is gone: say so at once and stop trying
    // until it comes back, rather than waiting for a timeout.
    this.gapOpen = true;
    clearTimeout(this.restartTimer);
    this.setState('offline');
    void this.connection.stop();
  };

  private readonly handleOnline = () => {
    if (this.stopped) return;
    this.restartAttempts = 0;
    void this.start();
  };

  private readonly handlePageShow = (event: Event) => {
    if (!(event as PageTransitionEvent).persisted || this.stopped) return;
    // Back from the back-forward cache: the page ran no code meanwhile, and
    // the browser closed the hub connection when it froze the page. Catch up
    // quietly — now if the connection is (still) up, else when it is back.
    this.restored = true;
    this.gapOpen = true;
    if (this.connection.state === HubConnectionState.Connected && this.baseline !== null) void this.catchUp();
  };

  private onConnected(): void {
    this.setState('connected');
    if (!performance.getEntriesByName('hub-connected').length) performance.mark('hub-connected');
    if (this.baseline !== null) void this.catchUp();
  }

  // ----- state for the UI -------------------------------------------------

  getState(): ConnectionState {
    return this.state;
  }

  subscribeState(listener: (state: ConnectionState) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  subscribeEvents(listener: (event: LiveEvent) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  private setState(state: ConnectionState): void {
    if (this.state === state) return;
    this.state = state;
    this.publishDebug();
    for (const listener of this.stateListeners) listener(state);
  }

  private emit(event: LiveEvent): void {
    for (const listener of this.eventListeners) listener(event);
  }

  private publishDebug(): void {
    window.__requestDesk = { hubState: this.state, lastVersion: this.baseline, catchUps: this.catchUps };
  }

  // ----- availability ---------------------------------------------------------

  /** The query function of every availability range. */
  async fetchAvailability(from: string, to: string): Promise<CachedRange> {
    const raw = await api.availability(from, to);
    const response: Availability = { version: raw.version, days: raw.days.map(toDay) };
    const fetched = { ...this.journal.apply(response), fetchedVersion: response.version };
    if (this.baseline === null) {
      // the response's own version: the journal may have merged newer days
      // into it, but changes between the two may not have been heard yet
      this.baseline = response.version;
      this.publishDebug();
      if (this.connection.state === HubConnectionState.Connected) void this.catchUp();
    }
    return fetched;
  }

  /** The newest state of a date in any cached range (or heard from the hub). */
  findDay(date: string): Day | undefined {
    let found: Day | undefined = this.journal.get(date);
    for (const [, data] of this.queryClient.getQueriesData<Availability>({ queryKey: keys.availabilityAll })) {
      const day = data?.days.find((d) => d.date === date);
      if (day && isNewer(day, found)) found = day;
    }
    return found;
  }

  private cachedDay(date: string): Day | undefined {
    for (const [, data] of this.queryClient.getQueriesData<Availability>({ queryKey: keys.availabilityAll })) {
      const day = data?.days.find((d) => d.date === date);
      if (day) return day;
    }
    return undefined;
  }

  /** Applies changed days in place to every cached range; reports what changed. */
  private applyDays(days: Day[], source: DayChange['source']): void {
    const changes: DayChange[] = [];
    for (const day of days) {
      const before = this.cachedDay(day.date);
      const fresh = this.journal.record(day);
      if (fresh && before && isNewer(day, before)) changes.push({ before, after: toDay(day), source });
    }
    if (days.length === 0) return;
    this.queryClient.setQueriesData<Availability>({ queryKey: keys.availabilityAll }, (old) =>
      mergeDays(old, days),
    );
    if (changes.length) this.emit({ kind: 'days', changes });
  }

  private noteVersion(version: number): void {
    if (this.gapOpen) {
      this.heardDuringGap = Math.max(this.heardDuringGap, version);
    } else if (this.baseline !== null && version > this.baseline) {
      this.baseline = version;
      this.publishDebug();
    }
  }

  private onCapacityUpdated(event: CapacityUpdatedEvent): void {
    this.applyDays([toDay(event)], 'event');
    this.noteVersion(event.version);
  }

  private onSettingsChanged(event: CapacitySettingsChangedEvent): void {
    this.noteVersion(event.version);
    if (event.version <= this.settingsVersion) return; // heard already
    this.settingsVersion = event.version;
    void this.queryClient.invalidateQueries({ queryKey: keys.settings });
    // Only ranges fetched before the change need it; newer fetches already show it.
    void this.queryClient.invalidateQueries({
      queryKey: keys.availabilityAll,
      predicate: (query) => ((query.state.data as CachedRange | undefined)?.fetchedVersion ?? -1) < event.version,
    });
    this.emit({ kind: 'settings' });
  }

  /** GetCapacityChangesSince(baseline); runs one at a time, again if asked meanwhile. */
  private async catchUp(): Promise<void> {
    if (this.catchUpRunning) {
      this.catchUpAgain = true;
      return;
    }
    this.catchUpRunning = true;
    try {
      do {
        this.catchUpAgain = false;
        const since = this.baseline ?? 0;
        const source = this.restored ? 'restore' : 'catch-up';
        let changes: WireChanges;
        try {
          changes = await this.connection.invoke<WireChanges>('GetCapacityChangesSince', since);
        } catch {
          return; // the connection dropped again; the next reconnect retries
        }
        this.catchUps += 1;
        if (source === 'restore') this.restored = false;
        if (changes.resync) {
          void this.queryClient.invalidateQueries({ queryKey: keys.availabilityAll });
          void this.queryClient.invalidateQueries({ queryKey: keys.settings });
        } else {
          this.applyDays(changes.days.map(toDay), source);
        }
        this.baseline = Math.max(this.baseline ?? 0, changes.version, this.heardDuringGap);
        this.heardDuringGap = 0;
        if (this.connection.state === HubConnectionState.Connected) this.gapOpen = false;
        this.publishDebug();
      } while (this.catchUpAgain);
    } finally {
      this.catchUpRunning = false;
    }
  }

  // ----- notifications ---------------------------------------------------------

  private onInboxUpdated({ unreadCount }: InboxUpdatedEvent): void {
    this.queryClient.setQueryData<Inbox>(keys.notifications, (old) =>
      old ? { ...old, unreadCount } : { items: [], unreadCount },
    );
  }

  private onNotification(notification: Notification): void {
    this.queryClient.setQueryData<Inbox>(keys.notifications, (old) => {
      if (!old) return old;
      if (old.items.some((n) => n.id === notification.id)) return old;
      return { ...old, items: [notification, ...old.items] };
    });
    void this.queryClient.invalidateQueries({ queryKey: keys.requestsAll });
    this.emit({ kind: 'notification', notification });
  }
}
