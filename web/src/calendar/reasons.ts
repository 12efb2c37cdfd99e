// Why a day cannot be booked, in the contract's words (`Day.reason`). A
// server that does not send `reason` yet gets it worked out from the
// settings, so the picker reads the same either way.
import type { ClosedReason, Day, Settings } from '../api/types';
import type { MessageKey } from '../i18n/en';
import { WEEKDAYS } from '../api/types';
import { addDays, compareDates, weekdayIndex } from './dates';

export type ReasonSettings = Pick<Settings, 'minDate' | 'maxDate' | 'closedWeekdays' | 'bookingWindowDays'>;

export function closedReason(day: Day | undefined, settings: ReasonSettings | undefined): ClosedReason | null {
  if (!day || day.status !== 'closed') return null;
  if (day.reason) return day.reason;
  if (!settings) return null;
  if (day.date < settings.minDate) return 'past';
  if (day.date > settings.maxDate) return 'not_open_yet';
  if (settings.closedWeekdays.includes(WEEKDAYS[weekdayIndex(day.date)])) return 'closed_weekday';
  return 'no_capacity';
}

/** The first day a date beyond the window can be booked (it enters the window then). */
export function opensOn(date: string, settings: Pick<Settings, 'bookingWindowDays'>): string {
  return addDays(date, -settings.bookingWindowDays);
}

export function isBookable(day: Day | undefined): boolean {
  return day !== undefined && (day.status === 'available' || day.status === 'limited');
}

/**
 * A day full only because of the viewer's own hold is still theirs to book:
 * `holding` says the viewer's hold covers it (taken or being taken). Not
 * when no slot is held at all — then their hold is gone (taken over by their
 * other tab, say) and the day is full for them too.
 */
export function heldForViewer(day: Day | undefined, holding: boolean): boolean {
  return holding && day !== undefined && day.status === 'full' && day.held > 0;
}

/**
 * A full day that is full because of the viewer, so no news to them (no "has
 * just become full", Submit stays enabled): their hold covers its last slot
 * (`heldForViewer`), or `booking` — their own booking of this very day (or
 * move to it) is on its way. Booking with a hold turns the hold into the
 * request in one transaction, and the live update of that (one held fewer,
 * one booked more: no slot held any more) often arrives before the server's
 * answer; the answer then says how it went. A day their booking did not make
 * full (closed meanwhile) is still news.
 */
export function fullByViewer(day: Day | undefined, { holding, booking }: { holding: boolean; booking: boolean }): boolean {
  return day !== undefined && day.status === 'full' && (booking || heldForViewer(day, holding));
}

/** The selected day in a few words (the sticky bar on phones): a message and its parameters. */
export function daySummary(day: Day, holding: boolean): { key: MessageKey; params?: Record<string, number> } {
  if (heldForViewer(day, holding)) return { key: 'day.heldForYou' };
  if (isBookable(day)) {
    return day.held > 0
      ? { key: 'day.leftHeld', params: { n: day.remaining, held: day.held } }
      : { key: 'day.left', params: { n: day.remaining } };
  }
  return { key: `status.${day.status}` };
}

/**
 * The bookable days nearest to `date` (either side, nearest first, ties to
 * the later day), at most `count`, in date order.
 */
export function nearestBookable(date: string, days: Iterable<Day>, count = 3): Day[] {
  const distance = (d: Day) => Math.abs(new Date(d.date).getTime() - new Date(date).getTime());
  return [...days]
    .filter((d) => d.date !== date && isBookable(d))
    .sort((a, b) => distance(a) - distance(b) || compareDates(b.date, a.date))
    .slice(0, count)
    .sort((a, b) => compareDates(a.date, b.date));
}
