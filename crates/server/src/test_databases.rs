//! Databases for the test suites — the Rust tests, the hub suite, e2e — by
//! one path: each test its own database, cloned from a template migrated
//! once (`request-desk local-db --test --new-database` prints one; the
//! Rust tests call [`create`] directly). Dev tooling only: nothing here
//! runs while the server serves.

use std::path::Path;

use anyhow::Context;
use request_desk_infrastructure::postgres::{self, PoolConfig};
use request_desk_local_postgres::{Databases, LocalCluster, LocalClusterConfig};

/// The admin URL of the server test databases are made on: `database_url`
/// (`DATABASE_URL`) when set, else the local test cluster in `local_db_dir`,
/// started if needed and pinned (shared by every test process).
pub fn admin_url(database_url: Option<&str>, local_db_dir: &Path) -> anyhow::Result<String> {
    if let Some(url) = database_url.filter(|u| !u.is_empty()) {
        return Ok(url.to_owned());
    }
    let cluster = LocalCluster::start(LocalClusterConfig::test(local_db_dir))
        .context("starting the local test cluster")?;
    let url = cluster.url_for("postgres");
    cluster
        .keep_running()
        .context("pinning the local test cluster")?;
    Ok(url)
}

/// A fresh, migrated database `<prefix>_<random>` on the server of
/// `databases`; its name.
pub fn create(databases: &Databases, prefix: &str) -> anyhow::Result<String> {
    let template = format!("rd_template_{}", postgres::migrations_key());
    databases
        .create_from_template(&template, prefix, |url| {
            let pool = postgres::pool(url, &PoolConfig::default());
            postgres::run_migrations(&pool).map(drop)
        })
        .with_context(|| format!("creating a test database from {template}"))
}
