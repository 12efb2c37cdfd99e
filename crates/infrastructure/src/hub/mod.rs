//! The real-time hub at `/hubs/notifications`: an ASP.NET Core SignalR
//! compatible server, so the unmodified `@microsoft/signalr` client can
//! receive capacity and inbox events.
//!
//! # How it fits
//!
//! The application (crates/server) owns the business logic; the hub only
//! moves messages. It needs two things from the application, expressed by
//! [`HubBackend`]: validating a JWT, and answering `GetCapacityChangesSince`.
//! In return the application gets a [`Hub`] handle to register the routes
//! ([`Hub::configure`]) and to push events after a change is committed
//! ([`Hub::broadcast_capacity_updated`], [`Hub::broadcast`],
//! [`Hub::send_to_user`]).
//!
//! # Layout (modelled on mini-redis: small modules, one concern each)
//!
//! * `protocol` — the wire format as pure functions (handshake, record
//!   framing, message parsing and serialization). No I/O.
//! * `registry` — the table of connections, bounded per-connection queues,
//!   fan-out with slow-consumer eviction, keep-alive and timeout sweeps.
//! * `connection` — what a connection does with incoming bytes: handshake,
//!   then hub method dispatch (`GetCapacityChangesSince`, `WatchDates`,
//!   `WatchAllDates`).
//! * `http`, `websockets`, `sse`, `long_polling` — the actix-web endpoints:
//!   negotiate, the three transports, and the HTTP POST/DELETE that Server-Sent
//!   Events and Long Polling pair with.
//!
//! # Life of a connection
//!
//! ```text
//!   POST /negotiate ──► Registry::create ──► Connection (bounded queue)
//!   GET  ?id=…      ──► bind transport ──► writer drains the queue to the client
//!   client data     ──► connection::receive ──► replies queued on the same queue
//!   broadcast       ──► Registry::fan_out ──► try_send to every matching queue
//!   maintenance     ──► Ping every keep_alive, close the silent, drop the unused
//! ```
//!
//! A background maintenance task (one per hub) sends the keep-alive pings and
//! sweeps; it stops when the last [`Hub`] handle is dropped.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use futures_util::future::BoxFuture;
use serde::Serialize;

mod connection;
mod http;
#[cfg(test)]
mod http_tests;
mod long_polling;
mod protocol;
mod registry;
mod sse;
mod websockets;

use registry::Registry;

/// The signed-in user behind a connection, as the application's JWT check
/// reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubUser {
    /// `sub` claim; [`Hub::send_to_user`] addresses connections by it.
    pub user_id: i64,
    /// `role` claim (`requester`, `designer`, `admin`); kept for future
    /// role-scoped broadcasts.
    pub role: String,
}

/// Errors a hub method may return; its `Display` is sent to the client as
/// the Completion's `error`, so it must never carry internals.
#[derive(Debug, thiserror::Error)]
pub enum HubMethodError {
    /// The client's arguments were unusable (count, types, values).
    #[error("{0}")]
    BadArguments(String),
    /// The method could not do its work (e.g. the database is down). Logged
    /// at warn by the hub.
    #[error("{0}")]
    Failed(String),
}

/// What the hub needs from the application (implemented in crates/server).
pub trait HubBackend: Send + Sync + 'static {
    /// Validates a JWT (from `Authorization: Bearer` or the `access_token`
    /// query parameter). `None` → the request is answered 401.
    fn authenticate(&self, token: &str) -> Option<HubUser>;

    /// `GetCapacityChangesSince(version)`: returns the same JSON body as
    /// `GET /api/availability/changes?since=version`.
    ///
    /// # Errors
    ///
    /// [`HubMethodError`]; its text reaches the client.
    fn capacity_changes_since(
        &self,
        version: i64,
    ) -> BoxFuture<'static, Result<serde_json::Value, HubMethodError>>;
}

