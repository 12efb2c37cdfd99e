//! Configuration, read once at start-up from the environment (and `.env`).
//!
//! Every setting is also a command-line flag (`request-desk --help`). With
//! `DATABASE_URL` unset the server runs in dev mode: it starts the
//! project-local PostgreSQL, seeds the demo users and, if `JWT_SECRET` is
//! unset, uses a secret generated once and kept under `.data/`.

use std::fmt;
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "request-desk",
    version,
    about = "Request Desk: live capacity booking for work requests"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub config: Config,
}

#[derive(Debug, Clone, Subcommand, PartialEq, Eq)]
pub enum Command {
    /// Serve the API, the hub and the web client (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print the OpenAPI 3.1 document (what `GET /api/openapi.json` serves) and exit.
    Openapi,
    /// Start (or reuse) the project-local PostgreSQL, print its URL and leave it running.
    LocalDb {
        /// The test cluster (`<LOCAL_DB_DIR>/test-postgres`, port 54339 or `TEST_PG_PORT`) instead of the dev one.
        #[arg(long)]
        test: bool,
        /// Stop the cluster instead, if it runs (never starts one).
        #[arg(long)]
        stop: bool,
        /// A throw-away test cluster in this directory instead (tests that restart PostgreSQL).
        #[arg(long, requires = "port")]
        data_dir: Option<std::path::PathBuf>,
        /// Its port.
        #[arg(long, requires = "data_dir")]
        port: Option<u16>,
        /// Print the URL of a fresh database for one test instead, cloned from
        /// a template migrated once, on `DATABASE_URL`'s server when set, else
        /// on the test cluster.
        #[arg(long, conflicts_with_all = ["stop", "data_dir"])]
        new_database: bool,
        /// The new database's name prefix (`<prefix>_<random>`).
        #[arg(long, default_value = "test")]
        prefix: String,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq, Default)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// A secret that never shows in logs or `Debug` output.
#[derive(Clone)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Stands in for a secret in `Debug` output: whether it was given, never what
/// it is.
#[derive(Clone, Copy)]
pub(crate) struct Redacted;

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl std::str::FromStr for Secret {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s.len() < 16 {
            Err("must be at least 16 characters".into())
        } else {
            Ok(Secret(s.to_owned()))
        }
    }
}

