//! The change stream's payload: its own wire format, with a format number.
//!
//! A `NOTIFY` on the change channel carries one committed change's events as
//! an envelope `{"format": 1, "events": [...]}`. The wire types below are
//! this adapter's, built from the domain's [`LiveEvent`]s in one place
//! ([`encode`]) and turned back in one place ([`decode`]); a change of a
//! domain type does not silently change the wire, and the pinned payload in
//! the tests shows any change of the wire in review.
//!
//! Every instance reads what any instance of the fleet writes, so a reader
//! must never *drop* what it cannot read: [`decode`] says why it could not
//! ([`Unreadable`]), and the relay then catches up from the feed (the
//! database is the truth), counts it and logs it once. Rolling out a new
//! format takes two releases: the first reads the new format and still
//! writes the old one, the second writes the new one (`docs/operations.md`).
//!
//! Format history:
//! * 0 — a bare JSON array of events (releases before the envelope); read, never written.
//! * 1 — the envelope; the events have the same shape as in format 0.

use request_desk_domain::capacity::{ClosedReason, Day, DayStatus};
use request_desk_domain::live::LiveEvent;
use request_desk_domain::notification::{Notification, NotificationKind, NotificationParams};
use request_desk_domain::request::RequestStatus;
use request_desk_domain::{NotificationId, RepositoryError, RequestId, UserId};
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

/// The format this build writes.
pub const FORMAT: u32 = 1;

/// PostgreSQL refuses NOTIFY payloads of 8000 bytes or more.
pub const MAX_PAYLOAD_BYTES: usize = 7999;

/// Why a payload on the channel could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Unreadable {
    /// Written by a newer build, in a format this one does not know.
    NewerFormat(u32),
    /// Not a payload of any format this build knows (corrupt, or foreign).
    Undecodable,
}

impl Unreadable {
    /// The metric label.
    pub fn reason(self) -> &'static str {
        match self {
            Unreadable::NewerFormat(_) => "newer_format",
            Unreadable::Undecodable => "undecodable",
        }
    }
}

#[derive(Serialize)]
struct Envelope<'a> {
    format: u32,
    events: &'a [WireEvent],
}

