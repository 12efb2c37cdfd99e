//! [`HoldRepository`] on PostgreSQL: taking, releasing, consuming and
//! sweeping holds, each in one transaction that follows the steps of
//! [`super::changes`].
//!
//! A hold is live while `expires_at > now()` — the database's clock, so
//! instances with skewed clocks agree, and a restart of every instance
//! neither loses a hold nor frees one early. Every lock order is: hold rows,
//! then day rows in date order, then the version lock (a booking that
//! consumes a hold locks the request row, if any, before the hold).

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Date as SqlDate, Timestamptz};
use request_desk_domain::capacity::admit;
use request_desk_domain::hold::{Hold, HoldTtl};
use request_desk_domain::ports::{BookingError, HoldRepository, Taken};
use request_desk_domain::{HoldId, RepositoryError, UserId};
use time::{Date, OffsetDateTime};

use super::changes::{announce, in_force, stamp_days};
use super::days::lock_days;
use super::errors::{db_error, TxError};
use super::requests::refused;
use super::schema::holds;
use super::{Conn, PgStore};

/// Arbitrary constant naming the advisory lock of the one sweeper per database.
const SWEEP_LOCK_KEY: i64 = 0x0052_4451_484f_4c44; // "RDQHOLD"

/// Expired holds one sweep frees at most (the next sweep takes the rest).
const SWEEP_BATCH: i64 = 500;

#[derive(Debug, QueryableByName)]
struct HoldRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = SqlDate)]
    date: Date,
    #[diesel(sql_type = Timestamptz)]
    expires_at: OffsetDateTime,
}

impl HoldRow {
    fn into_hold(self) -> Hold {
        Hold {
            id: HoldId(self.id),
            date: self.date,
            expires_at: self.expires_at,
        }
    }
}

#[derive(Debug, QueryableByName)]
struct DateRow {
    #[diesel(sql_type = SqlDate)]
    date: Date,
}

#[derive(Debug, QueryableByName)]
struct Locked {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    locked: bool,
}

/// Turns `user`'s live hold `id` on `date` into the booking being made in
/// this transaction: deletes it (waiting for, then losing to, a sweeper or a
/// release that got there first).
///
/// # Errors
/// [`BookingError::HoldExpired`] when it is not a live hold of `user` on `date`.
pub(super) fn consume_hold(
    conn: &mut Conn,
    user: UserId,
    id: HoldId,
    date: Date,
) -> Result<(), TxError<BookingError>> {
    let deleted = diesel::delete(
        holds::table
            .filter(holds::id.eq(id.0))
            .filter(holds::user_id.eq(user.0))
            .filter(holds::date.eq(date))
            .filter(holds::expires_at.gt(diesel::dsl::now)),
    )
    .execute(conn)?;
    if deleted == 1 {
        Ok(())
    } else {
        Err(TxError::Domain(BookingError::HoldExpired))
    }
}

/// Stamps `dates` (no change to `used`: only `held` moved) and announces them.
fn announce_held(
    conn: &mut Conn,
    dates: &[Date],
    at: OffsetDateTime,
) -> Result<Vec<request_desk_domain::Day>, TxError<BookingError>> {
    let locked = lock_days::<BookingError>(conn, dates)?;
    let in_force = in_force(conn, at)?;
    let touched: Vec<(Date, i32)> = locked.iter().map(|d| (d.date, 0)).collect();
    let days = stamp_days(conn, &touched, &in_force, |date| {
        locked.iter().find(|d| d.date == date).map_or(0, |d| d.held)
    })?;
    announce(conn, &in_force.day_events(&days))?;
    Ok(days)
}