#[derive(Clone, clap::Args)]
pub struct Config {
    /// PostgreSQL URL; unset → dev mode with the project-local cluster.
    #[arg(long, global = true, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Connections in the pool (per instance).
    #[arg(long, global = true, env = "DATABASE_POOL_SIZE", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub database_pool_size: u32,
    /// Address to listen on (port 0 picks a free port).
    #[arg(
        long,
        global = true,
        env = "BIND_ADDR",
        default_value = "127.0.0.1:8080"
    )]
    pub bind_addr: String,
    /// HS256 signing secret, at least 16 characters; required outside dev mode.
    #[arg(long, global = true, env = "JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<Secret>,
    /// Lifetime of a sign-in token.
    #[arg(long, global = true, env = "JWT_TTL_MINUTES", default_value_t = 480, value_parser = clap::value_parser!(i64).range(1..=525_600))]
    pub jwt_ttl_minutes: i64,
    /// Open hub connections one instance accepts; past it negotiate answers 503 (0 = no cap).
    #[arg(
        long,
        global = true,
        env = "HUB_MAX_CONNECTIONS",
        default_value_t = 100_000
    )]
    pub hub_max_connections: usize,
    /// Open hub connections per user; past it negotiate answers 429 (0 = no cap).
    #[arg(
        long,
        global = true,
        env = "HUB_MAX_CONNECTIONS_PER_USER",
        default_value_t = 100
    )]
    pub hub_max_connections_per_user: usize,
    /// Negotiates per second one client address earns back, with a burst of
    /// ten seconds' worth; past it 429 with `Retry-After` (0 = no limit).
    #[arg(
        long,
        global = true,
        env = "HUB_NEGOTIATE_PER_SECOND",
        default_value_t = 50
    )]
    pub hub_negotiate_per_second: u32,
    /// How long a hold keeps a slot for the person filling in the form.
    #[arg(long, global = true, env = "HOLD_TTL_SECONDS", default_value_t = 600, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub hold_ttl_seconds: u64,
    /// Create the demo users (always on in dev mode).
    #[arg(long, global = true, env = "SEED_DEMO", default_value_t = false, action = clap::ArgAction::Set)]
    pub seed_demo: bool,
    /// Log lines as human-readable text or JSON.
    #[arg(long, global = true, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Directory of the built web client, served at `/`.
    #[arg(long, global = true, env = "WEB_DIST_DIR")]
    pub web_dist_dir: Option<PathBuf>,
    /// Wait at most this long (ms) for a pooled connection before answering 503.
    #[arg(long, global = true, env = "DATABASE_POOL_TIMEOUT_MS", default_value_t = 3000, value_parser = clap::value_parser!(u64).range(100..=60_000))]
    pub database_pool_timeout_ms: u64,
    /// PostgreSQL `lock_timeout` (ms) on pooled connections; 0 = off.
    #[arg(
        long,
        global = true,
        env = "DATABASE_LOCK_TIMEOUT_MS",
        default_value_t = 2000
    )]
    pub database_lock_timeout_ms: u64,
    /// PostgreSQL `statement_timeout` (ms) on pooled connections; 0 = off.
    #[arg(
        long,
        global = true,
        env = "DATABASE_STATEMENT_TIMEOUT_MS",
        default_value_t = 10_000
    )]
    pub database_statement_timeout_ms: u64,
    /// Bookings for one date that may hold a database connection at once (per instance).
    #[arg(long, global = true, env = "BOOKING_CONNECTIONS_PER_DATE", default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=1000))]
    pub booking_connections_per_date: u64,
    /// How long (ms) a booking waits for its date's turn before answering 503.
    #[arg(
        long,
        global = true,
        env = "BOOKING_QUEUE_TIMEOUT_MS",
        default_value_t = 5000
    )]
    pub booking_queue_timeout_ms: u64,
    /// How long (ms) a looked-up user (role, disabled) is trusted; 0 = look up on every request.
    #[arg(long, global = true, env = "USER_CACHE_TTL_MS", default_value_t = 2000, value_parser = clap::value_parser!(u64).range(0..=60_000))]
    pub user_cache_ttl_ms: u64,
    /// Threads that hash passwords (default: half the cores, at least 1).
    #[arg(long, global = true, env = "PASSWORD_HASH_THREADS", value_parser = clap::value_parser!(u64).range(1..=256))]
    pub password_hash_threads: Option<u64>,
    /// Logins/registrations waiting for a hashing thread; past it 503 (default: 64 per thread).
    #[arg(long, global = true, env = "PASSWORD_HASH_QUEUE", value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub password_hash_queue: Option<u64>,
    /// Login attempts per minute from one client address; 0 = unlimited.
    #[arg(
        long,
        global = true,
        env = "LOGIN_LIMIT_PER_ADDRESS",
        default_value_t = 30
    )]
    pub login_limit_per_address: u32,
    /// Login attempts per minute for one email; 0 = unlimited.
    #[arg(
        long,
        global = true,
        env = "LOGIN_LIMIT_PER_EMAIL",
        default_value_t = 10
    )]
    pub login_limit_per_email: u32,
    /// Comma-separated origins (`https://app.example.com`) whose pages may
    /// call the API and the hub with credentials; unset → same origin only.
    #[arg(
        long,
        global = true,
        env = "CORS_ALLOWED_ORIGINS",
        value_delimiter = ','
    )]
    pub cors_allowed_origins: Vec<crate::cors::Origin>,
    /// Registrations per hour from one client address; 0 = unlimited.
    #[arg(
        long,
        global = true,
        env = "REGISTRATION_LIMIT_PER_ADDRESS",
        default_value_t = 20
    )]
    pub registration_limit_per_address: u32,
    /// Dev mode's directory: the local PostgreSQL clusters (`postgres/`,
    /// `test-postgres/`) and the generated JWT secret. Default: `.data` in the
    /// checkout this binary was built from.
    #[arg(long, global = true, env = "LOCAL_DB_DIR")]
    pub local_db_dir: Option<PathBuf>,
}

