//! Capacity rules: how many requests a day can absorb and what its status is.
//!
//! A day's capacity is its override if one exists, else the daily capacity.
//! `used` counts the requests on that due date that hold a slot (pending,
//! in progress, completed). Everything a client sees about a day — remaining,
//! percent, status — is derived here from those two numbers and the settings.

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

use crate::settings::{BookingCalendar, ThresholdPercent};

/// How many requests a day (or every day, by default) can absorb. Never negative.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Capacity(u32);

/// Largest capacity we accept, to keep the arithmetic far from overflow.
pub const MAX_CAPACITY: u32 = 100_000;

/// A capacity outside `0..=MAX_CAPACITY`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("capacity must be between 0 and {MAX_CAPACITY}")]
pub struct InvalidCapacity;

impl Capacity {
    /// Validates a capacity typed by an admin or read from storage.
    pub fn new(raw: i64) -> Result<Self, InvalidCapacity> {
        u32::try_from(raw)
            .ok()
            .filter(|c| *c <= MAX_CAPACITY)
            .map(Capacity)
            .ok_or(InvalidCapacity)
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

/// The four statuses a day shows in the picker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DayStatus {
    Available,
    Limited,
    Full,
    Closed,
}

/// Why a day is closed (the contract's `Day.reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ClosedReason {
    /// Before today.
    Past,
    /// After today + bookingWindowDays: it opens later.
    NotOpenYet,
    /// One of the closed weekdays.
    ClosedWeekday,
    /// Its capacity is 0.
    NoCapacity,
}

/// What storage knows about one date. Dates never touched have no record and
/// behave like `DayRecord::untouched`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayRecord {
    pub date: Date,
    pub capacity_override: Option<Capacity>,
    /// The override's note, if any.
    pub note: Option<String>,
    pub used: u32,
    /// Live (unexpired) holds on this date.
    pub held: u32,
    /// Global change number of this date's last change (0 if never changed).
    pub version: i64,
}

impl DayRecord {
    /// A date nobody has booked, overridden or changed.
    pub fn untouched(date: Date) -> Self {
        DayRecord {
            date,
            capacity_override: None,
            note: None,
            used: 0,
            held: 0,
            version: 0,
        }
    }

    /// The override if one exists, else the daily capacity.
    pub fn capacity(&self, daily: Capacity) -> Capacity {
        self.capacity_override.unwrap_or(daily)
    }

    /// Whether one more slot (a booking or a hold) fits: `used + held < capacity`.
    pub fn has_room(&self, daily: Capacity) -> bool {
        u64::from(self.used) + u64::from(self.held) < u64::from(self.capacity(daily).get())
    }
}

/// Why a date cannot take one more booking or hold, judged inside the
/// transaction that would take it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Before `min` or after `max`.
    OutOfWindow { date: Date, min: Date, max: Date },
    /// A closed weekday, or capacity 0.
    Closed { date: Date },
    /// Every slot is booked or held. `frees_at`: when the earliest live hold
    /// on the day expires, if holds take part of it (the rule does not know
    /// expiries; the store that judged fills it in).
    Full {
        day: Day,
        frees_at: Option<OffsetDateTime>,
    },
}

/// The one admission rule for a new slot on `record`'s date (a booking, a
/// move onto it, or a hold), applied by the repository inside its
/// transaction, with `record` locked and `calendar` built from the settings
/// in force at that moment. `with_own_hold` is true when the slot comes from
/// a live hold of the same person on that date: it was admitted when taken,
/// so only the calendar is checked again.
pub fn admit(
    calendar: &BookingCalendar,
    record: &DayRecord,
    with_own_hold: bool,
) -> Result<(), Refusal> {
    let date = record.date;
    match calendar.closed_reason(date) {
        Some(ClosedReason::Past | ClosedReason::NotOpenYet) => {
            return Err(Refusal::OutOfWindow {
                date,
                min: calendar.min_date,
                max: calendar.max_date,
            })
        }
        Some(_) => return Err(Refusal::Closed { date }),
        None => {}
    }
    if with_own_hold {
        return Ok(());
    }
    if record.capacity(calendar.daily_capacity).get() == 0 {
        return Err(Refusal::Closed { date });
    }
    if !record.has_room(calendar.daily_capacity) {
        return Err(Refusal::Full {
            day: Day::from_record(record, calendar),
            frees_at: None,
        });
    }
    Ok(())
}

/// A day as clients see it (`Day` in the contract).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Day {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    #[serde(with = "crate::serde_formats::date")]
    pub date: Date,
    pub capacity: u32,
    pub used: u32,
    pub held: u32,
    pub remaining: u32,
    pub percent: u32,
    pub status: DayStatus,
    /// Set exactly when `status` is `closed`.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub reason: Option<ClosedReason>,
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub note: Option<String>,
    pub version: i64,
}

