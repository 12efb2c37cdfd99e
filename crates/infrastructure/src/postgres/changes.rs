//! The change record: how a committed change becomes a version and a NOTIFY.
//!
//! Every transaction that changes a date's numbers (or the settings) ends by
//! calling [`stamp_days`] (or [`stamp_settings`]), which
//!
//! 1. takes a transaction-scoped advisory lock, so versions are handed out in
//!    commit order: a reader that sees version `v` also sees every committed
//!    version below `v`, which makes "every change since `v`" complete;
//! 2. applies each touched date's change to `used` and stamps it with
//!    `nextval('change_version_seq')` in the same statement — the durable
//!    change record is the date's row with its new version;
//! 3. queues a small `NOTIFY` on [`CHANNEL`], delivered to every listening
//!    instance if and only if the transaction commits.
//!
//! The lock is always the last one a transaction takes (after request and
//! day rows), so it cannot take part in a deadlock. PostgreSQL serializes
//! committing NOTIFY transactions anyway, so it costs little extra.

use diesel::prelude::*;
use diesel::sql_types::Text;
use time::Date;

use super::days::next_version;
use super::rows::DayRow;
use super::schema::{days, settings};
use super::Conn;

/// The NOTIFY channel every instance listens on.
pub const CHANNEL: &str = "request_desk_changes";

/// Arbitrary constant naming the advisory lock that orders versions.
const VERSION_LOCK_KEY: i64 = 0x0052_4551_4445_534b; // "REQDESK"

/// A NOTIFY payload: what changed, and which instance changed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub change: ChangeNotice,
    /// The [`PgStore::origin`](super::PgStore::origin) of the instance that
    /// committed it: that instance delivered it to its own clients already.
    pub origin: u32,
}

impl Notice {
    /// `<change>@<origin>`, e.g. `d:42@7`: small, well under PostgreSQL's 8000 bytes.
    pub fn encode(&self) -> String {
        format!("{}@{}", self.change.encode(), self.origin)
    }

    pub fn decode(payload: &str) -> Option<Notice> {
        let (change, origin) = payload.split_once('@')?;
        Some(Notice {
            change: ChangeNotice::decode(change)?,
            origin: origin.parse().ok()?,
        })
    }
}

/// What changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeNotice {
    /// Dates changed; the newest version the transaction stamped.
    Days { version: i64 },
    /// The settings changed, stamped with `version`.
    Settings { version: i64 },
    /// A notification was stored for a user.
    Notification { user_id: i64, notification_id: i64 },
    /// A user's unread count changed (read, read-all).
    Inbox { user_id: i64 },
    /// An admin changed a user's role or disabled/enabled them: drop what is
    /// cached about the user, and close their hub connections if disabled.
    User { user_id: i64 },
}

impl ChangeNotice {
    fn encode(&self) -> String {
        match self {
            ChangeNotice::Days { version } => format!("d:{version}"),
            ChangeNotice::Settings { version } => format!("s:{version}"),
            ChangeNotice::Notification {
                user_id,
                notification_id,
            } => format!("n:{user_id}:{notification_id}"),
            ChangeNotice::Inbox { user_id } => format!("i:{user_id}"),
            ChangeNotice::User { user_id } => format!("u:{user_id}"),
        }
    }

    fn decode(payload: &str) -> Option<ChangeNotice> {
        let mut parts = payload.split(':');
        let kind = parts.next()?;
        let a: i64 = parts.next()?.parse().ok()?;
        let b: Option<i64> = parts.next().map(|p| p.parse().ok()).unwrap_or(None);
        let notice = match (kind, b) {
            ("d", None) => ChangeNotice::Days { version: a },
            ("s", None) => ChangeNotice::Settings { version: a },
            ("n", Some(b)) => ChangeNotice::Notification {
                user_id: a,
                notification_id: b,
            },
            ("i", None) => ChangeNotice::Inbox { user_id: a },
            ("u", None) => ChangeNotice::User { user_id: a },
            _ => return None,
        };
        parts.next().is_none().then_some(notice)
    }
}

diesel::define_sql_function!(fn pg_notify(channel: Text, payload: Text) -> Text);
diesel::define_sql_function!(fn pg_advisory_xact_lock(key: diesel::sql_types::BigInt));

/// Queues a NOTIFY, sent when (and only if) the transaction commits.
pub(super) fn notify(conn: &mut Conn, change: ChangeNotice, origin: u32) -> QueryResult<()> {
    let payload = Notice { change, origin }.encode();
    diesel::select(pg_notify(CHANNEL, payload))
        .execute(conn)
        .map(|_| ())
}

fn version_lock(conn: &mut Conn) -> QueryResult<()> {
    diesel::select(pg_advisory_xact_lock(VERSION_LOCK_KEY))
        .execute(conn)
        .map(|_| ())
}

/// Adds each date's `used` delta (0 for none) and stamps the date with a new
/// version — one statement per date, in date order, rows that exist and are
/// locked — then queues the NOTIFY. Call last in the transaction.
pub(super) fn stamp_days(
    conn: &mut Conn,
    changes: &[(Date, i32)],
    origin: u32,
) -> QueryResult<Vec<DayRow>> {
    let mut sorted = changes.to_vec();
    sorted.sort_by_key(|(date, _)| *date);
    version_lock(conn)?;
    let mut rows = Vec::with_capacity(sorted.len());
    for (date, delta) in sorted {
        let row = diesel::update(days::table.find(date))
            .set((
                days::used.eq(days::used + delta),
                days::version.eq(next_version()),
            ))
            .returning(DayRow::as_returning())
            .get_result(conn)?;
        rows.push(row);
    }
    if let Some(version) = rows.iter().map(|r| r.version).max() {
        notify(conn, ChangeNotice::Days { version }, origin)?;
    }
    Ok(rows)
}

/// Stamps the settings row with a new version and queues the NOTIFY.
pub(super) fn stamp_settings(conn: &mut Conn, origin: u32) -> QueryResult<i64> {
    version_lock(conn)?;
    let version = diesel::update(settings::table.find(1i16))
        .set(settings::version.eq(next_version()))
        .returning(settings::version)
        .get_result(conn)?;
    notify(conn, ChangeNotice::Settings { version }, origin)?;
    Ok(version)
}

#[cfg(test)]
mod tests {
    use super::ChangeNotice;

    #[test]
    fn notices_round_trip_and_garbage_is_ignored() {
        for n in [
            ChangeNotice::Days { version: 42 },
            ChangeNotice::Settings { version: 7 },
            ChangeNotice::Notification {
                user_id: 3,
                notification_id: 9,
            },
            ChangeNotice::Inbox { user_id: 3 },
            ChangeNotice::User { user_id: 4 },
        ] {
            assert_eq!(ChangeNotice::decode(&n.encode()), Some(n));
        }
        for bad in [
            "", "d", "d:x", "x:1", "n:1", "d:1:2", "i:1:2:3", "u:1:2", "u:x",
        ] {
            assert_eq!(ChangeNotice::decode(bad), None, "{bad}");
        }
    }
}
