//! The inbox: listing and marking notifications read.
//!
//! Notifications are stored by the transaction of the change they report
//! (see [`crate::notification`]); marking them read announces the new unread
//! count from its own transaction.

use crate::error::RepositoryError;
use crate::ids::NotificationId;
use crate::notification::Inbox;
use crate::permissions::Actor;
use crate::RequestDesk;

#[derive(Debug, thiserror::Error)]
pub enum NotificationError {
    #[error("notification not found")]
    NotFound,
    #[error(transparent)]
    Repository(#[from] RepositoryError),
}

impl RequestDesk {
    pub fn inbox(&self, actor: &Actor, unread_only: bool) -> Result<Inbox, NotificationError> {
        Ok(self.ports.notifications.inbox(actor.id, unread_only)?)
    }

    /// Marks one of the actor's own notifications read (someone else's reads as not found).
    pub fn mark_read(&self, actor: &Actor, id: NotificationId) -> Result<(), NotificationError> {
        if !self.ports.notifications.mark_read(actor.id, id)? {
            return Err(NotificationError::NotFound);
        }
        Ok(())
    }

    pub fn mark_all_read(&self, actor: &Actor) -> Result<(), NotificationError> {
        Ok(self.ports.notifications.mark_all_read(actor.id)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::test_support::Mocks;
    use crate::user::Role;
    use crate::UserId;

    #[test]
    fn someone_elses_notification_is_not_found() {
        let mut m = Mocks::default();
        m.notifications
            .expect_mark_read()
            .returning(|user, _| Ok(user == UserId(3)));
        let desk = m.build();
        let bob = Actor {
            id: UserId(4),
            role: Role::Requester,
        };
        assert!(matches!(
            desk.mark_read(&bob, NotificationId(1)),
            Err(NotificationError::NotFound)
        ));
        let alice = Actor {
            id: UserId(3),
            role: Role::Requester,
        };
        desk.mark_read(&alice, NotificationId(1)).unwrap();
    }
}
