//! Dev tooling: a project-local PostgreSQL cluster.
//!
//! When `DATABASE_URL` is not set, Request Desk's zero-config dev mode (and
//! the test suites) run against a PostgreSQL cluster that belongs to the
//! checkout, started from the machine's PostgreSQL *server* binaries
//! (`initdb`, `pg_ctl`, `postgres`):
//!
//! * dev mode: `<dir>/postgres`, port 54329, database `request_desk`
//!   ([`LocalClusterConfig::dev`]);
//! * tests: `<dir>/test-postgres`, port 54339, database `postgres`, with
//!   durability switched off for speed ([`LocalClusterConfig::test`]);
//!
//! where `<dir>` is the caller's choice (the server uses the checkout's
//! `.data`, or `LOCAL_DB_DIR`). Nothing here is used in production: the
//! server links this crate for its dev mode and its `local-db` subcommand.
//!
//! [`LocalCluster::start`] initialises the data directory on first use
//! (`initdb --auth=trust -U postgres`), starts the server unless it is
//! already running (a running one is reused), waits until it accepts
//! connections and creates the configured database. The server listens on
//! `127.0.0.1` only and puts its Unix socket in the data directory. Its log
//! is written next to the data directory (`<data_dir>.log`).
//!
//! The modules:
//!
//! * [`config`] — what a cluster is (directory, port, database) and the presets;
//! * [`placement`] — where its files live, including the move to `/var/tmp`
//!   for a checkout the `postgres` user cannot reach (root, 0700 home);
//! * [`lease`] — who uses it (`flock` leases: the last user stops it) and the
//!   start-up lock;
//! * `cluster` — [`LocalCluster`], the handle;
//! * `server`, `tools`, `binaries`, `process` — `pg_ctl` and friends, run as
//!   the right user, found on the machine;
//! * [`databases`] — a database per test, cloned from a template migrated once;
//! * [`error`] — [`LocalClusterError`].

pub mod binaries;
mod cluster;
pub mod config;
pub mod databases;
pub mod error;
pub mod lease;
pub mod placement;
mod process;
mod server;
mod tools;

#[cfg(test)]
mod test_support;

pub use binaries::find_bin_dir;
pub use cluster::LocalCluster;
pub use config::{validate_database_name, LocalClusterConfig, DEV_PORT, TEST_PORT};
pub use databases::Databases;
pub use error::LocalClusterError;
pub use tools::effective_uid;
