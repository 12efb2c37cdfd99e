//! An [ASP.NET Core SignalR](https://learn.microsoft.com/aspnet/core/signalr/)
//! server engine for actix-web: the unmodified `@microsoft/signalr` client
//! (browser, Node, .NET, Java) connects to it.
//!
//! * negotiate v0 and v1, `skipNegotiation`;
//! * WebSockets, Server-Sent Events and Long Polling (+ HTTP POST sends);
//! * the JSON and MessagePack hub protocols (`@microsoft/signalr-protocol-msgpack`);
//! * stateful reconnect (`withStatefulReconnect()`): `Ack`/`Sequence`, a
//!   bounded replay buffer, the same connection resumed on a new socket;
//! * keep-alive pings, client timeouts, credential expiry;
//! * per-user and per-instance connection caps, a negotiate rate limit;
//! * graceful shutdown that awaits every writer.
//!
//! The engine knows nothing of the application. The application implements
//! [`HubApp`] — authentication, and its hub methods as a typed enum parsed
//! from each invocation — and publishes with [`Hub::publish`] to an
//! [`Audience`]: everyone, one user, or the connections whose
//! per-connection state ([`HubApp::State`]) satisfies a predicate.
//!
//! ```no_run
//! use futures_util::future::{BoxFuture, FutureExt};
//! use serde_json::Value;
//! use signalr_actix::{expect_arity, Audience, Caller, Hub, HubApp, HubConfig, MethodError, Principal};
//! use std::sync::atomic::{AtomicBool, Ordering};
//!
//! struct Chat;
//! #[derive(Default)]
//! struct Muted(AtomicBool);
//! enum Method { Mute(bool) }
//!
//! impl HubApp for Chat {
//!     type State = Muted;
//!     type Method = Method;
//!     fn authenticate(&self, token: &str) -> Option<Principal> {
//!         (token == "secret").then(|| Principal { user: "alice".into(), expires_at: None })
//!     }
//!     fn parse(&self, target: &str, args: Vec<Value>) -> Result<Method, MethodError> {
//!         if target.eq_ignore_ascii_case("Mute") {
//!             expect_arity("Mute", &args, 1)?;
//!             let on = args[0].as_bool().ok_or_else(|| MethodError::BadArguments("Mute expects a boolean.".into()))?;
//!             Ok(Method::Mute(on))
//!         } else {
//!             Err(MethodError::Unknown(target.into()))
//!         }
//!     }
//!     fn call(&self, caller: &Caller<'_, Muted>, method: Method) -> BoxFuture<'static, Result<Value, MethodError>> {
//!         match method {
//!             Method::Mute(on) => caller.state.0.store(on, Ordering::Relaxed),
//!         }
//!         async { Ok(Value::Null) }.boxed()
//!     }
//! }
//!
//! # async fn run() -> std::io::Result<()> {
//! use actix_service::{map_config, IntoServiceFactory, ServiceFactoryExt};
//!
//! let hub = Hub::new(Chat, HubConfig { path: "/hubs/chat".into(), ..HubConfig::default() });
//! let server_hub = hub.clone();
//! let listener = std::net::TcpListener::bind("127.0.0.1:8080")?;
//! // actix-web's `HttpServer`, built by hand so that WebSocket upgrades go to
//! // the hub's upgrade hook, off the HTTP dispatcher.
//! actix_server::Server::build()
//!     .listen("chat", listener, move || {
//!         let hub = server_hub.clone();
//!         let routes = hub.clone();
//!         let app = actix_web::App::new().configure(move |c| routes.configure(c));
//!         actix_http::HttpService::build()
//!             .upgrade(hub.websocket_upgrade())
//!             .finish(map_config(
//!                 app.into_factory().map_err(|e: actix_web::Error| e.error_response()),
//!                 |_| actix_web::dev::AppConfig::default(),
//!             ))
//!             .tcp()
//!     })?
//!     .run();
//! hub.send("Said", &"hello", Audience::Where(&|m: &Muted| !m.0.load(Ordering::Relaxed)));
//! # Ok(()) }
//! ```
//!
//! With a plain `HttpServer` everything but WebSockets works: negotiate
//! offers them only once [`Hub::websocket_upgrade`] was installed.
//!
//! # Layout
//!
//! * `protocol` — the wire formats as pure functions (handshake, framing,
//!   JSON and MessagePack messages, shared [`Frame`]s);
//! * `lifecycle` — the connection's [`Phase`] and its transitions;
//! * `connection`, `registry` — one connection; the table of them, fan-out,
//!   pings and sweeps;
//! * `outlet` — a WebSocket's outgoing side: publishers write to the socket
//!   directly, a backlog only when its kernel buffer is full;
//! * `dispatch` — incoming bytes → handshake → messages → [`HubApp`];
//! * `replay` — stateful reconnect's numbered, bounded replay buffer;
//! * `limits` — connection caps and the negotiate rate limit;
//! * `http`, `transport::{websockets, sse, long_polling}` — the endpoints.
//!
//! # Fan-out
//!
//! A published message is serialized once into a [`Frame`] (JSON at once;
//! MessagePack, SSE and WebSocket forms on first use). Recipients are
//! collected under the registry's read lock; then, outside it, each
//! WebSocket gets the very same framed bytes written to its socket with one
//! non-blocking `write` from the publishing thread, and each Server-Sent
//! Events or Long Polling connection gets a clone of the `Arc` in its
//! bounded queue. A connection that falls too far behind is closed with
//! `Close {allowReconnect: true}` instead of slowing the others down.

mod app;
mod connection;
mod dispatch;
mod http;
mod hub;
mod lifecycle;
mod limits;
mod outlet;
pub mod protocol;
mod registry;
mod replay;
mod transport;

#[cfg(test)]
mod testing;

pub use app::{expect_arity, Caller, HubApp, MethodError, Principal};
pub use connection::Transport;
pub use hub::{Audience, Hub, HubConfig};
pub use lifecycle::{Event, Phase};
pub use limits::RateLimit;
pub use protocol::{Frame, Protocol};
pub use registry::FanOut;