/// Every setting but the database URL, which may hold a password.
impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Destructured in full, so a new setting cannot be left out unseen.
        let Config {
            database_url,
            database_pool_size,
            bind_addr,
            jwt_secret,
            jwt_ttl_minutes,
            hub_max_connections,
            hub_max_connections_per_user,
            hub_negotiate_per_second,
            hold_ttl_seconds,
            seed_demo,
            log_format,
            web_dist_dir,
            database_pool_timeout_ms,
            database_lock_timeout_ms,
            database_statement_timeout_ms,
            booking_connections_per_date,
            booking_queue_timeout_ms,
            user_cache_ttl_ms,
            password_hash_threads,
            password_hash_queue,
            login_limit_per_address,
            login_limit_per_email,
            cors_allowed_origins,
            registration_limit_per_address,
            local_db_dir,
        } = self;
        f.debug_struct("Config")
            .field("database_url", &database_url.as_ref().map(|_| Redacted))
            .field("database_pool_size", database_pool_size)
            .field("bind_addr", bind_addr)
            .field("jwt_secret", jwt_secret)
            .field("jwt_ttl_minutes", jwt_ttl_minutes)
            .field("hub_max_connections", hub_max_connections)
            .field("hub_max_connections_per_user", hub_max_connections_per_user)
            .field("hub_negotiate_per_second", hub_negotiate_per_second)
            .field("hold_ttl_seconds", hold_ttl_seconds)
            .field("seed_demo", seed_demo)
            .field("log_format", log_format)
            .field("web_dist_dir", web_dist_dir)
            .field("database_pool_timeout_ms", database_pool_timeout_ms)
            .field("database_lock_timeout_ms", database_lock_timeout_ms)
            .field(
                "database_statement_timeout_ms",
                database_statement_timeout_ms,
            )
            .field("booking_connections_per_date", booking_connections_per_date)
            .field("booking_queue_timeout_ms", booking_queue_timeout_ms)
            .field("user_cache_ttl_ms", user_cache_ttl_ms)
            .field("password_hash_threads", password_hash_threads)
            .field("password_hash_queue", password_hash_queue)
            .field("login_limit_per_address", login_limit_per_address)
            .field("login_limit_per_email", login_limit_per_email)
            .field("cors_allowed_origins", cors_allowed_origins)
            .field(
                "registration_limit_per_address",
                registration_limit_per_address,
            )
            .field("local_db_dir", local_db_dir)
            .finish()
    }
}

impl Config {
    /// The hub's caps and rate limit from the configuration (0 = none).
    pub fn hub(&self) -> request_desk_infrastructure::hub::HubConfig {
        let cap = |n: usize| (n > 0).then_some(n);
        request_desk_infrastructure::hub::HubConfig {
            max_connections: cap(self.hub_max_connections),
            max_connections_per_user: cap(self.hub_max_connections_per_user),
            negotiate_rate_limit: (self.hub_negotiate_per_second > 0).then(|| {
                request_desk_infrastructure::hub::RateLimit {
                    burst: self.hub_negotiate_per_second.saturating_mul(10),
                    per_second: f64::from(self.hub_negotiate_per_second),
                }
            }),
            ..Default::default()
        }
    }

    /// Dev mode: no database configured, so the local cluster is used.
    pub fn dev_mode(&self) -> bool {
        self.database_url.is_none()
    }

    /// The limits and timeouts these settings ask for.
    pub fn limits(&self) -> crate::app::Limits {
        use std::time::Duration;
        let threads = self.password_hash_threads.map_or_else(
            request_desk_infrastructure::password::HashingPool::default_threads,
            |n| n as usize,
        );
        crate::app::Limits {
            pool_timeout: Duration::from_millis(self.database_pool_timeout_ms),
            lock_timeout: Duration::from_millis(self.database_lock_timeout_ms),
            statement_timeout: Duration::from_millis(self.database_statement_timeout_ms),
            booking_connections_per_date: self.booking_connections_per_date as usize,
            booking_queue_timeout: Duration::from_millis(self.booking_queue_timeout_ms),
            user_cache_ttl: Duration::from_millis(self.user_cache_ttl_ms),
            hash_threads: threads,
            hash_queue: self
                .password_hash_queue
                .map_or(threads * 64, |n| n as usize),
            rate: crate::rate_limit::RateLimits {
                login_per_address_per_minute: self.login_limit_per_address,
                login_per_email_per_minute: self.login_limit_per_email,
                registrations_per_address_per_hour: self.registration_limit_per_address,
            },
        }
    }
}

/// The checkout this binary was built from, fixed at build time (no search
/// at run time); the current directory if it is gone (a binary copied to
/// another machine). Dev mode keeps its files there, and the web client is
/// looked for in its `web/dist`.
pub fn checkout_dir() -> PathBuf {
    let built = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    built.canonicalize().unwrap_or_else(|_| PathBuf::from("."))
}

/// Dev mode's directory: `configured` (`LOCAL_DB_DIR`), else `.data` in
/// [`checkout_dir`].
pub fn local_db_dir(configured: Option<&std::path::Path>) -> PathBuf {
    configured.map_or_else(
        || checkout_dir().join(".data"),
        std::path::Path::to_path_buf,
    )
}

