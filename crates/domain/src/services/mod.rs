//! Application services: the use cases, written only against the ports.
//!
//! [`RequestDesk`] is the one entry point the server calls. Each submodule
//! holds one area's use cases and its error enum.

use std::sync::Arc;

use crate::error::RepositoryError;
use crate::hold::HoldTtl;
use crate::ports::{
    Clock, DayRepository, HoldRepository, NotificationRepository, PasswordHasher,
    RequestRepository, SettingsRepository, UserRepository,
};
use crate::settings::{BookingCalendar, StoredSettings};

pub mod auth;
pub mod availability;
pub mod holds;
pub mod notifications;
pub mod requests;
pub mod settings;

pub use auth::AuthError;
pub use availability::AvailabilityError;
pub use notifications::NotificationError;
pub use requests::RequestError;
pub use settings::SettingsError;

/// The adapters the services run on; `server/main.rs` picks them.
#[derive(Clone)]
pub struct Ports {
    pub users: Arc<dyn UserRepository>,
    pub passwords: Arc<dyn PasswordHasher>,
    pub settings: Arc<dyn SettingsRepository>,
    pub days: Arc<dyn DayRepository>,
    pub requests: Arc<dyn RequestRepository>,
    pub holds: Arc<dyn HoldRepository>,
    pub notifications: Arc<dyn NotificationRepository>,
    pub clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Ports {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Ports { .. }")
    }
}

/// The application: every use case of Request Desk.
#[derive(Debug, Clone)]
pub struct RequestDesk {
    ports: Ports,
    /// How long a hold lives (`HOLD_TTL_SECONDS`).
    hold_ttl: HoldTtl,
}

impl RequestDesk {
    pub fn new(ports: Ports) -> Self {
        RequestDesk {
            ports,
            hold_ttl: HoldTtl::default(),
        }
    }

    /// The same desk with holds living `ttl`.
    pub fn with_hold_ttl(self, ttl: HoldTtl) -> Self {
        RequestDesk {
            hold_ttl: ttl,
            ..self
        }
    }

    /// The stored settings and what they mean now. Only for reads that
    /// decide nothing: a write judges against the settings its own
    /// transaction reads.
    fn calendar(&self) -> Result<(StoredSettings, BookingCalendar), RepositoryError> {
        let stored = self.ports.settings.load()?;
        let calendar = BookingCalendar::at(&stored.settings, self.ports.clock.now());
        Ok((stored, calendar))
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    //! Builds a [`RequestDesk`] over mocks; each test sets only the expectations it needs.

    use super::*;
    use crate::ports::*;
    use crate::settings::CapacitySettings;
    use time::macros::datetime;

    /// 2026-05-11 10:00 UTC, a Monday.
    pub const NOW: time::OffsetDateTime = datetime!(2026-05-11 10:00 UTC);

    #[derive(Default)]
    pub struct Mocks {
        pub users: MockUserRepository,
        pub passwords: MockPasswordHasher,
        pub settings: MockSettingsRepository,
        pub days: MockDayRepository,
        pub requests: MockRequestRepository,
        pub holds: MockHoldRepository,
        pub notifications: MockNotificationRepository,
    }

    impl Mocks {
        pub fn with_settings(mut self, settings: CapacitySettings, version: i64) -> Self {
            self.settings.expect_load().returning(move || {
                Ok(StoredSettings {
                    settings: settings.clone(),
                    version,
                })
            });
            self
        }

        pub fn build(self) -> RequestDesk {
            let mut clock = MockClock::new();
            clock.expect_now().return_const(NOW);
            RequestDesk::new(Ports {
                users: Arc::new(self.users),
                passwords: Arc::new(self.passwords),
                settings: Arc::new(self.settings),
                days: Arc::new(self.days),
                requests: Arc::new(self.requests),
                holds: Arc::new(self.holds),
                notifications: Arc::new(self.notifications),
                clock: Arc::new(clock),
            })
        }
    }
}
