//! [`SettingsRepository`] on PostgreSQL: the single settings row.

use diesel::prelude::*;
use request_desk_domain::live::LiveEvent;
use request_desk_domain::ports::SettingsRepository;
use request_desk_domain::settings::{CapacitySettings, StoredSettings};
use request_desk_domain::RepositoryError;
use time::OffsetDateTime;

use super::changes::{announce, lock_versions, stamp_settings};
use super::errors::TxError;
use super::rows::SettingsRow;
use super::schema::settings;
use super::{Conn, PgStore};

/// The settings row, read on the caller's connection (inside its transaction).
pub(super) fn read_settings<E>(conn: &mut Conn) -> Result<StoredSettings, TxError<E>>
where
    E: From<RepositoryError>,
{
    settings::table
        .find(1i16)
        .select(SettingsRow::as_select())
        .first(conn)?
        .into_stored()
        .map_err(|e| TxError::Domain(e.into()))
}

impl SettingsRepository for PgStore {
    fn load(&self) -> Result<StoredSettings, RepositoryError> {
        let mut conn = self.conn()?;
        read_settings(&mut conn).map_err(TxError::<RepositoryError>::into_error)
    }

    fn save(
        &self,
        new: &CapacitySettings,
        at: OffsetDateTime,
    ) -> Result<StoredSettings, RepositoryError> {
        let mut conn = self.conn()?;
        conn.transaction(|conn| {
            // Bookings judge under this lock: none is between its judgement and its commit now.
            lock_versions(conn)?;
            diesel::update(settings::table.find(1i16))
                .set((
                    settings::daily_capacity.eq(new.daily_capacity.get() as i32),
                    settings::limited_threshold_percent.eq(new.limited_threshold.get() as i32),
                    settings::booking_window_days.eq(new.booking_window_days.get() as i32),
                    settings::closed_weekdays.eq(i16::from(new.closed_weekdays.bits())),
                    settings::timezone.eq(new.timezone.name()),
                    settings::default_designer_id.eq(new.default_designer.map(|u| u.0)),
                ))
                .execute(conn)?;
            let version = stamp_settings(conn)?;
            announce(conn, &[LiveEvent::SettingsChanged { version, at }])?;
            read_settings(conn)
        })
        .map_err(TxError::<RepositoryError>::into_error)
    }
}
