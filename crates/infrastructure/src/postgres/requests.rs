//! [`RequestRepository`] on PostgreSQL: atomic booking, moving and status changes.
//!
//! Each method is one transaction at READ COMMITTED, following the steps in
//! [`super::changes`]. Capacity is enforced by locking the date's row (an
//! upsert that locks it, as `SELECT … FOR UPDATE` would, in one statement),
//! then reading the settings in force under the version lock, and only then
//! judging with the domain's [`admit`] — so concurrent bookings for one date,
//! from any number of server processes, queue on that row, exactly the free
//! slots are taken, and a concurrent settings change is either wholly before
//! the judgement or wholly after the commit. Locks are always taken request
//! row first, then day rows in date order, then the version lock, so no two
//! transactions can deadlock.

use std::collections::HashMap;

use diesel::prelude::*;
use request_desk_domain::capacity::{admit, Refusal};
use request_desk_domain::notification::NewNotification;
use request_desk_domain::ports::{Booked, BookingError, HoldUse, RequestRepository, Transition};
use request_desk_domain::request::{
    NewRequest, Request, RequestFields, RequestFilter, RequestPage, RequestStatus,
};
use request_desk_domain::{DayRecord, RepositoryError, RequestId};
use time::{Date, OffsetDateTime};

use super::changes::{announce, in_force, stamp_days};
use super::days::{ensure_day, lock_days};
use super::errors::{db_error, TxError};
use super::holds::consume_hold;
use super::notifications::store_notification;
use super::rows::{NewRequestRow, RequestRow};
use super::schema::{requests, users};
use super::{Conn, PgStore};

type Tx<T> = Result<T, TxError<BookingError>>;

fn domain<T>(r: Result<T, RepositoryError>) -> Tx<T> {
    r.map_err(|e| TxError::Domain(BookingError::Repository(e)))
}

/// A refusal of `admit`, with when a day full of holds may free up.
pub(super) fn refused(conn: &mut Conn, refusal: Refusal) -> TxError<BookingError> {
    let refusal = match refusal {
        Refusal::Full { day, .. } if day.held > 0 => match earliest_hold_expiry(conn, day.date) {
            Ok(frees_at) => Refusal::Full { day, frees_at },
            Err(e) => return e.into(),
        },
        other => other,
    };
    TxError::Domain(BookingError::Refused(refusal))
}

/// The display names of these users (one query however many requests).
fn names(conn: &mut Conn, ids: &[i64]) -> diesel::QueryResult<HashMap<i64, String>> {
    let rows: Vec<(i64, String)> = users::table
        .filter(users::id.eq_any(ids))
        .select((users::id, users::display_name))
        .load(conn)?;
    Ok(rows.into_iter().collect())
}

/// Rows as the contract's requests, each with its requester's name.
fn named(conn: &mut Conn, rows: Vec<RequestRow>) -> Result<Vec<Request>, RepositoryError> {
    let ids: Vec<i64> = rows.iter().map(|r| r.requester_id).collect();
    let names = names(conn, &ids).map_err(db_error)?;
    rows.into_iter()
        .map(|row| {
            let name = names.get(&row.requester_id).cloned().unwrap_or_default();
            row.into_request(name)
        })
        .collect()
}

/// One row as the contract's request.
fn named_one(conn: &mut Conn, row: RequestRow) -> Result<Request, RepositoryError> {
    let name = name_of(conn, row.requester_id)?;
    row.into_request(name)
}

/// One user's display name. Writers read it before they lock any day row,
/// so the lookup never lengthens the time a contended date is held.
fn name_of(conn: &mut Conn, user: i64) -> Result<String, RepositoryError> {
    Ok(names(conn, &[user])
        .map_err(db_error)?
        .remove(&user)
        .unwrap_or_default())
}

/// A new request's requester's display name; `UnknownUser` when the account is gone.
fn requester_name(conn: &mut Conn, user: i64) -> Result<String, BookingError> {
    names(conn, &[user])
        .map_err(db_error)?
        .remove(&user)
        .ok_or(BookingError::UnknownUser)
}

/// When the earliest live hold on `date` expires.
fn earliest_hold_expiry(
    conn: &mut Conn,
    date: Date,
) -> diesel::QueryResult<Option<OffsetDateTime>> {
    use super::schema::holds;
    holds::table
        .filter(holds::date.eq(date))
        .filter(holds::expires_at.gt(diesel::dsl::now))
        .select(diesel::dsl::min(holds::expires_at))
        .first(conn)
}

/// A requester deleted between the name and the insert: the foreign key says so.
fn unknown_user(e: diesel::result::Error) -> TxError<BookingError> {
    use diesel::result::{DatabaseErrorKind, Error};
    match e {
        Error::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, info)
            if info.constraint_name() == Some("requests_requester_id_fkey") =>
        {
            TxError::Domain(BookingError::UnknownUser)
        }
        e => e.into(),
    }
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

/// The live holds of each locked date, as they were when it was locked.
fn held_of(locked: &[DayRecord]) -> impl Fn(Date) -> u32 + '_ {
    move |date| locked.iter().find(|d| d.date == date).map_or(0, |d| d.held)
}

