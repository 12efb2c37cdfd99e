// The slot the form keeps for its user while they type (`/api/holds`), as
// plain logic (no React: `useHold` is its glue, and the unit tests drive it
// directly). Picking a day takes a hold, picking another moves it (the server
// releases the old one in the same transaction), submitting uses it, and
// leaving the page releases it — best effort: the hold's expiry is the
// guarantee. Takes and releases go one after another, so the server sees
// them in the order the user made them. Each is announced to `OwnChanges`
// first, so the page's own hold makes no notice for its own user.
//
// The back-forward cache: `pagehide` releases the hold, but the page may come
// back (`pageshow` with `persisted`) with the form as it was. Then the hold
// is taken again, quietly, for the day still selected — the form reads "held
// for you until …" with the new time — or, if the day filled up meanwhile,
// the take fails and the form says why like any failed pick.
import type { Hold } from '../api/types';

/** The countdown (and the offer to extend) shows in the hold's last minute. */
export const HOLD_WARNING_MS = 60_000;

export type HoldState =
  | { kind: 'none' }
  | { kind: 'taking'; date: string }
  | { kind: 'held'; hold: Hold }
  | { kind: 'expired'; date: string }
  | { kind: 'failed'; date: string; error: unknown };

/** What the keeper needs from the server (the REST client in the app, a fake in tests). */
export interface HoldServer {
  take: (date: string) => Promise<Hold>;
  release: (id: number) => Promise<void>;
  /** A release that outlives the page (`fetch` with `keepalive`), with the session the hold was taken in. */
  releaseOnExit: (id: number, token: string | null) => void;
  /** The session's token now. */
  token: () => string | null;
}

/** The page's own changes (`OwnChanges`): announced before each take and release. */
export interface OwnAnnouncer {
  expect: (dates: readonly string[]) => number;
  release: (token: number) => void;
}

/** Milliseconds until `expiresAt` (by this device's clock). */
export function msUntil(expiresAt: string, now = Date.now()): number {
  return Date.parse(expiresAt) - now;
}

export class HoldKeeper {
  private state: HoldState = { kind: 'none' };
  private readonly listeners = new Set<() => void>();
  /** The hold the server has for us, as far as we know — read by the queue and on exit. */
  private current: Hold | null = null;
  /** The session the hold belongs to: signing out clears the session before the page unmounts. */
  private holder: string | null = null;
  private queue: Promise<void> = Promise.resolve();
  private latest = 0;
  private active = true;
  /** The day whose hold `pagehide` released, to take again if the page comes back from the bfcache. */
  private hiddenDate: string | null = null;

  constructor(
    private readonly server: HoldServer,
    private readonly own: OwnAnnouncer,
  ) {}

  // ----- for React (useSyncExternalStore) -------------------------------------

  readonly getState = (): HoldState => this.state;

  readonly subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  private set(state: HoldState): void {
    this.state = state;
    for (const listener of this.listeners) listener();
  }

  private enqueue(job: () => Promise<void>): void {
    this.queue = this.queue.then(job, job);
  }

  /** Resolves when every take and release asked for so far has been answered. */
  settled(): Promise<void> {
    return this.queue;
  }

  // ----- what the form does ----------------------------------------------------

  /** Takes a hold on `date`, releasing the previous one; `extend` takes it again on the same day. */
  readonly take = (date: string, extend = false): void => {
    const seq = ++this.latest;
    this.set({ kind: 'taking', date });
    this.enqueue(async () => {
      if (seq !== this.latest || !this.active) return; // a newer pick superseded this one
      const previous = this.current;
      if (!extend && previous && previous.date === date && msUntil(previous.expiresAt) > HOLD_WARNING_MS) {
        this.set({ kind: 'held', hold: previous });
        return;
      }
      const token = this.own.expect(previous && previous.date !== date ? [date, previous.date] : [date]);
      try {
        const hold = await this.server.take(date);
        this.current = hold;
        this.holder = this.server.token();
        if (!this.active) {
          this.current = null;
          this.server.releaseOnExit(hold.id, this.holder);
          return;
        }
        if (seq === this.latest) this.set({ kind: 'held', hold });
      } catch (error) {
        this.own.release(token);
        // the server released the previous hold only if the new one was taken
        if (seq === this.latest && this.active) this.set({ kind: 'failed', date, error });
      }
    });
  };

  /** Releases the current hold (if any). */
  readonly release = (): void => {
    this.latest += 1;
    this.hiddenDate = null;
    this.set({ kind: 'none' });
    this.enqueue(async () => {
      const hold = this.current;
      this.current = null;
      if (!hold) return;
      const token = this.own.expect([hold.date]);
      try {
        await this.server.release(hold.id);
      } catch {
        // 404: already gone (expired or used); otherwise its expiry frees it
        this.own.release(token);
      }
    });
  };

  /** The booking used the hold: forget it without releasing. */
  readonly consumed = (): void => {
    this.latest += 1;
    this.current = null;
    this.hiddenDate = null;
    this.set({ kind: 'none' });
  };

  /** The hold id to book `date` with, if we have one (the server judges whether it is still live). */
  readonly idFor = (date: string): number | undefined => {
    const hold = this.current;
    return hold && hold.date === date ? hold.id : undefined;
  };

  /** True while a hold on `date` is being taken or is held: the day's last slot may be ours. */
  readonly covers = (date: string | null): boolean => {
    const state = this.state;
    return date !== null && ((state.kind === 'taking' && state.date === date) || (state.kind === 'held' && state.hold.date === date));
  };

  /** The countdown reached the end (by this device's clock): the server judges it, so its id is kept. */
  expired(id: number): void {
    const state = this.state;
    if (state.kind === 'held' && state.hold.id === id) this.set({ kind: 'expired', date: state.hold.date });
  }

  // ----- the page's lifecycle ---------------------------------------------------

  /** The form is on screen (again: React may mount it twice in development). */
  attach(): void {
    this.active = true;
  }

  /** The form went away (navigation in the app, signing out): release the hold. */
  detach(): void {
    this.active = false;
    this.hiddenDate = null;
    const hold = this.current;
    this.current = null;
    if (hold) this.server.releaseOnExit(hold.id, this.holder);
  }

  /**
   * `pagehide`: the page is closed, or put in the back-forward cache. Release
   * the hold now (a page in the cache runs no code, so its hold could not be
   * released later), and remember which day was being kept.
   */
  pageHidden(): void {
    const state = this.state;
    // only a kept (or being kept) slot comes back; an ended hold stays ended, as the form says
    this.hiddenDate = state.kind === 'held' ? state.hold.date : state.kind === 'taking' ? state.date : null;
    const hold = this.current;
    this.current = null;
    if (!hold) return;
    this.own.expect([hold.date]);
    this.server.releaseOnExit(hold.id, this.holder);
  }

  /**
   * `pageshow`: `persisted` means the page came back from the back-forward
   * cache with its form as it was; take the hold again for the day still
   * selected. The state goes to "taking" at once, so the released hold is
   * never shown as held.
   */
  pageShown(persisted: boolean): void {
    const date = this.hiddenDate;
    this.hiddenDate = null;
    if (!persisted || date === null || !this.active) return;
    this.take(date, true);
  }
}
