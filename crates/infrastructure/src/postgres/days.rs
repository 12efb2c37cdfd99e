//! [`DayRepository`] on PostgreSQL: ranges, the change feed, overrides.

use diesel::dsl::{max, sql};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use request_desk_domain::capacity::Capacity;
use request_desk_domain::ports::DayRepository;
use request_desk_domain::{DayRecord, RepositoryError};
use time::Date;

use super::changes::stamp_days;
use super::errors::db_error;
use super::rows::DayRow;
use super::schema::{days, settings};
use super::{Conn, PgStore};

/// The next global change number, evaluated inside the statement that uses it.
pub(super) fn next_version() -> diesel::expression::SqlLiteral<BigInt> {
    sql::<BigInt>("nextval('change_version_seq')")
}

/// Makes sure `date` has a row, so it can be locked. Idempotent and race-free.
pub(super) fn ensure_day(conn: &mut Conn, date: Date) -> QueryResult<()> {
    diesel::insert_into(days::table)
        .values(days::date.eq(date))
        .on_conflict_do_nothing()
        .execute(conn)
        .map(|_| ())
}

impl DayRepository for PgStore {
    fn in_range(&self, from: Date, to: Date) -> Result<Vec<DayRecord>, RepositoryError> {
        self.records(|q| q.filter(days::date.between(from, to)))
    }

    fn changed_since(&self, version: i64) -> Result<Vec<DayRecord>, RepositoryError> {
        self.records(|q| q.filter(days::version.gt(version)))
    }

    fn latest_version(&self) -> Result<i64, RepositoryError> {
        let mut conn = self.conn()?;
        let days_max: Option<i64> = days::table
            .select(max(days::version))
            .first(&mut conn)
            .map_err(db_error)?;
        let settings_version: i64 = settings::table
            .select(settings::version)
            .first(&mut conn)
            .map_err(db_error)?;
        Ok(days_max.unwrap_or(0).max(settings_version))
    }

    fn set_override(
        &self,
        date: Date,
        capacity: Capacity,
        note: Option<String>,
    ) -> Result<DayRecord, RepositoryError> {
        self.write_day(date, Some(capacity.get() as i32), note)
    }

    fn clear_override(&self, date: Date) -> Result<DayRecord, RepositoryError> {
        self.write_day(date, None, None)
    }
}

impl PgStore {
    /// The day rows a filter selects, in date order.
    fn records(
        &self,
        filter: impl FnOnce(days::BoxedQuery<'static, Pg>) -> days::BoxedQuery<'static, Pg>,
    ) -> Result<Vec<DayRecord>, RepositoryError> {
        let mut conn = self.conn()?;
        filter(days::table.into_boxed())
            .order(days::date)
            .select(DayRow::as_select())
            .load(&mut conn)
            .map_err(db_error)?
            .into_iter()
            .map(DayRow::into_record)
            .collect()
    }

    /// Sets (or clears) a date's override and stamps the date, in one transaction.
    fn write_day(
        &self,
        date: Date,
        capacity: Option<i32>,
        note: Option<String>,
    ) -> Result<DayRecord, RepositoryError> {
        let mut conn = self.conn()?;
        conn.transaction(|conn| {
            diesel::insert_into(days::table)
                .values((
                    days::date.eq(date),
                    days::capacity_override.eq(capacity),
                    days::override_note.eq(&note),
                ))
                .on_conflict(days::date)
                .do_update()
                .set((
                    days::capacity_override.eq(capacity),
                    days::override_note.eq(&note),
                ))
                .execute(conn)?;
            stamp_days(conn, &[(date, 0)], self.origin)
        })
        .map_err(db_error)?
        .remove(0)
        .into_record()
    }
}