/// Tuning of the hub. The defaults match what the official client expects.
#[derive(Debug, Clone)]
pub struct HubConfig {
    /// Interval of the server's Ping to every connection. The client
    /// declares the server dead after 30 s without a message, so this must
    /// stay well below that (15 s, as ASP.NET).
    pub keep_alive: Duration,
    /// A connection from which nothing arrived for this long is closed
    /// (the client pings every 15 s). Also bounds how long a negotiated
    /// connection may wait for its transport.
    pub client_timeout: Duration,
    /// Largest accepted incoming message (one record), in bytes; larger ones
    /// close the connection with an error (ASP.NET's default: 32 KiB).
    pub max_message_size: usize,
    /// Capacity of each connection's outgoing queue. A connection that falls
    /// this many messages behind is closed with `allowReconnect: true`.
    pub send_queue: usize,
    /// How long a long poll waits for data before answering 200 with an
    /// empty body (the client gives up on a poll after 100 s).
    pub long_poll_timeout: Duration,
}

impl Default for HubConfig {
    fn default() -> HubConfig {
        HubConfig {
            keep_alive: Duration::from_secs(15),
            client_timeout: Duration::from_secs(30),
            max_message_size: 32 * 1024,
            send_queue: 256,
            long_poll_timeout: Duration::from_secs(90),
        }
    }
}

/// Handle to the hub; cheap to clone (an `Arc` inside). Every clone refers
/// to the same connections.
#[derive(Clone)]
pub struct Hub {
    inner: Arc<HubInner>,
}

/// State shared by all handles, handlers and connection tasks.
pub(crate) struct HubInner {
    backend: Arc<dyn HubBackend>,
    config: HubConfig,
    registry: Registry,
    /// Set by [`Hub::shutdown`]: new connections are refused with 503.
    shutting_down: AtomicBool,
    /// The maintenance task has been spawned (it needs a Tokio runtime,
    /// which may only exist once the first request arrives).
    maintenance_started: AtomicBool,
}

impl fmt::Debug for Hub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hub")
            .field("config", &self.inner.config)
            .field("registry", &self.inner.registry)
            .field(
                "shutting_down",
                &self.inner.shutting_down.load(Ordering::Relaxed),
            )
            .finish_non_exhaustive()
    }
}

impl Hub {
    /// Creates the hub. If called inside a Tokio runtime, the maintenance
    /// task starts now; otherwise it starts with the first hub request.
    pub fn new(backend: Arc<dyn HubBackend>, config: HubConfig) -> Hub {
        let registry = Registry::new(config.send_queue, config.max_message_size);
        let hub = Hub {
            inner: Arc::new(HubInner {
                backend,
                config,
                registry,
                shutting_down: AtomicBool::new(false),
                maintenance_started: AtomicBool::new(false),
            }),
        };
        hub.ensure_maintenance();
        hub
    }

    /// Registers `POST /hubs/notifications/negotiate` and `GET`/`POST`/`DELETE
    /// /hubs/notifications` (WebSockets upgrade, Server-Sent Events, Long
    /// Polling, HTTP sends). Use as `app.configure(|c| hub.configure(c))`.
    pub fn configure(&self, cfg: &mut actix_web::web::ServiceConfig) {
        http::configure(self, cfg);
    }

    /// `CapacityUpdated` for `date`: serialized once, queued for every
    /// connection whose `WatchDates` window includes `date`.
    pub fn broadcast_capacity_updated(&self, date: time::Date, payload: &impl Serialize) {
        if let Some(frame) = event_frame("CapacityUpdated", payload) {
            let out = self
                .inner
                .registry
                .fan_out(&frame, |c| c.window().contains(date));
            tracing::trace!(%date, delivered = out.delivered, evicted = out.evicted, "CapacityUpdated fanned out");
        }
    }

    /// Any other event, to every connection (e.g. `CapacitySettingsChanged`).
    pub fn broadcast(&self, target: &str, payload: &impl Serialize) {
        if let Some(frame) = event_frame(target, payload) {
            let out = self.inner.registry.fan_out(&frame, |_| true);
            tracing::trace!(
                target,
                delivered = out.delivered,
                evicted = out.evicted,
                "event fanned out"
            );
        }
    }

    /// An event to every connection of one user (`NotificationReceived`,
    /// `InboxUpdated`).
    pub fn send_to_user(&self, user_id: i64, target: &str, payload: &impl Serialize) {
        if let Some(frame) = event_frame(target, payload) {
            // A scan rather than a per-user index: with a few thousand
            // connections it costs microseconds and needs no second table to
            // keep consistent.
            let out = self
                .inner
                .registry
                .fan_out(&frame, |c| c.user.user_id == user_id);
            tracing::trace!(
                target,
                user_id,
                delivered = out.delivered,
                "event sent to user"
            );
        }
    }