impl Day {
    /// Applies the capacity rules to a stored day.
    pub fn from_record(record: &DayRecord, calendar: &BookingCalendar) -> Day {
        let capacity = record.capacity(calendar.daily_capacity).get();
        let used = record.used;
        let held = record.held;
        let taken = used.saturating_add(held);
        let remaining = capacity.saturating_sub(taken);
        let percent = percent(taken, capacity);
        let reason = calendar
            .closed_reason(record.date)
            .or((capacity == 0).then_some(ClosedReason::NoCapacity));
        let status = if reason.is_some() {
            DayStatus::Closed
        } else if remaining == 0 {
            DayStatus::Full
        } else if calendar.limited_threshold.reached_by(percent) {
            DayStatus::Limited
        } else {
            DayStatus::Available
        };
        Day {
            date: record.date,
            capacity,
            used,
            held,
            remaining,
            percent,
            status,
            reason,
            note: record.note.clone(),
            version: record.version,
        }
    }
}

/// `round(used * 100 / capacity)`, halves rounded up; 100 when capacity is 0.
pub fn percent(used: u32, capacity: u32) -> u32 {
    if capacity == 0 {
        return 100;
    }
    let (used, capacity) = (u64::from(used), u64::from(capacity));
    ((used * 200 + capacity) / (capacity * 2)) as u32
}

