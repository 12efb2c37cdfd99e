//! [`NotificationRepository`] on PostgreSQL, and storing a notification
//! inside the transaction of the change it reports.

use diesel::prelude::*;
use request_desk_domain::live::LiveEvent;
use request_desk_domain::notification::{Inbox, NewNotification};
use request_desk_domain::ports::NotificationRepository;
use request_desk_domain::{NotificationId, RepositoryError, UserId};

use super::changes::announce;
use super::errors::{db_error, TxError};
use super::rows::NotificationRow;
use super::schema::notifications;
use super::{Conn, PgStore};

/// The newest notifications an inbox lists.
const INBOX_LIMIT: i64 = 200;

fn unread(conn: &mut Conn, user: UserId) -> QueryResult<u64> {
    notifications::table
        .filter(notifications::user_id.eq(user.0))
        .filter(notifications::read.eq(false))
        .count()
        .get_result::<i64>(conn)
        .map(|n| n as u64)
}

/// Stores `n` in the caller's transaction and returns the event that
/// announces it with its owner's new unread count.
pub(super) fn store_notification<E>(
    conn: &mut Conn,
    n: &NewNotification,
) -> Result<LiveEvent, TxError<E>>
where
    E: From<RepositoryError>,
{
    let params = serde_json::to_string(&n.params)
        .map_err(|e| TxError::Domain(RepositoryError::Unexpected(Box::new(e)).into()))?;
    let row = diesel::insert_into(notifications::table)
        .values((
            notifications::user_id.eq(n.user.0),
            notifications::request_id.eq(n.request.0),
            notifications::kind.eq(n.kind.as_str()),
            notifications::params.eq(params),
            notifications::message.eq(&n.message),
            notifications::created_at.eq(n.at),
        ))
        .returning(NotificationRow::as_returning())
        .get_result(conn)?;
    let unread_count = unread(conn, n.user)?;
    let notification = row
        .into_notification()
        .map_err(|e| TxError::Domain(e.into()))?;
    Ok(LiveEvent::NotificationReceived {
        user: n.user,
        notification,
        unread_count,
    })
}

impl NotificationRepository for PgStore {
    fn inbox(&self, user: UserId, unread_only: bool) -> Result<Inbox, RepositoryError> {
        let mut conn = self.conn()?;
        let mut query = notifications::table
            .filter(notifications::user_id.eq(user.0))
            .order(notifications::id.desc())
            .limit(INBOX_LIMIT)
            .select(NotificationRow::as_select())
            .into_boxed();
        if unread_only {
            query = query.filter(notifications::read.eq(false));
        }
        let items = query
            .load(&mut conn)
            .map_err(db_error)?
            .into_iter()
            .map(NotificationRow::into_notification)
            .collect::<Result<_, _>>()?;
        let unread_count = unread(&mut conn, user).map_err(db_error)?;
        Ok(Inbox {
            items,
            unread_count,
        })
    }

    fn mark_read(&self, user: UserId, id: NotificationId) -> Result<bool, RepositoryError> {
        let mut conn = self.conn()?;
        conn.transaction(|conn| {
            let owned = notifications::table
                .filter(notifications::id.eq(id.0))
                .filter(notifications::user_id.eq(user.0));
            let exists: bool = diesel::select(diesel::dsl::exists(owned)).get_result(conn)?;
            let changed = diesel::update(owned.filter(notifications::read.eq(false)))
                .set(notifications::read.eq(true))
                .execute(conn)?;
            if changed > 0 {
                announce_count(conn, user)?;
            }
            Ok(exists)
        })
        .map_err(TxError::<RepositoryError>::into_error)
    }

    fn mark_all_read(&self, user: UserId) -> Result<(), RepositoryError> {
        let mut conn = self.conn()?;
        conn.transaction(|conn| {
            let changed = diesel::update(
                notifications::table
                    .filter(notifications::user_id.eq(user.0))
                    .filter(notifications::read.eq(false)),
            )
            .set(notifications::read.eq(true))
            .execute(conn)?;
            if changed > 0 {
                announce_count(conn, user)?;
            }
            Ok(())
        })
        .map_err(TxError::<RepositoryError>::into_error)
    }
}

/// Announces `user`'s unread count as this transaction leaves it.
fn announce_count(conn: &mut Conn, user: UserId) -> Result<(), TxError<RepositoryError>> {
    let unread_count = unread(conn, user)?;
    announce(conn, &[LiveEvent::InboxUpdated { user, unread_count }])
}
