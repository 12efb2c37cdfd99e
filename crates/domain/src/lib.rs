//! The pure heart of Request Desk.
//!
//! Everything here is plain data and rules: capacity arithmetic, the request
//! lifecycle, validation of what users type, who may do what, and the port
//! traits the outside world must implement. No database, web framework or
//! async runtime appears in this crate (`cargo tree -p request-desk-domain`
//! proves it); adapters live in `request-desk-infrastructure`.
//!
//! ```text
//!   server (HTTP) ──► services (this crate) ──► ports (traits, this crate)
//!                                                  ▲
//!                        infrastructure adapters ──┘ (Diesel, hub, argon2)
//! ```

pub mod capacity;
pub mod error;
pub mod hold;
pub mod ids;
pub mod live;
pub mod notification;
pub mod permissions;
pub mod ports;
pub mod request;
pub mod serde_formats;
pub mod services;
pub mod settings;
pub mod user;
pub mod validation;

pub use capacity::{Capacity, ClosedReason, Day, DayRecord, DayStatus, Refusal};
pub use error::RepositoryError;
pub use ids::{HoldId, NotificationId, RequestId, UserId};
pub use services::{Ports, RequestDesk};
