//! Adapters of Request Desk: everything that talks to the outside world.
//!
//! * [`postgres`] — Diesel + PostgreSQL implementations of the domain's repository ports.
//! * [`live`] (also reachable as `hub`) — Request Desk's hub over the `signalr-actix` engine.
//! * [`local_postgres`] — the project-local PostgreSQL cluster for dev mode and tests.
//! * [`password`] — argon2 password hashing; [`clock`] — the system clock.

pub mod clock;
pub mod live;
/// The old name of [`live`], kept so callers need not change.
pub use live::hub;
pub mod local_postgres;
pub mod password;
pub mod postgres;
