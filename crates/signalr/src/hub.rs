//! [`Hub`]: the handle the application holds — routes, publishing, closing
//! users' connections, shutdown — and [`HubConfig`].

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, SystemTime};

use actix_codec::Framed;
use actix_http::{h1, Request};
use actix_service::ServiceFactory;
use serde::Serialize;
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::app::HubApp;
use crate::connection::SweepLimits;
use crate::limits::{Caps, RateLimit, RateLimiter};
use crate::protocol::{self, Frame};
use crate::registry::{FanOut, Registry};

/// Tuning of the hub. The defaults match what the official client expects.
#[derive(Debug, Clone)]
pub struct HubConfig {
    /// Where the hub is served; negotiate is `{path}/negotiate`.
    pub path: String,
    /// Interval of the server's Ping to every connection. The client
    /// declares the server dead after 30 s without a message (15 s, as
    /// ASP.NET Core).
    pub keep_alive: Duration,
    /// A connection from which nothing arrived for this long is closed (the
    /// client pings every 15 s). Also bounds how long a negotiated
    /// connection may wait for its transport.
    pub client_timeout: Duration,
    /// Largest accepted incoming message, in bytes; larger ones close the
    /// connection with an error (ASP.NET Core's default: 32 KiB).
    pub max_message_size: usize,
    /// Capacity of each connection's outgoing queue. A connection that falls
    /// this many messages behind is closed with `allowReconnect: true`.
    pub send_queue: usize,
    /// How long a long poll waits for data before answering 200 empty (the
    /// client gives up on a poll after 100 s).
    pub long_poll_timeout: Duration,
    /// Offer stateful reconnect to clients that ask for it.
    pub stateful_reconnect: bool,
    /// Stateful reconnect: most bytes of sent, unacknowledged messages kept
    /// for replay per connection (ASP.NET Core's default: 100,000). Past it
    /// the connection is closed with `allowReconnect: true`.
    pub stateful_reconnect_buffer: usize,
    /// Stateful reconnect: how long a connection whose WebSocket was lost
    /// waits for the client to come back.
    pub reconnect_window: Duration,
    /// Most open connections on this instance (`None`: no cap); past it
    /// negotiate answers 503.
    pub max_connections: Option<usize>,
    /// Most open connections per user (`None`: no cap); past it negotiate
    /// answers 429.
    pub max_connections_per_user: Option<usize>,
    /// Negotiates per client address (`None`: unlimited); past it 429 with
    /// `Retry-After`.
    pub negotiate_rate_limit: Option<RateLimit>,
}

impl Default for HubConfig {
    fn default() -> HubConfig {
        HubConfig {
            path: "/hub".into(),
            keep_alive: Duration::from_secs(15),
            client_timeout: Duration::from_secs(30),
            max_message_size: 32 * 1024,
            send_queue: 256,
            long_poll_timeout: Duration::from_secs(90),
            stateful_reconnect: true,
            stateful_reconnect_buffer: 100_000,
            reconnect_window: Duration::from_secs(30),
            max_connections: None,
            max_connections_per_user: None,
            negotiate_rate_limit: None,
        }
    }
}

/// Who receives a published message.
pub enum Audience<'a, S> {
    /// Every open connection.
    All,
    /// Every connection of one user.
    User(&'a str),
    /// Every connection whose application state satisfies the predicate
    /// (e.g. a watched range that contains the changed item). Called under
    /// the registry's read lock: keep it cheap and non-blocking.
    Where(&'a (dyn Fn(&S) -> bool + Sync)),
}

impl<S> fmt::Debug for Audience<'_, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Audience::All => f.write_str("All"),
            Audience::User(u) => f.debug_tuple("User").field(u).finish(),
            Audience::Where(_) => f.write_str("Where(..)"),
        }
    }
}

/// Handle to the hub; cheap to clone. Every clone refers to the same
/// connections.
pub struct Hub<A: HubApp> {
    pub(crate) inner: Arc<HubInner<A>>,
}

impl<A: HubApp> Clone for Hub<A> {
    fn clone(&self) -> Self {
        Hub {
            inner: Arc::clone(&self.inner),
        }
    }
}

