//! The inbox: listing and marking notifications read.

use crate::error::RepositoryError;
use crate::ids::NotificationId;
use crate::notification::{Inbox, Notification};
use crate::permissions::Actor;
use crate::RequestDesk;
use crate::UserId;

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
        self.announce_unread(actor)?;
        Ok(())
    }

    pub fn mark_all_read(&self, actor: &Actor) -> Result<(), NotificationError> {
        self.ports.notifications.mark_all_read(actor.id)?;
        self.announce_unread(actor)?;
        Ok(())
    }

    /// A stored notification with its owner's unread count, to deliver it live
    /// (used when another instance stored it).
    pub fn notification_for_delivery(
        &self,
        user: UserId,
        id: NotificationId,
    ) -> Result<Option<(Notification, u64)>, NotificationError> {
        let Some(notification) = self.ports.notifications.find(user, id)? else {
            return Ok(None);
        };
        Ok(Some((
            notification,
            self.ports.notifications.unread_count(user)?,
        )))
    }

    pub fn unread_count(&self, user: UserId) -> Result<u64, NotificationError> {
        Ok(self.ports.notifications.unread_count(user)?)
    }

    fn announce_unread(&self, actor: &Actor) -> Result<(), RepositoryError> {
        let unread = self.ports.notifications.unread_count(actor.id)?;
        self.ports.notifier.inbox_updated(actor.id, unread);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::test_support::Mocks;
    use crate::user::Role;

    #[test]
    fn someone_elses_notification_is_not_found() {
        let mut m = Mocks::default();
        m.notifications
            .expect_mark_read()
            .returning(|user, _| Ok(user == UserId(3)));
        m.notifications.expect_unread_count().returning(|_| Ok(0));
        m.notifier.expect_inbox_updated().times(1).return_const(());
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
