//! HTTP integration tests: every endpoint against a real server and a real PostgreSQL.

mod auth;
mod availability;
mod concurrency;
mod helpers;
mod holds;
mod live;
mod notifications;
mod operations;
mod requests;
mod settings;
