//! Adapters of Request Desk: everything that talks to the outside world.
//!
//! * [`postgres`] — Diesel + PostgreSQL implementations of the domain's repository ports.
//! * [`live`] — the change stream's listener, the relay, the hub mapping of
//!   live events, and the hub endpoint over the `signalr-actix` engine.
//! * [`hub`] — the hub endpoint ([`live::endpoint`]) under the name callers use.
//! * [`change_payload`] — the change stream's wire format, versioned.
//! * [`password`] — argon2 password hashing; [`clock`] — the system clock.

pub mod change_payload;
pub mod clock;
pub mod live;
pub use live::endpoint as hub;
pub mod password;
pub mod postgres;
