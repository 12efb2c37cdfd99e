//! Wires the hub to the domain: the broadcast and notifier ports on one side,
//! the hub's authentication and `GetCapacityChangesSince` on the other, and the
//! [`Relay`] that delivers changes other instances committed.
//!
//! ```text
//!  this instance:   service ──commit──► HubEvents ──► hub (at once) ─┐ remembers the version
//!  every instance:  NOTIFY ──► backplane listener ──► Relay ─────────┴► hub (unless already sent)
//! ```

use std::collections::{BTreeSet, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use request_desk_domain::notification::Notification;
use request_desk_domain::ports::{
    CapacityBroadcast, CapacityUpdate, SettingsChanged, UserNotifier,
};
use request_desk_domain::{NotificationId, RequestDesk, UserId};
use request_desk_infrastructure::hub::{Hub, HubBackend, HubMethodError, HubUser};
use request_desk_infrastructure::postgres::backplane::BackplaneEvent;
use request_desk_infrastructure::postgres::changes::ChangeNotice;

use crate::auth::Tokens;
use crate::metrics::Metrics;

/// What this instance already delivered itself, so the relay skips it.
#[derive(Debug, Default)]
pub struct DeliveredLocally {
    /// Day versions broadcast by this instance and not yet passed by the relay's watermark.
    versions: BTreeSet<i64>,
    settings_versions: BTreeSet<i64>,
    notifications: HashSet<i64>,
}

/// The domain's live-event ports, delivered through the hub.
#[derive(Debug, Clone)]
pub struct HubEvents {
    pub hub: Hub,
    pub metrics: Metrics,
    pub delivered: Arc<Mutex<DeliveredLocally>>,
}

impl HubEvents {
    pub fn new(hub: Hub, metrics: Metrics) -> Self {
        HubEvents {
            hub,
            metrics,
            delivered: Arc::default(),
        }
    }

    fn delivered(&self) -> std::sync::MutexGuard<'_, DeliveredLocally> {
        self.delivered.lock().unwrap_or_else(|e| e.into_inner())
    }
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
        self.delivered().notifications.insert(notification.id.0);
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

/// Delivers what the backplane announces: changes committed by any instance,
/// minus those this instance already sent. Also catches up from the change
/// feed after the listener reconnects, so nothing committed meanwhile is lost.
pub struct Relay {
    pub desk: RequestDesk,
    pub events: HubEvents,
    /// Every day version up to here has been delivered (or never existed).
    pub watermark: i64,
    pub settings_version: i64,
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay")
            .field("watermark", &self.watermark)
            .finish_non_exhaustive()
    }
}

impl Relay {
    /// Consumes backplane events until the listener stops.
    pub async fn run(mut self, mut events: tokio::sync::mpsc::UnboundedReceiver<BackplaneEvent>) {
        while let Some(event) = events.recv().await {
            let result = match event {
                BackplaneEvent::Listening { reconnected: true } => self.catch_up().await,
                BackplaneEvent::Listening { reconnected: false } | BackplaneEvent::Lost => Ok(()),
                BackplaneEvent::Notice(ChangeNotice::Days { version })
                    if version > self.watermark =>
                {
                    self.catch_up().await
                }
                BackplaneEvent::Notice(ChangeNotice::Days { .. }) => Ok(()),
                BackplaneEvent::Notice(ChangeNotice::Settings { version }) => {
                    self.settings_changed(version);
                    Ok(())
                }
                BackplaneEvent::Notice(ChangeNotice::Notification {
                    user_id,
                    notification_id,
                }) => self.notification(user_id, notification_id).await,
                BackplaneEvent::Notice(ChangeNotice::Inbox { user_id }) => {
                    self.inbox(user_id).await
                }
            };
            if let Err(e) = result {
                // The next notice or reconnect retries from the same watermark.
                tracing::warn!(error = %e, "relay could not deliver a change yet");
            }
        }
    }

    /// Broadcasts every date changed after the watermark that this instance has not sent.
    async fn catch_up(&mut self) -> anyhow::Result<()> {
        let desk = self.desk.clone();
        let since = self.watermark;
        let changes = actix_web::web::block(move || desk.changes_since(since)).await??;
        if changes.resync {
            // The settings changed while we were away: everyone refetches.
            self.settings_changed(changes.version);
        }
        let mut days = changes.days;
        days.sort_by_key(|d| d.version);
        let timestamp = time::OffsetDateTime::now_utc();
        let fresh: Vec<CapacityUpdate> = {
            let mut delivered = self.events.delivered();
            let fresh = days
                .iter()
                .filter(|d| !delivered.versions.remove(&d.version))
                .map(|d| CapacityUpdate::new(d, timestamp))
                .collect();
            self.watermark = self.watermark.max(changes.version);
            let watermark = self.watermark;
            delivered.versions.retain(|v| *v > watermark);
            fresh
        };
        for update in &fresh {
            self.events.timed("CapacityUpdated", || {
                self.events
                    .hub
                    .broadcast_capacity_updated(update.date, update)
            });
        }
        Ok(())
    }

    fn settings_changed(&mut self, version: i64) {
        if version <= self.settings_version {
            return;
        }
        self.settings_version = version;
        let already = {
            let mut delivered = self.events.delivered();
            let already = delivered.settings_versions.remove(&version);
            delivered.settings_versions.retain(|v| *v > version);
            already
        };
        if !already {
            let change = SettingsChanged {
                timestamp: time::OffsetDateTime::now_utc(),
                version,
            };
            self.events.timed("CapacitySettingsChanged", || {
                self.events
                    .hub
                    .broadcast("CapacitySettingsChanged", &change)
            });
        }
    }

    async fn notification(&mut self, user_id: i64, id: i64) -> anyhow::Result<()> {
        if self.events.delivered().notifications.remove(&id) {
            return Ok(());
        }
        let desk = self.desk.clone();
        let found = actix_web::web::block(move || {
            desk.notification_for_delivery(UserId(user_id), NotificationId(id))
        })
        .await??;
        if let Some((notification, unread)) = found {
            self.events
                .notification_received(UserId(user_id), &notification);
            self.events.delivered().notifications.remove(&id);
            self.events.inbox_updated(UserId(user_id), unread);
        }
        Ok(())
    }

    async fn inbox(&mut self, user_id: i64) -> anyhow::Result<()> {
        let desk = self.desk.clone();
        let unread = actix_web::web::block(move || desk.unread_count(UserId(user_id))).await??;
        self.events.inbox_updated(UserId(user_id), unread);
        Ok(())
    }
}
