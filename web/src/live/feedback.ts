// The rules behind calm live feedback, kept apart from React so they can be
// unit-tested:
//
// - your own booking, move or cancellation makes no notice (`OwnChanges`:
//   the page says which dates it is about to change; the first event for
//   each of them within a short while is yours);
// - only days the page shows are announced (`VisibleRanges`);
// - a burst of changes (a move touches two days; a catch-up many) becomes
//   one notice (`summarize`).
import type { Day } from '../api/types';
import { describeChange, type ChangeKind } from './days';

/** How long after asking an own change may still arrive as an event. */
export const OWN_CHANGE_WINDOW_MS = 10_000;

interface Expectation {
  token: number;
  date: string;
  until: number;
}

export class OwnChanges {
  private expectations: Expectation[] = [];
  private next = 1;

  /** The page is about to change these dates; returns a token to `release` on failure. */
  expect(dates: readonly string[], now = Date.now()): number {
    const token = this.next++;
    for (const date of new Set(dates)) this.expectations.push({ token, date, until: now + OWN_CHANGE_WINDOW_MS });
    return token;
  }

  /** The request failed: nothing of it will arrive. */
  release(token: number): void {
    this.expectations = this.expectations.filter((e) => e.token !== token);
  }

  /** True (once) when a change of `date` is the page's own. */
  claim(date: string, now = Date.now()): boolean {
    this.expectations = this.expectations.filter((e) => e.until >= now);
    const index = this.expectations.findIndex((e) => e.date === date);
    if (index < 0) return false;
    this.expectations.splice(index, 1);
    return true;
  }
}

/** The date ranges the mounted calendars show, counted (two calendars may show one month). */
export class VisibleRanges {
  private ranges = new Map<string, number>();

  add(from: string, to: string): () => void {
    const key = `${from}|${to}`;
    this.ranges.set(key, (this.ranges.get(key) ?? 0) + 1);
    return () => {
      const n = (this.ranges.get(key) ?? 1) - 1;
      if (n <= 0) this.ranges.delete(key);
      else this.ranges.set(key, n);
    };
  }

  get any(): boolean {
    return this.ranges.size > 0;
  }

  shows(date: string): boolean {
    for (const key of this.ranges.keys()) {
      const [from, to] = key.split('|');
      if (date >= from && date <= to) return true;
    }
    return false;
  }
}

export interface Change {
  before: Day | undefined;
  after: Day;
}

export type Summary =
  | { kind: ChangeKind; date: string; remaining: number }
  | { kind: 'many'; dates: string[]; full: number };

/** One notice for a burst: the newest change per date, in date order. */
export function summarize(changes: readonly Change[]): Summary | null {
  const byDate = new Map<string, Change>();
  for (const change of changes) {
    const seen = byDate.get(change.after.date);
    // keep the first `before` and the last `after` of each date
    byDate.set(change.after.date, seen ? { before: seen.before, after: change.after } : change);
  }
  const list = [...byDate.values()]
    // a change the reader cannot see (same numbers, same status) is not news
    .filter(
      ({ before, after }) =>
        !before ||
        before.used !== after.used ||
        before.held !== after.held ||
        before.capacity !== after.capacity ||
        before.status !== after.status,
    )
    .sort((a, b) => (a.after.date < b.after.date ? -1 : 1));
  if (list.length === 0) return null;
  if (list.length === 1) {
    const { before, after } = list[0];
    return { kind: describeChange(before, after), date: after.date, remaining: after.remaining };
  }
  return {
    kind: 'many',
    dates: list.map((c) => c.after.date),
    full: list.filter((c) => c.after.status === 'full').length,
  };
}
