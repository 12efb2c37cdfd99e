//! Wires the hub to the domain: the broadcast and notifier ports on one side,
//! the hub's authentication and `GetCapacityChangesSince` on the other.

use std::sync::Arc;
use std::time::Instant;

use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use request_desk_domain::notification::Notification;
use request_desk_domain::ports::{
    CapacityBroadcast, CapacityUpdate, SettingsChanged, UserNotifier,
};
use request_desk_domain::{RequestDesk, UserId};
use request_desk_infrastructure::hub::{Hub, HubBackend, HubMethodError, HubUser};

use crate::auth::Tokens;
use crate::metrics::Metrics;

/// The domain's live-event ports, delivered through the hub.
#[derive(Debug, Clone)]
pub struct HubEvents {
    pub hub: Hub,
    pub metrics: Metrics,
}

impl HubEvents {
    fn timed(&self, target: &str, send: impl FnOnce()) {
        let started = Instant::now();
        send();
        self.metrics.broadcasts.inc();
        self.metrics
            .broadcast_fanout
            .with_label_values(&[target])
            .observe(started.elapsed().as_secs_f64());
    }
}

impl CapacityBroadcast for HubEvents {
    fn capacity_updated(&self, updates: &[CapacityUpdate]) {
        for update in updates {
            self.timed("CapacityUpdated", || {
                self.hub.broadcast_capacity_updated(update.date, update)
            });
        }
    }

    fn settings_changed(&self, change: &SettingsChanged) {
        self.timed("CapacitySettingsChanged", || {
            self.hub.broadcast("CapacitySettingsChanged", change)
        });
    }
}

impl UserNotifier for HubEvents {
    fn notification_received(&self, user: UserId, notification: &Notification) {
        self.hub
            .send_to_user(user.0, "NotificationReceived", notification);
    }

    fn inbox_updated(&self, user: UserId, unread_count: u64) {
        self.hub.send_to_user(
            user.0,
            "InboxUpdated",
            &serde_json::json!({ "unreadCount": unread_count }),
        );
    }
}

/// What the hub asks of the application.
#[derive(Debug)]
pub struct Backend {
    pub tokens: Arc<Tokens>,
    pub desk: RequestDesk,
}

impl HubBackend for Backend {
    fn authenticate(&self, token: &str) -> Option<HubUser> {
        self.tokens.verify(token).map(|actor| HubUser {
            user_id: actor.id.0,
            role: actor.role.as_str().to_owned(),
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
                    tracing::warn!(error = %e, "GetCapacityChangesSince failed");
                    HubMethodError::Failed("changes are unavailable right now; try again".into())
                })?;
            serde_json::to_value(changes).map_err(|e| HubMethodError::Failed(e.to_string()))
        }
        .boxed()
    }
}
