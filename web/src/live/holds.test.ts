// The hold the form keeps: takes and releases in order, and a page restored
// from the back-forward cache taking its released hold again.
import { describe, expect, it, vi } from 'vitest';
import type { Hold } from '../api/types';
import { OwnChanges } from './feedback';
import { HoldKeeper, type HoldServer } from './holds';

class FakeServer implements HoldServer {
  log: string[] = [];
  holds = new Map<number, Hold>();
  next = 1;
  /** Dates the server refuses (`capacity_full`). */
  full = new Set<string>();
  tokenNow: string | null = 'token-a';
  /** While set, takes wait for it (a take on its way). */
  slow: Promise<void> | null = null;

  take = async (date: string): Promise<Hold> => {
    this.log.push(`take ${date}`);
    if (this.slow) await this.slow;
    if (this.full.has(date)) throw Object.assign(new Error(`${date} is full`), { code: 'capacity_full' });
    this.holds.clear(); // one live hold per user: a new one releases the old
    const hold = { id: this.next++, date, expiresAt: new Date(Date.now() + 600_000).toISOString() };
    this.holds.set(hold.id, hold);
    return hold;
  };
  release = async (id: number): Promise<void> => {
    this.log.push(`release ${id}`);
    this.holds.delete(id);
  };
  releaseOnExit = (id: number, token: string | null): void => {
    this.log.push(`release on exit ${id} (${token})`);
    this.holds.delete(id);
  };
  token = () => this.tokenNow;

  live(): string[] {
    return [...this.holds.values()].map((h) => h.date);
  }
}

function setup() {
  const server = new FakeServer();
  const own = new OwnChanges();
  const keeper = new HoldKeeper(server, own);
  return { server, own, keeper };
}

describe('HoldKeeper', () => {
  it('takes a hold on a pick, moves it with the next pick, and releases it, in the order asked', async () => {
    const { server, keeper } = setup();
    keeper.take('2026-12-02');
    expect(keeper.getState()).toEqual({ kind: 'taking', date: '2026-12-02' });
    expect(keeper.covers('2026-12-02')).toBe(true);
    await keeper.settled();
    const state = keeper.getState();
    expect(state.kind === 'held' && state.hold.date).toBe('2026-12-02');
    keeper.take('2026-12-03');
    keeper.release();
    await keeper.settled();
    // the superseded pick is never sent; the release is
    expect(server.log).toEqual(['take 2026-12-02', 'release 1']);
    expect(keeper.getState()).toEqual({ kind: 'none' });
    expect(server.live()).toEqual([]);
  });

  it('a page restored from the back-forward cache takes its released hold again, quietly', async () => {
    const { server, own, keeper } = setup();
    keeper.take('2026-12-02');
    await keeper.settled();
    const before = keeper.getState();
    expect(before.kind).toBe('held');
    const firstId = keeper.idFor('2026-12-02');

    keeper.pageHidden();
    expect(server.log.at(-1)).toBe(`release on exit ${firstId} (token-a)`);
    expect(server.live()).toEqual([]);
    expect(keeper.idFor('2026-12-02')).toBeUndefined(); // never booked with a released hold

    keeper.pageShown(true);
    // at once: being taken (never shown as held while released), and still the user's to book
    expect(keeper.getState()).toEqual({ kind: 'taking', date: '2026-12-02' });
    expect(keeper.covers('2026-12-02')).toBe(true);
    await keeper.settled();
    const after = keeper.getState();
    expect(after.kind).toBe('held');
    if (after.kind !== 'held') return;
    expect(after.hold.date).toBe('2026-12-02');
    expect(after.hold.id).not.toBe(firstId);
    expect(keeper.idFor('2026-12-02')).toBe(after.hold.id);
    expect(server.live()).toEqual(['2026-12-02']);
    // the first take, the release and the new take are the page's own: no notice for any
    for (let i = 0; i < 3; i++) expect(own.claim('2026-12-02')).toBe(true);
    expect(own.claim('2026-12-02')).toBe(false);
  });

  it('a restored page whose day filled up meanwhile says the hold could not be taken', async () => {
    const { server, keeper } = setup();
    keeper.take('2026-12-02');
    await keeper.settled();
    keeper.pageHidden();
    server.full.add('2026-12-02'); // someone took the slot while the page was away
    keeper.pageShown(true);
    await keeper.settled();
    const state = keeper.getState();
    expect(state.kind).toBe('failed');
    expect(state.kind === 'failed' && state.date).toBe('2026-12-02');
    // not covered any more: the form shows the day's full message
    expect(keeper.covers('2026-12-02')).toBe(false);
    expect(keeper.idFor('2026-12-02')).toBeUndefined();
  });

  it('a page shown afresh (not from the cache), or with no kept slot, takes nothing', async () => {
    const { server, keeper } = setup();
    keeper.take('2026-12-02');
    await keeper.settled();
    keeper.pageHidden();
    keeper.pageShown(false);
    await keeper.settled();
    expect(server.log.filter((l) => l.startsWith('take'))).toHaveLength(1);

    const second = setup();
    second.keeper.pageHidden();
    second.keeper.pageShown(true);
    await second.keeper.settled();
    expect(second.server.log).toEqual([]);
    expect(second.keeper.getState()).toEqual({ kind: 'none' });
  });

  it('an ended hold stays ended after a restore (the form offers to take it again)', async () => {
    const { server, keeper } = setup();
    keeper.take('2026-12-02');
    await keeper.settled();
    const id = keeper.idFor('2026-12-02')!;
    keeper.expired(id);
    expect(keeper.getState()).toEqual({ kind: 'expired', date: '2026-12-02' });
    keeper.pageHidden();
    keeper.pageShown(true);
    await keeper.settled();
    expect(keeper.getState()).toEqual({ kind: 'expired', date: '2026-12-02' });
    expect(server.log.filter((l) => l.startsWith('take'))).toHaveLength(1);
  });

  it('a page hidden while its hold was being taken takes it again when restored, after the first answer', async () => {
    const { server, keeper } = setup();
    let answer = () => {};
    server.slow = new Promise((r) => (answer = r));
    keeper.take('2026-12-02');
    await vi.waitFor(() => expect(server.log).toEqual(['take 2026-12-02']));
    keeper.pageHidden(); // the take is still on its way
    keeper.pageShown(true);
    server.slow = null;
    answer();
    await keeper.settled();
    expect(server.log).toEqual(['take 2026-12-02', 'take 2026-12-02']);
    const state = keeper.getState();
    expect(state.kind === 'held' && state.hold.id).toBe(2);
    expect(server.live()).toEqual(['2026-12-02']);
  });

  it('a form that went away (signed out, another page) releases with the session it was taken in, and takes nothing on a restore', async () => {
    const { server, keeper } = setup();
    keeper.take('2026-12-02');
    await keeper.settled();
    server.tokenNow = null; // signing out clears the session before the page unmounts
    keeper.detach();
    expect(server.log.at(-1)).toBe('release on exit 1 (token-a)');
    keeper.pageShown(true);
    await keeper.settled();
    expect(server.log.filter((l) => l.startsWith('take'))).toHaveLength(1);
  });

  it('a booking that used the hold forgets it: nothing is released or taken again on a restore', async () => {
    const { server, keeper } = setup();
    keeper.take('2026-12-02');
    await keeper.settled();
    keeper.consumed();
    keeper.pageHidden();
    keeper.pageShown(true);
    await keeper.settled();
    expect(server.log).toEqual(['take 2026-12-02']);
    expect(keeper.getState()).toEqual({ kind: 'none' });
  });
});
