import { describe, expect, it } from 'vitest';
import type { Day } from '../api/types';
import { OWN_CHANGE_WINDOW_MS, OwnChanges, VisibleRanges, summarize } from './feedback';

function day(date: string, used: number, capacity = 10, status?: Day['status']): Day {
  const remaining = Math.max(capacity - used, 0);
  return {
    date,
    capacity,
    used,
    held: 0,
    remaining,
    percent: Math.round((used * 100) / capacity),
    status: status ?? (remaining === 0 ? 'full' : used * 100 >= 60 * capacity ? 'limited' : 'available'),
    reason: null,
    note: null,
    version: used,
  };
}

describe('OwnChanges', () => {
  it('claims one event per expected date, then none', () => {
    const own = new OwnChanges();
    own.expect(['2026-05-15', '2026-05-16'], 0);
    expect(own.claim('2026-05-15', 10)).toBe(true);
    expect(own.claim('2026-05-15', 20)).toBe(false); // a second event is someone else's
    expect(own.claim('2026-05-16', 30)).toBe(true);
    expect(own.claim('2026-05-17', 40)).toBe(false);
  });
  it('forgets a released (failed) request and expectations that are too old', () => {
    const own = new OwnChanges();
    const token = own.expect(['2026-05-15'], 0);
    own.release(token);
    expect(own.claim('2026-05-15', 1)).toBe(false);
    own.expect(['2026-05-15'], 0);
    expect(own.claim('2026-05-15', OWN_CHANGE_WINDOW_MS + 1)).toBe(false);
  });
});

describe('VisibleRanges', () => {
  it('knows which dates a mounted calendar shows, counting duplicates', () => {
    const visible = new VisibleRanges();
    expect(visible.any).toBe(false);
    const a = visible.add('2026-05-01', '2026-05-31');
    const b = visible.add('2026-05-01', '2026-05-31');
    expect(visible.shows('2026-05-15')).toBe(true);
    expect(visible.shows('2026-06-01')).toBe(false);
    a();
    expect(visible.shows('2026-05-15')).toBe(true);
    b();
    expect(visible.any).toBe(false);
  });
});

describe('summarize', () => {
  it('words one change by what happened', () => {
    expect(summarize([{ before: day('d1', 1), after: day('d1', 2) }])).toEqual({ kind: 'booked', date: 'd1', remaining: 8 });
    expect(summarize([{ before: day('d1', 2), after: day('d1', 1) }])).toMatchObject({ kind: 'freed' });
    expect(summarize([{ before: day('d1', 9), after: day('d1', 10) }])).toMatchObject({ kind: 'full' });
    expect(summarize([{ before: day('d1', 10), after: day('d1', 9) }])).toMatchObject({ kind: 'reopened' });
    expect(summarize([{ before: day('d1', 1), after: day('d1', 1, 0, 'closed') }])).toMatchObject({ kind: 'closed' });
  });
  it('makes a move (two days) and a burst one notice, in date order', () => {
    const s = summarize([
      { before: day('2026-05-16', 0), after: day('2026-05-16', 1) },
      { before: day('2026-05-15', 1), after: day('2026-05-15', 0) },
      { before: day('2026-05-16', 1), after: day('2026-05-16', 2) },
    ]);
    expect(s).toEqual({ kind: 'many', dates: ['2026-05-15', '2026-05-16'], full: 0 });
  });
  it('says nothing when nothing a reader can see changed', () => {
    expect(summarize([{ before: day('d1', 1), after: { ...day('d1', 1), version: 99 } }])).toBeNull();
    expect(summarize([])).toBeNull();
  });
});
