//! Capacity settings and the booking calendar derived from them.
//!
//! Settings are stored once (an admin edits them); the [`BookingCalendar`] is
//! what they mean on a given day: which dates can be booked at all.

use serde::Serialize;
use time::{Date, Duration, OffsetDateTime, Weekday};

use crate::capacity::{Capacity, ClosedReason};
use crate::ids::UserId;
use crate::validation::FieldError;

/// `limitedThresholdPercent`: from this percentage on, a day shows as limited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThresholdPercent(u32);

impl ThresholdPercent {
    pub fn new(raw: i64) -> Result<Self, FieldError> {
        u32::try_from(raw)
            .ok()
            .filter(|p| *p <= 100)
            .map(ThresholdPercent)
            .ok_or_else(|| FieldError::new("limitedThresholdPercent", "must be between 0 and 100"))
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

/// `bookingWindowDays`: how far ahead of today a request may be due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BookingWindowDays(u32);

/// The longest booking window we accept (a year): the default range of
/// `GET /api/availability` is the window, and a range spans at most 366 days.
pub const MAX_BOOKING_WINDOW_DAYS: u32 = 365;

impl BookingWindowDays {
    pub fn new(raw: i64) -> Result<Self, FieldError> {
        u32::try_from(raw)
            .ok()
            .filter(|d| *d <= MAX_BOOKING_WINDOW_DAYS)
            .map(BookingWindowDays)
            .ok_or_else(|| {
                FieldError::new(
                    "bookingWindowDays",
                    format!("must be between 0 and {MAX_BOOKING_WINDOW_DAYS}"),
                )
            })
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

/// The weekdays on which nothing can be due, as a set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ClosedWeekdays(u8);

const WEEKDAYS: [(Weekday, &str); 7] = [
    (Weekday::Monday, "monday"),
    (Weekday::Tuesday, "tuesday"),
    (Weekday::Wednesday, "wednesday"),
    (Weekday::Thursday, "thursday"),
    (Weekday::Friday, "friday"),
    (Weekday::Saturday, "saturday"),
    (Weekday::Sunday, "sunday"),
];

/// The OpenAPI schema of a list of weekday names, from [`WEEKDAYS`] itself.
#[cfg(feature = "openapi")]
pub fn weekday_names_schema() -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
    ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(WEEKDAYS.iter().map(|(_, name)| *name))),
        )
        .description(Some("Lower-case English weekday names"))
        .build()
}

impl ClosedWeekdays {
    pub fn from_weekdays(days: impl IntoIterator<Item = Weekday>) -> Self {
        ClosedWeekdays(
            days.into_iter()
                .fold(0, |bits, d| bits | 1 << d.number_days_from_monday()),
        )
    }

