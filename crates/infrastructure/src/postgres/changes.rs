//! The write half of the change stream: how a transaction judges, versions
//! and announces what it changes.
//!
//! Every write transaction follows the same steps, in this order:
//!
//! 1. lock the rows it changes (request row first, then day rows in date
//!    order — so no two transactions can deadlock);
//! 2. [`in_force`]: take the transaction-scoped *version lock*, then read
//!    the settings. A settings change takes the same lock, so the two
//!    serialize: the settings read here stay in force until this COMMIT.
//!    (Two statements on purpose: at READ COMMITTED a statement sees the
//!    data committed when it *starts*, so the read must start after the
//!    lock is held.) Holding the lock also hands out versions in commit
//!    order, so a reader that sees version `v` sees every version below it;
//! 3. judge with the domain's rule ([`admit`](request_desk_domain::capacity::admit))
//!    against those settings, and write;
//! 4. [`stamp_days`]: apply each touched date's change to `used` and stamp it
//!    with `nextval('change_version_seq')` in the same statement, and turn the
//!    rows it returns into the `Day`s clients will see — under the settings
//!    of step 2, exactly what the database holds at that version;
//! 5. [`announce`]: queue one `NOTIFY` on [`CHANNEL`] whose payload carries
//!    the change's [`LiveEvent`]s with their final numbers, in the wire
//!    format of [`crate::change_payload`]. PostgreSQL
//!    delivers it to every listener if and only if the transaction commits,
//!    in commit order. Nothing is read or computed after COMMIT.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use request_desk_domain::capacity::{Day, DayRecord};
use request_desk_domain::live::LiveEvent;
use request_desk_domain::settings::{BookingCalendar, StoredSettings};
use request_desk_domain::RepositoryError;
use time::{Date, OffsetDateTime};

use super::days::next_version;
use super::errors::TxError;
use super::rows::DayRow;
use super::schema::{days, settings};
use super::settings::read_settings;
use super::Conn;
use crate::change_payload;

/// The NOTIFY channel every instance listens on.
pub const CHANNEL: &str = "request_desk_changes";

/// Arbitrary constant naming the advisory lock that orders versions.
const VERSION_LOCK_KEY: i64 = 0x0052_4551_4445_534b; // "REQDESK"

diesel::define_sql_function!(fn pg_notify(channel: Text, payload: Text) -> Text);
diesel::define_sql_function!(fn pg_advisory_xact_lock(key: BigInt));

/// The settings in force for the rest of a write transaction, and what they
/// mean at the use case's `at`.
#[derive(Debug, Clone)]
pub(super) struct InForce {
    pub stored: StoredSettings,
    pub calendar: BookingCalendar,
    pub at: OffsetDateTime,
}

impl InForce {
    /// `record` as clients see it under these settings.
    pub fn day(&self, record: &DayRecord) -> Day {
        Day::from_record(record, &self.calendar)
    }

    /// The `DayChanged` events of stamped days.
    pub fn day_events(&self, days: &[Day]) -> Vec<LiveEvent> {
        days.iter()
            .map(|day| LiveEvent::DayChanged {
                day: day.clone(),
                at: self.at,
            })
            .collect()
    }
}

/// Takes the version lock, held until the transaction ends. Call after
/// every row lock the transaction needs.
pub(super) fn lock_versions(conn: &mut Conn) -> QueryResult<()> {
    diesel::select(pg_advisory_xact_lock(VERSION_LOCK_KEY))
        .execute(conn)
        .map(|_| ())
}

/// Takes the version lock, then reads the settings (step 2 above). Call
/// after every row lock the transaction needs.
pub(super) fn in_force<E>(conn: &mut Conn, at: OffsetDateTime) -> Result<InForce, TxError<E>>
where
    E: From<RepositoryError>,
{
    lock_versions(conn)?;
    let stored = read_settings(conn)?;
    let calendar = BookingCalendar::at(&stored.settings, at);
    Ok(InForce {
        stored,
        calendar,
        at,
    })
}

/// Adds each date's `used` delta (0 for none) and stamps the date with a new
/// version — one statement per date, in date order, on rows this transaction
/// has locked — and returns the days as committed, under `in_force`.
/// `held` gives each date's live holds.
pub(super) fn stamp_days<E>(
    conn: &mut Conn,
    changes: &[(Date, i32)],
    in_force: &InForce,
    held: impl Fn(Date) -> u32,
) -> Result<Vec<Day>, TxError<E>>
where
    E: From<RepositoryError>,
{
    let mut sorted = changes.to_vec();
    sorted.sort_by_key(|(date, _)| *date);
    sorted.dedup_by_key(|(date, _)| *date);
    let mut days = Vec::with_capacity(sorted.len());
    for (date, delta) in sorted {
        let row = diesel::update(days::table.find(date))
            .set((
                days::used.eq(days::used + delta),
                days::version.eq(next_version()),
            ))
            .returning(DayRow::as_returning())
            .get_result(conn)?;
        let record = row
            .into_record(held(date))
            .map_err(|e| TxError::Domain(e.into()))?;
        days.push(in_force.day(&record));
    }
    Ok(days)
}

/// Stamps the settings row with a new version; returns it.
pub(super) fn stamp_settings(conn: &mut Conn) -> QueryResult<i64> {
    diesel::update(settings::table.find(1i16))
        .set(settings::version.eq(next_version()))
        .returning(settings::version)
        .get_result(conn)
}

/// Queues the change's events as one NOTIFY, delivered when (and only if)
/// the transaction commits (step 5 above). No events, no NOTIFY.
pub(super) fn announce<E>(conn: &mut Conn, events: &[LiveEvent]) -> Result<(), TxError<E>>
where
    E: From<RepositoryError>,
{
    if events.is_empty() {
        return Ok(());
    }
    let payload = change_payload::encode(events).map_err(|e| TxError::Domain(e.into()))?;
    diesel::select(pg_notify(CHANNEL, payload)).execute(conn)?;
    Ok(())
}
