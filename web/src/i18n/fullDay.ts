// What the client says about a day with no slot left, in the reader's
// language: booked out, or — when holds, not bookings, fill it — taken for
// now by people who are filling in a request, and when a slot may free up
// (the earliest hold's end, which the server's 409 `capacity_full` gives as
// `details.freesAt`). Plain functions, for the picker's message, the submit
// refusal and the unit tests alike.
import type { Day } from '../api/types';
import type { I18n } from './I18nProvider';

export type Words = Pick<I18n, 't' | 'plural' | 'clock' | 'timestamp'>;

/** The numbers of a day, as `Day` and the 409's details both carry them. */
export type DayCount = Pick<Day, 'date' | 'capacity' | 'used' | 'held'>;

/** A 409 `capacity_full`: the day's numbers then, and when its earliest hold expires (`null` without holds). */
export interface Refusal extends DayCount {
  freesAt: string | null;
}

/** Holds, not bookings, fill the day: it may free up (the server words its message by the same rule). */
export function filledByHolds(day: DayCount): boolean {
  return day.held > 0 && day.used < day.capacity;
}

/** "1 of 10 booked" or, with holds, "1 booked and 1 being booked, of 10". */
export function bookedText(day: DayCount, i18n: Pick<I18n, 't'>): string {
  if (day.held > 0) return i18n.t('day.bookedHeld', { used: day.used, held: day.held, capacity: day.capacity });
  return i18n.t('day.booked', { used: day.used, capacity: day.capacity });
}

function count(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}

/** The refusal in a 409 `capacity_full`'s details (a server without `held`/`freesAt` reads as no holds). */
export function refusalOf(details: Record<string, unknown>): Refusal | null {
  if (typeof details.date !== 'string') return null;
  const freesAt = typeof details.freesAt === 'string' && !Number.isNaN(Date.parse(details.freesAt)) ? details.freesAt : null;
  return { date: details.date, capacity: count(details.capacity), used: count(details.used), held: count(details.held), freesAt };
}

/**
 * When the selected day's holds may free up, if a refusal told and still
 * describes the day: the same date with the same bookings and holds, and a
 * time still to come. Otherwise (another hold now, or none) it is not known.
 */
export function knownFreesAt(day: DayCount | undefined, refusal: Refusal | null, now = Date.now()): string | null {
  if (!day || !refusal?.freesAt || !filledByHolds(day)) return null;
  const same = refusal.date === day.date && refusal.used === day.used && refusal.held === day.held && refusal.capacity === day.capacity;
  return same && Date.parse(refusal.freesAt) > now ? refusal.freesAt : null;
}

/** Within this, a time of day alone names the moment (the next time the clock shows it), as "held for you until …" does. */
const CLOCK_ALONE_MS = 24 * 60 * 60 * 1000;

/**
 * How the day came to be full for the reader: `is` when they clicked it full,
 * `became` when it filled up while they typed, `refused` when the server
 * refused their booking.
 */
export type FullWhen = 'is' | 'became' | 'refused';

/**
 * The message about a day with no slot left. `date` is the date as the
 * caller shows it; `freesAt` when the earliest hold ends, if known (said in
 * local time: the time of day, with the date too when it is a day or more away).
 */
export function fullDayText(
  day: DayCount,
  when: FullWhen,
  i18n: Words,
  { date, freesAt = null, now = Date.now() }: { date: string; freesAt?: string | null; now?: number },
): string {
  if (!filledByHolds(day)) {
    if (when === 'refused') return i18n.t('error.capacity_full', { date, used: day.used, capacity: day.capacity });
    return i18n.t(when === 'is' ? 'form.isFull' : 'form.becameFull', { date, booked: bookedText(day, i18n) });
  }
  const slots = Math.min(day.held, day.capacity - day.used);
  const parts = [i18n.plural(when === 'became' ? 'form.becameHeld' : 'form.isHeld', slots, { date, booked: bookedText(day, i18n) })];
  if (freesAt !== null && Date.parse(freesAt) > now) {
    const time = Date.parse(freesAt) - now < CLOCK_ALONE_MS ? i18n.clock(freesAt) : i18n.timestamp(freesAt);
    parts.push(i18n.t('form.heldFreesAt', { time }));
  }
  if (when === 'became') parts.push(i18n.t('form.pickBeforeSubmit'));
  if (when === 'refused') parts.push(i18n.t('error.pickAnother'));
  return parts.join(' ');
}