/// A signing secret for dev mode, generated once and kept in
/// `<dir>/dev-jwt-secret` (readable by its owner only) so tokens survive
/// restarts; `dir` is [`local_db_dir`].
pub fn dev_secret(dir: &std::path::Path) -> anyhow::Result<String> {
    use anyhow::Context;
    use rand::distributions::{Alphanumeric, DistString};
    let path = dir.join("dev-jwt-secret");
    if let Ok(secret) = std::fs::read_to_string(&path) {
        if secret.trim().len() >= 16 {
            restrict_to_owner(&path)?;
            return Ok(secret.trim().to_owned());
        }
    }
    let secret = Alphanumeric.sample_string(&mut rand::thread_rng(), 48);
    std::fs::create_dir_all(dir)?;
    write_owner_only(&path, &secret).with_context(|| format!("writing {}", path.display()))?;
    Ok(secret)
}

#[cfg(unix)]
fn write_owner_only(path: &std::path::Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let _ = std::fs::remove_file(path);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents.as_bytes())
}

#[cfg(not(unix))]
fn write_owner_only(path: &std::path::Path, contents: &str) -> std::io::Result<()> {
    std::fs::write(path, contents)
}

/// A secret file left readable by others (by an older version) is fixed.
fn restrict_to_owner(path: &std::path::Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)?.permissions().mode();
        if mode & 0o077 != 0 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    fn mode(path: &std::path::Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[cfg(unix)]
    #[test]
    fn the_dev_secret_is_readable_by_its_owner_only_and_kept() {
        let root = std::env::temp_dir().join(format!("rd-secret-{}", uuid_like()));
        let first = dev_secret(&root.join(".data")).unwrap();
        let path = root.join(".data/dev-jwt-secret");
        assert_eq!(mode(&path), 0o600);
        assert_eq!(
            dev_secret(&root.join(".data")).unwrap(),
            first,
            "kept across restarts"
        );
        // One written world-readable before is tightened.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(dev_secret(&root.join(".data")).unwrap(), first);
        assert_eq!(mode(&path), 0o600);
        std::fs::remove_dir_all(&root).unwrap();
    }

    fn uuid_like() -> String {
        use rand::distributions::{Alphanumeric, DistString};
        Alphanumeric.sample_string(&mut rand::thread_rng(), 12)
    }

    #[test]
    fn the_database_url_and_jwt_secret_are_redacted_in_debug_output() {
        let cli = Cli::try_parse_from([
            "request-desk",
            "--database-url",
            "postgres://app:hunter2-hunter2@db.example.com/desk",
            "--jwt-secret",
            "sixteen-chars-or-more",
        ])
        .unwrap();
        for debug in [format!("{:?}", cli.config), format!("{cli:?}")] {
            assert!(!debug.contains("hunter2"), "{debug}");
            assert!(!debug.contains("sixteen-chars-or-more"), "{debug}");
            assert!(debug.contains("database_url: Some(<redacted>)"), "{debug}");
            assert!(
                debug.contains("bind_addr: "),
                "the other settings show: {debug}"
            );
        }
    }

    #[test]
    fn the_default_limits_are_the_documented_ones() {
        let cli = Cli::try_parse_from(["request-desk"]).unwrap();
        let limits = cli.config.limits();
        assert_eq!(limits.lock_timeout.as_millis(), 2000);
        assert_eq!(limits.statement_timeout.as_millis(), 10_000);
        assert_eq!(limits.booking_connections_per_date, 3);
        assert_eq!(limits.user_cache_ttl.as_millis(), 2000);
        assert_eq!(limits.rate, crate::rate_limit::RateLimits::default());
    }

    #[test]
    fn options_work_before_and_after_the_subcommand() {
        for args in [
            &["request-desk", "serve", "--bind-addr", "0.0.0.0:9000"][..],
            &["request-desk", "--bind-addr", "0.0.0.0:9000", "serve"][..],
        ] {
            let cli = Cli::try_parse_from(args).unwrap();
            assert_eq!(cli.command, Some(Command::Serve));
            assert_eq!(cli.config.bind_addr, "0.0.0.0:9000");
        }
        let cli = Cli::try_parse_from(["request-desk", "migrate", "--log-format", "json"]).unwrap();
        assert_eq!(cli.config.log_format, LogFormat::Json);
    }
}
