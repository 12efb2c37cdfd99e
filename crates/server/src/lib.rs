//! The Request Desk server: configuration, HTTP routes, auth and wiring.
//!
//! Thin by design: every rule lives in `request-desk-domain`, every adapter in
//! `request-desk-infrastructure`. This crate maps HTTP to use cases and back.

pub mod app;
pub mod auth;
pub mod booking_gate;
pub mod config;
pub mod cors;
pub mod db_health;
pub mod drain;
pub mod error;
pub mod live;
pub mod metrics;
pub mod openapi;
pub mod process;
pub mod rate_limit;
pub mod routes;
pub mod seed;
pub mod telemetry;
pub mod test_databases;
pub mod web_client;

pub use app::{Application, Limits, ServerSettings};
