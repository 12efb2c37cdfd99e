//! The `/hubs/notifications` hub: Request Desk's [`HubApp`] over the engine.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::SystemTime;

use futures_util::future::BoxFuture;
use futures_util::FutureExt as _;
use serde::Serialize;
use serde_json::Value;
use signalr_actix::{expect_arity, Audience, Caller, HubApp, MethodError, Principal};
use time::Date;

pub use signalr_actix::{HubConfig, MethodError as HubMethodError, RateLimit};

/// Where the hub lives (the contract's path).
pub const HUB_PATH: &str = "/hubs/notifications";

/// The signed-in user behind a connection, as the application's JWT check
/// reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubUser {
    /// `sub` claim; [`Hub::send_to_user`] addresses connections by it.
    pub user_id: i64,
    /// `role` claim (`requester`, `designer`, `admin`).
    pub role: String,
}

/// What the hub needs from the application (implemented in crates/server).
pub trait HubBackend: Send + Sync + 'static {
    /// Validates a JWT (from `Authorization: Bearer` or the `access_token`
    /// query parameter). `None` → the request is answered 401.
    fn authenticate(&self, token: &str) -> Option<HubUser>;

    /// Like [`authenticate`](Self::authenticate), plus when the token
    /// expires: the hub then closes the connection with
    /// `Close {error, allowReconnect: true}`. The default knows no expiry.
    fn authenticate_until(&self, token: &str) -> Option<(HubUser, Option<SystemTime>)> {
        self.authenticate(token).map(|user| (user, None))
    }

    /// `GetCapacityChangesSince(version)`: returns the same JSON body as
    /// `GET /api/availability/changes?since=version`.
    ///
    /// # Errors
    ///
    /// [`HubMethodError`]; its text reaches the client.
    fn capacity_changes_since(
        &self,
        version: i64,
    ) -> BoxFuture<'static, Result<Value, HubMethodError>>;
}

/// The inclusive range of dates a connection wants `CapacityUpdated` for,
/// as Julian day numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateWindow {
    from: i32,
    to: i32,
}

impl DateWindow {
    /// Every date (the default, and `WatchAllDates`).
    pub const ALL: DateWindow = DateWindow {
        from: i32::MIN,
        to: i32::MAX,
    };

    /// `[from, to]`; `None` when `from > to`.
    pub fn between(from: Date, to: Date) -> Option<DateWindow> {
        (from <= to).then(|| DateWindow {
            from: from.to_julian_day(),
            to: to.to_julian_day(),
        })
    }

    /// Whether `date` lies in the window.
    pub fn contains(self, date: Date) -> bool {
        let day = date.to_julian_day();
        self.from <= day && day <= self.to
    }

    fn pack(self) -> u64 {
        (u64::from(self.from as u32) << 32) | u64::from(self.to as u32)
    }

    fn unpack(packed: u64) -> DateWindow {
        DateWindow {
            from: (packed >> 32) as u32 as i32,
            to: packed as u32 as i32,
        }
    }
}

/// A connection's watched window: one packed `AtomicU64`, so the broadcast
/// path reads it with a single load and never sees half of an update.
#[derive(Debug)]
pub struct Watch(AtomicU64);

impl Default for Watch {
    fn default() -> Watch {
        Watch(AtomicU64::new(DateWindow::ALL.pack()))
    }
}

impl Watch {
    /// The current window.
    pub fn window(&self) -> DateWindow {
        DateWindow::unpack(self.0.load(Ordering::Acquire))
    }

    fn set(&self, window: DateWindow) {
        self.0.store(window.pack(), Ordering::Release);
    }
}

/// Request Desk's hub methods, parsed from an invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Method {
    /// `GetCapacityChangesSince(version)`.
    GetCapacityChangesSince(i64),
    /// `WatchDates(from, to)`.
    WatchDates(DateWindow),
    /// `WatchAllDates()`.
    WatchAllDates,
}

impl Method {
    /// Parses an invocation; names are matched case-insensitively.
    ///
    /// # Errors
    ///
    /// Unknown method, wrong argument count, types or values.
    pub fn parse(target: &str, arguments: &[Value]) -> Result<Method, MethodError> {
        if target.eq_ignore_ascii_case("GetCapacityChangesSince") {
            expect_arity("GetCapacityChangesSince", arguments, 1)?;
            let version = arguments[0].as_i64().ok_or_else(|| {
                MethodError::BadArguments(format!(
                    "GetCapacityChangesSince expects an integer version, got {}.",
                    arguments[0]
                ))
            })?;
            Ok(Method::GetCapacityChangesSince(version))
        } else if target.eq_ignore_ascii_case("WatchDates") {
            expect_arity("WatchDates", arguments, 2)?;
            let from = parse_date(&arguments[0], "from")?;
            let to = parse_date(&arguments[1], "to")?;
            DateWindow::between(from, to)
                .map(Method::WatchDates)
                .ok_or_else(|| {
                    MethodError::BadArguments(format!(
                        "WatchDates expects from <= to, got {from} > {to}."
                    ))
                })
        } else if target.eq_ignore_ascii_case("WatchAllDates") {
            expect_arity("WatchAllDates", arguments, 0)?;
            Ok(Method::WatchAllDates)
        } else {
            Err(MethodError::Unknown(target.to_owned()))
        }
    }
}