/// State shared by all handles, handlers and connection tasks.
pub(crate) struct HubInner<A: HubApp> {
    pub(crate) app: A,
    pub(crate) config: HubConfig,
    pub(crate) registry: Registry<A::State>,
    pub(crate) caps: Arc<Caps>,
    pub(crate) rate: Option<RateLimiter>,
    /// Fired by [`Hub::shutdown`]; new connections are refused with 503.
    pub(crate) shutdown: CancellationToken,
    /// Every connection task (writers, readers), so shutdown can await them.
    pub(crate) tasks: TaskTracker,
    /// The maintenance task has been spawned (it needs a Tokio runtime,
    /// which may only exist once the first request arrives).
    maintenance_started: AtomicBool,
    /// The server installed [`Hub::websocket_upgrade`]: negotiate offers
    /// WebSockets only then.
    pub(crate) serves_websockets: AtomicBool,
}

impl<A: HubApp> fmt::Debug for Hub<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hub")
            .field("config", &self.inner.config)
            .field("registry", &self.inner.registry)
            .field("shutting_down", &self.inner.shutdown.is_cancelled())
            .finish_non_exhaustive()
    }
}

impl<A: HubApp> Hub<A> {
    /// Creates the hub. Inside a Tokio runtime the maintenance task (pings,
    /// sweeps) starts now; otherwise with the first hub request.
    pub fn new(app: A, config: HubConfig) -> Hub<A> {
        let registry = Registry::new(config.send_queue, config.max_message_size);
        let hub = Hub {
            inner: Arc::new(HubInner {
                app,
                caps: Caps::new(config.max_connections, config.max_connections_per_user),
                rate: config.negotiate_rate_limit.map(RateLimiter::new),
                config,
                registry,
                shutdown: CancellationToken::new(),
                tasks: TaskTracker::new(),
                maintenance_started: AtomicBool::new(false),
                serves_websockets: AtomicBool::new(false),
            }),
        };
        hub.ensure_maintenance();
        hub
    }

    /// The application.
    pub fn app(&self) -> &A {
        &self.inner.app
    }

    /// The configuration.
    pub fn config(&self) -> &HubConfig {
        &self.inner.config
    }

    /// Registers `POST {path}/negotiate` and `GET`/`POST`/`DELETE {path}`
    /// (WebSockets, Server-Sent Events, Long Polling, HTTP sends). Use as
    /// `app.configure(|c| hub.configure(c))`.
    pub fn configure(&self, cfg: &mut actix_web::web::ServiceConfig) {
        crate::http::configure(self, cfg);
    }