    /// Parses lowercase English weekday names (`"friday"`); duplicates are fine.
    pub fn parse<S: AsRef<str>>(names: &[S]) -> Result<Self, FieldError> {
        let days = names
            .iter()
            .map(|n| {
                let n = n.as_ref();
                WEEKDAYS
                    .iter()
                    .find(|(_, name)| name.eq_ignore_ascii_case(n))
                    .map(|(d, _)| *d)
                    .ok_or_else(|| {
                        FieldError::new(
                            "closedWeekdays",
                            format!("'{n}' is not a weekday (monday … sunday)"),
                        )
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self::from_weekdays(days))
    }

    /// Storage form: bit 0 is Monday … bit 6 is Sunday.
    pub fn bits(self) -> u8 {
        self.0
    }

    pub fn from_bits(bits: u8) -> Self {
        ClosedWeekdays(bits & 0x7f)
    }

    pub fn contains(self, day: Weekday) -> bool {
        self.0 & (1 << day.number_days_from_monday()) != 0
    }

    /// Names in week order, Monday first.
    pub fn names(self) -> Vec<&'static str> {
        WEEKDAYS
            .iter()
            .filter(|(d, _)| self.contains(*d))
            .map(|(_, n)| *n)
            .collect()
    }
}

/// A validated IANA time zone name (`Asia/Tehran`), with its rules.
#[derive(Debug, Clone)]
pub struct Timezone {
    name: String,
    zone: jiff::tz::TimeZone,
}

impl PartialEq for Timezone {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Timezone {
    pub fn parse(name: &str) -> Result<Self, FieldError> {
        let name = name.trim();
        jiff::tz::TimeZone::get(name)
            .map(|zone| Timezone {
                name: name.to_owned(),
                zone,
            })
            .map_err(|_| {
                FieldError::new(
                    "timezone",
                    format!("'{name}' is not a known IANA time zone"),
                )
            })
    }

    pub fn utc() -> Self {
        Timezone {
            name: "UTC".into(),
            zone: jiff::tz::TimeZone::UTC,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The calendar date in this zone at instant `now`.
    pub fn date_at(&self, now: OffsetDateTime) -> Date {
        let local = jiff::Timestamp::from_second(now.unix_timestamp())
            .expect("clock readings are within jiff's range")
            .to_zoned(self.zone.clone())
            .date();
        Date::from_calendar_date(
            local.year().into(),
            time::Month::try_from(local.month() as u8).expect("month 1..=12"),
            local.day() as u8,
        )
        .expect("a real calendar date")
    }
}

/// The settings an admin controls, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct CapacitySettings {
    pub daily_capacity: Capacity,
    pub limited_threshold: ThresholdPercent,
    pub booking_window_days: BookingWindowDays,
    pub closed_weekdays: ClosedWeekdays,
    pub timezone: Timezone,
    pub default_designer: Option<UserId>,
}

impl Default for CapacitySettings {
    /// The contract's defaults: 10 a day, limited from 60 %, 60 days ahead, UTC.
    fn default() -> Self {
        CapacitySettings {
            daily_capacity: Capacity::new(10).expect("valid"),
            limited_threshold: ThresholdPercent(60),
            booking_window_days: BookingWindowDays(60),
            closed_weekdays: ClosedWeekdays::default(),
            timezone: Timezone::utc(),
            default_designer: None,
        }
    }
}

/// Raw settings as an admin sends them, before validation.
#[derive(Debug, Clone, Default)]
pub struct SettingsInput {
    pub daily_capacity: i64,
    pub limited_threshold_percent: i64,
    pub booking_window_days: i64,
    pub closed_weekdays: Vec<String>,
    pub timezone: String,
    pub default_designer_id: Option<i64>,
}

impl CapacitySettings {
    /// Validates every field; the first broken rule names its field.
    pub fn parse(input: &SettingsInput) -> Result<Self, FieldError> {
        Ok(CapacitySettings {
            daily_capacity: Capacity::new(input.daily_capacity)
                .map_err(|e| FieldError::new("dailyCapacity", e.to_string()))?,
            limited_threshold: ThresholdPercent::new(input.limited_threshold_percent)?,
            booking_window_days: BookingWindowDays::new(input.booking_window_days)?,
            closed_weekdays: ClosedWeekdays::parse(&input.closed_weekdays)?,
            timezone: Timezone::parse(&input.timezone)?,
            default_designer: input.default_designer_id.map(UserId),
        })
    }
}

/// Settings as stored: the admin's values plus the global version of their last change.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredSettings {
    pub settings: CapacitySettings,
    /// Global change number of the last settings change (0 if never changed).
    pub version: i64,
}

/// The settings applied to one particular "today": which dates are bookable.
#[derive(Debug, Clone, PartialEq)]
pub struct BookingCalendar {
    pub daily_capacity: Capacity,
    pub limited_threshold: ThresholdPercent,
    pub closed_weekdays: ClosedWeekdays,
    pub today: Date,
    pub min_date: Date,
    pub max_date: Date,
}

impl BookingCalendar {
    pub fn new(settings: &CapacitySettings, today: Date) -> Self {
        let max_date = today
            .checked_add(Duration::days(settings.booking_window_days.get().into()))
            .unwrap_or(Date::MAX);
        BookingCalendar {
            daily_capacity: settings.daily_capacity,
            limited_threshold: settings.limited_threshold,
            closed_weekdays: settings.closed_weekdays,
            today,
            min_date: today,
            max_date,
        }
    }

    /// Whether `date` may take requests at all (capacity aside).
    /// Why the calendar closes `date` (before today, beyond the window, a
    /// closed weekday), or `None` when its capacity decides. Capacity 0 is
    /// judged by [`Day::from_record`](crate::capacity::Day::from_record).
    /// The calendar of `settings` at the instant `now` (today in their time zone).
    pub fn at(settings: &CapacitySettings, now: OffsetDateTime) -> Self {
        BookingCalendar::new(settings, settings.timezone.date_at(now))
    }

    pub fn closed_reason(&self, date: Date) -> Option<ClosedReason> {
        if date < self.min_date {
            Some(ClosedReason::Past)
        } else if date > self.max_date {
            Some(ClosedReason::NotOpenYet)
        } else if self.closed_weekdays.contains(date.weekday()) {
            Some(ClosedReason::ClosedWeekday)
        } else {
            None
        }
    }

    pub fn is_bookable(&self, date: Date) -> bool {
        self.closed_reason(date).is_none()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SettingsView {
    pub daily_capacity: u32,
    pub limited_threshold_percent: u32,
    pub booking_window_days: u32,
    /// Lower-case English weekday names (`saturday`, `sunday`, …).
    #[cfg_attr(feature = "openapi", schema(schema_with = weekday_names_schema))]
    pub closed_weekdays: Vec<&'static str>,
    pub timezone: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    #[serde(with = "crate::serde_formats::date")]
    pub today: Date,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    #[serde(with = "crate::serde_formats::date")]
    pub min_date: Date,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    #[serde(with = "crate::serde_formats::date")]
    pub max_date: Date,
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub default_designer_id: Option<UserId>,
}

impl SettingsView {
    pub fn new(settings: &CapacitySettings, calendar: &BookingCalendar) -> Self {
        SettingsView {
            daily_capacity: settings.daily_capacity.get(),
            limited_threshold_percent: settings.limited_threshold.get(),
            booking_window_days: settings.booking_window_days.get(),
            closed_weekdays: settings.closed_weekdays.names(),
            timezone: settings.timezone.name().to_owned(),
            today: calendar.today,
            min_date: calendar.min_date,
            max_date: calendar.max_date,
            default_designer_id: settings.default_designer,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    fn input() -> SettingsInput {
        SettingsInput {
            daily_capacity: 5,
            limited_threshold_percent: 80,
            booking_window_days: 30,
            closed_weekdays: vec!["friday".into(), "Saturday".into()],
            timezone: "Asia/Tehran".into(),
            default_designer_id: Some(2),
        }
    }

    #[test]
    fn valid_settings_parse() {
        let s = CapacitySettings::parse(&input()).unwrap();
        assert_eq!(s.daily_capacity.get(), 5);
        assert_eq!(s.closed_weekdays.names(), vec!["friday", "saturday"]);
        assert_eq!(s.timezone.name(), "Asia/Tehran");
    }

    type Breakage = (fn(&mut SettingsInput), &'static str);

    #[test]
    fn each_broken_rule_names_its_field() {
        let cases: Vec<Breakage> = vec![
            (|i| i.daily_capacity = -1, "dailyCapacity"),
            (
                |i| i.limited_threshold_percent = 101,
                "limitedThresholdPercent",
            ),
            (|i| i.booking_window_days = -3, "bookingWindowDays"),
            (|i| i.booking_window_days = 4000, "bookingWindowDays"),
            (|i| i.booking_window_days = 366, "bookingWindowDays"),
            (
                |i| i.closed_weekdays = vec!["funday".into()],
                "closedWeekdays",
            ),
            (|i| i.timezone = "Mars/Olympus".into(), "timezone"),
        ];
        for (break_it, field) in cases {
            let mut i = input();
            break_it(&mut i);
            assert_eq!(CapacitySettings::parse(&i).unwrap_err().field, field);
        }
    }

    #[test]
    fn today_is_the_date_in_the_configured_zone() {
        let late_utc = datetime!(2026-05-14 22:00 UTC);
        assert_eq!(Timezone::utc().date_at(late_utc), date!(2026 - 05 - 14));
        let tehran = Timezone::parse("Asia/Tehran").unwrap();
        assert_eq!(tehran.date_at(late_utc), date!(2026 - 05 - 15));
    }

    #[test]
    fn the_window_runs_from_today_to_today_plus_window_days() {
        let settings = CapacitySettings::parse(&input()).unwrap();
        let cal = BookingCalendar::new(&settings, date!(2026 - 05 - 11));
        assert_eq!(cal.max_date, date!(2026 - 06 - 10));
        assert_eq!(
            cal.closed_reason(date!(2026 - 05 - 10)),
            Some(ClosedReason::Past)
        );
        assert_eq!(cal.closed_reason(date!(2026 - 05 - 11)), None);
        assert_eq!(cal.closed_reason(date!(2026 - 06 - 10)), None);
        assert_eq!(
            cal.closed_reason(date!(2026 - 06 - 11)),
            Some(ClosedReason::NotOpenYet)
        );
        assert_eq!(
            cal.closed_reason(date!(2026 - 05 - 15)),
            Some(ClosedReason::ClosedWeekday)
        );
    }

    #[test]
    fn defaults_match_the_contract() {
        let d = CapacitySettings::default();
        let cal = BookingCalendar::new(&d, date!(2026 - 01 - 01));
        let view = SettingsView::new(&d, &cal);
        assert_eq!(
            (
                view.daily_capacity,
                view.limited_threshold_percent,
                view.booking_window_days
            ),
            (10, 60, 60)
        );
        assert!(view.closed_weekdays.is_empty());
        assert_eq!(view.timezone, "UTC");
        assert_eq!(view.max_date, date!(2026 - 03 - 02));
    }

    #[test]
    fn weekday_bits_round_trip() {
        let set = ClosedWeekdays::from_weekdays([Weekday::Monday, Weekday::Sunday]);
        assert_eq!(ClosedWeekdays::from_bits(set.bits()), set);
        assert_eq!(set.names(), vec!["monday", "sunday"]);
    }
}
