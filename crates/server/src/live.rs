//! What the hub asks of the application: who a token belongs to, and
//! `GetCapacityChangesSince`. Delivery of live events is not here: every
//! instance delivers committed changes from the change stream
//! (`request_desk_infrastructure::live`), wired in [`crate::app`].

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use request_desk_domain::live::LiveEvent;
use request_desk_domain::RequestDesk;
use request_desk_infrastructure::change_payload::Unreadable;
use request_desk_infrastructure::hub::{HubBackend, HubMethodError, HubUser};
use request_desk_infrastructure::live::hub::FanoutObserver;
use request_desk_infrastructure::live::{CatchUpReason, StreamObserver};
use time::OffsetDateTime;

use crate::auth::Tokens;
use crate::metrics::Metrics;

/// What the hub asks of the application.
#[derive(Debug)]
pub struct Backend {
    pub tokens: Arc<Tokens>,
    pub desk: RequestDesk,
}

impl HubBackend for Backend {
    fn authenticate(&self, token: &str) -> Option<HubUser> {
        self.authenticate_until(token).map(|(user, _)| user)
    }

    /// The connection is closed (with `allowReconnect: true`) when its token expires.
    fn authenticate_until(&self, token: &str) -> Option<(HubUser, Option<SystemTime>)> {
        self.tokens.verify_until(token).map(|(actor, expires)| {
            (
                HubUser {
                    user_id: actor.id.0,
                    role: actor.role.as_str().to_owned(),
                },
                Some(SystemTime::from(expires)),
            )
        })
    }

    fn capacity_changes_since(
        &self,
        version: i64,
    ) -> BoxFuture<'static, Result<serde_json::Value, HubMethodError>> {
        let desk = self.desk.clone();
        async move {
            if version < 0 {
                return Err(HubMethodError::BadArguments(
                    "version must be a non-negative integer".into(),
                ));
            }
            let changes = actix_web::web::block(move || desk.changes_since(version))
                .await
                .map_err(|e| HubMethodError::Failed(e.to_string()))?
                .map_err(|e| {
                    tracing::warn!(error = %request_desk_domain::error::chain(&e), "GetCapacityChangesSince failed");
                    HubMethodError::Failed("changes are unavailable right now; try again".into())
                })?;
            serde_json::to_value(changes).map_err(|e| HubMethodError::Failed(e.to_string()))
        }
        .boxed()
    }
}

impl StreamObserver for Metrics {
    fn connected(&self, connected: bool) {
        self.stream.connected.set(i64::from(connected));
    }

    fn caught_up(&self, reason: CatchUpReason) {
        self.stream
            .catch_ups
            .with_label_values(&[reason.as_str()])
            .inc();
    }

    fn unreadable(&self, why: Unreadable) {
        self.stream
            .undecodable
            .with_label_values(&[why.reason()])
            .inc();
    }

    fn delivered(&self, events: &[LiveEvent], now: OffsetDateTime) {
        self.stream.delivered.inc_by(events.len() as u64);
        for event in events {
            if let LiveEvent::DayChanged { at, .. } | LiveEvent::SettingsChanged { at, .. } = event
            {
                self.stream
                    .delivery
                    .observe((now - *at).as_seconds_f64().max(0.0));
            }
        }
    }

    fn behind(&self, seconds: f64) {
        self.stream.behind_seconds.set(seconds);
    }
}

impl FanoutObserver for Metrics {
    fn fanned_out(&self, target: &'static str, took: Duration) {
        self.broadcasts.inc();
        self.broadcast_fanout
            .with_label_values(&[target])
            .observe(took.as_secs_f64());
    }
}
