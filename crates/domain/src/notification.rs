//! Inbox notifications: a new request tells its assignee, a status change tells its requester.

use serde::Serialize;
use time::OffsetDateTime;

use crate::ids::{NotificationId, RequestId, UserId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum NotificationKind {
    NewRequest,
    StatusChanged,
}

impl NotificationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationKind::NewRequest => "NewRequest",
            NotificationKind::StatusChanged => "StatusChanged",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "NewRequest" => Some(NotificationKind::NewRequest),
            "StatusChanged" => Some(NotificationKind::StatusChanged),
            _ => None,
        }
    }
}

/// The contract's `Notification`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    pub id: NotificationId,
    pub request_id: RequestId,
    pub kind: NotificationKind,
    pub message: String,
    pub read: bool,
    #[serde(with = "crate::serde_formats::timestamp")]
    pub created_at: OffsetDateTime,
}

/// A notification ready to be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewNotification {
    pub user: UserId,
    pub request: RequestId,
    pub kind: NotificationKind,
    pub message: String,
    pub at: OffsetDateTime,
}

/// The body of `GET /api/notifications`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Inbox {
    pub items: Vec<Notification>,
    pub unread_count: u64,
}