    /// Open connections per transport: `("websockets" | "server_sent_events"
    /// | "long_polling", count)`, every transport listed.
    pub fn open_connections(&self) -> Vec<(&'static str, usize)> {
        self.inner
            .registry
            .count_by_transport()
            .iter()
            .map(|(t, n)| (t.label(), *n))
            .collect()
    }

    /// Server shutdown: sends `Close {allowReconnect: true}` to every
    /// connection and ends them; new connections are refused with 503.
    /// Call it before stopping the HTTP server, so streaming responses finish
    /// promptly and clients reconnect to the next instance.
    pub fn shutdown(&self) {
        if self.inner.shutting_down.swap(true, Ordering::AcqRel) {
            return;
        }
        tracing::info!(connections = self.inner.registry.len(), "hub shutting down");
        self.inner
            .registry
            .close_all(&protocol::close_frame(None, true));
    }

    /// Spawns the maintenance task once, on the current Tokio runtime.
    pub(crate) fn ensure_maintenance(&self) {
        if self.inner.maintenance_started.load(Ordering::Acquire) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if self.inner.maintenance_started.swap(true, Ordering::AcqRel) {
            return;
        }
        runtime.spawn(maintenance(Arc::downgrade(&self.inner)));
    }

    pub(crate) fn inner(&self) -> &HubInner {
        &self.inner
    }
}

impl HubInner {
    pub(crate) fn backend(&self) -> &dyn HubBackend {
        self.backend.as_ref()
    }

    pub(crate) fn config(&self) -> &HubConfig {
        &self.config
    }

    pub(crate) fn registry(&self) -> &Registry {
        &self.registry
    }

    pub(crate) fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::Acquire)
    }
}

fn event_frame(target: &str, payload: &impl Serialize) -> Option<protocol::Frame> {
    match protocol::invocation_frame(target, payload) {
        Ok(frame) => Some(frame),
        Err(error) => {
            tracing::warn!(target, %error, "hub event could not be serialized; not sent");
            None
        }
    }
}

/// How often the maintenance task sweeps: fine enough that a silent client
/// is closed soon after `client_timeout`, coarse enough to cost nothing.
fn sweep_period(config: &HubConfig) -> Duration {
    (config.client_timeout / 10).clamp(Duration::from_millis(10), Duration::from_secs(1))
}

