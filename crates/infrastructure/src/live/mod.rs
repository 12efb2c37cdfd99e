//! Live updates: from a committed change to every viewer of every instance.
//!
//! ```text
//!  repository tx ── NOTIFY (events with final numbers) ──► COMMIT
//!                                                           │ PostgreSQL, commit order
//!  each instance: listener ──► relay (watermark, catch-up) ──► HubDelivery ──► hub ──► viewers
//! ```
//!
//! * [`listener`] — the dedicated `LISTEN` connection, reconnecting fast.
//! * [`relay`] — the watermark and catch-up logic, a plain state machine.
//! * [`hub`] — how each [`LiveEvent`](request_desk_domain::live::LiveEvent)
//!   becomes a SignalR invocation (targets and payloads).
//! * [`endpoint`] — the hub at `/hubs/notifications` over the
//!   application-agnostic `signalr-actix` engine: who may connect
//!   ([`HubBackend`]), the hub methods as a typed enum
//!   (`GetCapacityChangesSince`, `WatchDates`, `WatchAllDates`), the
//!   per-connection watched date window, and the [`Hub`] handle
//!   (`broadcast_capacity_updated`, `broadcast`, `send_to_user`,
//!   `close_user`). Also reachable as `crate::hub`.

pub mod endpoint;
pub mod hub;
pub mod listener;
pub mod relay;

pub use endpoint::{Hub, HubBackend, HubConfig, HubMethodError, HubUser};
pub use listener::{spawn_listener, ListenerConfig, StreamEvent};
pub use relay::{CatchUpReason, Feed, NoObserver, Outlets, Relay, StreamObserver};

/// Starts this instance's delivery path on the current Tokio runtime:
/// listen on `database_url` and deliver every committed change after
/// `watermark` through `outlets`.
pub fn spawn_delivery(
    database_url: String,
    config: ListenerConfig,
    outlets: Outlets,
    watermark: i64,
) {
    let stream = spawn_listener(database_url, config);
    tokio::spawn(relay::run(stream, outlets, Relay::new(watermark)));
}
