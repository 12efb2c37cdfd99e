//! Reading and changing the capacity settings and per-date overrides.

use time::Date;

use crate::capacity::{Capacity, Day};
use crate::error::RepositoryError;
use crate::permissions::Actor;
use crate::settings::{BookingCalendar, CapacitySettings, SettingsInput, SettingsView};
use crate::user::Role;
use crate::validation::FieldError;
use crate::RequestDesk;

/// Longest override note we keep.
pub const MAX_NOTE_CHARS: usize = 500;

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error(transparent)]
    Validation(#[from] FieldError),
    #[error("only an admin may change capacity settings")]
    Forbidden,
    #[error(transparent)]
    Repository(#[from] RepositoryError),
}

impl RequestDesk {
    /// The contract's `Settings`, with today's window.
    pub fn public_settings(&self) -> Result<SettingsView, SettingsError> {
        let (stored, calendar) = self.calendar()?;
        Ok(SettingsView::new(&stored.settings, &calendar))
    }

    /// Replaces the settings; every client is told to refetch.
    pub fn update_settings(
        &self,
        actor: &Actor,
        input: &SettingsInput,
    ) -> Result<SettingsView, SettingsError> {
        if !actor.is_admin() {
            return Err(SettingsError::Forbidden);
        }
        let settings = CapacitySettings::parse(input)?;
        if let Some(id) = settings.default_designer {
            let user = self.ports.users.find(id)?;
            if !user.is_some_and(|u| matches!(u.role, Role::Designer | Role::Admin)) {
                return Err(FieldError::new(
                    "defaultDesignerId",
                    "must be the id of a designer or admin",
                )
                .into());
            }
        }
        let now = self.ports.clock.now();
        let stored = self.ports.settings.save(&settings, now)?;
        let calendar = BookingCalendar::at(&stored.settings, now);
        Ok(SettingsView::new(&stored.settings, &calendar))
    }

    /// Gives one date its own capacity. Existing requests stay even above it.
    pub fn set_override(
        &self,
        actor: &Actor,
        date: Date,
        capacity: i64,
        note: Option<String>,
    ) -> Result<Day, SettingsError> {
        if !actor.is_admin() {
            return Err(SettingsError::Forbidden);
        }
        let capacity =
            Capacity::new(capacity).map_err(|e| FieldError::new("capacity", e.to_string()))?;
        let note = note.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
        if note
            .as_ref()
            .is_some_and(|n| n.chars().count() > MAX_NOTE_CHARS)
        {
            return Err(FieldError::new(
                "note",
                format!("must be at most {MAX_NOTE_CHARS} characters"),
            )
            .into());
        }
        let now = self.ports.clock.now();
        Ok(self.ports.days.set_override(date, capacity, note, now)?)
    }

    /// Returns a date to the daily capacity.
    pub fn clear_override(&self, actor: &Actor, date: Date) -> Result<Day, SettingsError> {
        if !actor.is_admin() {
            return Err(SettingsError::Forbidden);
        }
        Ok(self
            .ports
            .days
            .clear_override(date, self.ports.clock.now())?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capacity::{DayRecord, DayStatus};
    use crate::services::test_support::{Mocks, NOW};
    use crate::settings::StoredSettings;
    use crate::user::User;
    use crate::UserId;
    use time::macros::date;

    fn admin() -> Actor {
        Actor {
            id: UserId(1),
            role: Role::Admin,
        }
    }

    fn input() -> SettingsInput {
        SettingsInput {
            daily_capacity: 4,
            limited_threshold_percent: 50,
            booking_window_days: 10,
            closed_weekdays: vec!["friday".into()],
            timezone: "UTC".into(),
            default_designer_id: None,
        }
    }

    #[test]
    fn public_settings_carry_todays_window() {
        let view = Mocks::default()
            .with_settings(CapacitySettings::default(), 0)
            .build()
            .public_settings()
            .unwrap();
        assert_eq!(view.today, date!(2026 - 05 - 11));
        assert_eq!(view.max_date, date!(2026 - 07 - 10));
    }

    #[test]
    fn saving_settings_stores_them_at_the_clocks_time() {
        let mut m = Mocks::default();
        m.settings
            .expect_save()
            .withf(|s, at| s.daily_capacity.get() == 4 && *at == NOW)
            .times(1)
            .returning(|s, _| {
                Ok(StoredSettings {
                    settings: s.clone(),
                    version: 42,
                })
            });
        let view = m.build().update_settings(&admin(), &input()).unwrap();
        assert_eq!(
            (view.daily_capacity, view.closed_weekdays.clone()),
            (4, vec!["friday"])
        );
    }

    #[test]
    fn non_admins_cannot_change_settings() {
        let designer = Actor {
            id: UserId(2),
            role: Role::Designer,
        };
        let desk = Mocks::default().build();
        assert!(matches!(
            desk.update_settings(&designer, &input()),
            Err(SettingsError::Forbidden)
        ));
        assert!(matches!(
            desk.set_override(&designer, date!(2026 - 05 - 12), 3, None),
            Err(SettingsError::Forbidden)
        ));
        assert!(matches!(
            desk.clear_override(&designer, date!(2026 - 05 - 12)),
            Err(SettingsError::Forbidden)
        ));
    }

    #[test]
    fn the_default_designer_must_be_a_designer() {
        let mut m = Mocks::default();
        m.users.expect_find().returning(|id| {
            Ok(Some(User {
                id,
                email: "alice@example.com".into(),
                display_name: "A".into(),
                role: Role::Requester,
            }))
        });
        let err = m
            .build()
            .update_settings(
                &admin(),
                &SettingsInput {
                    default_designer_id: Some(3),
                    ..input()
                },
            )
            .unwrap_err();
        assert!(matches!(err, SettingsError::Validation(f) if f.field == "defaultDesignerId"));
    }

    #[test]
    fn an_override_note_is_trimmed_and_the_repository_answers_the_day() {
        let mut m = Mocks::default();
        m.days
            .expect_set_override()
            .withf(|_, capacity, note, at| {
                capacity.get() == 2 && note.as_deref() == Some("half day") && *at == NOW
            })
            .times(1)
            .returning(|date, capacity, note, _| {
                let record = DayRecord {
                    capacity_override: Some(capacity),
                    note,
                    used: 2,
                    version: 9,
                    ..DayRecord::untouched(date)
                };
                let calendar = BookingCalendar::at(&CapacitySettings::default(), NOW);
                Ok(Day::from_record(&record, &calendar))
            });
        let day = m
            .build()
            .set_override(
                &admin(),
                date!(2026 - 05 - 12),
                2,
                Some("  half day ".into()),
            )
            .unwrap();
        assert_eq!(
            (day.capacity, day.used, day.remaining, day.status),
            (2, 2, 0, DayStatus::Full)
        );
        assert_eq!(day.note.as_deref(), Some("half day"));
    }

    #[test]
    fn an_overlong_note_is_refused_before_anything_is_written() {
        let err = Mocks::default()
            .build()
            .set_override(&admin(), date!(2026 - 05 - 12), 2, Some("x".repeat(501)))
            .unwrap_err();
        assert!(matches!(err, SettingsError::Validation(f) if f.field == "note"));
    }

    #[test]
    fn a_negative_override_is_a_validation_error() {
        let err = Mocks::default()
            .build()
            .set_override(&admin(), date!(2026 - 05 - 12), -1, None)
            .unwrap_err();
        assert!(matches!(err, SettingsError::Validation(f) if f.field == "capacity"));
    }
}