/// Keep-alive pings and sweeps, until the hub is dropped.
async fn maintenance(hub: Weak<HubInner>) {
    let (keep_alive, sweep_every) = match hub.upgrade() {
        Some(inner) => (inner.config.keep_alive, sweep_period(&inner.config)),
        None => return,
    };
    let ping = protocol::ping_frame();
    let mut pings = tokio::time::interval(keep_alive.max(Duration::from_millis(10)));
    pings.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    pings.tick().await; // the first tick is immediate; nobody needs a ping yet
    let mut sweeps = tokio::time::interval(sweep_every);
    sweeps.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = pings.tick() => {
                let Some(inner) = hub.upgrade() else { return };
                inner.registry.ping_all(&ping);
            }
            _ = sweeps.tick() => {
                let Some(inner) = hub.upgrade() else { return };
                let config = &inner.config;
                // Grace for farewells and lingering Long Polling entries.
                let grace = config.keep_alive;
                let report = inner.registry.sweep(tokio::time::Instant::now(), config.client_timeout, grace);
                if report != registry::Sweep::default() {
                    tracing::debug!(?report, "hub sweep");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::FutureExt as _;
    use serde_json::{json, Value};
    use time::macros::date;

    struct NoBackend;

    impl HubBackend for NoBackend {
        fn authenticate(&self, _token: &str) -> Option<HubUser> {
            None
        }
        fn capacity_changes_since(
            &self,
            _v: i64,
        ) -> BoxFuture<'static, Result<Value, HubMethodError>> {
            async { Ok(Value::Null) }.boxed()
        }
    }

    #[test]
    fn the_defaults_match_the_official_client() {
        let c = HubConfig::default();
        assert_eq!(c.keep_alive, Duration::from_secs(15));
        assert_eq!(c.client_timeout, Duration::from_secs(30));
        assert_eq!(c.max_message_size, 32 * 1024);
        assert_eq!(c.long_poll_timeout, Duration::from_secs(90));
        assert!(c.send_queue >= 64);
        assert_eq!(sweep_period(&c), Duration::from_secs(1));
    }

    #[test]
    fn a_hub_can_be_built_outside_a_runtime() {
        let hub = Hub::new(Arc::new(NoBackend), HubConfig::default());
        assert!(!hub.inner.maintenance_started.load(Ordering::Relaxed));
        assert_eq!(
            hub.open_connections(),
            vec![
                ("websockets", 0),
                ("server_sent_events", 0),
                ("long_polling", 0)
            ]
        );
        hub.broadcast("CapacitySettingsChanged", &json!({"version": 1}));
        assert!(format!("{hub:?}").contains("Hub"));
    }

    #[test]
    fn events_reach_the_right_connections() {
        let hub = Hub::new(Arc::new(NoBackend), HubConfig::default());
        let reg = &hub.inner.registry;
        let mk = |user_id| {
            let c = reg.create(
                HubUser {
                    user_id,
                    role: "requester".into(),
                },
                true,
            );
            c.bind(registry::Transport::WebSockets).unwrap();
            c.set_handshaken();
            c
        };
        let (a, b) = (mk(1), mk(2));
        b.set_window(
            registry::DateWindow::between(date!(2026 - 05 - 01), date!(2026 - 05 - 02)).unwrap(),
        );
        let count = |c: &registry::Connection| {
            let mut rx = c.rx.try_lock().unwrap();
            let rx = rx.as_mut().unwrap();
            std::iter::from_fn(|| rx.try_recv().ok()).count()
        };

        hub.broadcast_capacity_updated(date!(2026 - 05 - 03), &json!({"date": "2026-05-03"}));
        assert_eq!((count(&a), count(&b)), (1, 0));
        hub.broadcast_capacity_updated(date!(2026 - 05 - 02), &json!({"date": "2026-05-02"}));
        assert_eq!((count(&a), count(&b)), (1, 1));
        hub.send_to_user(2, "InboxUpdated", &json!({"unreadCount": 1}));
        assert_eq!((count(&a), count(&b)), (0, 1));
        hub.broadcast("CapacitySettingsChanged", &json!({"version": 9}));
        assert_eq!((count(&a), count(&b)), (1, 1));

        hub.shutdown();
        assert!(hub.inner.is_shutting_down());
    }

    #[tokio::test]
    async fn the_maintenance_task_starts_inside_a_runtime_and_stops_with_the_hub() {
        let config = HubConfig {
            keep_alive: Duration::from_millis(20),
            client_timeout: Duration::from_millis(200),
            ..HubConfig::default()
        };
        let hub = Hub::new(Arc::new(NoBackend), config);
        assert!(hub.inner.maintenance_started.load(Ordering::Relaxed));
        let conn = hub.inner.registry.create(
            HubUser {
                user_id: 1,
                role: "admin".into(),
            },
            true,
        );
        conn.bind(registry::Transport::WebSockets).unwrap();
        conn.set_handshaken();
        // Pings arrive every keep_alive...
        let mut rx = conn.rx.lock().await.take().unwrap();
        for _ in 0..2 {
            match tokio::time::timeout(Duration::from_secs(2), rx.recv()).await {
                Ok(Some(registry::Outbound::Record(f))) => assert!(f.ptr_eq(&f.clone())),
                other => panic!("expected a ping, got {other:?}"),
            }
        }
        // ...and a silent client is closed after client_timeout.
        let closed = tokio::time::timeout(Duration::from_secs(2), async {
            loop {
                match rx.recv().await {
                    Some(registry::Outbound::Close(Some(f))) => break f,
                    Some(_) => {}
                    None => panic!("queue closed without a farewell"),
                }
            }
        })
        .await
        .expect("closed within 2 s");
        let text = String::from_utf8(closed.bytes().to_vec()).unwrap();
        assert!(text.contains("Server timeout elapsed"));
        let weak = Arc::downgrade(&hub.inner);
        drop(hub);
        assert!(
            weak.upgrade().is_none(),
            "the maintenance task holds only a weak handle"
        );
    }
}
