//! Work requests: validated fields, priorities and the status lifecycle.
//!
//! ```text
//!   pending ──► in_progress ──► completed
//!     │  ╲           │
//!     │   ╲──────────┴──► rejected      (designer/admin)
//!     └──────────────┴──► cancelled     (owner/admin)
//! ```
//! A request holds a slot on its due date while it is pending, in progress or
//! completed; rejecting or cancelling it frees the slot.

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

use crate::ids::{HoldId, RequestId, UserId};
use crate::validation::FieldError;

/// A title: 1–200 characters after trimming.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Title(String);

pub const MAX_TITLE_CHARS: usize = 200;
pub const MAX_DESCRIPTION_CHARS: usize = 5000;

impl Title {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        crate::validation::single_line("title", raw)?;
        let title = raw.trim();
        match title.chars().count() {
            0 => Err(FieldError::new("title", "must not be empty")),
            n if n > MAX_TITLE_CHARS => Err(FieldError::new(
                "title",
                format!("must be at most {MAX_TITLE_CHARS} characters"),
            )),
            _ => Ok(Title(title.to_owned())),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A description: at most 5000 characters (may be empty).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Description(String);

impl Description {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let raw = crate::validation::multi_line("description", raw)?;
        if raw.chars().count() > MAX_DESCRIPTION_CHARS {
            Err(FieldError::new(
                "description",
                format!("must be at most {MAX_DESCRIPTION_CHARS} characters"),
            ))
        } else {
            Ok(Description(raw))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Low,
    #[default]
    Normal,
    High,
    Urgent,
}

impl Priority {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        match raw {
            "low" => Ok(Priority::Low),
            "normal" => Ok(Priority::Normal),
            "high" => Ok(Priority::High),
            "urgent" => Ok(Priority::Urgent),
            _ => Err(FieldError::new(
                "priority",
                "must be one of low, normal, high, urgent",
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Normal => "normal",
            Priority::High => "high",
            Priority::Urgent => "urgent",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RequestStatus {
    Pending,
    InProgress,
    Completed,
    Rejected,
    Cancelled,
}

impl RequestStatus {
    pub const ALL: [RequestStatus; 5] = [
        RequestStatus::Pending,
        RequestStatus::InProgress,
        RequestStatus::Completed,
        RequestStatus::Rejected,
        RequestStatus::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RequestStatus::Pending => "pending",
            RequestStatus::InProgress => "in_progress",
            RequestStatus::Completed => "completed",
            RequestStatus::Rejected => "rejected",
            RequestStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    /// Whether a request in this status takes a slot on its due date.
    pub fn holds_slot(self) -> bool {
        matches!(
            self,
            RequestStatus::Pending | RequestStatus::InProgress | RequestStatus::Completed
        )
    }

    /// Transitions a designer or admin may make with `PATCH …/status`.
    pub fn can_move_to(self, next: RequestStatus) -> bool {
        use RequestStatus::*;
        matches!(
            (self, next),
            (Pending, InProgress) | (InProgress, Completed) | (Pending | InProgress, Rejected)
        )
    }

    /// Whether the request may still be cancelled (work not finished or refused).
    pub fn can_cancel(self) -> bool {
        matches!(self, RequestStatus::Pending | RequestStatus::InProgress)
    }
}

/// The contract's `Request`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Request {
    pub id: RequestId,
    pub title: String,
    pub description: String,
    pub priority: Priority,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    #[serde(with = "crate::serde_formats::date")]
    pub due_date: Date,
    pub status: RequestStatus,
    pub requester_id: UserId,
    /// The requester's display name, so a designer's queue needs no user list.
    pub requester_name: String,
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub assignee_id: Option<UserId>,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    #[serde(with = "crate::serde_formats::timestamp")]
    pub created_at: OffsetDateTime,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    #[serde(with = "crate::serde_formats::timestamp")]
    pub updated_at: OffsetDateTime,
}

/// A request as typed, before validation (`POST` and `PUT` bodies).
#[derive(Debug, Clone)]
pub struct RequestInput {
    pub title: String,
    pub description: Option<String>,
    pub priority: Option<String>,
    pub due_date: Date,
    /// A live hold of the author on `due_date` that becomes this booking.
    pub hold_id: Option<HoldId>,
}

/// The validated, user-editable part of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestFields {
    pub title: Title,
    pub description: Description,
    pub priority: Priority,
    pub due_date: Date,
}

impl RequestFields {
    pub fn parse(input: &RequestInput) -> Result<Self, FieldError> {
        Ok(RequestFields {
            title: Title::parse(&input.title)?,
            description: Description::parse(input.description.as_deref().unwrap_or(""))?,
            priority: input
                .priority
                .as_deref()
                .map(Priority::parse)
                .transpose()?
                .unwrap_or_default(),
            due_date: input.due_date,
        })
    }
}

/// A request ready to be booked.
#[derive(Debug, Clone, PartialEq, Eq)]
///
/// Its assignee is the default designer of the settings in force when the
/// booking commits, so the repository fills it in.
pub struct NewRequest {
    pub fields: RequestFields,
    pub requester: UserId,
    /// A live hold of the requester on the due date, consumed by the booking.
    pub hold: Option<HoldId>,
    pub at: OffsetDateTime,
}

/// Which requests a listing shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestFilter {
    /// `Some` limits the listing to one requester's requests.
    pub requester: Option<UserId>,
    pub status: Option<RequestStatus>,
    pub from: Option<Date>,
    pub to: Option<Date>,
    pub page: u32,
    pub page_size: u32,
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RequestPage {
    pub items: Vec<Request>,
    pub total: u64,
    pub page: u32,
    pub page_size: u32,
}

pub const MAX_PAGE_SIZE: u32 = 100;

#[cfg(test)]
mod tests {
    use super::*;
    use RequestStatus::*;

    #[test]
    fn titles_are_trimmed_and_bounded() {
        assert_eq!(Title::parse("  Poster ").unwrap().as_str(), "Poster");
        assert_eq!(Title::parse(" \t ").unwrap_err().field, "title");
        assert!(Title::parse(&"é".repeat(200)).is_ok());
        assert!(Title::parse(&"é".repeat(201)).is_err());
    }

    #[test]
    fn descriptions_are_bounded() {
        assert!(Description::parse(&"x".repeat(5000)).is_ok());
        assert_eq!(
            Description::parse(&"x".repeat(5001)).unwrap_err().field,
            "description"
        );
    }

    #[test]
    fn priority_defaults_to_normal_and_rejects_unknown_values() {
        let input = RequestInput {
            title: "Flyer".into(),
            description: None,
            priority: None,
            due_date: time::macros::date!(2026 - 05 - 12),
            hold_id: None,
        };
        assert_eq!(
            RequestFields::parse(&input).unwrap().priority,
            Priority::Normal
        );
        let bad = RequestInput {
            priority: Some("asap".into()),
            ..input
        };
        assert_eq!(RequestFields::parse(&bad).unwrap_err().field, "priority");
    }

    #[test]
    fn only_the_contract_transitions_are_allowed() {
        let allowed = [
            (Pending, InProgress),
            (InProgress, Completed),
            (Pending, Rejected),
            (InProgress, Rejected),
        ];
        for from in RequestStatus::ALL {
            for to in RequestStatus::ALL {
                assert_eq!(
                    from.can_move_to(to),
                    allowed.contains(&(from, to)),
                    "{from:?}->{to:?}"
                );
            }
        }
    }

    #[test]
    fn cancelled_and_rejected_free_their_slot() {
        assert!(Pending.holds_slot() && InProgress.holds_slot() && Completed.holds_slot());
        assert!(!Cancelled.holds_slot() && !Rejected.holds_slot());
    }

    #[test]
    fn only_open_work_can_be_cancelled() {
        assert!(Pending.can_cancel() && InProgress.can_cancel());
        assert!(!Completed.can_cancel() && !Rejected.can_cancel() && !Cancelled.can_cancel());
    }
}
