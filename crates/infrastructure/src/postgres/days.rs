//! [`DayRepository`] on PostgreSQL: ranges, the change feed, overrides.

use diesel::dsl::{max, sql};
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use request_desk_domain::capacity::{Capacity, Day};
use request_desk_domain::ports::{DayRepository, Pick, Snapshot, SnapshotError};
use request_desk_domain::RepositoryError;
use time::{Date, OffsetDateTime};

use super::changes::{announce, in_force, stamp_days};
use super::errors::TxError;
use super::rows::{DayRow, SettingsRow};
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

/// Live holds on `date`. No hold exists before holds are taken (the holds
/// table arrives with them), so every date has none.
pub(super) fn held_on(_conn: &mut Conn, _date: Date) -> QueryResult<u32> {
    Ok(0)
}

impl DayRepository for PgStore {
    fn snapshot(&self, pick: Pick) -> Result<Snapshot, SnapshotError> {
        let mut conn = self.conn()?;
        conn.build_transaction()
            .read_only()
            .repeatable_read()
            .run(|conn| {
                let stored = settings::table
                    .find(1i16)
                    .select(SettingsRow::as_select())
                    .first(conn)?
                    .into_stored()
                    .map_err(|e| TxError::Domain(e.into()))?;
                let range = pick
                    .resolve(&stored)
                    .map_err(|e| TxError::Domain(SnapshotError::Invalid(e)))?;
                let days_max: Option<i64> = days::table.select(max(days::version)).first(conn)?;
                let version = days_max.unwrap_or(0).max(stored.version);
                let query = days::table.into_boxed();
                let query = match (pick, range) {
                    (_, Some((from, to))) => query.filter(days::date.between(from, to)),
                    (Pick::ChangedSince(since), None) => query.filter(days::version.gt(since)),
                    (Pick::Range { .. }, None) => unreachable!("a range pick resolves to a range"),
                };
                let rows = query
                    .order(days::date)
                    .select(DayRow::as_select())
                    .load(conn)?;
                let mut records = Vec::with_capacity(rows.len());
                for row in rows {
                    let held = held_on(conn, row.date)?;
                    records.push(
                        row.into_record(held)
                            .map_err(|e| TxError::Domain(e.into()))?,
                    );
                }
                Ok(Snapshot {
                    settings: stored,
                    version,
                    records,
                    range,
                })
            })
            .map_err(TxError::into_error)
    }

    fn set_override(
        &self,
        date: Date,
        capacity: Capacity,
        note: Option<String>,
        at: OffsetDateTime,
    ) -> Result<Day, RepositoryError> {
        self.write_day(date, Some(capacity.get() as i32), note, at)
    }

    fn clear_override(&self, date: Date, at: OffsetDateTime) -> Result<Day, RepositoryError> {
        self.write_day(date, None, None, at)
    }
}

impl PgStore {
    /// Sets (or clears) a date's override, stamps the date and announces it,
    /// in one transaction.
    fn write_day(
        &self,
        date: Date,
        capacity: Option<i32>,
        note: Option<String>,
        at: OffsetDateTime,
    ) -> Result<Day, RepositoryError> {
        let mut conn = self.conn()?;
        conn.transaction(|conn| {
            // Creates or locks the row, like a booking does.
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
            let held = held_on(conn, date)?;
            let in_force = in_force(conn, at)?;
            let mut changed = stamp_days(conn, &[(date, 0)], &in_force, |_| held)?;
            announce(conn, &in_force.day_events(&changed))?;
            Ok(changed.remove(0))
        })
        .map_err(TxError::<RepositoryError>::into_error)
    }
}
