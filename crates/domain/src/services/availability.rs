//! The date picker's data: a range of days, and what changed since a version.

use serde::Serialize;
use time::Date;

use crate::capacity::{Day, DayRecord};
use crate::error::RepositoryError;
use crate::ports::{Pick, Snapshot, SnapshotError};
use crate::settings::{BookingCalendar, StoredSettings};
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

impl From<SnapshotError> for AvailabilityError {
    fn from(e: SnapshotError) -> Self {
        match e {
            SnapshotError::Invalid(e) => AvailabilityError::Validation(e),
            SnapshotError::Repository(e) => AvailabilityError::Repository(e),
        }
    }
}

/// `GET /api/availability`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Availability {
    pub version: i64,
    pub days: Vec<Day>,
}

/// `GET /api/availability/changes` and the hub's `GetCapacityChangesSince`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Changes {
    pub version: i64,
    pub resync: bool,
    pub days: Vec<Day>,
}

impl Pick {
    /// Checks the pick against the settings of its snapshot and, for a
    /// range, fills in the defaults: `[from, to]` of at most
    /// [`MAX_RANGE_DAYS`], `from` defaulting to today and `to` to the end of
    /// the booking window. `None` for `ChangedSince`.
    pub fn resolve(&self, settings: &StoredSettings) -> Result<Option<(Date, Date)>, FieldError> {
        match *self {
            Pick::ChangedSince(since) if since < 0 => {
                Err(FieldError::new("since", "must be a non-negative integer"))
            }
            Pick::ChangedSince(_) => Ok(None),
            Pick::Range { from, to, now } => {
                let calendar = BookingCalendar::at(&settings.settings, now);
                let from = from.unwrap_or(calendar.min_date);
                let to = to.unwrap_or(calendar.max_date);
                if from > to {
                    return Err(FieldError::new("from", "must not be after 'to'"));
                }
                if (to - from).whole_days() + 1 > MAX_RANGE_DAYS {
                    return Err(FieldError::new(
                        "to",
                        format!("a range spans at most {MAX_RANGE_DAYS} days"),
                    ));
                }
                Ok(Some((from, to)))
            }
        }
    }
}

impl RequestDesk {
    /// One `Day` per date in `[from, to]` (defaults: the booking window), all
    /// from one snapshot: the top-level version covers every day listed.
    pub fn availability(
        &self,
        from: Option<Date>,
        to: Option<Date>,
    ) -> Result<Availability, AvailabilityError> {
        let now = self.ports.clock.now();
        let Snapshot {
            settings,
            version,
            records,
            range,
        } = self.ports.days.snapshot(Pick::Range { from, to, now })?;
        let (from, to) = range.ok_or_else(|| {
            RepositoryError::unexpected("a range snapshot came back without its range")
        })?;
        let calendar = BookingCalendar::at(&settings.settings, now);
        let mut stored = records.into_iter().peekable();
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
        // The snapshot's newest version, not the newest listed day's: a date
        // outside the range may have changed, and a client resuming from here
        // must still be told.
        Ok(Availability { version, days })
    }

    /// The newest change number (days and settings).
    pub fn latest_version(&self) -> Result<i64, AvailabilityError> {
        Ok(self
            .ports
            .days
            .snapshot(Pick::ChangedSince(i64::MAX))?
            .version)
    }

