//! PostgreSQL adapters for the domain's repository ports, over Diesel and r2d2.
//!
//! [`PgStore`] implements every repository port on one connection pool. Each
//! port method is one transaction. Rows are mapped to domain types in
//! [`rows`]; database failures to [`RepositoryError`] in [`errors`].

use std::time::Duration;

use diesel::pg::PgConnection;
use diesel::r2d2::{ConnectionManager, Pool, PooledConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use request_desk_domain::RepositoryError;

pub mod changes;
mod days;
mod errors;
mod holds;
mod notifications;
mod requests;
mod rows;
pub mod schema;
mod settings;
mod users;

pub use errors::is_unavailable;

/// The migrations in the repository's `migrations/`, compiled into the binary.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations");

pub type PgPool = Pool<ConnectionManager<PgConnection>>;
/// What the adapters' statements run on (a pooled connection derefs to it).
type Conn = PgConnection;
type Pooled = PooledConnection<ConnectionManager<PgConnection>>;

/// How the pool is sized and how long a caller waits for a connection.
#[derive(Debug, Clone)]
pub struct PoolConfig {
    pub max_size: u32,
    /// Wait at most this long for a connection; past it the database counts as unavailable.
    pub connection_timeout: Duration,
}

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig {
            max_size: 10,
            connection_timeout: Duration::from_secs(3),
        }
    }
}

/// Builds a pool without waiting for the database: the server starts (and
/// answers `/health/ready` with 503) even while PostgreSQL is down.
pub fn pool(database_url: &str, config: &PoolConfig) -> PgPool {
    Pool::builder()
        .max_size(config.max_size)
        .min_idle(Some(1))
        .connection_timeout(config.connection_timeout)
        .test_on_check_out(true)
        .build_unchecked(ConnectionManager::new(database_url))
}

/// Applies pending migrations; returns the versions applied.
pub fn run_migrations(pool: &PgPool) -> Result<Vec<String>, RepositoryError> {
    let mut conn = pool.get().map_err(errors::pool_error)?;
    conn.run_pending_migrations(MIGRATIONS)
        .map(|applied| applied.iter().map(|v| v.to_string()).collect())
        .map_err(|e| RepositoryError::Unexpected(format!("migrations failed: {e}")))
}

/// Every repository port, on one pool.
#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("pool", &self.pool.state())
            .finish()
    }
}

impl PgStore {
    pub fn new(pool: PgPool) -> Self {
        PgStore { pool }
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    fn conn(&self) -> Result<Pooled, RepositoryError> {
        self.pool.get().map_err(errors::pool_error)
    }

    /// `SELECT 1`: whether the database answers now (for `/health/ready`).
    pub fn ping(&self) -> Result<(), RepositoryError> {
        use diesel::RunQueryDsl;
        let mut conn = self.conn()?;
        diesel::sql_query("SELECT 1")
            .execute(&mut conn)
            .map(|_| ())
            .map_err(errors::db_error)
    }
}
