//! [`NotificationRepository`] on PostgreSQL.

use diesel::prelude::*;
use request_desk_domain::notification::{Inbox, NewNotification, Notification};
use request_desk_domain::ports::NotificationRepository;
use request_desk_domain::{NotificationId, RepositoryError, UserId};

use super::changes::{notify, ChangeNotice};
use super::errors::db_error;
use super::rows::NotificationRow;
use super::schema::notifications;
use super::{Conn, PgStore};

/// The newest notifications an inbox lists.
const INBOX_LIMIT: i64 = 200;

fn unread(conn: &mut Conn, user: UserId) -> QueryResult<i64> {
    notifications::table
        .filter(notifications::user_id.eq(user.0))
        .filter(notifications::read.eq(false))
        .count()
        .get_result(conn)
}

/// Tells every instance that a user's unread count changed.
fn announce_inbox(conn: &mut Conn, user: UserId, origin: u32) -> Result<(), RepositoryError> {
    notify(conn, ChangeNotice::Inbox { user_id: user.0 }, origin).map_err(db_error)
}

impl NotificationRepository for PgStore {
    fn create(&self, n: NewNotification) -> Result<(Notification, u64), RepositoryError> {
        let mut conn = self.conn()?;
        let (row, unread) = conn
            .transaction(|conn| {
                let row = diesel::insert_into(notifications::table)
                    .values((
                        notifications::user_id.eq(n.user.0),
                        notifications::request_id.eq(n.request.0),
                        notifications::kind.eq(n.kind.as_str()),
                        notifications::message.eq(&n.message),
                        notifications::created_at.eq(n.at),
                    ))
                    .returning(NotificationRow::as_returning())
                    .get_result(conn)?;
                notify(
                    conn,
                    ChangeNotice::Notification {
                        user_id: n.user.0,
                        notification_id: row.id,
                    },
                    self.origin,
                )?;
                let unread = unread(conn, n.user)?;
                Ok::<_, diesel::result::Error>((row, unread))
            })
            .map_err(db_error)?;
        Ok((row.into_notification()?, unread as u64))
    }

    fn find(
        &self,
        user: UserId,
        id: NotificationId,
    ) -> Result<Option<Notification>, RepositoryError> {
        let mut conn = self.conn()?;
        notifications::table
            .filter(notifications::id.eq(id.0))
            .filter(notifications::user_id.eq(user.0))
            .select(NotificationRow::as_select())
            .first(&mut conn)
            .optional()
            .map_err(db_error)?
            .map(NotificationRow::into_notification)
            .transpose()
    }

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
        let unread_count = unread(&mut conn, user).map_err(db_error)? as u64;
        Ok(Inbox {
            items,
            unread_count,
        })
    }

    fn mark_read(&self, user: UserId, id: NotificationId) -> Result<bool, RepositoryError> {
        let mut conn = self.conn()?;
        let found = diesel::update(
            notifications::table
                .filter(notifications::id.eq(id.0))
                .filter(notifications::user_id.eq(user.0)),
        )
        .set(notifications::read.eq(true))
        .execute(&mut conn)
        .map_err(db_error)?;
        if found == 1 {
            announce_inbox(&mut conn, user, self.origin)?;
        }
        Ok(found == 1)
    }

    fn mark_all_read(&self, user: UserId) -> Result<(), RepositoryError> {
        let mut conn = self.conn()?;
        diesel::update(
            notifications::table
                .filter(notifications::user_id.eq(user.0))
                .filter(notifications::read.eq(false)),
        )
        .set(notifications::read.eq(true))
        .execute(&mut conn)
        .map_err(db_error)?;
        announce_inbox(&mut conn, user, self.origin)
    }

    fn unread_count(&self, user: UserId) -> Result<u64, RepositoryError> {
        let mut conn = self.conn()?;
        Ok(unread(&mut conn, user).map_err(db_error)? as u64)
    }
}
