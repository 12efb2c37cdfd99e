//! PostgreSQL adapters for the domain's repository ports, over Diesel and r2d2.
//!
//! [`PgStore`] implements every repository port on one connection pool. Each
//! port method is one transaction. Rows are mapped to domain types in
//! [`rows`]; database failures to [`RepositoryError`] in [`errors`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool, PooledConnection};
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

/// How the pool is sized, how long a caller waits for a connection, and the
/// session limits every pooled connection runs under.
#[derive(Debug, Clone)]
pub struct PoolConfig {
    pub max_size: u32,
    /// Wait at most this long for a connection; past it the database counts as unavailable.
    pub connection_timeout: Duration,
    /// PostgreSQL `lock_timeout`: a statement waits at most this long for a
    /// row lock (a stuck session holding a day cannot pin connections for
    /// longer). Zero turns it off.
    pub lock_timeout: Duration,
    /// PostgreSQL `statement_timeout`: no statement runs longer. Zero turns it off.
    pub statement_timeout: Duration,
}

/// Default `lock_timeout`: far above any lock wait of normal contention
/// (milliseconds), far below a client's patience.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(2);
/// Default `statement_timeout`: every statement of ours takes milliseconds.
pub const DEFAULT_STATEMENT_TIMEOUT: Duration = Duration::from_secs(10);

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig {
            max_size: 10,
            connection_timeout: Duration::from_secs(3),
            lock_timeout: DEFAULT_LOCK_TIMEOUT,
            statement_timeout: DEFAULT_STATEMENT_TIMEOUT,
        }
    }
}

/// Sets the session limits on each new pooled connection.
#[derive(Debug, Clone, Copy)]
struct SessionLimits {
    lock_timeout: Duration,
    statement_timeout: Duration,
}

impl SessionLimits {
    fn sql(&self) -> String {
        format!(
            "SET lock_timeout = {}; SET statement_timeout = {}",
            self.lock_timeout.as_millis(),
            self.statement_timeout.as_millis()
        )
    }
}

impl CustomizeConnection<PgConnection, diesel::r2d2::Error> for SessionLimits {
    fn on_acquire(&self, conn: &mut PgConnection) -> Result<(), diesel::r2d2::Error> {
        conn.batch_execute(&self.sql())
            .map_err(diesel::r2d2::Error::QueryError)
    }
}

/// Builds a pool without waiting for the database: the server starts (and
/// answers `/health/ready` with 503) even while PostgreSQL is down.
pub fn pool(database_url: &str, config: &PoolConfig) -> PgPool {
    counted_pool(database_url, config).0
}

/// How often callers of a pool gave up waiting for a connection.
#[derive(Debug, Default)]
pub struct PoolTimeouts(AtomicU64);

impl PoolTimeouts {
    pub fn count(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

#[derive(Debug)]
struct CountTimeouts(Arc<PoolTimeouts>);

impl diesel::r2d2::HandleEvent for CountTimeouts {
    fn handle_timeout(&self, _: diesel::r2d2::event::TimeoutEvent) {
        self.0 .0.fetch_add(1, Ordering::Relaxed);
    }
}

/// [`pool`], and the count of its checkout timeouts.
pub fn counted_pool(database_url: &str, config: &PoolConfig) -> (PgPool, Arc<PoolTimeouts>) {
    let timeouts = Arc::new(PoolTimeouts::default());
    let pool = Pool::builder()
        .event_handler(Box::new(CountTimeouts(timeouts.clone())))
        .max_size(config.max_size)
        .min_idle(Some(1))
        .connection_timeout(config.connection_timeout)
        .test_on_check_out(true)
        .connection_customizer(Box::new(SessionLimits {
            lock_timeout: config.lock_timeout,
            statement_timeout: config.statement_timeout,
        }))
        .build_unchecked(ConnectionManager::new(database_url));
    (pool, timeouts)
}

/// A pool of one connection of its own for `/health/ready`: readiness says
/// whether the database answers, not whether the main pool has a free
/// connection this instant (a busy pool is not a reason to be pulled from
/// the load balancer).
pub fn health_pool(database_url: &str) -> PgPool {
    pool(
        database_url,
        &PoolConfig {
            max_size: 1,
            // Short: the server's view of whether the database is up (and so
            // whether requests fail fast) comes from this pool.
            connection_timeout: Duration::from_secs(1),
            lock_timeout: Duration::from_secs(1),
            statement_timeout: Duration::from_secs(2),
        },
    )
}

/// Names what the embedded migrations build: their count and the newest
/// version (`4_20261201110001`). Test databases are cloned from a template
/// migrated once and named by it, so adding a migration makes a new
/// template.
pub fn migrations_key() -> String {
    use diesel::migration::MigrationSource;
    let versions: Vec<String> = MigrationSource::<diesel::pg::Pg>::migrations(&MIGRATIONS)
        .map(|all| all.iter().map(|m| m.name().version().to_string()).collect())
        .unwrap_or_default();
    format!(
        "{}_{}",
        versions.len(),
        versions.iter().max().map_or("none", String::as_str)
    )
}

/// Arbitrary constant naming the session advisory lock migrations run under.
const MIGRATION_LOCK_KEY: i64 = 0x5244_4d49_4752; // "RDMIGR"

/// Applies pending migrations; returns the versions applied.
pub fn run_migrations(pool: &PgPool) -> Result<Vec<String>, RepositoryError> {
    use diesel::RunQueryDsl;
    let mut conn = pool.get().map_err(errors::pool_error)?;
    // A migration may rightly take longer than any request's statement:
    // lift the session limits for it, and restore them before the connection
    // goes back to the pool.
    let limits: (String, String) = diesel::select((
        current_setting("lock_timeout"),
        current_setting("statement_timeout"),
    ))
    .get_result(&mut conn)
    .map_err(errors::db_error)?;
    conn.batch_execute("SET lock_timeout = 0; SET statement_timeout = 0")
        .map_err(errors::db_error)?;
    // Instances starting together take turns: the first migrates, the
    // others then find nothing pending (two at once race on the catalogue).
    conn.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))
        .map_err(errors::db_error)?;
    let result = conn
        .run_pending_migrations(MIGRATIONS)
        .map(|applied| applied.iter().map(|v| v.to_string()).collect())
        .map_err(errors::migrations_error);
    conn.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"))
        .map_err(errors::db_error)?;
    diesel::select((
        set_config("lock_timeout", limits.0, false),
        set_config("statement_timeout", limits.1, false),
    ))
    .execute(&mut conn)
    .map_err(errors::db_error)?;
    result
}

diesel::define_sql_function!(fn current_setting(name: diesel::sql_types::Text) -> diesel::sql_types::Text);
diesel::define_sql_function!(fn set_config(name: diesel::sql_types::Text, value: diesel::sql_types::Text, local: diesel::sql_types::Bool) -> diesel::sql_types::Text);

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
