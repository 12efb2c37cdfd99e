import { describe, expect, it } from 'vitest';
import { formatClock, formatTimestamp } from './format';
import { filledByHolds, fullDayText, knownFreesAt, refusalOf, type DayCount, type Refusal } from './fullDay';
import { createI18n } from './translator';

const en = createI18n('en');
const fa = createI18n('fa');
const DATE = '2026-12-12';
const now = Date.parse('2026-12-12T10:00:00Z');
const freesAt = '2026-12-12T10:09:30.000Z';

const count = (over: Partial<DayCount>): DayCount => ({ date: DATE, capacity: 1, used: 0, held: 0, ...over });
const heldOut = count({ held: 1 }); // the last slot held by someone else
const bookedOut = count({ used: 1 });

describe('filledByHolds (the server words its refusal by the same rule)', () => {
  it('holds, not bookings, fill the day', () => {
    expect(filledByHolds(heldOut)).toBe(true);
    expect(filledByHolds(count({ capacity: 3, used: 2, held: 1 }))).toBe(true);
    expect(filledByHolds(bookedOut)).toBe(false);
    // capacity lowered below what is booked: booked out, whatever is held
    expect(filledByHolds(count({ capacity: 1, used: 2, held: 1 }))).toBe(false);
  });
});

describe('fullDayText', () => {
  const date = en.longDate(DATE);

  it('a booked-out day reads as before: full, with the numbers', () => {
    expect(fullDayText(bookedOut, 'is', en, { date, now })).toBe('Saturday, December 12, 2026 is full (1 of 1 booked).');
    expect(fullDayText(bookedOut, 'became', en, { date, now })).toBe(
      'Saturday, December 12, 2026 has just become full (1 of 1 booked). Pick another day before you submit.',
    );
    expect(fullDayText(bookedOut, 'refused', en, { date: en.date(DATE), freesAt: null, now })).toBe(
      'Dec 12, 2026 is full (1 of 1 booked). Pick another day.',
    );
  });

  it('a day its holds fill says the slot is held, never "full (0 of 1 booked)"', () => {
    for (const when of ['is', 'became', 'refused'] as const) {
      const text = fullDayText(heldOut, when, en, { date, now });
      expect(text).toMatch(/held for someone who is filling in a request \(0 booked and 1 being booked, of 1\)/);
      expect(text).not.toMatch(/is full|become full|0 of 1 booked/);
      expect(text).not.toMatch(/free up/); // no time known
    }
    expect(fullDayText(heldOut, 'is', en, { date, now })).toBe(
      'Saturday, December 12, 2026 is taken for now: its last slot is held for someone who is filling in a request (0 booked and 1 being booked, of 1).',
    );
    expect(fullDayText(heldOut, 'became', en, { date, now })).toBe(
      'Saturday, December 12, 2026 has just been taken: its last slot is now held for someone who is filling in a request (0 booked and 1 being booked, of 1). Pick another day before you submit.',
    );
  });

  it('says when a slot may free up, in local time, when the earliest hold’s end is known', () => {
    const time = formatClock(freesAt, 'en');
    expect(time).toMatch(/^\d\d:\d\d$/);
    expect(fullDayText(heldOut, 'refused', en, { date: en.date(DATE), freesAt, now })).toBe(
      `Dec 12, 2026 is taken for now: its last slot is held for someone who is filling in a request (0 booked and 1 being booked, of 1). It may free up at ${time}, if they have not booked it by then. Pick another day.`,
    );
    expect(fullDayText(heldOut, 'became', en, { date, freesAt, now })).toContain(`It may free up at ${time}, if they have not booked it by then. Pick another day before you submit.`);
    // past midnight, minutes away: still the time of day alone, as "held for you until …" says it
    const late = Date.parse('2026-12-12T23:55:00Z');
    const soon = '2026-12-13T00:04:00Z';
    expect(fullDayText(heldOut, 'is', en, { date, freesAt: soon, now: late })).toContain(`It may free up at ${formatClock(soon, 'en')},`);
    // a day or more away: with its date
    const later = new Date(now + 2 * 86_400_000).toISOString();
    expect(formatTimestamp(later, 'en')).not.toBe(formatClock(later, 'en'));
    expect(fullDayText(heldOut, 'is', en, { date, freesAt: later, now })).toContain(`It may free up at ${formatTimestamp(later, 'en')},`);
    // a time gone by is not said (the hold should have ended; the live numbers will tell)
    expect(fullDayText(heldOut, 'is', en, { date, freesAt: '2026-12-12T09:59:00Z', now })).not.toMatch(/free up/);
  });

  it('counts the held slots', () => {
    const two = count({ capacity: 3, used: 1, held: 2 });
    expect(fullDayText(two, 'is', en, { date, now })).toBe(
      'Saturday, December 12, 2026 is taken for now: its last 2 slots are held for people who are filling in a request (1 booked and 2 being booked, of 3).',
    );
  });

  it('Persian: the same, in Persian words and digits', () => {
    const text = fullDayText(heldOut, 'refused', fa, { date: fa.date(DATE), freesAt, now });
    expect(text).toBe(
      `۲۱ آذر ۱۴۰۵ فعلاً گرفته شده است: آخرین جای آن برای کسی نگه داشته شده که در حال پر کردن درخواستی است (۰ رزرو شده و ۱ در حال رزرو، از ۱). ممکن است در ${formatClock(freesAt, 'fa')} آزاد شود، اگر تا آن زمان رزروش نکرده باشند. روز دیگری برگزینید.`,
    );
    expect(text).not.toMatch(/[0-9]/);
    expect(fullDayText(count({ capacity: 3, used: 1, held: 2 }), 'became', fa, { date: fa.longDate(DATE), now })).toMatch(
      /همین حالا گرفته شد: ۲ جای آخر آن اکنون برای کسانی نگه داشته شده .* پیش از فرستادن روز دیگری برگزینید\.$/,
    );
    expect(fullDayText(bookedOut, 'became', fa, { date: fa.longDate(DATE), now })).toBe(
      'شنبه ۲۱ آذر ۱۴۰۵ همین حالا پر شد (۱ از ۱ رزرو شده). پیش از فرستادن روز دیگری برگزینید.',
    );
  });
});

