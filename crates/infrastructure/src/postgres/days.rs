//! [`DayRepository`] on PostgreSQL: ranges, the change feed, overrides.

use std::collections::HashMap;

use diesel::dsl::{count_star, max, now, sql};
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use diesel::upsert::excluded;
use request_desk_domain::capacity::{Capacity, Day};
use request_desk_domain::ports::{DayRepository, Pick, Snapshot, SnapshotError};
use request_desk_domain::{DayRecord, RepositoryError};
use time::{Date, OffsetDateTime};

use super::changes::{announce, in_force, stamp_days};
use super::errors::TxError;
use super::rows::DayRow;
use super::schema::{days, holds};
use super::settings::read_settings;
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

/// Live holds on `date`, on the database's clock.
pub(super) fn held_on(conn: &mut Conn, date: Date) -> QueryResult<u32> {
    holds::table
        .filter(holds::date.eq(date))
        .filter(holds::expires_at.gt(now))
        .count()
        .get_result::<i64>(conn)
        .map(|n| n as u32)
}

/// Live holds on each of `dates` that has any, in one query.
fn held_on_each(conn: &mut Conn, dates: &[Date]) -> QueryResult<HashMap<Date, u32>> {
    if dates.is_empty() {
        return Ok(HashMap::new());
    }
    let counts: Vec<(Date, i64)> = holds::table
        .filter(holds::date.eq_any(dates))
        .filter(holds::expires_at.gt(now))
        .group_by(holds::date)
        .select((holds::date, count_star()))
        .load(conn)?;
    Ok(counts.into_iter().map(|(d, n)| (d, n as u32)).collect())
}

/// Locks the days of `dates` in date order, creating missing ones, and
/// returns them as they are now, live holds counted. One upsert per date:
/// `ON CONFLICT DO UPDATE` locks the existing row (waiting for a concurrent
/// booker, then seeing its committed `used`), like `SELECT … FOR UPDATE`,
/// in one statement.
pub(super) fn lock_days<E>(conn: &mut Conn, dates: &[Date]) -> Result<Vec<DayRecord>, TxError<E>>
where
    E: From<RepositoryError>,
{
    let mut sorted = dates.to_vec();
    sorted.sort();
    sorted.dedup();
    let mut locked = Vec::with_capacity(sorted.len());
    for date in sorted {
        let row = diesel::insert_into(days::table)
            .values(days::date.eq(date))
            .on_conflict(days::date)
            .do_update()
            .set(days::date.eq(excluded(days::date)))
            .returning(DayRow::as_returning())
            .get_result(conn)?;
        let held = held_on(conn, date)?;
        locked.push(
            row.into_record(held)
                .map_err(|e| TxError::Domain(e.into()))?,
        );
    }
    Ok(locked)
}

impl DayRepository for PgStore {
    fn snapshot(&self, pick: Pick) -> Result<Snapshot, SnapshotError> {
        let mut conn = self.conn()?;
        conn.build_transaction()
            .read_only()
            .repeatable_read()
            .run(|conn| {
                let stored = read_settings(conn)?;
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
                let dates: Vec<Date> = rows.iter().map(|r| r.date).collect();
                let held = held_on_each(conn, &dates)?;
                let records = rows
                    .into_iter()
                    .map(|row| {
                        let held = held.get(&row.date).copied().unwrap_or(0);
                        row.into_record(held)
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| TxError::Domain(e.into()))?;
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
