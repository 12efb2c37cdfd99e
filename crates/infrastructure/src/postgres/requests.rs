//! [`RequestRepository`] on PostgreSQL: atomic booking, moving and status changes.
//!
//! Each method is one transaction at READ COMMITTED. Capacity is enforced by
//! locking the date's row (an upsert that locks it, as `SELECT … FOR UPDATE`
//! would, in one statement) before checking `used`
//! against the capacity and writing, so concurrent bookings for one date —
//! from any number of server processes — queue on that row and exactly the
//! free slots are taken. Locks are always taken request row first, then day
//! rows in date order, so no two transactions can deadlock.

use diesel::prelude::*;
use diesel::upsert::excluded;
use request_desk_domain::capacity::Capacity;
use request_desk_domain::ports::{Booked, BookingError, RequestRepository};
use request_desk_domain::request::{
    NewRequest, Request, RequestFields, RequestFilter, RequestPage, RequestStatus,
};
use request_desk_domain::{DayRecord, RepositoryError, RequestId};
use time::{Date, OffsetDateTime};

use super::changes::stamp_days;
use super::days::ensure_day;
use super::errors::{db_error, TxError};
use super::rows::{DayRow, NewRequestRow, RequestRow};
use super::schema::{days, requests};
use super::{Conn, PgStore};

type Tx<T> = Result<T, TxError<BookingError>>;

fn finish<T>(result: Tx<T>) -> Result<T, BookingError> {
    result.map_err(|e| match e {
        TxError::Domain(e) => e,
        TxError::Db(e) => BookingError::Repository(db_error(e)),
    })
}

fn domain<T>(r: Result<T, RepositoryError>) -> Tx<T> {
    r.map_err(|e| TxError::Domain(BookingError::Repository(e)))
}

/// Locks the days of `dates` in date order, creating missing ones, and
/// returns them as they are now. One upsert per date: `ON CONFLICT DO UPDATE`
/// locks the existing row (waiting for a concurrent booker, then seeing its
/// committed `used`), like `SELECT … FOR UPDATE`, in one statement.
fn lock_days(conn: &mut Conn, dates: &[Date]) -> Tx<Vec<DayRecord>> {
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
        locked.push(domain(row.into_record())?);
    }
    Ok(locked)
}

/// Applies the `used` changes, stamps the dates with new versions and queues
/// the NOTIFY; the last step of a transaction.
fn stamp(conn: &mut Conn, changes: &[(Date, i32)], origin: u32) -> Tx<Vec<DayRecord>> {
    if changes.is_empty() {
        return Ok(Vec::new());
    }
    let rows = stamp_days(conn, changes, origin)?;
    domain(rows.into_iter().map(DayRow::into_record).collect())
}

