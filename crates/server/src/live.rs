//! Wires the hub to the domain: the broadcast and notifier ports on one side,
//! the hub's authentication and `GetCapacityChangesSince` on the other, and the
//! [`Relay`] that delivers changes other instances committed.
//!
//! ```text
//!  this instance:    service ──commit──► HubEvents ──► hub (at once)
//!  other instances:  NOTIFY ──► backplane listener ──► Relay ──► change feed ──► hub
//! ```

use std::collections::BTreeSet;
use std::sync::Arc;
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
use request_desk_infrastructure::postgres::changes::{ChangeNotice, Notice};

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

/// Delivers what the backplane announces that other instances committed.
///
/// Notices arrive in commit order, and versions are handed out in commit
/// order, so when a notice for version `v` arrives every change below `v` has
/// been announced already. This instance's own changes went out at once
/// through [`HubEvents`]; their notices are only remembered, so the change
/// feed does not send them again. After the listener reconnects, the feed is
/// read from the watermark, so changes committed while it was away still go
/// out (this instance's own ones from that window may then go out twice,
/// which clients ignore by version).
pub struct Relay {
    pub desk: RequestDesk,
    pub events: HubEvents,
    /// This instance's `PgStore::origin`.
    pub origin: u32,
    /// Every change up to this version has been delivered (or was this instance's own).
    pub watermark: i64,
    /// Versions of this instance's own day changes above the watermark.
    pub own_versions: BTreeSet<i64>,
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay")
            .field("origin", &self.origin)
            .field("watermark", &self.watermark)
            .finish_non_exhaustive()
    }
}

impl Relay {
    pub fn new(desk: RequestDesk, events: HubEvents, origin: u32, watermark: i64) -> Self {
        Relay {
            desk,
            events,
            origin,
            watermark,
            own_versions: BTreeSet::new(),
        }
    }

    /// Consumes backplane events until the listener stops.
    pub async fn run(mut self, mut events: tokio::sync::mpsc::UnboundedReceiver<BackplaneEvent>) {
        while let Some(event) = events.recv().await {
            let result = match event {
                // Whatever committed before LISTEN took effect (start-up, or while away) comes from the feed.
                BackplaneEvent::Listening { .. } => self.catch_up().await,
                BackplaneEvent::Lost => Ok(()),
                BackplaneEvent::Notice(notice) => self.handle(notice).await,
            };
            if let Err(e) = result {
                // The next notice or reconnect retries from the same watermark.
                tracing::warn!(error = %e, "relay could not deliver a change yet");
            }
        }
    }

    async fn handle(&mut self, Notice { change, origin }: Notice) -> anyhow::Result<()> {
        let own = origin == self.origin;
        match change {
            ChangeNotice::Days { version } if own => {
                if version > self.watermark {
                    self.own_versions.insert(version);
                }
                Ok(())
            }
            ChangeNotice::Days { version } if version > self.watermark => self.catch_up().await,
            ChangeNotice::Days { .. } => Ok(()),
            ChangeNotice::Settings { version } => {
                // Everything below `version` was announced before it and is handled.
                if version > self.watermark {
                    self.advance(version);
                    if !own {
                        self.settings_changed(version);
                    }
                }
                Ok(())
            }
            ChangeNotice::Notification { .. } | ChangeNotice::Inbox { .. } if own => Ok(()),
            ChangeNotice::Notification {
                user_id,
                notification_id,
            } => self.notification(user_id, notification_id).await,
            ChangeNotice::Inbox { user_id } => self.inbox(user_id).await,
            // A user's role or disabled flag changed (issue 11). To wire with the
            // hub engine: drop the user from `Tokens::users` (UserDirectory::forget)
            // and close their hub connections when disabled. Until then other
            // instances pick the change up within the directory's TTL.
            ChangeNotice::User { .. } => Ok(()),
        }
    }

    fn advance(&mut self, version: i64) {
        self.watermark = self.watermark.max(version);
        let watermark = self.watermark;
        self.own_versions.retain(|v| *v > watermark);
    }

    /// Broadcasts every date changed after the watermark that this instance did not send itself.
    async fn catch_up(&mut self) -> anyhow::Result<()> {
        let desk = self.desk.clone();
        let since = self.watermark;
        let changes = actix_web::web::block(move || desk.changes_since(since)).await??;
        let timestamp = time::OffsetDateTime::now_utc();
        let mut days = changes.days;
        days.sort_by_key(|d| d.version);
        for day in days
            .iter()
            .filter(|d| !self.own_versions.contains(&d.version))
        {
            let update = CapacityUpdate::new(day, timestamp);
            self.events.timed("CapacityUpdated", || {
                self.events
                    .hub
                    .broadcast_capacity_updated(update.date, &update)
            });
        }
        if changes.resync {
            // The settings changed while the listener was away: everyone refetches.
            self.settings_changed(changes.version);
        }
        self.advance(changes.version);
        Ok(())
    }

    fn settings_changed(&self, version: i64) {
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

    async fn notification(&mut self, user_id: i64, id: i64) -> anyhow::Result<()> {
        let desk = self.desk.clone();
        let found = actix_web::web::block(move || {
            desk.notification_for_delivery(UserId(user_id), NotificationId(id))
        })
        .await??;
        if let Some((notification, unread)) = found {
            self.events
                .notification_received(UserId(user_id), &notification);
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
