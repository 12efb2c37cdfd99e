//! Live events: what a committed change tells everyone watching.
//!
//! A write use case does not publish anything itself. Its repository method
//! builds the events from what its own transaction wrote and read (the days'
//! final numbers under the settings in force, the stored notification) and
//! queues them on the change stream *inside* that transaction, so an event
//! exists exactly when its change committed and nothing after COMMIT can
//! fail or lose it. Every instance — the one that made the change included —
//! reads the committed stream, in commit order, and hands each change's
//! events to its [`LiveEvents`] sink, which delivers them to its viewers.
//!
//! ```text
//!  use case ─► repository tx: decide, write, stamp version, queue events ─► COMMIT
//!                                                                             │
//!  every instance: change stream (commit order) ─► LiveEvents::publish ─► its viewers
//! ```

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::capacity::Day;
use crate::ids::UserId;
use crate::notification::Notification;

/// One thing a committed change tells viewers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum LiveEvent {
    /// A date's numbers changed; `day` is exactly what the database holds at `day.version`.
    #[serde(rename_all = "camelCase")]
    DayChanged {
        day: Day,
        /// When the change was made.
        #[serde(with = "crate::serde_formats::timestamp")]
        at: OffsetDateTime,
    },
    /// The settings changed: every day's numbers may differ, viewers refetch.
    #[serde(rename_all = "camelCase")]
    SettingsChanged {
        version: i64,
        #[serde(with = "crate::serde_formats::timestamp")]
        at: OffsetDateTime,
    },
    /// A notification was stored for `user`; `unread_count` includes it.
    #[serde(rename_all = "camelCase")]
    NotificationReceived {
        user: UserId,
        notification: Notification,
        unread_count: u64,
    },
    /// `user`'s unread count changed (read, read-all).
    #[serde(rename_all = "camelCase")]
    InboxUpdated { user: UserId, unread_count: u64 },
    /// An admin changed `user`'s role or disabled/enabled them: every instance
    /// drops what it cached about the user, and closes their hub connections
    /// when `disabled`.
    #[serde(rename_all = "camelCase")]
    UserChanged { user: UserId, disabled: bool },
}

impl LiveEvent {
    /// The global change number the event carries, for those that have one.
    pub fn version(&self) -> Option<i64> {
        match self {
            LiveEvent::DayChanged { day, .. } => Some(day.version),
            LiveEvent::SettingsChanged { version, .. } => Some(*version),
            LiveEvent::NotificationReceived { .. }
            | LiveEvent::InboxUpdated { .. }
            | LiveEvent::UserChanged { .. } => None,
        }
    }
}

/// Delivers committed events to this instance's viewers. Called from the
/// change stream, in commit order; MUST NOT block on slow receivers.
#[cfg_attr(feature = "mock", mockall::automock)]
pub trait LiveEvents: Send + Sync + 'static {
    fn publish(&self, events: &[LiveEvent]);
}
