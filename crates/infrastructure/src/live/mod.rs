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

pub mod hub;
pub mod listener;
pub mod relay;

use std::sync::Arc;

use request_desk_domain::live::LiveEvents;
use request_desk_domain::ports::Clock;

pub use listener::{spawn_listener, ListenerConfig, StreamEvent};
pub use relay::{Feed, Relay};

/// Starts this instance's delivery path on the current Tokio runtime:
/// listen on `database_url` and deliver every committed change after
/// `watermark` to `sink`.
pub fn spawn_delivery(
    database_url: String,
    config: ListenerConfig,
    feed: Arc<dyn Feed>,
    sink: Arc<dyn LiveEvents>,
    clock: Arc<dyn Clock>,
    watermark: i64,
) {
    let stream = spawn_listener(database_url, config);
    tokio::spawn(relay::run(stream, feed, sink, clock, Relay::new(watermark)));
}