impl RequestRepository for PgStore {
    fn create(&self, new: NewRequest) -> Result<Booked, BookingError> {
        let mut conn = self.conn()?;
        let requester_name = requester_name(&mut conn, new.requester.0)?;
        conn.transaction(|conn| {
            let date = new.fields.due_date;
            let with_hold = match new.hold {
                Some(hold) => {
                    consume_hold(conn, new.requester, hold, date)?;
                    true
                }
                None => false,
            };
            let locked = lock_days(conn, &[date])?;
            let in_force = in_force(conn, new.at)?;
            if let Err(refusal) = admit(&in_force.calendar, &locked[0], with_hold) {
                return Err(refused(conn, refusal));
            }
            let row = diesel::insert_into(requests::table)
                .values(NewRequestRow {
                    title: new.fields.title.as_str(),
                    description: new.fields.description.as_str(),
                    priority: new.fields.priority.as_str(),
                    due_date: date,
                    status: RequestStatus::Pending.as_str(),
                    requester_id: new.requester.0,
                    assignee_id: in_force.stored.settings.default_designer.map(|u| u.0),
                    created_at: new.at,
                    updated_at: new.at,
                })
                .returning(RequestRow::as_returning())
                .get_result(conn)
                .map_err(unknown_user)?;
            let request = domain(row.into_request(requester_name))?;
            let changed_days = stamp_days(conn, &[(date, 1)], &in_force, held_of(&locked))?;
            let mut events = in_force.day_events(&changed_days);
            if let Some(n) = NewNotification::new_request(&request, new.at) {
                events.push(store_notification(conn, &n)?);
            }
            announce(conn, &events)?;
            Ok(Booked {
                request,
                changed_days,
            })
        })
        .map_err(TxError::into_error)
    }

    fn find(&self, id: RequestId) -> Result<Option<Request>, RepositoryError> {
        let mut conn = self.conn()?;
        requests::table
            .find(id.0)
            .select(RequestRow::as_select())
            .first(&mut conn)
            .optional()
            .map_err(db_error)?
            .map(|row| named_one(&mut conn, row))
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
            .map_err(db_error)?;
        let items = named(&mut conn, items)?;
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
        hold: Option<HoldUse>,
        at: OffsetDateTime,
    ) -> Result<Booked, BookingError> {
        let mut conn = self.conn()?;
        conn.transaction(|conn| {
            let current = lock_request(conn, id, expected)?;
            let requester_name = domain(name_of(conn, current.requester_id))?;
            let (old, new) = (current.due_date, fields.due_date);
            let moves = old != new && expected.holds_slot();
            // A hold only matters when a slot moves onto its date.
            let with_hold = match hold {
                Some(h) if moves => {
                    consume_hold(conn, h.user, h.id, new)?;
                    true
                }
                _ => false,
            };
            let locked = if moves {
                lock_days(conn, &[old, new])?
            } else {
                if old != new {
                    // No slot moves, but the due date must exist for the foreign key.
                    ensure_day(conn, new)?;
                }
                Vec::new()
            };
            let in_force = in_force(conn, at)?;
            if moves {
                let target = locked.iter().find(|d| d.date == new).expect("locked");
                if let Err(refusal) = admit(&in_force.calendar, target, with_hold) {
                    return Err(refused(conn, refusal));
                }
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
            let touched: &[(Date, i32)] = if moves { &[(old, -1), (new, 1)] } else { &[] };
            let changed_days = stamp_days(conn, touched, &in_force, held_of(&locked))?;
            announce(conn, &in_force.day_events(&changed_days))?;
            Ok(Booked {
                request: domain(row.into_request(requester_name))?,
                changed_days,
            })
        })
        .map_err(TxError::into_error)
    }

    fn transition(&self, id: RequestId, t: &Transition) -> Result<Booked, BookingError> {
        let mut conn = self.conn()?;
        conn.transaction(|conn| {
            let current = lock_request(conn, id, t.from)?;
            let requester_name = domain(name_of(conn, current.requester_id))?;
            let frees_or_takes = t.from.holds_slot() != t.to.holds_slot();
            let locked = if frees_or_takes {
                lock_days(conn, &[current.due_date])?
            } else {
                Vec::new()
            };
            let in_force = in_force(conn, t.at)?;
            let row = diesel::update(requests::table.find(id.0))
                .set((
                    requests::status.eq(t.to.as_str()),
                    requests::updated_at.eq(t.at),
                ))
                .returning(RequestRow::as_returning())
                .get_result(conn)?;
            let request = domain(row.into_request(requester_name))?;
            let touched = if frees_or_takes {
                vec![(current.due_date, if t.to.holds_slot() { 1 } else { -1 })]
            } else {
                Vec::new()
            };
            let changed_days = stamp_days(conn, &touched, &in_force, held_of(&locked))?;
            let mut events = in_force.day_events(&changed_days);
            if t.notify_requester {
                let n = NewNotification::status_changed(&request, t.reason.clone(), t.at);
                events.push(store_notification(conn, &n)?);
            }
            announce(conn, &events)?;
            Ok(Booked {
                request,
                changed_days,
            })
        })
        .map_err(TxError::into_error)
    }
}
