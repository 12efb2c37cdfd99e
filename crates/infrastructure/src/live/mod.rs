//! Request Desk's live updates over the SignalR engine (`signalr-actix`):
//! who may connect, the hub methods, and which connections an event reaches.
//!
//! The engine knows nothing of Request Desk; [`hub`] is the whole of what is
//! application-specific about the hub at `/hubs/notifications`:
//!
//! * [`HubBackend`] — what the hub asks of the application (token check,
//!   `GetCapacityChangesSince`);
//! * the hub methods as a typed enum (`GetCapacityChangesSince`,
//!   `WatchDates`, `WatchAllDates`), parsed once per invocation;
//! * the per-connection watched date window and the predicate
//!   `CapacityUpdated` is published with;
//! * [`Hub`] — the handle the server wires and the domain's ports publish
//!   through (`broadcast_capacity_updated`, `broadcast`, `send_to_user`).

pub mod hub;

pub use hub::{Hub, HubBackend, HubConfig, HubMethodError, HubUser};
