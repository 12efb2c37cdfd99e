//! The date picker's data: a range of days, and what changed since a version.

use serde::Serialize;
use time::Date;

use crate::capacity::{Day, DayRecord};
use crate::error::RepositoryError;
use crate::ports::CapacityUpdate;
use crate::settings::BookingCalendar;
use crate::validation::FieldError;
use crate::RequestDesk;

/// Longest range one availability call may ask for.
pub const MAX_RANGE_DAYS: i64 = 366;

#[derive(Debug, thiserror::Error)]
pub enum AvailabilityError {
    #[error(transparent)]
    Validation(#[from] FieldError),
    #[error(transparent)]
    Repository(#[from] RepositoryError),
}

/// `GET /api/availability`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Availability {
    pub version: i64,
    pub days: Vec<Day>,
}

/// `GET /api/availability/changes` and the hub's `GetCapacityChangesSince`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Changes {
    pub version: i64,
    pub resync: bool,
    pub days: Vec<Day>,
}

impl RequestDesk {
    /// One `Day` per date in `[from, to]` (defaults: the booking window).
    pub fn availability(
        &self,
        from: Option<Date>,
        to: Option<Date>,
    ) -> Result<Availability, AvailabilityError> {
        let (_, calendar) = self.calendar()?;
        let from = from.unwrap_or(calendar.min_date);
        let to = to.unwrap_or(calendar.max_date);
        if from > to {
            return Err(FieldError::new("from", "must not be after 'to'").into());
        }
        if (to - from).whole_days() + 1 > MAX_RANGE_DAYS {
            return Err(FieldError::new(
                "to",
                format!("a range spans at most {MAX_RANGE_DAYS} days"),
            )
            .into());
        }
        // Read the version first: a change landing in between shows up in the
        // days and again in the next changes call, never not at all. Versions
        // are handed out in commit order, so nothing below it is still in flight.
        let version = self.ports.days.latest_version()?;
        let mut stored = self.ports.days.in_range(from, to)?.into_iter().peekable();
        let mut days = Vec::with_capacity(((to - from).whole_days() + 1) as usize);
        let mut date = from;
        loop {
            let record = match stored.next_if(|r| r.date == date) {
                Some(r) => r,
                None => DayRecord::untouched(date),
            };
            days.push(Day::from_record(&record, &calendar));
            match date.next_day() {
                Some(next) if next <= to => date = next,
                _ => break,
            }
        }
        // Not the newest day's version: a date outside the range may have changed
        // in between, and a client resuming from here must still be told.
        Ok(Availability { version, days })
    }

    /// The newest change number (days and settings).
    pub fn latest_version(&self) -> Result<i64, AvailabilityError> {
        Ok(self.ports.days.latest_version()?)
    }

    /// Every date changed after `since`, with its current numbers.
    /// `resync` when the settings changed meanwhile (every day's numbers may
    /// differ) or when `since` is ahead of anything this database knows.
    pub fn changes_since(&self, since: i64) -> Result<Changes, AvailabilityError> {
        if since < 0 {
            return Err(FieldError::new("since", "must be a non-negative integer").into());
        }
        let (stored, calendar) = self.calendar()?;
        let version = self.ports.days.latest_version()?;
        let days: Vec<Day> = self
            .ports
            .days
            .changed_since(since)?
            .iter()
            .map(|r| Day::from_record(r, &calendar))
            .collect();
        let version = days.iter().map(|d| d.version).fold(version, i64::max);
        let resync = stored.version > since || since > version;
        Ok(Changes {
            version,
            resync,
            days,
        })
    }