impl HoldRepository for PgStore {
    fn take(
        &self,
        user: UserId,
        date: Date,
        ttl: HoldTtl,
        at: OffsetDateTime,
    ) -> Result<Taken, BookingError> {
        let mut conn = self.conn()?;
        conn.transaction(|conn| {
            // Two tabs of one user take holds one after the other, not both.
            let found = diesel::sql_query("SELECT id FROM users WHERE id = $1 FOR NO KEY UPDATE")
                .bind::<BigInt, _>(user.0)
                .execute(conn)?;
            if found == 0 {
                return Err(TxError::Domain(BookingError::UnknownUser));
            }
            // One hold per user: the previous one (live or not) goes first.
            let previous: Vec<DateRow> =
                diesel::sql_query("DELETE FROM holds WHERE user_id = $1 RETURNING date")
                    .bind::<BigInt, _>(user.0)
                    .load(conn)?;
            let mut dates: Vec<Date> = previous.iter().map(|r| r.date).collect();
            dates.push(date);
            let locked = lock_days::<BookingError>(conn, &dates)?;
            let in_force = in_force(conn, at)?;
            let target = locked.iter().find(|d| d.date == date).expect("locked");
            if let Err(refusal) = admit(&in_force.calendar, target, false) {
                return Err(refused(conn, refusal));
            }
            let hold: HoldRow = diesel::sql_query(
                "INSERT INTO holds (user_id, date, expires_at) \
                 VALUES ($1, $2, now() + make_interval(secs => $3)) \
                 RETURNING id, date, expires_at",
            )
            .bind::<BigInt, _>(user.0)
            .bind::<SqlDate, _>(date)
            .bind::<diesel::sql_types::Double, _>(ttl.get().as_secs_f64())
            .get_result(conn)?;
            let touched: Vec<(Date, i32)> = locked.iter().map(|d| (d.date, 0)).collect();
            let changed_days = stamp_days(conn, &touched, &in_force, |d| {
                let before = locked.iter().find(|l| l.date == d).map_or(0, |l| l.held);
                before + u32::from(d == date)
            })?;
            announce(conn, &in_force.day_events(&changed_days))?;
            Ok(Taken {
                hold: hold.into_hold(),
                changed_days,
            })
        })
        .map_err(TxError::into_error)
    }

    fn live(&self, user: UserId) -> Result<Vec<Hold>, RepositoryError> {
        let mut conn = self.conn()?;
        let rows: Vec<HoldRow> = diesel::sql_query(
            "SELECT id, date, expires_at FROM holds \
             WHERE user_id = $1 AND expires_at > now() ORDER BY id",
        )
        .bind::<BigInt, _>(user.0)
        .load(&mut conn)
        .map_err(db_error)?;
        Ok(rows.into_iter().map(HoldRow::into_hold).collect())
    }

    fn release(
        &self,
        user: UserId,
        id: HoldId,
        at: OffsetDateTime,
    ) -> Result<bool, RepositoryError> {
        let mut conn = self.conn()?;
        conn.transaction(|conn| {
            let released: Vec<DateRow> = diesel::sql_query(
                "DELETE FROM holds WHERE id = $1 AND user_id = $2 RETURNING date",
            )
            .bind::<BigInt, _>(id.0)
            .bind::<BigInt, _>(user.0)
            .load(conn)?;
            if released.is_empty() {
                return Ok(false);
            }
            let dates: Vec<Date> = released.iter().map(|r| r.date).collect();
            announce_held(conn, &dates, at)?;
            Ok(true)
        })
        .map_err(|e: TxError<BookingError>| match e.into_error() {
            BookingError::Repository(e) => e,
            other => RepositoryError::Unexpected(Box::new(other)),
        })
    }

    fn sweep(&self, at: OffsetDateTime) -> Result<usize, RepositoryError> {
        let mut conn = self.conn()?;
        conn.transaction(|conn| {
            let mine: Locked = diesel::sql_query("SELECT pg_try_advisory_xact_lock($1) AS locked")
                .bind::<BigInt, _>(SWEEP_LOCK_KEY)
                .get_result(conn)?;
            if !mine.locked {
                return Ok(0); // another instance is sweeping
            }
            // Rows a booking or a release holds right now are theirs to settle.
            let freed: Vec<DateRow> = diesel::sql_query(
                "DELETE FROM holds WHERE id IN (\
                   SELECT id FROM holds WHERE expires_at <= now() \
                   ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED) \
                 RETURNING date",
            )
            .bind::<BigInt, _>(SWEEP_BATCH)
            .load(conn)?;
            if !freed.is_empty() {
                let dates: Vec<Date> = freed.iter().map(|r| r.date).collect();
                announce_held(conn, &dates, at)?;
            }
            Ok(freed.len())
        })
        .map_err(|e: TxError<BookingError>| match e.into_error() {
            BookingError::Repository(e) => e,
            other => RepositoryError::Unexpected(Box::new(other)),
        })
    }
}
