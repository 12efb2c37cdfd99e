// The capacity view's arithmetic, apart from React so that it is unit-tested:
// the weeks shown, each day's bar (booked, held, free of its capacity), the
// range's summary, and the designers' open requests grouped by due date.
import type { Day, Page, RequestStatus, WorkRequest } from '../api/types';
import { addDays, weekdayIndex } from '../calendar/dates';

/** How many weeks the page can show; the first is the default. */
export const WEEK_CHOICES = [4, 8, 12] as const;
export type Weeks = (typeof WEEK_CHOICES)[number];

export interface ViewRange {
  from: string;
  to: string;
  /** Whole weeks of seven dates, each starting on the language's first weekday. */
  weeks: string[][];
}

/**
 * `weeks` whole weeks from the start of the week that holds `today`, in a
 * week that starts on `weekStart` (0 = Sunday … 6 = Saturday): the days of
 * this week before today are shown too (as past), so that every row is a week.
 */
export function viewRange(today: string, weeks: number, weekStart: number): ViewRange {
  const lead = (weekdayIndex(today) - weekStart + 7) % 7;
  const from = addDays(today, -lead);
  const rows = Array.from({ length: weeks }, (_, w) => Array.from({ length: 7 }, (_, d) => addDays(from, w * 7 + d)));
  return { from, to: rows[rows.length - 1][6], weeks: rows };
}

export interface DayLoad {
  booked: number;
  held: number;
  capacity: number;
  /** Slots still open to a new booking (the server's `remaining`). */
  free: number;
  /** The bar's two parts in percent of the capacity; together at most 100. */
  bookedPct: number;
  heldPct: number;
  /** More booked than the capacity (it was lowered after the bookings were made). */
  over: boolean;
}

/** A day's bar: what is booked, then what is held, of its capacity. */
export function dayLoad(day: Pick<Day, 'used' | 'held' | 'capacity' | 'remaining'>): DayLoad {
  const { used, capacity } = day;
  const held = day.held ?? 0;
  if (capacity <= 0) {
    return { booked: used, held, capacity, free: 0, bookedPct: used > 0 ? 100 : 0, heldPct: 0, over: used > 0 };
  }
  const booked = Math.min(used, capacity);
  const shownHeld = Math.min(held, capacity - booked);
  return {
    booked: used,
    held,
    capacity,
    free: day.remaining,
    bookedPct: (booked * 100) / capacity,
    heldPct: (shownHeld * 100) / capacity,
    over: used > capacity,
  };
}

/** A day with its own capacity: the same rule as the admin's calendar (the contract's Day has no override flag). */
export function hasOverride(day: Pick<Day, 'capacity' | 'note'>, dailyCapacity: number): boolean {
  return day.capacity !== dailyCapacity || day.note !== null;
}

export interface RangeSummary {
  /** Sums over the days from today on that take requests (available, limited or full). */
  capacity: number;
  booked: number;
  held: number;
  free: number;
  fullDays: number;
  /** Days from today on that are closed (any reason). */
  closedDays: number;
  /** The open day with the largest share booked or held (the earliest of equals); null when nothing is. */
  busiest: Day | null;
}

export function summarizeRange(days: readonly Day[], today: string): RangeSummary {
  const summary: RangeSummary = { capacity: 0, booked: 0, held: 0, free: 0, fullDays: 0, closedDays: 0, busiest: null };
  let busiestShare = 0;
  for (const day of days) {
    if (day.date < today) continue;
    if (day.status === 'closed') {
      summary.closedDays += 1;
      continue;
    }
    summary.capacity += day.capacity;
    summary.booked += day.used;
    summary.held += day.held ?? 0;
    summary.free += day.remaining;
    if (day.status === 'full') summary.fullDays += 1;
    const share = day.capacity > 0 ? (day.used + (day.held ?? 0)) / day.capacity : 0;
    if (share > busiestShare) {
      busiestShare = share;
      summary.busiest = day;
    }
  }
  return summary;
}

/** The statuses of the designers' queue: what is still to be done. */
export const OPEN_STATUSES = ['pending', 'in_progress'] as const satisfies readonly RequestStatus[];

export interface QueueGroup {
  dueDate: string;
  /** Due before today and still open. */
  overdue: boolean;
  pending: number;
  inProgress: number;
  /** The most urgent first, then the oldest. */
  requests: WorkRequest[];
}

const PRIORITY_RANK: Record<WorkRequest['priority'], number> = { urgent: 0, high: 1, normal: 2, low: 3 };

/**
 * The open requests (pending or in progress) by due date, earliest first.
 * A request listed twice (it changed status between two pages of the
 * listing) counts once, as its newest version says.
 */
export function groupQueue(requests: readonly WorkRequest[], today: string): QueueGroup[] {
  const newest = new Map<number, WorkRequest>();
  for (const request of requests) {
    const seen = newest.get(request.id);
    if (!seen || request.updatedAt > seen.updatedAt) newest.set(request.id, request);
  }
  const groups = new Map<string, QueueGroup>();
  for (const request of newest.values()) {
    if (request.status !== 'pending' && request.status !== 'in_progress') continue;
    let group = groups.get(request.dueDate);
    if (!group) {
      group = { dueDate: request.dueDate, overdue: request.dueDate < today, pending: 0, inProgress: 0, requests: [] };
      groups.set(request.dueDate, group);
    }
    if (request.status === 'pending') group.pending += 1;
    else group.inProgress += 1;
    group.requests.push(request);
  }
  const list = [...groups.values()].sort((a, b) => (a.dueDate < b.dueDate ? -1 : a.dueDate > b.dueDate ? 1 : 0));
  for (const group of list) {
    group.requests.sort(
      (a, b) => PRIORITY_RANK[a.priority] - PRIORITY_RANK[b.priority] || a.createdAt.localeCompare(b.createdAt) || a.id - b.id,
    );
  }
  return list;
}

/** A group's bar: pending and in progress, as shares of the busiest date's count. */
export function queueBar(group: Pick<QueueGroup, 'pending' | 'inProgress'>, busiest: number): { pendingPct: number; inProgressPct: number } {
  if (busiest <= 0) return { pendingPct: 0, inProgressPct: 0 };
  return { pendingPct: (group.pending * 100) / busiest, inProgressPct: (group.inProgress * 100) / busiest };
}

/** Open requests per due date (for the table's column). */
export function openByDate(groups: readonly QueueGroup[]): Map<string, number> {
  return new Map(groups.map((g) => [g.dueDate, g.pending + g.inProgress]));
}

export interface OpenRequests {
  items: WorkRequest[];
  /** What the server counts (more than `items` when the page limit cut the listing short). */
  total: number;
}

/** The listing's largest page. */
export const QUEUE_PAGE_SIZE = 100;

/**
 * Every open request, each status page by page (the listing filters by one
 * status at a time), at most `maxPages` pages of each.
 */
export async function fetchOpenRequests(
  fetchPage: (status: RequestStatus, page: number) => Promise<Page<WorkRequest>>,
  maxPages = 10,
): Promise<OpenRequests> {
  const perStatus = await Promise.all(
    OPEN_STATUSES.map(async (status) => {
      const items: WorkRequest[] = [];
      let total = 0;
      for (let page = 1; page <= maxPages; page++) {
        const result = await fetchPage(status, page);
        total = result.total;
        items.push(...result.items);
        if (result.items.length === 0 || items.length >= total) break;
      }
      return { items, total };
    }),
  );
  return { items: perStatus.flatMap((s) => s.items), total: perStatus.reduce((n, s) => n + s.total, 0) };
}
