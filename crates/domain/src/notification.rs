//! Inbox notifications: a new request tells its assignee, a status change tells its requester.
//!
//! A notification is stored by the same transaction as the change it reports,
//! so it exists exactly when the change committed. `params` carries what a
//! client needs to word it in its own language; `message` is the English
//! rendering.

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

use crate::ids::{NotificationId, RequestId, UserId};
use crate::request::{Request, RequestStatus};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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

/// What a client needs to word a notification in its own language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct NotificationParams {
    pub title: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    #[serde(with = "crate::serde_formats::date")]
    pub due_date: Date,
    /// The new status (`StatusChanged`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<RequestStatus>,
    /// Why, when the person who changed it said so (e.g. a rejection).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The contract's `Notification`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    pub id: NotificationId,
    pub request_id: RequestId,
    pub kind: NotificationKind,
    pub params: NotificationParams,
    pub message: String,
    pub read: bool,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    #[serde(with = "crate::serde_formats::timestamp")]
    pub created_at: OffsetDateTime,
}

/// A notification ready to be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewNotification {
    pub user: UserId,
    pub request: RequestId,
    pub kind: NotificationKind,
    pub params: NotificationParams,
    pub message: String,
    pub at: OffsetDateTime,
}

impl NewNotification {
    /// Tells the assignee of a new request, if it has one.
    pub fn new_request(request: &Request, at: OffsetDateTime) -> Option<NewNotification> {
        let assignee = request.assignee_id?;
        Some(NewNotification {
            user: assignee,
            request: request.id,
            kind: NotificationKind::NewRequest,
            params: NotificationParams {
                title: request.title.clone(),
                due_date: request.due_date,
                status: None,
                reason: None,
            },
            message: format!(
                "New request “{}” due {}",
                request.title,
                crate::serde_formats::format_date(request.due_date)
            ),
            at,
        })
    }

    /// Tells a request's requester that its status changed.
    pub fn status_changed(
        request: &Request,
        reason: Option<String>,
        at: OffsetDateTime,
    ) -> NewNotification {
        let mut message = format!(
            "Your request “{}” is now {}",
            request.title,
            request.status.as_str().replace('_', " ")
        );
        if let Some(reason) = &reason {
            message.push_str(": ");
            message.push_str(reason);
        }
        NewNotification {
            user: request.requester_id,
            request: request.id,
            kind: NotificationKind::StatusChanged,
            params: NotificationParams {
                title: request.title.clone(),
                due_date: request.due_date,
                status: Some(request.status),
                reason,
            },
            message,
            at,
        }
    }
}

/// The body of `GET /api/notifications`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Inbox {
    pub items: Vec<Notification>,
    pub unread_count: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::Priority;
    use time::macros::{date, datetime};

    fn request(status: RequestStatus, assignee: Option<UserId>) -> Request {
        let at = datetime!(2026-05-11 10:00 UTC);
        Request {
            id: RequestId(7),
            title: "Poster".into(),
            description: String::new(),
            priority: Priority::High,
            due_date: date!(2026 - 05 - 20),
            status,
            requester_id: UserId(3),
            requester_name: "Alice".into(),
            assignee_id: assignee,
            created_at: at,
            updated_at: at,
        }
    }

    #[test]
    fn a_new_request_notifies_its_assignee_with_params_to_word_it() {
        let at = datetime!(2026-05-11 10:00 UTC);
        assert_eq!(
            NewNotification::new_request(&request(RequestStatus::Pending, None), at),
            None
        );
        let n = NewNotification::new_request(&request(RequestStatus::Pending, Some(UserId(2))), at)
            .unwrap();
        assert_eq!(n.user, UserId(2));
        assert_eq!(n.message, "New request “Poster” due 2026-05-20");
        assert_eq!(n.params.title, "Poster");
        assert_eq!(n.params.status, None);
    }

    #[test]
    fn a_status_change_notifies_the_requester_with_the_status_and_reason() {
        let at = datetime!(2026-05-11 10:00 UTC);
        let n = NewNotification::status_changed(
            &request(RequestStatus::Rejected, Some(UserId(2))),
            Some("out of scope".into()),
            at,
        );
        assert_eq!(n.user, UserId(3));
        assert_eq!(n.params.status, Some(RequestStatus::Rejected));
        assert_eq!(n.params.reason.as_deref(), Some("out of scope"));
        assert_eq!(
            n.message,
            "Your request “Poster” is now rejected: out of scope"
        );
        let n =
            NewNotification::status_changed(&request(RequestStatus::InProgress, None), None, at);
        assert_eq!(n.message, "Your request “Poster” is now in progress");
    }
}