describe('refusalOf and knownFreesAt', () => {
  const refusal: Refusal = { date: DATE, capacity: 1, used: 0, held: 1, freesAt };

  it('reads the 409’s details; a server without held/freesAt reads as no holds', () => {
    expect(refusalOf({ date: DATE, capacity: 1, used: 0, held: 1, freesAt })).toEqual(refusal);
    expect(refusalOf({ date: DATE, capacity: 1, used: 1 })).toEqual({ date: DATE, capacity: 1, used: 1, held: 0, freesAt: null });
    expect(refusalOf({ date: DATE, capacity: 1, used: 0, held: 1, freesAt: 'soon' })?.freesAt).toBeNull();
    expect(refusalOf({})).toBeNull();
  });

  it('the refusal’s time holds while the day reads as the refusal said, and is still to come', () => {
    expect(knownFreesAt(heldOut, refusal, now)).toBe(freesAt);
    expect(knownFreesAt(heldOut, refusal, Date.parse(freesAt))).toBeNull(); // gone by
    expect(knownFreesAt(count({ date: '2026-12-13', held: 1 }), refusal, now)).toBeNull(); // another day
    expect(knownFreesAt(count({ capacity: 2, used: 1, held: 1 }), refusal, now)).toBeNull(); // changed since
    expect(knownFreesAt(bookedOut, { ...refusal, used: 1, held: 0 }, now)).toBeNull(); // booked out: nothing frees
    expect(knownFreesAt(heldOut, null, now)).toBeNull();
    expect(knownFreesAt(undefined, refusal, now)).toBeNull();
  });
});