#[derive(Deserialize)]
struct EnvelopeIn {
    format: u32,
    #[serde(default)]
    events: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
enum WireEvent {
    #[serde(rename_all = "camelCase")]
    DayChanged {
        day: WireDay,
        #[serde(with = "request_desk_domain::serde_formats::timestamp")]
        at: OffsetDateTime,
    },
    #[serde(rename_all = "camelCase")]
    SettingsChanged {
        version: i64,
        #[serde(with = "request_desk_domain::serde_formats::timestamp")]
        at: OffsetDateTime,
    },
    #[serde(rename_all = "camelCase")]
    NotificationReceived {
        user: i64,
        notification: WireNotification,
        unread_count: u64,
    },
    #[serde(rename_all = "camelCase")]
    InboxUpdated { user: i64, unread_count: u64 },
    #[serde(rename_all = "camelCase")]
    UserChanged { user: i64, disabled: bool },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireDay {
    #[serde(with = "request_desk_domain::serde_formats::date")]
    date: Date,
    capacity: u32,
    used: u32,
    held: u32,
    remaining: u32,
    percent: u32,
    status: DayStatus,
    reason: Option<ClosedReason>,
    note: Option<String>,
    version: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireNotification {
    id: i64,
    request_id: i64,
    kind: NotificationKind,
    params: WireParams,
    message: String,
    read: bool,
    #[serde(with = "request_desk_domain::serde_formats::timestamp")]
    created_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireParams {
    title: String,
    #[serde(with = "request_desk_domain::serde_formats::date")]
    due_date: Date,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    status: Option<RequestStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

impl From<&LiveEvent> for WireEvent {
    fn from(event: &LiveEvent) -> Self {
        match event {
            LiveEvent::DayChanged { day, at } => WireEvent::DayChanged {
                day: WireDay {
                    date: day.date,
                    capacity: day.capacity,
                    used: day.used,
                    held: day.held,
                    remaining: day.remaining,
                    percent: day.percent,
                    status: day.status,
                    reason: day.reason,
                    note: day.note.clone(),
                    version: day.version,
                },
                at: *at,
            },
            LiveEvent::SettingsChanged { version, at } => WireEvent::SettingsChanged {
                version: *version,
                at: *at,
            },
            LiveEvent::NotificationReceived {
                user,
                notification: n,
                unread_count,
            } => WireEvent::NotificationReceived {
                user: user.0,
                notification: WireNotification {
                    id: n.id.0,
                    request_id: n.request_id.0,
                    kind: n.kind,
                    params: WireParams {
                        title: n.params.title.clone(),
                        due_date: n.params.due_date,
                        status: n.params.status,
                        reason: n.params.reason.clone(),
                    },
                    message: n.message.clone(),
                    read: n.read,
                    created_at: n.created_at,
                },
                unread_count: *unread_count,
            },
            LiveEvent::InboxUpdated { user, unread_count } => WireEvent::InboxUpdated {
                user: user.0,
                unread_count: *unread_count,
            },
            LiveEvent::UserChanged { user, disabled } => WireEvent::UserChanged {
                user: user.0,
                disabled: *disabled,
            },
        }
    }
}

impl From<WireEvent> for LiveEvent {
    fn from(event: WireEvent) -> Self {
        match event {
            WireEvent::DayChanged { day, at } => LiveEvent::DayChanged {
                day: Day {
                    date: day.date,
                    capacity: day.capacity,
                    used: day.used,
                    held: day.held,
                    remaining: day.remaining,
                    percent: day.percent,
                    status: day.status,
                    reason: day.reason,
                    note: day.note,
                    version: day.version,
                },
                at,
            },
            WireEvent::SettingsChanged { version, at } => {
                LiveEvent::SettingsChanged { version, at }
            }
            WireEvent::NotificationReceived {
                user,
                notification: n,
                unread_count,
            } => LiveEvent::NotificationReceived {
                user: UserId(user),
                notification: Notification {
                    id: NotificationId(n.id),
                    request_id: RequestId(n.request_id),
                    kind: n.kind,
                    params: NotificationParams {
                        title: n.params.title,
                        due_date: n.params.due_date,
                        status: n.params.status,
                        reason: n.params.reason,
                    },
                    message: n.message,
                    read: n.read,
                    created_at: n.created_at,
                },
                unread_count,
            },
            WireEvent::InboxUpdated { user, unread_count } => LiveEvent::InboxUpdated {
                user: UserId(user),
                unread_count,
            },
            WireEvent::UserChanged { user, disabled } => LiveEvent::UserChanged {
                user: UserId(user),
                disabled,
            },
        }
    }
}

/// The payload of a change, in [`FORMAT`].
///
/// # Errors
/// A payload PostgreSQL would refuse. Every change the domain allows stays
/// far below the limit (see the tests); the error keeps an impossible change
/// from committing without its announcement.
pub fn encode(events: &[LiveEvent]) -> Result<String, RepositoryError> {
    let wire: Vec<WireEvent> = events.iter().map(WireEvent::from).collect();
    let payload = serde_json::to_string(&Envelope {
        format: FORMAT,
        events: &wire,
    })
    .map_err(|e| RepositoryError::Unexpected(Box::new(e)))?;
    if payload.len() > MAX_PAYLOAD_BYTES {
        return Err(RepositoryError::unexpected(format!(
            "a change's announcement of {} bytes exceeds PostgreSQL's NOTIFY limit",
            payload.len()
        )));
    }
    Ok(payload)
}

/// Reads a payload of format 0 or 1 back into the change's events.
///
/// # Errors
/// [`Unreadable`]: a newer format, or nothing this build can read.
pub fn decode(payload: &str) -> Result<Vec<LiveEvent>, Unreadable> {
    let events = if payload.trim_start().starts_with('[') {
        serde_json::from_str::<Vec<WireEvent>>(payload).map_err(|_| Unreadable::Undecodable)?
    } else {
        let envelope: EnvelopeIn =
            serde_json::from_str(payload).map_err(|_| Unreadable::Undecodable)?;
        if envelope.format > FORMAT {
            return Err(Unreadable::NewerFormat(envelope.format));
        }
        if envelope.format != FORMAT {
            return Err(Unreadable::Undecodable);
        }
        serde_json::from_value::<Vec<WireEvent>>(envelope.events)
            .map_err(|_| Unreadable::Undecodable)?
    };
    Ok(events.into_iter().map(LiveEvent::from).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use request_desk_domain::capacity::{Capacity, DayRecord};
    use request_desk_domain::settings::{BookingCalendar, CapacitySettings};
    use time::macros::{date, datetime};

    const AT: OffsetDateTime = datetime!(2026-05-11 10:00:00.5 UTC);

    fn day(date: Date, note: Option<String>) -> Day {
        let record = DayRecord {
            capacity_override: Some(Capacity::new(100_000).unwrap()),
            note,
            used: 99_999,
            held: 1,
            version: i64::MAX,
            ..DayRecord::untouched(date)
        };
        Day::from_record(
            &record,
            &BookingCalendar::at(&CapacitySettings::default(), AT),
        )
    }

    fn notification(title: String, reason: String) -> Notification {
        Notification {
            id: NotificationId(i64::MAX),
            request_id: RequestId(i64::MAX),
            kind: NotificationKind::StatusChanged,
            params: NotificationParams {
                title: title.clone(),
                due_date: date!(2026 - 05 - 12),
                status: Some(RequestStatus::InProgress),
                reason: Some(reason.clone()),
            },
            message: format!("Your request “{title}” is now in progress: {reason}"),
            read: false,
            created_at: AT,
        }
    }

    fn every_kind() -> Vec<LiveEvent> {
        vec![
            LiveEvent::DayChanged {
                day: day(date!(2026 - 05 - 12), Some("Offsite".into())),
                at: AT,
            },
            LiveEvent::SettingsChanged { version: 7, at: AT },
            LiveEvent::NotificationReceived {
                user: UserId(3),
                notification: notification("Poster".into(), "soon".into()),
                unread_count: 2,
            },
            LiveEvent::InboxUpdated {
                user: UserId(3),
                unread_count: 1,
            },
            LiveEvent::UserChanged {
                user: UserId(4),
                disabled: true,
            },
        ]
    }

    #[test]
    fn events_round_trip_through_a_payload() {
        let events = every_kind();
        assert_eq!(decode(&encode(&events).unwrap()), Ok(events));
    }

    /// The wire, pinned: a change here is a format change (see the module docs).
    #[test]
    fn the_format_1_payload_is_pinned() {
        let expected = concat!(
            r#"{"format":1,"events":["#,
            r#"{"kind":"dayChanged","day":{"date":"2026-05-12","capacity":100000,"used":99999,"held":1,"remaining":0,"percent":100,"status":"full","reason":null,"note":"Offsite","version":9223372036854775807},"at":"2026-05-11T10:00:00.500Z"},"#,
            r#"{"kind":"settingsChanged","version":7,"at":"2026-05-11T10:00:00.500Z"},"#,
            r#"{"kind":"notificationReceived","user":3,"notification":{"id":9223372036854775807,"requestId":9223372036854775807,"kind":"StatusChanged","params":{"title":"Poster","dueDate":"2026-05-12","status":"in_progress","reason":"soon"},"message":"Your request “Poster” is now in progress: soon","read":false,"createdAt":"2026-05-11T10:00:00.500Z"},"unreadCount":2},"#,
            r#"{"kind":"inboxUpdated","user":3,"unreadCount":1},"#,
            r#"{"kind":"userChanged","user":4,"disabled":true}"#,
            r#"]}"#
        );
        assert_eq!(encode(&every_kind()).unwrap(), expected);
    }

    #[test]
    fn format_0_payloads_of_older_builds_are_read() {
        let legacy = r#"[{"kind":"inboxUpdated","user":3,"unreadCount":1}]"#;
        assert_eq!(
            decode(legacy),
            Ok(vec![LiveEvent::InboxUpdated {
                user: UserId(3),
                unread_count: 1
            }])
        );
    }

    #[test]
    fn what_cannot_be_read_says_why() {
        assert_eq!(
            decode(r#"{"format":2,"events":[{"kind":"somethingNew"}]}"#),
            Err(Unreadable::NewerFormat(2))
        );
        assert_eq!(decode("d:42@7"), Err(Unreadable::Undecodable));
        assert_eq!(
            decode(r#"{"format":1,"events":[{"kind":"somethingNew"}]}"#),
            Err(Unreadable::Undecodable)
        );
        assert_eq!(
            decode(r#"[{"kind":"dayChanged"}]"#),
            Err(Unreadable::Undecodable)
        );
    }

    #[test]
    fn the_largest_changes_fit_in_one_notify() {
        // A move touches two dates, each with the longest override note (500
        // characters of 4 bytes each) and the largest numbers.
        let note = "𝄞".repeat(500);
        let events = vec![
            LiveEvent::DayChanged {
                day: day(date!(2026 - 05 - 12), Some(note.clone())),
                at: AT,
            },
            LiveEvent::DayChanged {
                day: day(date!(2026 - 05 - 13), Some(note)),
                at: AT,
            },
        ];
        assert!(encode(&events).is_ok());
        // A notification with the longest title and reason, written twice (params and message).
        let events = vec![
            LiveEvent::DayChanged {
                day: day(date!(2026 - 05 - 12), None),
                at: AT,
            },
            LiveEvent::NotificationReceived {
                user: UserId(i64::MAX),
                notification: notification("𝄞".repeat(200), "𝄞".repeat(500)),
                unread_count: u64::MAX,
            },
        ];
        assert!(encode(&events).is_ok());
    }
}