fn parse_date(value: &Value, name: &str) -> Result<Date, MethodError> {
    value
        .as_str()
        .and_then(request_desk_domain::serde_formats::parse_date)
        .ok_or_else(|| {
            MethodError::BadArguments(format!(
                "WatchDates expects '{name}' as a \"YYYY-MM-DD\" date, got {value}."
            ))
        })
}

/// The engine's application: Request Desk's hub.
pub struct RequestDeskHub {
    backend: Arc<dyn HubBackend>,
}

impl fmt::Debug for RequestDeskHub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestDeskHub").finish_non_exhaustive()
    }
}

impl HubApp for RequestDeskHub {
    type State = Watch;
    type Method = Method;

    fn authenticate(&self, token: &str) -> Option<Principal> {
        let (user, expires_at) = self.backend.authenticate_until(token)?;
        Some(Principal {
            user: user.user_id.to_string(),
            expires_at,
        })
    }

    fn parse(&self, target: &str, arguments: Vec<Value>) -> Result<Method, MethodError> {
        Method::parse(target, &arguments)
    }

    fn call(
        &self,
        caller: &Caller<'_, Watch>,
        method: Method,
    ) -> BoxFuture<'static, Result<Value, MethodError>> {
        match method {
            Method::GetCapacityChangesSince(version) => {
                self.backend.capacity_changes_since(version)
            }
            Method::WatchDates(window) => {
                caller.state.set(window);
                async { Ok(Value::Null) }.boxed()
            }
            Method::WatchAllDates => {
                caller.state.set(DateWindow::ALL);
                async { Ok(Value::Null) }.boxed()
            }
        }
    }
}

/// Handle to the hub; cheap to clone.
#[derive(Clone)]
pub struct Hub {
    engine: signalr_actix::Hub<RequestDeskHub>,
}

impl fmt::Debug for Hub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.engine.fmt(f)
    }
}

impl Hub {
    /// Creates the hub at [`HUB_PATH`] (whatever `config.path` says).
    pub fn new(backend: Arc<dyn HubBackend>, config: HubConfig) -> Hub {
        let config = HubConfig {
            path: HUB_PATH.to_owned(),
            ..config
        };
        Hub {
            engine: signalr_actix::Hub::new(RequestDeskHub { backend }, config),
        }
    }

    /// The engine underneath, for what this façade does not wrap.
    pub fn engine(&self) -> &signalr_actix::Hub<RequestDeskHub> {
        &self.engine
    }

    /// Registers the hub's routes. Use as `app.configure(|c| hub.configure(c))`.
    pub fn configure(&self, cfg: &mut actix_web::web::ServiceConfig) {
        self.engine.configure(cfg);
    }

    /// `CapacityUpdated` for `date`: serialized once, queued for every
    /// connection whose `WatchDates` window includes `date`.
    pub fn broadcast_capacity_updated(&self, date: Date, payload: &impl Serialize) {
        let out = self.engine.send(
            crate::live::hub::target::CAPACITY_UPDATED,
            payload,
            Audience::Where(&|w: &Watch| w.window().contains(date)),
        );
        tracing::trace!(%date, delivered = out.delivered, evicted = out.evicted, "CapacityUpdated fanned out");
    }

    /// Any other event, to every connection (e.g. `CapacitySettingsChanged`).
    pub fn broadcast(&self, target: &str, payload: &impl Serialize) {
        let out = self.engine.send(target, payload, Audience::All);
        tracing::trace!(
            target,
            delivered = out.delivered,
            evicted = out.evicted,
            "event fanned out"
        );
    }

    /// An event to every connection of one user (`NotificationReceived`,
    /// `InboxUpdated`).
    pub fn send_to_user(&self, user_id: i64, target: &str, payload: &impl Serialize) {
        let user = user_id.to_string();
        let out = self.engine.send(target, payload, Audience::User(&user));
        tracing::trace!(
            target,
            user_id,
            delivered = out.delivered,
            "event sent to user"
        );
    }

    /// Closes every hub connection of a user (disabled, or signed out) with
    /// `Close {error, allowReconnect: true}`; returns how many.
    pub fn close_user(&self, user_id: i64, reason: &str) -> usize {
        self.engine.close_user(&user_id.to_string(), reason)
    }

    /// Open connections per transport.
    pub fn open_connections(&self) -> Vec<(&'static str, usize)> {
        self.engine.open_connections()
    }

    /// Connection tasks alive (each connection's, and those still closing).
    pub fn tasks(&self) -> usize {
        self.engine.tasks()
    }

    /// Whether the shutdown has begun.
    pub fn is_shutting_down(&self) -> bool {
        self.engine.is_shutting_down()
    }

    /// The instance's connection cap (`None`: no cap).
    pub fn connection_limit(&self) -> Option<usize> {
        self.engine.connection_limit()
    }

    /// Connections refused at a cap so far, by cap.
    pub fn refused_connections(&self) -> [(&'static str, u64); 2] {
        self.engine.refused_connections()
    }

    /// Server shutdown: `Close {allowReconnect: true}` to every connection;
    /// new ones are refused with 503.
    pub fn shutdown(&self) {
        self.engine.shutdown();
    }

    /// Waits for every connection task after [`shutdown`](Self::shutdown).
    pub async fn closed(&self) {
        self.engine.closed().await;
    }
}

#[cfg(test)]
mod tests;
