import { describe, expect, it } from 'vitest';
import type { Day, Page, RequestStatus, WorkRequest } from '../api/types';
import {
  dayLoad,
  fetchOpenRequests,
  groupQueue,
  hasOverride,
  openByDate,
  queueBar,
  summarizeRange,
  viewRange,
} from './capacityView';

function day(date: string, patch: Partial<Day> = {}): Day {
  const capacity = patch.capacity ?? 10;
  const used = patch.used ?? 0;
  const held = patch.held ?? 0;
  const remaining = Math.max(capacity - used - held, 0);
  return {
    date,
    capacity,
    used,
    held,
    remaining,
    percent: capacity > 0 ? Math.round(((used + held) * 100) / capacity) : 100,
    status: remaining === 0 ? 'full' : 'available',
    reason: null,
    note: null,
    version: 1,
    ...patch,
  };
}

function request(id: number, patch: Partial<WorkRequest>): WorkRequest {
  return {
    id,
    title: `#${id}`,
    description: '',
    priority: 'normal',
    dueDate: '2027-01-10',
    status: 'pending',
    requesterId: 1,
    requesterName: 'Alice',
    assigneeId: null,
    createdAt: `2026-12-0${id % 10}T09:00:00.000Z`,
    updatedAt: `2026-12-0${id % 10}T09:00:00.000Z`,
    ...patch,
  } as WorkRequest;
}

describe('the weeks shown', () => {
  it('start on the week’s first day before today, in whole weeks (Sunday weeks)', () => {
    // 2026-12-09 is a Wednesday
    const range = viewRange('2026-12-09', 4, 0);
    expect(range.from).toBe('2026-12-06');
    expect(range.to).toBe('2027-01-02');
    expect(range.weeks).toHaveLength(4);
    expect(range.weeks.every((w) => w.length === 7)).toBe(true);
    expect(range.weeks[1][0]).toBe('2026-12-13');
    expect(range.weeks.flat()).toContain('2026-12-09');
  });
  it('start on Saturday in a Saturday week (Persian), and on today when today is the first weekday', () => {
    expect(viewRange('2026-12-09', 1, 6).from).toBe('2026-12-05');
    expect(viewRange('2026-12-05', 1, 6).from).toBe('2026-12-05');
    expect(viewRange('2026-12-05', 1, 6).to).toBe('2026-12-11');
    expect(viewRange('2026-12-06', 12, 0).weeks.flat()).toHaveLength(84);
  });
});

describe('a day’s bar', () => {
  it('is booked, then held, of the capacity', () => {
    expect(dayLoad(day('2027-01-04', { used: 3, held: 1 }))).toEqual({
      booked: 3,
      held: 1,
      capacity: 10,
      free: 6,
      bookedPct: 30,
      heldPct: 10,
      over: false,
    });
  });
  it('never passes 100 %: a capacity lowered under the bookings reads as over', () => {
    const load = dayLoad(day('2027-01-04', { capacity: 4, used: 6, remaining: 0, status: 'full' }));
    expect([load.bookedPct, load.heldPct, load.over, load.booked]).toEqual([100, 0, true, 6]);
    const heldToo = dayLoad(day('2027-01-04', { capacity: 4, used: 3, held: 3, remaining: 0, status: 'full' }));
    expect([heldToo.bookedPct, heldToo.heldPct, heldToo.over, heldToo.held]).toEqual([75, 25, false, 3]);
  });
  it('of a day closed by a capacity of 0 is empty, or full when bookings stayed', () => {
    expect(dayLoad(day('2027-01-04', { capacity: 0, status: 'closed', reason: 'no_capacity' }))).toMatchObject({
      bookedPct: 0,
      heldPct: 0,
      free: 0,
      over: false,
    });
    expect(dayLoad(day('2027-01-04', { capacity: 0, used: 2, status: 'closed', reason: 'no_capacity' }))).toMatchObject({
      bookedPct: 100,
      over: true,
    });
  });
  it('takes the server’s remaining as free (a waitlist keeps it at 0)', () => {
    expect(dayLoad(day('2027-01-04', { used: 9, remaining: 0, status: 'full' })).free).toBe(0);
  });
});

describe('overrides', () => {
  it('are a capacity other than the daily one, or a note', () => {
    expect(hasOverride(day('2027-01-04'), 10)).toBe(false);
    expect(hasOverride(day('2027-01-04', { capacity: 3 }), 10)).toBe(true);
    expect(hasOverride(day('2027-01-04', { note: 'print shop' }), 10)).toBe(true);
  });
});