/// Locks a request's row and checks its status is still `expected`.
fn lock_request(conn: &mut Conn, id: RequestId, expected: RequestStatus) -> Tx<RequestRow> {
    let row = requests::table
        .find(id.0)
        .for_update()
        .select(RequestRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(TxError::Domain(BookingError::NotFound))?;
    let status = domain(row.status())?;
    if status != expected {
        return Err(TxError::Domain(BookingError::StatusChanged(status)));
    }
    Ok(row)
}

fn room_or_full(record: DayRecord, daily: Capacity) -> Tx<()> {
    if record.has_room(daily) {
        Ok(())
    } else {
        Err(TxError::Domain(BookingError::CapacityFull(record)))
    }
}

impl RequestRepository for PgStore {
    fn create(&self, new: NewRequest, daily: Capacity) -> Result<Booked, BookingError> {
        let mut conn = self.conn()?;
        finish(conn.transaction(|conn| {
            let date = new.fields.due_date;
            let day = lock_days(conn, &[date])?.remove(0);
            room_or_full(day, daily)?;
            let row = diesel::insert_into(requests::table)
                .values(NewRequestRow {
                    title: new.fields.title.as_str(),
                    description: new.fields.description.as_str(),
                    priority: new.fields.priority.as_str(),
                    due_date: date,
                    status: RequestStatus::Pending.as_str(),
                    requester_id: new.requester.0,
                    assignee_id: new.assignee.map(|u| u.0),
                    created_at: new.at,
                    updated_at: new.at,
                })
                .returning(RequestRow::as_returning())
                .get_result(conn)?;
            Ok(Booked {
                request: domain(row.into_request())?,
                changed_days: stamp(conn, &[(date, 1)], self.origin)?,
            })
        }))
    }

    fn find(&self, id: RequestId) -> Result<Option<Request>, RepositoryError> {
        let mut conn = self.conn()?;
        requests::table
            .find(id.0)
            .select(RequestRow::as_select())
            .first(&mut conn)
            .optional()
            .map_err(db_error)?
            .map(RequestRow::into_request)
            .transpose()
    }

    fn list(&self, filter: &RequestFilter) -> Result<RequestPage, RepositoryError> {
        let mut conn = self.conn()?;
        let query = || {
            let mut q = requests::table.into_boxed();
            if let Some(requester) = filter.requester {
                q = q.filter(requests::requester_id.eq(requester.0));
            }
            if let Some(status) = filter.status {
                q = q.filter(requests::status.eq(status.as_str()));
            }
            if let Some(from) = filter.from {
                q = q.filter(requests::due_date.ge(from));
            }
            if let Some(to) = filter.to {
                q = q.filter(requests::due_date.le(to));
            }
            q
        };
        let total: i64 = query().count().get_result(&mut conn).map_err(db_error)?;
        let offset = i64::from(filter.page - 1) * i64::from(filter.page_size);
        let items = query()
            .order((requests::due_date, requests::id))
            .offset(offset)
            .limit(filter.page_size.into())
            .select(RequestRow::as_select())
            .load(&mut conn)
            .map_err(db_error)?
            .into_iter()
            .map(RequestRow::into_request)
            .collect::<Result<_, _>>()?;
        Ok(RequestPage {
            items,
            total: total as u64,
            page: filter.page,
            page_size: filter.page_size,
        })
    }

    fn update(
        &self,
        id: RequestId,
        expected: RequestStatus,
        fields: &RequestFields,
        daily: Capacity,
        at: OffsetDateTime,
    ) -> Result<Booked, BookingError> {
        let mut conn = self.conn()?;
        finish(conn.transaction(|conn| {
            let current = lock_request(conn, id, expected)?;
            let (old, new) = (current.due_date, fields.due_date);
            let mut touched = Vec::new();
            if old != new && expected.holds_slot() {
                let locked = lock_days(conn, &[old, new])?;
                let target = *locked.iter().find(|d| d.date == new).expect("locked");
                room_or_full(target, daily)?;
                touched = vec![(old, -1), (new, 1)];
            } else if old != new {
                // No slot moves, but the due date must exist for the foreign key.
                ensure_day(conn, new)?;
            }
            let row = diesel::update(requests::table.find(id.0))
                .set((
                    requests::title.eq(fields.title.as_str()),
                    requests::description.eq(fields.description.as_str()),
                    requests::priority.eq(fields.priority.as_str()),
                    requests::due_date.eq(new),
                    requests::updated_at.eq(at),
                ))
                .returning(RequestRow::as_returning())
                .get_result(conn)?;
            Ok(Booked {
                request: domain(row.into_request())?,
                changed_days: stamp(conn, &touched, self.origin)?,
            })
        }))
    }

    fn transition(
        &self,
        id: RequestId,
        from: RequestStatus,
        to: RequestStatus,
        at: OffsetDateTime,
    ) -> Result<Booked, BookingError> {
        let mut conn = self.conn()?;
        finish(conn.transaction(|conn| {
            let current = lock_request(conn, id, from)?;
            let row = diesel::update(requests::table.find(id.0))
                .set((
                    requests::status.eq(to.as_str()),
                    requests::updated_at.eq(at),
                ))
                .returning(RequestRow::as_returning())
                .get_result(conn)?;
            let mut touched = Vec::new();
            if from.holds_slot() != to.holds_slot() {
                let delta = if to.holds_slot() { 1 } else { -1 };
                lock_days(conn, &[current.due_date])?;
                touched.push((current.due_date, delta));
            }
            Ok(Booked {
                request: domain(row.into_request())?,
                changed_days: stamp(conn, &touched, self.origin)?,
            })
        }))
    }
}