    /// Turns committed day records into `Day`s and announces them. Pass the
    /// calendar the use case already read, to spare reading the settings again.
    pub(crate) fn publish_days(
        &self,
        records: &[DayRecord],
        calendar: Option<&BookingCalendar>,
    ) -> Result<Vec<Day>, RepositoryError> {
        if records.is_empty() {
            return Ok(Vec::new());
        }
        let read;
        let calendar = match calendar {
            Some(c) => c,
            None => {
                read = self.calendar()?.1;
                &read
            }
        };
        let timestamp = self.ports.clock.now();
        let days: Vec<Day> = records
            .iter()
            .map(|r| Day::from_record(r, calendar))
            .collect();
        let updates: Vec<CapacityUpdate> = days
            .iter()
            .map(|d| CapacityUpdate::new(d, timestamp))
            .collect();
        self.ports.broadcast.capacity_updated(&updates);
        Ok(days)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capacity::{Capacity, DayStatus};
    use crate::services::test_support::Mocks;
    use crate::settings::CapacitySettings;
    use time::macros::date;

    fn record(date: Date, used: u32, version: i64) -> DayRecord {
        DayRecord {
            date,
            capacity_override: None,
            used,
            version,
        }
    }

    #[test]
    fn the_default_range_is_the_booking_window_with_every_date() {
        let mut m = Mocks::default().with_settings(CapacitySettings::default(), 0);
        m.days.expect_latest_version().returning(|| Ok(12));
        m.days
            .expect_in_range()
            .withf(|f, t| *f == date!(2026 - 05 - 11) && *t == date!(2026 - 07 - 10))
            .times(1)
            .returning(|_, _| Ok(vec![record(date!(2026 - 05 - 12), 10, 12)]));
        let a = m.build().availability(None, None).unwrap();
        assert_eq!(a.version, 12);
        assert_eq!(a.days.len(), 61);
        assert_eq!(a.days[0].status, DayStatus::Available);
        assert_eq!(
            (a.days[1].used, a.days[1].status, a.days[1].version),
            (10, DayStatus::Full, 12)
        );
        assert!(a
            .days
            .windows(2)
            .all(|w| w[0].date.next_day() == Some(w[1].date)));
    }

    #[test]
    fn ranges_are_validated() {
        let desk = Mocks::default()
            .with_settings(CapacitySettings::default(), 0)
            .build();
        let backwards = desk.availability(Some(date!(2026 - 05 - 12)), Some(date!(2026 - 05 - 11)));
        assert!(matches!(backwards, Err(AvailabilityError::Validation(f)) if f.field == "from"));
        let too_long = desk.availability(Some(date!(2026 - 01 - 01)), Some(date!(2027 - 01 - 02)));
        assert!(matches!(too_long, Err(AvailabilityError::Validation(f)) if f.field == "to"));
    }

    #[test]
    fn a_366_day_range_is_allowed() {
        let mut m = Mocks::default().with_settings(CapacitySettings::default(), 0);
        m.days.expect_latest_version().returning(|| Ok(0));
        m.days.expect_in_range().returning(|_, _| Ok(vec![]));
        let a = m
            .build()
            .availability(Some(date!(2026 - 01 - 01)), Some(date!(2027 - 01 - 01)))
            .unwrap();
        assert_eq!(a.days.len(), 366);
        // Dates outside the booking window read closed.
        assert_eq!(a.days[0].status, DayStatus::Closed);
    }

    #[test]
    fn changes_since_lists_changed_days_and_asks_for_resync_after_a_settings_change() {
        let mut m = Mocks::default().with_settings(CapacitySettings::default(), 8);
        m.days.expect_latest_version().returning(|| Ok(10));
        m.days.expect_changed_since().returning(|since| {
            Ok(if since < 10 {
                vec![record(date!(2026 - 05 - 13), 1, 10)]
            } else {
                vec![]
            })
        });
        let desk = m.build();
        let c = desk.changes_since(9).unwrap();
        assert_eq!((c.version, c.resync, c.days.len()), (10, false, 1));
        let c = desk.changes_since(7).unwrap();
        assert!(c.resync, "settings changed at 8, after 7");
        let c = desk.changes_since(99).unwrap();
        assert!(
            c.resync,
            "a version from the future means the client must start over"
        );
        assert!(matches!(
            desk.changes_since(-1),
            Err(AvailabilityError::Validation(_))
        ));
    }

    #[test]
    fn override_capacity_is_reported() {
        let mut m = Mocks::default().with_settings(CapacitySettings::default(), 0);
        m.days.expect_latest_version().returning(|| Ok(3));
        m.days.expect_in_range().returning(|f, _| {
            Ok(vec![DayRecord {
                date: f,
                capacity_override: Some(Capacity::new(0).unwrap()),
                used: 0,
                version: 3,
            }])
        });
        let a = m
            .build()
            .availability(Some(date!(2026 - 05 - 12)), Some(date!(2026 - 05 - 12)))
            .unwrap();
        assert_eq!(
            (a.days[0].capacity, a.days[0].percent, a.days[0].status),
            (0, 100, DayStatus::Closed)
        );
    }
}
