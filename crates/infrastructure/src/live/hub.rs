//! Request Desk's events on the hub: target names and wire payloads.
//!
//! The one place that knows how a [`LiveEvent`] looks to a SignalR client.
//! Adding an event kind: see "Live events" in `docs/architecture.md` (the
//! `LiveEvent` variant, a target here, its payload with its OpenAPI schema,
//! one arm in [`HubDelivery::publish`], one handler in the client).

use std::sync::Arc;
use std::time::{Duration, Instant};

use request_desk_domain::capacity::{ClosedReason, Day, DayStatus};
use request_desk_domain::live::{LiveEvent, LiveEvents};
use serde::Serialize;
use time::{Date, OffsetDateTime};

use crate::hub::Hub;

/// The server → client targets of the contract.
pub mod target {
    pub const CAPACITY_UPDATED: &str = "CapacityUpdated";
    pub const CAPACITY_SETTINGS_CHANGED: &str = "CapacitySettingsChanged";
    pub const NOTIFICATION_RECEIVED: &str = "NotificationReceived";
    pub const INBOX_UPDATED: &str = "InboxUpdated";
}

/// `CapacityUpdated`'s argument.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CapacityUpdated<'a> {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    #[serde(with = "request_desk_domain::serde_formats::date")]
    pub date: Date,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    #[serde(with = "request_desk_domain::serde_formats::timestamp")]
    pub timestamp: OffsetDateTime,
    pub version: i64,
    pub capacity: u32,
    pub used: u32,
    pub held: u32,
    pub remaining: u32,
    pub percent: u32,
    pub status: DayStatus,
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub reason: Option<ClosedReason>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, required = true))]
    pub note: Option<&'a str>,
}

impl<'a> CapacityUpdated<'a> {
    pub fn new(day: &'a Day, timestamp: OffsetDateTime) -> Self {
        CapacityUpdated {
            date: day.date,
            timestamp,
            version: day.version,
            capacity: day.capacity,
            used: day.used,
            held: day.held,
            remaining: day.remaining,
            percent: day.percent,
            status: day.status,
            reason: day.reason,
            note: day.note.as_deref(),
        }
    }
}

/// `CapacitySettingsChanged`'s argument.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CapacitySettingsChanged {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    #[serde(with = "request_desk_domain::serde_formats::timestamp")]
    pub timestamp: OffsetDateTime,
    pub version: i64,
}

/// `InboxUpdated`'s argument.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct InboxUpdated {
    pub unread_count: u64,
}

/// Observes each fan-out (the server's metrics).
pub trait FanoutObserver: Send + Sync + 'static {
    fn fanned_out(&self, target: &'static str, took: Duration);
}

/// Delivers live events to this instance's hub connections.
#[derive(Clone)]
pub struct HubDelivery {
    hub: Hub,
    observer: Arc<dyn FanoutObserver>,
}

impl std::fmt::Debug for HubDelivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HubDelivery").finish_non_exhaustive()
    }
}

impl HubDelivery {
    pub fn new(hub: Hub, observer: Arc<dyn FanoutObserver>) -> Self {
        HubDelivery { hub, observer }
    }

    fn timed(&self, target: &'static str, send: impl FnOnce(&Hub)) {
        let started = Instant::now();
        send(&self.hub);
        self.observer.fanned_out(target, started.elapsed());
    }
}

impl LiveEvents for HubDelivery {
    fn publish(&self, events: &[LiveEvent]) {
        for event in events {
            match event {
                LiveEvent::DayChanged { day, at } => self.timed(target::CAPACITY_UPDATED, |hub| {
                    hub.broadcast_capacity_updated(day.date, &CapacityUpdated::new(day, *at))
                }),
                LiveEvent::SettingsChanged { version, at } => {
                    self.timed(target::CAPACITY_SETTINGS_CHANGED, |hub| {
                        hub.broadcast(
                            target::CAPACITY_SETTINGS_CHANGED,
                            &CapacitySettingsChanged {
                                timestamp: *at,
                                version: *version,
                            },
                        )
                    })
                }
                LiveEvent::NotificationReceived {
                    user,
                    notification,
                    unread_count,
                } => {
                    self.hub
                        .send_to_user(user.0, target::NOTIFICATION_RECEIVED, notification);
                    self.hub.send_to_user(
                        user.0,
                        target::INBOX_UPDATED,
                        &InboxUpdated {
                            unread_count: *unread_count,
                        },
                    );
                }
                LiveEvent::InboxUpdated { user, unread_count } => self.hub.send_to_user(
                    user.0,
                    target::INBOX_UPDATED,
                    &InboxUpdated {
                        unread_count: *unread_count,
                    },
                ),
                // A disabled user's open connections close at once, on every
                // instance; the client is told to sign in again.
                LiveEvent::UserChanged { user, disabled } => {
                    if *disabled {
                        self.hub.close_user(user.0, "your account was disabled");
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use request_desk_domain::capacity::DayRecord;
    use request_desk_domain::settings::{BookingCalendar, CapacitySettings};
    use time::macros::{date, datetime};

    #[test]
    fn capacity_updated_carries_every_field_of_the_contract() {
        let at = datetime!(2026-05-11 10:00:00.25 UTC);
        let record = DayRecord {
            used: 3,
            held: 1,
            note: Some("Half day".into()),
            version: 41,
            ..DayRecord::untouched(date!(2026 - 05 - 12))
        };
        let day = Day::from_record(
            &record,
            &BookingCalendar::at(&CapacitySettings::default(), at),
        );
        let json = serde_json::to_value(CapacityUpdated::new(&day, at)).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "date": "2026-05-12", "timestamp": "2026-05-11T10:00:00.250Z", "version": 41,
                "capacity": 10, "used": 3, "held": 1, "remaining": 6, "percent": 40,
                "status": "available", "reason": null, "note": "Half day"
            })
        );
    }
}