impl ThresholdPercent {
    /// Whether a day at `percent` counts as limited.
    pub fn reached_by(self, percent: u32) -> bool {
        percent >= self.get()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::{CapacitySettings, ClosedWeekdays, Timezone};
    use time::macros::date;
    use time::Weekday;

    fn calendar(daily: u32, threshold: u32, closed: &[Weekday]) -> BookingCalendar {
        let settings = CapacitySettings {
            daily_capacity: Capacity::new(daily.into()).unwrap(),
            limited_threshold: ThresholdPercent::new(threshold.into()).unwrap(),
            booking_window_days: crate::settings::BookingWindowDays::new(60).unwrap(),
            closed_weekdays: ClosedWeekdays::from_weekdays(closed.iter().copied()),
            timezone: Timezone::utc(),
            default_designer: None,
        };
        // 2026-05-11 is a Monday.
        BookingCalendar::new(&settings, date!(2026 - 05 - 11))
    }

    fn day(used: u32, capacity_override: Option<u32>, on: Date, cal: &BookingCalendar) -> Day {
        let record = DayRecord {
            capacity_override: capacity_override.map(|c| Capacity::new(c.into()).unwrap()),
            used,
            version: 7,
            ..DayRecord::untouched(on)
        };
        Day::from_record(&record, cal)
    }

    #[test]
    fn capacity_rejects_negative_and_absurd_values() {
        assert_eq!(Capacity::new(-1), Err(InvalidCapacity));
        assert_eq!(
            Capacity::new(i64::from(MAX_CAPACITY) + 1),
            Err(InvalidCapacity)
        );
        assert_eq!(Capacity::new(0).unwrap().get(), 0);
    }

    #[test]
    fn override_wins_over_daily_capacity() {
        let cal = calendar(10, 60, &[]);
        let d = day(1, Some(3), date!(2026 - 05 - 12), &cal);
        assert_eq!((d.capacity, d.remaining, d.percent), (3, 2, 33));
        let d = day(1, None, date!(2026 - 05 - 12), &cal);
        assert_eq!((d.capacity, d.remaining, d.percent), (10, 9, 10));
    }

    #[test]
    fn percent_rounds_half_up_and_is_100_for_zero_capacity() {
        assert_eq!(percent(1, 3), 33);
        assert_eq!(percent(2, 3), 67);
        assert_eq!(percent(1, 8), 13); // 12.5 → 13
        assert_eq!(percent(0, 0), 100);
        assert_eq!(percent(12, 10), 120);
    }

    #[test]
    fn status_follows_the_threshold_then_fullness() {
        let cal = calendar(10, 60, &[]);
        let on = date!(2026 - 05 - 12);
        assert_eq!(day(5, None, on, &cal).status, DayStatus::Available);
        assert_eq!(day(6, None, on, &cal).status, DayStatus::Limited);
        assert_eq!(day(9, None, on, &cal).status, DayStatus::Limited);
        assert_eq!(day(10, None, on, &cal).status, DayStatus::Full);
    }

    #[test]
    fn lowering_capacity_below_used_keeps_requests_and_the_day_is_full() {
        let cal = calendar(10, 60, &[]);
        let d = day(5, Some(2), date!(2026 - 05 - 12), &cal);
        assert_eq!((d.used, d.remaining, d.status), (5, 0, DayStatus::Full));
        assert_eq!(d.percent, 250);
    }

    #[test]
    fn closed_days_outrank_everything() {
        let cal = calendar(10, 60, &[Weekday::Friday]);
        // Zero capacity override.
        assert_eq!(
            day(0, Some(0), date!(2026 - 05 - 12), &cal).status,
            DayStatus::Closed
        );
        // A closed weekday (2026-05-15 is a Friday).
        assert_eq!(
            day(0, None, date!(2026 - 05 - 15), &cal).status,
            DayStatus::Closed
        );
        // Before today, after the window.
        assert_eq!(
            day(0, None, date!(2026 - 05 - 10), &cal).status,
            DayStatus::Closed
        );
        assert_eq!(
            day(0, None, date!(2026 - 07 - 11), &cal).status,
            DayStatus::Closed
        );
        // Inside the window and not a closed weekday.
        assert_eq!(
            day(0, None, date!(2026 - 07 - 09), &cal).status,
            DayStatus::Available
        );
        // Full but closed reads closed.
        assert_eq!(
            day(10, None, date!(2026 - 05 - 15), &cal).status,
            DayStatus::Closed
        );
    }

    #[test]
    fn room_is_checked_against_the_effective_capacity() {
        let daily = Capacity::new(2).unwrap();
        let mut r = DayRecord::untouched(date!(2026 - 05 - 12));
        assert!(r.has_room(daily));
        r.used = 2;
        assert!(!r.has_room(daily));
        r.capacity_override = Some(Capacity::new(3).unwrap());
        assert!(r.has_room(daily));
    }

    #[test]
    fn held_slots_count_like_booked_ones_but_are_reported_apart() {
        let cal = calendar(10, 60, &[]);
        let record = DayRecord {
            used: 4,
            held: 3,
            ..DayRecord::untouched(date!(2026 - 05 - 12))
        };
        let d = Day::from_record(&record, &cal);
        assert_eq!((d.used, d.held, d.remaining, d.percent), (4, 3, 3, 70));
        assert_eq!(d.status, DayStatus::Limited);
        let full = DayRecord { held: 6, ..record };
        assert_eq!(Day::from_record(&full, &cal).status, DayStatus::Full);
        assert!(!full.has_room(cal.daily_capacity));
    }

    #[test]
    fn a_closed_day_says_why_and_an_open_one_has_no_reason() {
        let cal = calendar(10, 60, &[Weekday::Friday]);
        let reason = |used, cap, on| day(used, cap, on, &cal).reason;
        assert_eq!(
            reason(0, None, date!(2026 - 05 - 10)),
            Some(ClosedReason::Past)
        );
        assert_eq!(
            reason(0, None, date!(2026 - 07 - 11)),
            Some(ClosedReason::NotOpenYet)
        );
        assert_eq!(
            reason(0, None, date!(2026 - 05 - 15)),
            Some(ClosedReason::ClosedWeekday)
        );
        assert_eq!(
            reason(0, Some(0), date!(2026 - 05 - 12)),
            Some(ClosedReason::NoCapacity)
        );
        assert_eq!(reason(10, None, date!(2026 - 05 - 12)), None);
    }

    #[test]
    fn admit_refuses_by_window_then_weekday_then_capacity() {
        let cal = calendar(2, 60, &[Weekday::Friday]);
        let at = |on: Date, used: u32| DayRecord {
            used,
            ..DayRecord::untouched(on)
        };
        assert!(matches!(
            admit(&cal, &at(date!(2026 - 05 - 10), 0), false),
            Err(Refusal::OutOfWindow { min, .. }) if min == date!(2026 - 05 - 11)
        ));
        assert!(matches!(
            admit(&cal, &at(date!(2026 - 07 - 11), 0), true),
            Err(Refusal::OutOfWindow { .. })
        ));
        assert!(matches!(
            admit(&cal, &at(date!(2026 - 05 - 15), 0), false),
            Err(Refusal::Closed { .. })
        ));
        let zero = DayRecord {
            capacity_override: Some(Capacity::new(0).unwrap()),
            ..at(date!(2026 - 05 - 12), 0)
        };
        assert!(matches!(
            admit(&cal, &zero, false),
            Err(Refusal::Closed { .. })
        ));
        assert_eq!(admit(&cal, &at(date!(2026 - 05 - 12), 1), false), Ok(()));
        assert!(matches!(
            admit(&cal, &at(date!(2026 - 05 - 12), 2), false),
            Err(Refusal::Full { day, .. }) if day.used == 2 && day.status == DayStatus::Full
        ));
        // A slot held by the same person was admitted when taken.
        assert_eq!(admit(&cal, &at(date!(2026 - 05 - 12), 2), true), Ok(()));
    }
}