    /// The service that serves WebSocket connections, for actix-http's
    /// upgrade hook: `HttpService::build().upgrade(hub.websocket_upgrade())`.
    /// actix-http hands it every `Connection: Upgrade` request together
    /// with its TCP socket, so a WebSocket costs no HTTP dispatcher and no
    /// buffers while idle, and broadcasts are written to the socket
    /// directly (see the crate docs for the server set-up). Negotiate
    /// offers WebSockets once this has been called.
    pub fn websocket_upgrade(
        &self,
    ) -> impl ServiceFactory<
        (Request, Framed<TcpStream, h1::Codec>),
        Config = (),
        Response = (),
        Error = actix_http::Error,
        InitError = (),
    > + Clone
           + 'static {
        self.inner.serves_websockets.store(true, Ordering::Release);
        let hub = self.clone();
        actix_service::fn_service(
            move |(req, framed): (Request, Framed<TcpStream, h1::Codec>)| {
                crate::transport::websockets::upgrade(hub.clone(), req, framed)
            },
        )
    }

    /// Queues `frame` for `audience`. Never blocks: a connection whose queue
    /// is full is closed with `allowReconnect: true` (see the crate docs).
    pub fn publish(&self, frame: &Frame, audience: Audience<'_, A::State>) -> FanOut {
        let registry = &self.inner.registry;
        match audience {
            Audience::All => registry.fan_out(frame, |_| true),
            Audience::User(user) => registry.fan_out(frame, |c| c.user() == user),
            Audience::Where(wants) => registry.fan_out(frame, |c| wants(c.state())),
        }
    }

    /// Serializes an event (`target` with one argument) once and publishes
    /// it. A payload that cannot be serialized is logged and not sent.
    pub fn send(
        &self,
        target: &str,
        payload: &impl Serialize,
        audience: Audience<'_, A::State>,
    ) -> FanOut {
        match protocol::invocation_frame(target, payload) {
            Ok(frame) => self.publish(&frame, audience),
            Err(error) => {
                tracing::warn!(target, %error, "hub event could not be serialized; not sent");
                FanOut::default()
            }
        }
    }

    /// Closes every connection of `user` with `Close {error: reason,
    /// allowReconnect: true}` — for a user who was disabled or signed out;
    /// their next negotiate is refused if their credential no longer is
    /// valid. Returns how many connections were closed.
    pub fn close_user(&self, user: &str, reason: &str) -> usize {
        let conns = self.inner.registry.of_user(user);
        let close = protocol::close_frame(Some(reason), true);
        for conn in &conns {
            conn.close_with_message(close.clone());
        }
        conns.len()
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

    /// The instance's connection cap (`None`: no cap).
    pub fn connection_limit(&self) -> Option<usize> {
        self.inner.caps.instance_cap()
    }

    /// Connections refused at a cap so far: `("instance_cap" | "user_cap", count)`.
    pub fn refused_connections(&self) -> [(&'static str, u64); 2] {
        self.inner.caps.refused()
    }

    /// Starts the shutdown: new connections are refused (503), every
    /// connection gets `Close {allowReconnect: true}`, streaming responses
    /// end. Call it before stopping the HTTP server; then
    /// [`closed`](Self::closed) waits for the writers.
    pub fn shutdown(&self) {
        if self.inner.shutdown.is_cancelled() {
            return;
        }
        self.inner.shutdown.cancel();
        tracing::info!(connections = self.inner.registry.len(), "hub shutting down");
        self.inner
            .registry
            .close_all(&protocol::close_frame(None, true));
        self.inner.tasks.close();
    }

    /// Waits until every connection task has finished (after
    /// [`shutdown`](Self::shutdown); farewells are bounded by one second
    /// each, so this returns promptly).
    pub async fn closed(&self) {
        self.inner.tasks.wait().await;
    }

    /// Connection tasks alive (every transport's, and those still closing).
    pub fn tasks(&self) -> usize {
        self.inner.tasks.len()
    }

    /// Whether [`shutdown`](Self::shutdown) was called.
    pub fn is_shutting_down(&self) -> bool {
        self.inner.shutdown.is_cancelled()
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

    /// The connection's credential expiry as a tokio instant.
    pub(crate) fn deadline(expires_at: Option<SystemTime>) -> Option<Instant> {
        let at = expires_at?;
        let now = SystemTime::now();
        Some(match at.duration_since(now) {
            Ok(left) => Instant::now() + left,
            Err(_) => Instant::now(),
        })
    }

    /// Spawns a connection task, tracked for shutdown.
    pub(crate) fn spawn<F>(&self, task: F)
    where
        F: std::future::Future<Output = ()> + 'static,
    {
        actix_web::rt::spawn(self.inner.tasks.track_future(task));
    }
}

impl<A: HubApp> HubInner<A> {
    pub(crate) fn sweep_limits(&self) -> SweepLimits {
        let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        SweepLimits {
            timeout_ms: ms(self.config.client_timeout),
            // Grace for farewells and lingering Long Polling entries.
            grace_ms: ms(self.config.keep_alive),
            reconnect_window_ms: ms(self.config.reconnect_window),
        }
    }
}

/// How often the maintenance task sweeps: fine enough that a silent client
/// is closed soon after `client_timeout`, coarse enough to cost nothing.
pub(crate) fn sweep_period(config: &HubConfig) -> Duration {
    (config.client_timeout / 10).clamp(Duration::from_millis(10), Duration::from_secs(1))
}

/// Keep-alive pings and sweeps, until the hub is dropped or shut down.
async fn maintenance<A: HubApp>(hub: Weak<HubInner<A>>) {
    let (keep_alive, sweep_every, stop) = match hub.upgrade() {
        Some(inner) => (
            inner.config.keep_alive,
            sweep_period(&inner.config),
            inner.shutdown.clone(),
        ),
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
            () = stop.cancelled() => return,
            _ = pings.tick() => {
                let Some(inner) = hub.upgrade() else { return };
                inner.registry.ping_all(&ping);
            }
            _ = sweeps.tick() => {
                let Some(inner) = hub.upgrade() else { return };
                let report = inner.registry.sweep(Instant::now(), inner.sweep_limits());
                if report != crate::registry::Sweep::default() {
                    tracing::debug!(?report, "hub sweep");
                }
            }
        }
    }
}

/// For tests: a connection as a transport leaves it after a good handshake.
#[cfg(test)]
pub(crate) fn open_connection<A: HubApp>(
    hub: &Hub<A>,
    user: &str,
    transport: crate::Transport,
) -> Arc<crate::connection::Connection<A::State>> {
    let c = hub
        .inner
        .registry
        .create(user.to_owned(), crate::registry::Create::default(), None);
    c.bind(transport).unwrap();
    c.transition(crate::lifecycle::Event::Handshake).unwrap();
    c
}

#[cfg(test)]
mod tests;