    /// Every date changed after `since`, with its current numbers, from one
    /// snapshot. `resync` when the settings changed after `since` (every
    /// day's numbers may differ) or when `since` is ahead of anything this
    /// database knows.
    pub fn changes_since(&self, since: i64) -> Result<Changes, AvailabilityError> {
        let now = self.ports.clock.now();
        let Snapshot {
            settings,
            version,
            records,
            ..
        } = self.ports.days.snapshot(Pick::ChangedSince(since))?;
        let calendar = BookingCalendar::at(&settings.settings, now);
        let days: Vec<Day> = records
            .iter()
            .map(|r| Day::from_record(r, &calendar))
            .collect();
        let resync = settings.version > since || since > version;
        Ok(Changes {
            version,
            resync,
            days,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capacity::{Capacity, ClosedReason, DayStatus};
    use crate::services::test_support::{Mocks, NOW};
    use crate::settings::CapacitySettings;
    use time::macros::date;

    fn record(date: Date, used: u32, version: i64) -> DayRecord {
        DayRecord {
            used,
            version,
            ..DayRecord::untouched(date)
        }
    }

    /// A snapshot mock that resolves the pick as the real adapter does.
    fn snapshot_of(
        m: &mut Mocks,
        settings_version: i64,
        version: i64,
        records: impl Fn(Pick) -> Vec<DayRecord> + Send + 'static,
    ) {
        m.days.expect_snapshot().returning(move |pick| {
            let settings = StoredSettings {
                settings: CapacitySettings::default(),
                version: settings_version,
            };
            let range = pick.resolve(&settings)?;
            Ok(Snapshot {
                settings,
                version,
                records: records(pick),
                range,
            })
        });
    }

    #[test]
    fn the_default_range_is_the_booking_window_with_every_date() {
        let mut m = Mocks::default();
        snapshot_of(&mut m, 0, 12, |pick| {
            assert_eq!(
                pick,
                Pick::Range {
                    from: None,
                    to: None,
                    now: NOW
                }
            );
            vec![record(date!(2026 - 05 - 12), 10, 12)]
        });
        let a = m.build().availability(None, None).unwrap();
        assert_eq!(a.version, 12);
        assert_eq!(a.days.len(), 61);
        assert_eq!(a.days[0].date, date!(2026 - 05 - 11));
        assert_eq!(a.days[60].date, date!(2026 - 07 - 10));
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
        let mut m = Mocks::default();
        snapshot_of(&mut m, 0, 0, |_| vec![]);
        let desk = m.build();
        let backwards = desk.availability(Some(date!(2026 - 05 - 12)), Some(date!(2026 - 05 - 11)));
        assert!(matches!(backwards, Err(AvailabilityError::Validation(f)) if f.field == "from"));
        let too_long = desk.availability(Some(date!(2026 - 01 - 01)), Some(date!(2027 - 01 - 02)));
        assert!(matches!(too_long, Err(AvailabilityError::Validation(f)) if f.field == "to"));
    }

    #[test]
    fn a_366_day_range_is_allowed_and_closed_days_say_why() {
        let mut m = Mocks::default();
        snapshot_of(&mut m, 0, 0, |_| vec![]);
        let a = m
            .build()
            .availability(Some(date!(2026 - 01 - 01)), Some(date!(2027 - 01 - 01)))
            .unwrap();
        assert_eq!(a.days.len(), 366);
        assert_eq!(
            (a.days[0].status, a.days[0].reason),
            (DayStatus::Closed, Some(ClosedReason::Past))
        );
        let last = a.days.last().unwrap();
        assert_eq!(
            (last.status, last.reason),
            (DayStatus::Closed, Some(ClosedReason::NotOpenYet))
        );
        let today = a
            .days
            .iter()
            .find(|d| d.date == date!(2026 - 05 - 11))
            .unwrap();
        assert_eq!((today.status, today.reason), (DayStatus::Available, None));
    }

    #[test]
    fn changes_since_lists_changed_days_and_asks_for_resync_after_a_settings_change() {
        let mut m = Mocks::default();
        snapshot_of(&mut m, 8, 10, |pick| match pick {
            Pick::ChangedSince(since) if since < 10 => vec![record(date!(2026 - 05 - 13), 1, 10)],
            _ => vec![],
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
    fn override_capacity_and_note_are_reported() {
        let mut m = Mocks::default();
        snapshot_of(&mut m, 0, 3, |_| {
            vec![DayRecord {
                capacity_override: Some(Capacity::new(0).unwrap()),
                note: Some("Offsite".into()),
                version: 3,
                ..DayRecord::untouched(date!(2026 - 05 - 12))
            }]
        });
        let a = m
            .build()
            .availability(Some(date!(2026 - 05 - 12)), Some(date!(2026 - 05 - 12)))
            .unwrap();
        let d = &a.days[0];
        assert_eq!(
            (d.capacity, d.percent, d.status, d.reason),
            (0, 100, DayStatus::Closed, Some(ClosedReason::NoCapacity))
        );
        assert_eq!(d.note.as_deref(), Some("Offsite"));
    }
}
