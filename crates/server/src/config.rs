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
    /// Start (or reuse) the project-local PostgreSQL, print its URL and leave it running.
    LocalDb {
        /// The test cluster (`.data/test-postgres`, port 54339) instead of the dev one.
        #[arg(long)]
        test: bool,
        /// Stop the cluster instead.
        #[arg(long)]
        stop: bool,
        /// A throw-away test cluster in this directory instead (tests that restart PostgreSQL).
        #[arg(long, requires = "port")]
        data_dir: Option<std::path::PathBuf>,
        /// Its port.
        #[arg(long, requires = "data_dir")]
        port: Option<u16>,
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

#[derive(Debug, Clone, clap::Args)]
pub struct Config {
    /// PostgreSQL URL; unset → dev mode with the project-local cluster.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Connections in the pool (per instance).
    #[arg(long, env = "DATABASE_POOL_SIZE", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub database_pool_size: u32,
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "BIND_ADDR", default_value = "127.0.0.1:8080")]
    pub bind_addr: String,
    /// HS256 signing secret, at least 16 characters; required outside dev mode.
    #[arg(long, env = "JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<Secret>,
    /// Lifetime of a sign-in token.
    #[arg(long, env = "JWT_TTL_MINUTES", default_value_t = 480, value_parser = clap::value_parser!(i64).range(1..=525_600))]
    pub jwt_ttl_minutes: i64,
    /// How long a hold keeps a slot for the person filling in the form.
    #[arg(long, env = "HOLD_TTL_SECONDS", default_value_t = 600, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub hold_ttl_seconds: u64,
    /// Create the demo users (always on in dev mode).
    #[arg(long, env = "SEED_DEMO", default_value_t = false, action = clap::ArgAction::Set)]
    pub seed_demo: bool,
    /// Log lines as human-readable text or JSON.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Directory of the built web client, served at `/`.
    #[arg(long, env = "WEB_DIST_DIR")]
    pub web_dist_dir: Option<PathBuf>,
}

impl Config {
    /// Dev mode: no database configured, so the local cluster is used.
    pub fn dev_mode(&self) -> bool {
        self.database_url.is_none()
    }
}
