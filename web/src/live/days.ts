// Version-gated merging of live capacity changes into cached availability.
//
// Every Day carries the global change number of its last change. A change is
// applied only when it is newer than what the cache holds for that date, so
// events that arrive twice, late or out of order do no harm. Functions return
// the very same object when nothing changed, so React skips the re-render.
import type { Availability, Day } from '../api/types';

/**
 * The Day fields of an event or a response (drops `timestamp` and anything
 * else extra). Fields a server may not send yet (`held`, `reason`, `note`)
 * get their neutral value, so the rest of the client can rely on them.
 */
export function toDay(source: Partial<Day> & Pick<Day, 'date' | 'capacity' | 'used' | 'remaining' | 'percent' | 'status' | 'version'>): Day {
  const { date, capacity, used, remaining, percent, status, version } = source;
  return {
    date,
    capacity,
    used,
    held: source.held ?? 0,
    remaining,
    percent,
    status,
    reason: status === 'closed' ? (source.reason ?? null) : null,
    note: source.note ?? null,
    version,
  };
}

export function isNewer(candidate: Day, current: Day | undefined): boolean {
  return current === undefined || candidate.version > current.version;
}

/** Applies changed days to one cached range; days outside the range are ignored. */
export function mergeDays(
  availability: Availability | undefined,
  changes: readonly Day[],
): Availability | undefined {
  if (!availability || changes.length === 0) return availability;
  const latest = new Map<string, Day>();
  for (const change of changes) {
    if (isNewer(change, latest.get(change.date))) latest.set(change.date, change);
  }
  let changed = false;
  const days = availability.days.map((day) => {
    const change = latest.get(day.date);
    if (change && isNewer(change, day)) {
      changed = true;
      return toDay(change);
    }
    return day;
  });
  if (!changed) return availability;
  const version = Math.max(availability.version, ...days.map((d) => d.version));
  return { ...availability, version, days };
}

/**
 * The newest state seen from the hub for each date. A range that is fetched
 * while events are arriving is merged with the journal when its response
 * lands, so an event that overtook the fetch is not lost (the "buffer events,
 * fetch, apply buffered newer events" step of the contract's start sequence,
 * applied to every fetch).
 */
export class DayJournal {
  private readonly days = new Map<string, Day>();

  /** Records a change; true when it is newer than anything seen for that date. */
  record(day: Day): boolean {
    if (!isNewer(day, this.days.get(day.date))) return false;
    this.days.set(day.date, toDay(day));
    return true;
  }

  get(date: string): Day | undefined {
    return this.days.get(date);
  }

  /** The fetched range with every newer journaled day applied. */
  apply(availability: Availability): Availability {
    if (this.days.size === 0) return availability;
    const relevant = availability.days
      .map((day) => this.days.get(day.date))
      .filter((day): day is Day => day !== undefined);
    return mergeDays(availability, relevant) ?? availability;
  }

  clear(): void {
    this.days.clear();
  }

  get size(): number {
    return this.days.size;
  }
}

export type ChangeKind = 'booked' | 'freed' | 'capacity' | 'full' | 'closed' | 'reopened';

/** What changed, in human terms, between two states of a day (for the toast). */
export function describeChange(before: Day | undefined, after: Day): ChangeKind {
  if (after.status === 'closed' && before?.status !== 'closed') return 'closed';
  if (after.status === 'full' && before?.status !== 'full') return 'full';
  if (before && (before.status === 'closed' || before.status === 'full') && (after.status === 'available' || after.status === 'limited'))
    return 'reopened';
  if (!before) return 'capacity';
  if (after.capacity !== before.capacity) return 'capacity';
  return after.used + after.held > before.used + before.held ? 'booked' : 'freed';
}