describe('the range’s summary', () => {
  const days = [
    day('2027-01-03', { used: 9, status: 'closed', reason: 'past' }),
    day('2027-01-04', { used: 2, held: 1 }),
    day('2027-01-05', { capacity: 4, used: 3, status: 'limited' }),
    day('2027-01-06', { capacity: 2, used: 2 }),
    day('2027-01-07', { capacity: 0, status: 'closed', reason: 'no_capacity', note: 'offsite' }),
    day('2027-01-08', { status: 'closed', reason: 'closed_weekday' }),
  ];
  it('counts from today on: slots of the days that take requests, full and closed days', () => {
    const summary = summarizeRange(days, '2027-01-04');
    expect({ ...summary, busiest: summary.busiest?.date }).toEqual({
      capacity: 16,
      booked: 7,
      held: 1,
      free: 8,
      fullDays: 1,
      closedDays: 2,
      busiest: '2027-01-06',
    });
  });
  it('names the earliest of equally busy days, and none when nothing is booked', () => {
    const equal = [day('2027-01-04', { used: 5 }), day('2027-01-05', { used: 5 })];
    expect(summarizeRange(equal, '2027-01-04').busiest?.date).toBe('2027-01-04');
    expect(summarizeRange([day('2027-01-04'), day('2027-01-05')], '2027-01-04').busiest).toBeNull();
  });
  it('leaves out the days before today', () => {
    expect(summarizeRange(days, '2027-01-09')).toMatchObject({ capacity: 0, booked: 0, closedDays: 0, busiest: null });
  });
});

describe('the queue by due date', () => {
  const today = '2027-01-10';
  const items = [
    request(1, { dueDate: '2027-01-12', priority: 'low' }),
    request(2, { dueDate: '2027-01-11', status: 'in_progress' }),
    request(3, { dueDate: '2027-01-12', priority: 'urgent', status: 'in_progress' }),
    request(4, { dueDate: '2027-01-08' }),
    request(5, { dueDate: '2027-01-12', status: 'completed' }),
    request(6, { dueDate: '2027-01-13', status: 'cancelled' }),
    request(7, { dueDate: '2027-01-12', priority: 'low', createdAt: '2026-11-01T09:00:00.000Z' }),
  ];
  it('groups pending and in-progress requests per due date, earliest first; finished ones are left out', () => {
    const groups = groupQueue(items, today);
    expect(groups.map((g) => [g.dueDate, g.pending, g.inProgress, g.overdue])).toEqual([
      ['2027-01-08', 1, 0, true],
      ['2027-01-11', 0, 1, false],
      ['2027-01-12', 2, 1, false],
    ]);
  });
  it('lists a date’s requests the most urgent first, then the oldest', () => {
    const group = groupQueue(items, today).find((g) => g.dueDate === '2027-01-12')!;
    expect(group.requests.map((r) => r.id)).toEqual([3, 7, 1]);
  });
  it('counts a request listed twice once, as its newest version says', () => {
    const moved = [
      request(8, { status: 'pending', updatedAt: '2027-01-01T09:00:00.000Z' }),
      request(8, { status: 'in_progress', updatedAt: '2027-01-01T10:00:00.000Z' }),
    ];
    expect(groupQueue(moved, today).map((g) => [g.pending, g.inProgress])).toEqual([[0, 1]]);
    expect(groupQueue([...moved].reverse(), today).map((g) => [g.pending, g.inProgress])).toEqual([[0, 1]]);
  });
  it('draws each date’s bar against the busiest date, and counts open requests per date', () => {
    const groups = groupQueue(items, today);
    expect(queueBar(groups[2], 3)).toEqual({ pendingPct: (2 * 100) / 3, inProgressPct: 100 / 3 });
    expect(queueBar(groups[0], 0)).toEqual({ pendingPct: 0, inProgressPct: 0 });
    expect(Object.fromEntries(openByDate(groups))).toEqual({ '2027-01-08': 1, '2027-01-11': 1, '2027-01-12': 3 });
  });
});

describe('fetching the open requests', () => {
  const pageOf = (status: RequestStatus, page: number, total: number, size: number): Page<WorkRequest> => {
    const start = (page - 1) * size;
    const count = Math.max(0, Math.min(size, total - start));
    return {
      items: Array.from({ length: count }, (_, i) => request(start + i + (status === 'pending' ? 1000 : 2000), { status })),
      total,
      page,
      pageSize: size,
    };
  };
  it('asks for each open status page by page until all are in', async () => {
    const asked: string[] = [];
    const result = await fetchOpenRequests(async (status, page) => {
      asked.push(`${status}:${page}`);
      return pageOf(status, page, status === 'pending' ? 250 : 40, 100);
    });
    expect(asked.sort()).toEqual(['in_progress:1', 'pending:1', 'pending:2', 'pending:3']);
    expect(result.items).toHaveLength(290);
    expect(result.total).toBe(290);
  });
  it('stops at the page limit and says how many there are', async () => {
    const result = await fetchOpenRequests(async (status, page) => pageOf(status, page, status === 'pending' ? 500 : 0, 100), 2);
    expect(result.items).toHaveLength(200);
    expect(result.total).toBe(500);
  });
});
