//! Adapters of Request Desk: everything that talks to the outside world.
//!
//! * [`postgres`] — Diesel + PostgreSQL implementations of the domain's repository ports.
//! * [`hub`] — the ASP.NET Core SignalR-compatible hub over actix-ws.
//! * [`live`] — the change stream's listener, the relay and the hub mapping of live events.
//! * [`local_postgres`] — the project-local PostgreSQL cluster for dev mode and tests.
//! * [`password`] — argon2 password hashing; [`clock`] — the system clock.

pub mod clock;
pub mod hub;
pub mod live;
pub mod local_postgres;
pub mod password;
pub mod postgres;
